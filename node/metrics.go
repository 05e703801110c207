package node

import (
	"fmt"
	"strconv"

	"github.com/VictoriaMetrics/metrics"
)

type nodeMetrics struct {
	set           *metrics.Set
	node          string
	readSeconds   *metrics.Histogram
	readErrors    *metrics.Counter
	fenced        *metrics.Counter
	leaderChanges *metrics.Counter
	eventsDropped *metrics.Counter

	dataGroupProposals      *metrics.Counter
	dataGroupProposalErrors *metrics.Counter
	dataGroupProposeSeconds *metrics.Histogram
	dataGroupProposedBytes  *metrics.Counter
}

func newNodeMetrics(set *metrics.Set) *nodeMetrics {
	m := &nodeMetrics{set: set}
	return m
}

func (m *nodeMetrics) init(nodeID uint64) {
	m.node = strconv.FormatUint(nodeID, 10)
	m.readSeconds = m.set.GetOrCreateHistogram(fmt.Sprintf(`skiff_metadata_read_seconds{node=%q}`, m.node))
	m.readErrors = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_metadata_read_errors_total{node=%q}`, m.node))
	m.fenced = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_brokers_fenced_total{node=%q}`, m.node))
	m.leaderChanges = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_metadata_leader_changes_total{node=%q}`, m.node))
	m.eventsDropped = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_raft_events_dropped_total{node=%q}`, m.node))
	m.dataGroupProposals = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_datagroup_proposals_total{node=%q}`, m.node))
	m.dataGroupProposalErrors = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_datagroup_proposal_errors_total{node=%q}`, m.node))
	m.dataGroupProposeSeconds = m.set.GetOrCreateHistogram(fmt.Sprintf(`skiff_datagroup_propose_seconds{node=%q}`, m.node))
	m.dataGroupProposedBytes = m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_datagroup_proposed_bytes_total{node=%q}`, m.node))
}

// proposals counts metadata proposals that committed and applied, by kind.
func (m *nodeMetrics) proposals(kind string) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_metadata_proposals_total{node=%q,kind=%q}`, m.node, kind))
}

func (m *nodeMetrics) proposalErrors(kind string) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_metadata_proposal_errors_total{node=%q,kind=%q}`, m.node, kind))
}

func (m *nodeMetrics) proposeSeconds(kind string) *metrics.Histogram {
	return m.set.GetOrCreateHistogram(fmt.Sprintf(`skiff_metadata_propose_seconds{node=%q,kind=%q}`, m.node, kind))
}
