package kafka

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kerr"
)

// serverMetrics holds the Server's metrics, all registered on the node's own
// set with GetOrCreate* so that several nodes can share a process (STYLE §6).
// Labels are part of the name.
type serverMetrics struct {
	set  *metrics.Set
	node string
	apis map[int16]*apiMetrics

	connsOpened *metrics.Counter
	connsClosed *metrics.Counter

	// produceBytes counts the record bytes of produced partitions that were
	// written (no error); fetchBytes the record bytes returned by Fetch.
	produceBytes *metrics.Counter // skiff_kafka_produce_bytes_total
	fetchBytes   *metrics.Counter // skiff_kafka_fetch_bytes_total

	// Fetch requests by kind (full, or incremental in a KIP-227 session),
	// and their partitions: for a full fetch those of the request; for an
	// incremental one those the request lists (changed) and those fetched
	// (the whole session).
	fetchFull                *metrics.Counter // skiff_kafka_fetch_requests_total{kind="full"}
	fetchFullParts           *metrics.Counter // skiff_kafka_fetch_request_partitions_total{kind="full"}
	fetchIncremental         *metrics.Counter // skiff_kafka_fetch_requests_total{kind="incremental"}
	fetchIncrementalReqParts *metrics.Counter // skiff_kafka_fetch_request_partitions_total{kind="incremental"}
	fetchIncrementalParts    *metrics.Counter // skiff_kafka_fetch_session_partitions_fetched_total
}

// apiMetrics are the per-API series.
type apiMetrics struct {
	requests *metrics.Counter   // skiff_kafka_requests_total
	failures *metrics.Counter   // skiff_kafka_request_failures_total: handler errors, connection closed
	duration *metrics.Histogram // skiff_kafka_request_duration_seconds
}

// newServerMetrics registers the series of every API the server serves
// (those needing services the server lacks are left out).
func newServerMetrics(set *metrics.Set, node string, have feature) *serverMetrics {
	m := &serverMetrics{
		set:          set,
		node:         node,
		apis:         make(map[int16]*apiMetrics, len(registry)),
		connsOpened:  set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_connections_opened_total{node=%q}`, node)),
		connsClosed:  set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_connections_closed_total{node=%q}`, node)),
		produceBytes: set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_produce_bytes_total{node=%q}`, node)),
		fetchBytes:   set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_bytes_total{node=%q}`, node)),

		fetchFull:                set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_requests_total{kind="full",node=%q}`, node)),
		fetchFullParts:           set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_request_partitions_total{kind="full",node=%q}`, node)),
		fetchIncremental:         set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_requests_total{kind="incremental",node=%q}`, node)),
		fetchIncrementalReqParts: set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_request_partitions_total{kind="incremental",node=%q}`, node)),
		fetchIncrementalParts:    set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_fetch_session_partitions_fetched_total{node=%q}`, node)),
	}
	for key, e := range registry {
		if e.needs&^have != 0 {
			continue
		}
		labels := fmt.Sprintf(`{api=%q,node=%q}`, e.name, node)
		m.apis[key] = &apiMetrics{
			requests: set.GetOrCreateCounter("skiff_kafka_requests_total" + labels),
			failures: set.GetOrCreateCounter("skiff_kafka_request_failures_total" + labels),
			duration: set.GetOrCreateHistogram("skiff_kafka_request_duration_seconds" + labels),
		}
	}
	return m
}

// api returns the series of a registered key.
func (m *serverMetrics) api(key int16) *apiMetrics { return m.apis[key] }

// protocolError counts a connection closed for breaking the protocol.
func (m *serverMetrics) protocolError(reason string) {
	m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_protocol_errors_total{reason=%q,node=%q}`, reason, m.node)).Inc()
}

// errorCode counts a non-zero error code put in a response.
func (m *serverMetrics) errorCode(api string, code int16) {
	if code == 0 {
		return
	}
	name := strconv.Itoa(int(code))
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		name = ke.Message
	}
	m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_kafka_error_codes_total{api=%q,code=%q,node=%q}`,
		api, name, m.node)).Inc()
}
