package broker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/topics"
)

// DefaultMetricsInterval is how often the cluster gauges and consumer lag
// are recomputed when Config.MetricsInterval is 0.
const DefaultMetricsInterval = 10 * time.Second

// clusterMetrics periodically computes this node's view of partition
// health, data-group Raft state and consumer-group lag, named after Kafka's
// JMX metrics where one exists (README, Operations):
//
//	skiff_partitions                   kafka.server:ReplicaManager,PartitionCount
//	skiff_leader_partitions            kafka.server:ReplicaManager,LeaderCount
//	skiff_under_replicated_partitions  kafka.server:ReplicaManager,UnderReplicatedPartitions
//	skiff_offline_partitions           kafka.controller:KafkaController,OfflinePartitionsCount
//	skiff_active_controller            kafka.controller:KafkaController,ActiveControllerCount
//	skiff_global_partitions, skiff_global_topics, skiff_alive_brokers (controller only)
//	skiff_datagroup_leader, skiff_datagroup_term, skiff_datagroup_is_leader  (no Kafka equivalent)
//	skiff_consumergroup_lag{group,topic}   kafka-exporter's kafka_consumergroup_lag_sum
//
// Every series is a plain gauge set by the loop; series of data groups,
// groups and topics that disappeared are unregistered.
type clusterMetrics struct {
	b    *Broker
	set  *metrics.Set
	node string

	mu      sync.Mutex
	dynamic map[string]bool // gauges set by the last round, by name
}

func newClusterMetrics(b *Broker) *clusterMetrics {
	return &clusterMetrics{b: b, set: b.cfg.Metrics, node: strconv.Itoa(int(b.node.ID())), dynamic: map[string]bool{}}
}

func (m *clusterMetrics) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		seen := map[string]bool{}
		m.partitions(seen)
		m.dataGroups(seen)
		if groups := m.b.groups.List(ctx, nil, nil); len(groups) > 0 {
			names := make([]string, len(groups))
			for i, g := range groups {
				names[i] = g.Group
			}
			lctx, cancel := context.WithTimeout(ctx, max(interval, 10*time.Second))
			m.lag(lctx, names, seen)
			cancel()
		}
		m.sweep(seen)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gauge sets a series and remembers it for this round.
func (m *clusterMetrics) gauge(seen map[string]bool, name string, v float64) {
	m.set.GetOrCreateGauge(name, nil).Set(v)
	seen[name] = true
}

// keep carries the last round's series whose names start with prefix over
// to this round.
func (m *clusterMetrics) keep(seen map[string]bool, prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.dynamic {
		if strings.HasPrefix(name, prefix) {
			seen[name] = true
		}
	}
}

// sweep unregisters the series the last round set and this one did not.
func (m *clusterMetrics) sweep(seen map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.dynamic {
		if !seen[name] {
			m.set.UnregisterMetric(name)
		}
	}
	m.dynamic = seen
}

// partitions computes the partition gauges from this node's replica of the
// metadata (a local read: cheap, and what this node acts on).
func (m *clusterMetrics) partitions(seen map[string]bool) {
	view, err := m.b.node.LocalTopics(statemachine.QueryTopics{All: true})
	if err != nil {
		return // not ready: keep the last values
	}
	names := make(map[string]bool, len(view.Topics))
	for _, t := range view.Topics {
		names[t.Name] = true
	}
	m.b.meter.forget(func(topic string) bool { return names[topic] })
	me := m.b.node.ID()
	alive := map[int32]bool{}
	for _, br := range view.Brokers {
		alive[br.ID] = br.Alive
	}
	var hosted, leading, under, offline, nparts int
	for _, t := range view.Topics {
		for _, p := range t.Partitions {
			nparts++
			st := topics.PartitionState(view, p, alive)
			online := st.Leader >= 0
			if !online {
				offline++
			}
			for _, r := range p.Replicas {
				if r == me {
					hosted++
				}
			}
			if !online || st.Leader != me {
				continue
			}
			leading++
			if len(st.ISR) < len(p.Replicas) {
				under++
			}
		}
	}
	controller := m.b.node.IsLeader()
	l := fmt.Sprintf(`{node=%q}`, m.node)
	m.gauge(seen, "skiff_partitions"+l, float64(hosted))
	m.gauge(seen, "skiff_leader_partitions"+l, float64(leading))
	m.gauge(seen, "skiff_under_replicated_partitions"+l, float64(under))
	// Cluster-wide counts come from the controller only (as in Kafka), so
	// that sum() over nodes is right.
	ctrl := func(v int) float64 {
		if controller {
			return float64(v)
		}
		return 0
	}
	aliveN := 0
	for _, a := range alive {
		if a {
			aliveN++
		}
	}
	m.gauge(seen, "skiff_offline_partitions"+l, ctrl(offline))
	m.gauge(seen, "skiff_global_partitions"+l, ctrl(nparts))
	m.gauge(seen, "skiff_global_topics"+l, ctrl(len(view.Topics)))
	m.gauge(seen, "skiff_alive_brokers"+l, ctrl(aliveN))
	m.gauge(seen, "skiff_active_controller"+l, ctrl(1))
}

