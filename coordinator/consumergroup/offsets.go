package consumergroup

import (
	"context"
	"fmt"
	"sort"

	"github.com/skiff-broker/skiff/topics"
)

// resolveTopics resolves a request's topics local first
// (topics.LocalCatalog): offsets are group state, and a commit for a topic
// deleted a moment ago is removed by the cleanup pass (node/doc.go, "Which
// reads are local"). No topics: no read.
func (s *Service) resolveTopics(ctx context.Context, names []string, ids []TopicID) (*topics.Catalog, error) {
	if len(names) == 0 && len(ids) == 0 {
		return topics.NewCatalog(&topics.View{}), nil
	}
	c, err := topics.LocalCatalog(ctx, s.cfg.Node, names, ids)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
	}
	return c, nil
}

// lookup returns the topic named, or with id when name is "".
func lookup(c *topics.Catalog, name string, id TopicID) (*topics.Topic, error) {
	if t := c.Topic(name, id); t != nil {
		return t, nil
	}
	if name == "" {
		return nil, ErrUnknownTopicID
	}
	return nil, ErrUnknownTopicOrPartition
}

// Commit handles OffsetCommit: every valid partition of the request goes
// into one batch of one proposal to the group's offsets partition, and the
// answer comes after the commit. A failed membership check fails every
// partition.
func (s *Service) Commit(ctx context.Context, req CommitRequest) []TopicErrors {
	out := make([]TopicErrors, len(req.Topics))
	for i, t := range req.Topics {
		out[i] = TopicErrors{Name: t.Name, ID: t.ID, Partitions: make([]PartitionError, len(t.Partitions))}
		for j, pt := range t.Partitions {
			out[i].Partitions[j].Partition = pt.Partition
		}
	}
	failAll := func(err error) []TopicErrors {
		for i := range out {
			for j := range out[i].Partitions {
				if out[i].Partitions[j].Err == nil {
					out[i].Partitions[j].Err = err
				}
			}
		}
		return out
	}
	p, err := s.coordinator(req.Group)
	if err != nil {
		return failAll(err)
	}
	var names []string
	var ids []TopicID
	for _, t := range req.Topics {
		if t.Name != "" {
			names = append(names, t.Name)
		} else {
			ids = append(ids, t.ID)
		}
	}
	rt, err := s.resolveTopics(ctx, names, ids)
	if err != nil {
		return failAll(err)
	}
	now := s.cfg.Now().UnixMilli()
	var expireMs int64
	if req.RetentionMs > 0 {
		expireMs = now + req.RetentionMs
	}
	var recs []kv
	for i, t := range req.Topics {
		mt, err := lookup(rt, t.Name, t.ID)
		if mt != nil {
			out[i].Name, out[i].ID = mt.Name, mt.ID
		}
		for j, pt := range t.Partitions {
			res := &out[i].Partitions[j]
			switch {
			case err != nil:
				res.Err = err
			case pt.Partition < 0 || int(pt.Partition) >= len(mt.Partitions):
				res.Err = ErrUnknownTopicOrPartition
			case pt.Metadata != nil && len(*pt.Metadata) > s.cfg.MaxMetadataBytes:
				res.Err = ErrOffsetMetadataTooLarge
			default:
				md := ""
				if pt.Metadata != nil {
					md = *pt.Metadata
				}
				recs = append(recs, offsetRecord(req.Group, mt.Name, pt.Partition,
					committed{Offset: pt.Offset, LeaderEpoch: pt.LeaderEpoch, Metadata: md, CommitMs: now, ExpireMs: expireMs}))
			}
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return failAll(ErrNotCoordinator)
	}
	err = p.validateCommit(req)
	p.mu.Unlock()
	if err != nil {
		return failAll(err)
	}
	if s.cfg.Disk != nil && len(recs) > 0 {
		// Kafka answers a commit it cannot append for a storage error with
		// NOT_COORDINATOR; COORDINATOR_NOT_AVAILABLE says the same to a
		// client (rediscover and retry) without claiming the group moved.
		if err := s.cfg.Disk.AdmitWrite("OffsetCommit"); err != nil {
			return failAll(fmt.Errorf("%w: %w", ErrCoordinatorNotAvailable, err))
		}
	}
	if err := p.write(ctx, recs); err != nil {
		return failAll(err)
	}
	return out
}

// validateCommit checks who may commit: anyone to a group without members
// (generation -1: a consumer outside group management, or an admin), and
// otherwise the members of the current generation (or, for a KIP-848
// group, a member at its current epoch). Caller holds p.mu.
func (p *partition) validateCommit(req CommitRequest) error {
	g := p.groups[req.Group]
	if g == nil {
		if req.Generation >= 0 {
			return ErrIllegalGeneration
		}
		return nil
	}
	if g.consumer != nil {
		return g.consumer.validateCommit(req.MemberID, req.Generation)
	}
	if req.InstanceID != nil {
		if _, err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
			return err
		}
	}
	if req.Generation < 0 && g.state == stateEmpty {
		return nil
	}
	if g.state == stateCompletingRebalance {
		return ErrRebalanceInProgress
	}
	m := g.members[req.MemberID]
	switch {
	case m == nil:
		return ErrUnknownMemberID
	case req.Generation != g.generation:
		return ErrIllegalGeneration
	}
	g.heartbeat(m)
	return nil
}

// Fetch handles OffsetFetch for each group (v8+ may ask for several).
func (s *Service) Fetch(ctx context.Context, groups []FetchGroup) []FetchedGroup {
	out := make([]FetchedGroup, len(groups))
	var names []string
	var ids []TopicID
	for _, fg := range groups {
		for _, t := range fg.Topics {
			if t.Name != "" {
				names = append(names, t.Name)
			} else {
				ids = append(ids, t.ID)
			}
		}
	}
	rt, rerr := s.resolveTopics(ctx, names, ids)
	for i, fg := range groups {
		out[i] = s.fetchGroup(ctx, fg, rt, rerr)
	}
	return out
}

