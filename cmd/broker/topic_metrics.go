package broker

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/skiff-broker/skiff/datapath"
)

// meteredRecords wraps the data path to count, per topic, the record bytes
// written and read and the records written on this node (it leads the
// partitions it serves), named after Kafka's BrokerTopicMetrics:
//
//	skiff_topic_bytes_in_total{topic}     BytesInPerSec
//	skiff_topic_bytes_out_total{topic}    BytesOutPerSec
//	skiff_topic_messages_in_total{topic}  MessagesInPerSec
//
// With Config.PartitionMetrics the same counters also exist per partition
// (skiff_partition_*{topic,partition}); off by default, to keep the number
// of series bounded by the number of topics.
type meteredRecords struct {
	*datapath.Service
	set          *metrics.Set
	node         string
	perPartition bool

	mu       sync.Mutex
	counters map[string]*topicCounters // by topic name, or topic+"/"+partition
}

type topicCounters struct {
	bytesIn, bytesOut, messagesIn *metrics.Counter
}

func newMeteredRecords(s *datapath.Service, set *metrics.Set, node int32, perPartition bool) *meteredRecords {
	return &meteredRecords{Service: s, set: set, node: strconv.Itoa(int(node)), perPartition: perPartition,
		counters: map[string]*topicCounters{}}
}

func (m *meteredRecords) forTopic(topic string) *topicCounters {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[topic]
	if c == nil {
		l := fmt.Sprintf(`{node=%q,topic=%q}`, m.node, topic)
		c = &topicCounters{
			bytesIn:    m.set.GetOrCreateCounter("skiff_topic_bytes_in_total" + l),
			bytesOut:   m.set.GetOrCreateCounter("skiff_topic_bytes_out_total" + l),
			messagesIn: m.set.GetOrCreateCounter("skiff_topic_messages_in_total" + l),
		}
		m.counters[topic] = c
	}
	return c
}

func (m *meteredRecords) forPartition(topic string, p int32) *topicCounters {
	key := topic + "/" + strconv.Itoa(int(p))
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[key]
	if c == nil {
		l := fmt.Sprintf(`{node=%q,topic=%q,partition="%d"}`, m.node, topic, p)
		c = &topicCounters{
			bytesIn:    m.set.GetOrCreateCounter("skiff_partition_bytes_in_total" + l),
			bytesOut:   m.set.GetOrCreateCounter("skiff_partition_bytes_out_total" + l),
			messagesIn: m.set.GetOrCreateCounter("skiff_partition_messages_in_total" + l),
		}
		m.counters[key] = c
	}
	return c
}

// Produce counts the partitions written without error.
func (m *meteredRecords) Produce(ctx context.Context, req datapath.ProduceRequest) []datapath.ProduceTopicResult {
	out := m.Service.Produce(ctx, req)
	for i, rt := range req.Topics {
		if i >= len(out) || out[i].Name == "" {
			continue
		}
		var tc *topicCounters // created on the first success: no series for unknown names
		for j, rp := range rt.Partitions {
			if j >= len(out[i].Partitions) || out[i].Partitions[j].Err != nil {
				continue
			}
			if tc == nil {
				tc = m.forTopic(out[i].Name)
			}
			n := uint64(len(rp.Records))
			recs := uint64(recordCount(rp.Records))
			tc.bytesIn.Add(int(n))
			tc.messagesIn.Add(int(recs))
			if m.perPartition {
				pc := m.forPartition(out[i].Name, rp.Partition)
				pc.bytesIn.Add(int(n))
				pc.messagesIn.Add(int(recs))
			}
		}
	}
	return out
}

// Fetch counts the record bytes returned.
func (m *meteredRecords) Fetch(ctx context.Context, req datapath.FetchRequest) []datapath.FetchTopicResult {
	out := m.Service.Fetch(ctx, req)
	for _, rt := range out {
		if rt.Name == "" {
			continue
		}
		var tc *topicCounters
		for _, rp := range rt.Partitions {
			if len(rp.Records) == 0 {
				continue
			}
			if tc == nil {
				tc = m.forTopic(rt.Name)
			}
			tc.bytesOut.Add(len(rp.Records))
			if m.perPartition {
				m.forPartition(rt.Name, rp.Partition).bytesOut.Add(len(rp.Records))
			}
		}
	}
	return out
}

// forget unregisters the series of topics that no longer exist.
func (m *meteredRecords) forget(exists func(topic string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.counters {
		topic, part, isPart := cutLast(key)
		if exists(topic) {
			continue
		}
		delete(m.counters, key)
		if isPart {
			l := fmt.Sprintf(`{node=%q,topic=%q,partition="%s"}`, m.node, topic, part)
			for _, n := range []string{"skiff_partition_bytes_in_total", "skiff_partition_bytes_out_total", "skiff_partition_messages_in_total"} {
				m.set.UnregisterMetric(n + l)
			}
			continue
		}
		l := fmt.Sprintf(`{node=%q,topic=%q}`, m.node, topic)
		for _, n := range []string{"skiff_topic_bytes_in_total", "skiff_topic_bytes_out_total", "skiff_topic_messages_in_total"} {
			m.set.UnregisterMetric(n + l)
		}
	}
}

// cutLast splits "topic/partition" keys; topic names cannot hold '/'.
func cutLast(key string) (topic, part string, ok bool) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

// recordCount sums the record counts of the batches in b (v2 batch header:
// length at byte 8, record count at byte 57), stopping at a truncated batch.
func recordCount(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		length := int64(int32(binary.BigEndian.Uint32(b[8:12])))
		if length < 49 || int64(len(b)) < 12+length {
			break
		}
		if c := int32(binary.BigEndian.Uint32(b[57:61])); c > 0 {
			n += int64(c)
		}
		b = b[12+length:]
	}
	return n
}