// dataGroups reports the Raft state of each data group with a replica here,
// the replica's applied index and its group log's storage. Dragonboat does
// not expose the followers' match indexes through NodeHost, so each replica
// exports its applied index and a replica's lag is
// max by (group) (skiff_datagroup_applied_index) - min by (group) (...).
func (m *clusterMetrics) dataGroups(seen map[string]bool) {
	me := m.b.node.ID()
	for _, shard := range m.b.node.LocalDataGroups() {
		leader, term, ok := m.b.node.DataGroupLeader(shard)
		if !ok {
			leader = -1
		}
		l := fmt.Sprintf(`{node=%q,group="%d"}`, m.node, shard)
		m.gauge(seen, "skiff_datagroup_leader"+l, float64(leader))
		m.gauge(seen, "skiff_datagroup_term"+l, float64(term))
		isLeader := 0.0
		if leader == me {
			isLeader = 1
		}
		m.gauge(seen, "skiff_datagroup_is_leader"+l, isLeader)
		sm, ok := m.b.node.DataGroupReplica(shard)
		if !ok {
			continue
		}
		m.gauge(seen, "skiff_datagroup_applied_index"+l, float64(sm.AppliedIndex()))
		st := sm.Stats()
		m.gauge(seen, "skiff_grouplog_segments"+l, float64(st.Segments))
		m.gauge(seen, "skiff_grouplog_bytes"+l, float64(st.Bytes))
		m.gauge(seen, "skiff_grouplog_live_bytes"+l, float64(st.LiveBytes))
		m.gauge(seen, "skiff_grouplog_appended_bytes"+l, float64(st.AppendedBytes))
		m.gauge(seen, "skiff_grouplog_reclaimed_bytes"+l, float64(st.ReclaimedBytes))
		m.gauge(seen, "skiff_grouplog_rewritten_bytes"+l, float64(st.RewrittenBytes))
	}
}

// lag sets skiff_consumergroup_lag{group,topic}: the sum over the topic's
// partitions of end offset minus committed offset, for the groups this node
// coordinates. A group or topic whose lag cannot be read this round keeps
// its last value (a series does not blink out on one slow round).
//
// End offsets live on the partitions' leaders, so it asks through a Kafka
// client of this node's own, opened for the round and closed after it (no
// connection stays open between rounds).
func (m *clusterMetrics) lag(ctx context.Context, groups []string, seen map[string]bool) {
	addr := m.b.cfg.Node.KafkaAddr // advertised; b.cfg has it when set by flag
	if addr == "" {
		addr = m.b.KafkaAddr()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("skiff-metrics"))
	if err != nil {
		m.b.log.Warn().Err(err).Msg("metrics: no client for consumer lag")
		return
	}
	defer cl.Close()
	lags, err := kadm.NewClient(cl).Lag(ctx, groups...)
	if err != nil {
		m.b.log.Debug().Err(err).Msg("metrics: consumer lag")
		m.keep(seen, "skiff_consumergroup_lag{")
		return
	}
	for _, g := range groups {
		prefix := fmt.Sprintf(`skiff_consumergroup_lag{node=%q,group=%q,`, m.node, g)
		dl, ok := lags[g]
		if !ok || dl.Error() != nil {
			m.keep(seen, prefix)
			continue
		}
		for topic, parts := range dl.Lag {
			var sum int64
			okAll := true
			for _, pl := range parts {
				if pl.Err != nil || pl.Lag < 0 {
					okAll = false
					break
				}
				sum += pl.Lag
			}
			name := fmt.Sprintf(`%stopic=%q}`, prefix, topic)
			if okAll {
				m.gauge(seen, name, float64(sum))
			} else {
				m.keep(seen, name)
			}
		}
	}
}