func (s *Service) fetchGroup(ctx context.Context, fg FetchGroup, rt *topics.Catalog, rerr error) FetchedGroup {
	res := FetchedGroup{Group: fg.Group}
	p, err := s.coordinator(fg.Group)
	if err == nil && rerr != nil && fg.Topics != nil {
		err = rerr
	}
	if err != nil {
		res.Err = err
		return res
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		res.Err = ErrNotCoordinator
		return res
	}
	g := p.groups[fg.Group]
	if g != nil && g.consumer != nil && (fg.MemberID != nil || fg.MemberEpoch >= 0) {
		if err := g.consumer.validateFetch(fg.MemberID, fg.MemberEpoch); err != nil {
			res.Err = err
			return res
		}
	}
	if fg.Topics == nil {
		if g == nil {
			return res
		}
		topicNames := make([]string, 0, len(g.offsets))
		for t := range g.offsets {
			topicNames = append(topicNames, t)
		}
		sort.Strings(topicNames)
		for _, t := range topicNames {
			ft := FetchedTopic{Name: t}
			if id, ok := s.topicID(t); ok {
				ft.ID = id
			}
			ps := g.offsets[t]
			parts := make([]int32, 0, len(ps))
			for part := range ps {
				parts = append(parts, part)
			}
			sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
			for _, part := range parts {
				c := ps[part]
				md := c.Metadata
				ft.Partitions = append(ft.Partitions, FetchedPartition{Partition: part, Offset: c.Offset, LeaderEpoch: c.LeaderEpoch, Metadata: &md})
			}
			res.Topics = append(res.Topics, ft)
		}
		return res
	}
	for _, t := range fg.Topics {
		ft := FetchedTopic{Name: t.Name, ID: t.ID}
		var terr error
		if t.Name == "" {
			mt, err := lookup(rt, "", t.ID)
			if err != nil {
				terr = err
			} else {
				ft.Name = mt.Name
			}
		} else if mt, _ := lookup(rt, t.Name, TopicID{}); mt != nil {
			ft.ID = mt.ID
		}
		for _, part := range t.Partitions {
			fp := FetchedPartition{Partition: part, Offset: -1, LeaderEpoch: -1, Err: terr}
			if terr == nil && g != nil {
				if c := g.offsets[ft.Name][part]; c != nil {
					md := c.Metadata
					fp.Offset, fp.LeaderEpoch, fp.Metadata = c.Offset, c.LeaderEpoch, &md
				}
			}
			if fp.Metadata == nil && terr == nil {
				empty := ""
				fp.Metadata = &empty
			}
			ft.Partitions = append(ft.Partitions, fp)
		}
		res.Topics = append(res.Topics, ft)
	}
	return res
}

// topicID returns the ID of a topic from the local metadata replica.
func (s *Service) topicID(name string) (TopicID, bool) {
	v, err := s.cfg.Node.LocalTopics(topics.Query{Names: []string{name}})
	if err != nil {
		return TopicID{}, false
	}
	for _, t := range v.Topics {
		if t.Name == name {
			return t.ID, true
		}
	}
	return TopicID{}, false
}

// DeleteOffsets handles OffsetDelete: the commits of the partitions named
// are deleted (tombstones, one proposal), unless the group is not empty and
// either does not use the consumer protocol (NON_EMPTY_GROUP, the whole
// request) or subscribes to the topic (GROUP_SUBSCRIBED_TO_TOPIC, that
// partition).
func (s *Service) DeleteOffsets(ctx context.Context, group string, ts []DeleteTopicPartitions) ([]TopicErrors, error) {
	if group == "" {
		return nil, ErrInvalidGroupID
	}
	p, err := s.coordinator(group)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	rt, err := s.resolveTopics(ctx, names, nil)
	if err != nil {
		return nil, err
	}
	out := make([]TopicErrors, len(ts))
	var recs []kv
	p.mu.Lock()
	g := p.groups[group]
	switch {
	case p.closed:
		p.mu.Unlock()
		return nil, ErrNotCoordinator
	case g == nil:
		p.mu.Unlock()
		return nil, ErrGroupIDNotFound
	}
	var subscribed map[string]bool
	if !g.isEmpty() {
		var ok bool
		if subscribed, ok = g.subscribedTopics(); !ok {
			p.mu.Unlock()
			return nil, ErrNonEmptyGroup
		}
	}
	for i, t := range ts {
		out[i] = TopicErrors{Name: t.Name, Partitions: make([]PartitionError, len(t.Partitions))}
		mt, terr := lookup(rt, t.Name, TopicID{})
		for j, part := range t.Partitions {
			pe := &out[i].Partitions[j]
			pe.Partition = part
			switch {
			case terr != nil:
				pe.Err = terr
			case part < 0 || int(part) >= len(mt.Partitions):
				pe.Err = ErrUnknownTopicOrPartition
			case subscribed[t.Name]:
				pe.Err = ErrGroupSubscribedToTopic
			case g.offsets[t.Name][part] != nil:
				recs = append(recs, kv{Key: offsetKey(group, t.Name, part)})
			}
		}
	}
	p.mu.Unlock()
	if err := p.write(ctx, recs); err != nil {
		return nil, err
	}
	return out, nil
}

// isEmpty: no members (classic Empty state, or a consumer group without
// members).
func (g *group) isEmpty() bool {
	if g.consumer != nil {
		return g.consumer.empty()
	}
	return g.state == stateEmpty
}
