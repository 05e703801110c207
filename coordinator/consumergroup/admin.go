package consumergroup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/topics"
)

// FindCoordinator answers FindCoordinator for keys of one type. For groups
// it creates __consumer_offsets first if it does not exist (Kafka does the
// same), then names the Raft leader of each key's offsets partition: this
// node's own view of the data group when it has a replica (fresher), else
// the leader the metadata shard recorded.
func (s *Service) FindCoordinator(ctx context.Context, keyType int8, keys []string) []CoordinatorResult {
	out := make([]CoordinatorResult, len(keys))
	for i, k := range keys {
		out[i] = CoordinatorResult{Key: k, NodeID: -1, Port: -1}
	}
	failAll := func(err error) []CoordinatorResult {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	switch keyType {
	case KeyTypeGroup:
	case KeyTypeTransaction:
		return failAll(ErrTransactionsDisabled)
	default:
		return failAll(fmt.Errorf("%w: coordinator type %d", ErrUnsupportedKeyType, keyType))
	}
	t, err := s.ensureTopic(ctx)
	if err != nil {
		return failAll(err)
	}
	brokers := map[int32]*statemachine.Broker{}
	for _, b := range t.view.Brokers {
		brokers[b.ID] = b
	}
	var ot *topics.Topic
	for _, tt := range t.view.Topics {
		if tt.Name == OffsetsTopic {
			ot = tt
		}
	}
	for i, k := range keys {
		r := &out[i]
		if k == "" {
			r.Err = fmt.Errorf("%w: empty group id", ErrInvalidRequest)
			continue
		}
		idx := PartitionFor(k, int32(len(t.shards)))
		leader := int32(-1)
		if l, _, ok := s.cfg.Node.DataGroupLeader(t.shards[idx]); ok {
			leader = l
		} else if _, local := s.cfg.Node.DataGroupReplica(t.shards[idx]); !local && ot != nil {
			// No replica here: the leader the metadata shard recorded.
			// (A replica without a leader is in an election: the
			// recorded leader is likely the one that just failed.)
			leader = topics.PartitionLeader(t.view, ot.Partitions[idx]).Leader
		}
		b := brokers[leader]
		if b == nil || !b.Alive {
			r.Err = fmt.Errorf("%w: offsets partition %d has no live leader", ErrCoordinatorNotAvailable, idx)
			continue
		}
		host, portStr, err := net.SplitHostPort(b.KafkaAddr)
		port, perr := strconv.Atoi(portStr)
		if err != nil || perr != nil {
			r.Err = fmt.Errorf("%w: broker %d has a bad address %q", ErrCoordinatorNotAvailable, leader, b.KafkaAddr)
			continue
		}
		r.NodeID, r.Host, r.Port = leader, host, int32(port)
	}
	return out
}

// EnsureOffsetsTopic creates __consumer_offsets if it does not exist yet.
func (s *Service) EnsureOffsetsTopic(ctx context.Context) error {
	_, err := s.ensureTopic(ctx)
	return err
}

// ensureTopic returns __consumer_offsets, creating it (one proposal, as an
// internal topic with Kafka's config names) when it does not exist.
func (s *Service) ensureTopic(ctx context.Context) (*offsetsTopic, error) {
	if t := s.readTopic(); t != nil {
		return t, nil
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	t, err := s.readTopicLinearizable(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
	}
	if t != nil {
		return t, nil
	}
	bv, err := s.cfg.Node.ReadBrokers(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
	}
	live := 0
	for _, b := range bv.Brokers {
		if b.Alive {
			live++
		}
	}
	rf := s.cfg.OffsetsTopicReplicationFactor
	if int(rf) > live {
		rf = int16(max(live, 1))
	}
	str := func(v string) *string { return &v }
	res, err := s.cfg.Topics.Create(ctx, []topics.CreateSpec{{
		Name:              OffsetsTopic,
		NumPartitions:     s.cfg.OffsetsTopicPartitions,
		ReplicationFactor: rf,
		Configs: []topics.ConfigValue{
			// Compaction is Kafka's policy for this topic; the retention
			// settings keep Skiff's time and size retention off it.
			{Key: "cleanup.policy", Value: str("compact")},
			{Key: "retention.ms", Value: str("-1")},
			{Key: "retention.bytes", Value: str("-1")},
			{Key: "segment.bytes", Value: str(strconv.Itoa(offsetsSegmentBytes))},
		},
	}}, topics.CreateOptions{Internal: true})
	if err != nil {
		return nil, fmt.Errorf("%w: creating %s: %v", ErrCoordinatorNotAvailable, OffsetsTopic, err)
	}
	if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, topics.ErrTopicExists) {
		s.log.Warn().Err(res[0].Err).Msg("creating " + OffsetsTopic + " failed")
		return nil, fmt.Errorf("%w: creating %s: %v", ErrCoordinatorNotAvailable, OffsetsTopic, res[0].Err)
	}
	if len(res) == 1 && res[0].Err == nil {
		s.log.Info().Int32("partitions", s.cfg.OffsetsTopicPartitions).Int16("replication_factor", rf).Msg("created " + OffsetsTopic)
	}
	t, err = s.readTopicLinearizable(ctx)
	if err != nil || t == nil {
		return nil, fmt.Errorf("%w: %s not readable after creation: %v", ErrCoordinatorNotAvailable, OffsetsTopic, err)
	}
	s.wake()
	return t, nil
}

// Describe handles DescribeGroups. A group this node does not know is
// Dead with ErrGroupIDNotFound (v6+ reports it); a KIP-848 group is
// reported as not found too (ConsumerGroupDescribe describes it), with
// ErrGroupTypeMismatch.
func (s *Service) Describe(_ context.Context, names []string) []DescribedGroup {
	out := make([]DescribedGroup, len(names))
	for i, name := range names {
		d := &out[i]
		d.Group = name
		p, err := s.coordinator(name)
		if err != nil {
			d.Err = err
			continue
		}
		p.mu.Lock()
		g := p.groups[name]
		switch {
		case p.closed:
			d.Err = ErrNotCoordinator
		case g == nil:
			d.State, d.Err = "Dead", ErrGroupIDNotFound
		case g.consumer != nil:
			d.State, d.Err = "Dead", fmt.Errorf("%w: group %s is not a classic group", ErrGroupTypeMismatch, name)
		default:
			d.State = g.state.String()
			d.ProtocolType = g.protocolType
			stable := g.state == stateStable
			if stable {
				d.Protocol = g.protocol
			}
			for _, m := range g.sortedMembers() {
				dm := DescribedMember{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
				if stable {
					dm.Metadata = m.metadataFor(g.protocol)
					dm.Assignment = m.assignment
				}
				d.Members = append(d.Members, dm)
			}
		}
		p.mu.Unlock()
	}
	return out
}

// List handles ListGroups: the groups this node coordinates, filtered by
// state and type (both case-insensitive; empty filters match all).
func (s *Service) List(_ context.Context, states, types []string) []ListedGroup {
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	s.mu.Lock()
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	var out []ListedGroup
	for _, p := range parts {
		p.mu.Lock()
		if p.loaded.Load() && !p.closed {
			for _, g := range p.groups {
				if g.consumer == nil && g.state == stateEmpty && !g.hasMeta && len(g.offsets) == 0 {
					continue
				}
				st, typ := g.stateName(), g.typeName()
				if !match(states, st) || !match(types, typ) {
					continue
				}
				pt := g.protocolType
				if g.consumer != nil {
					pt = "consumer"
				}
				out = append(out, ListedGroup{Group: g.name, ProtocolType: pt, State: st, Type: typ})
			}
		}
		p.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// DeleteGroups deletes empty groups: a tombstone for the group and for
// each of its commits, one proposal per offsets partition involved.
func (s *Service) DeleteGroups(ctx context.Context, names []string) []error {
	out := make([]error, len(names))
	type batch struct {
		recs []kv
		idx  []int
		grps []string
	}
	batches := map[*partition]*batch{}
	var order []*partition
	for i, name := range names {
		p, err := s.coordinator(name)
		if err != nil {
			out[i] = err
			continue
		}
		p.mu.Lock()
		g := p.groups[name]
		switch {
		case p.closed:
			out[i] = ErrNotCoordinator
		case g == nil:
			out[i] = ErrGroupIDNotFound
		case !g.isEmpty():
			out[i] = ErrNonEmptyGroup
		default:
			b := batches[p]
			if b == nil {
				b = &batch{}
				batches[p] = b
				order = append(order, p)
			}
			for t, ps := range g.offsets {
				for part := range ps {
					b.recs = append(b.recs, kv{Key: offsetKey(name, t, part)})
				}
			}
			b.recs = append(b.recs, kv{Key: groupKey(name)})
			b.idx = append(b.idx, i)
			b.grps = append(b.grps, name)
		}
		p.mu.Unlock()
	}
	for _, p := range order {
		b := batches[p]
		err := p.write(ctx, b.recs)
		p.mu.Lock()
		for k, i := range b.idx {
			out[i] = err
			if err != nil {
				continue
			}
			if g := p.groups[b.grps[k]]; g != nil && g.isEmpty() && len(g.offsets) == 0 {
				g.stopTimers()
				delete(p.groups, g.name)
			}
		}
		p.mu.Unlock()
	}
	return out
}
