package consumergroup

import (
	"context"
	"sort"
)

// Offsets expiry (offsets.retention.minutes), as Kafka's group coordinator
// does it (GroupMetadata.removeExpiredOffsets, and OffsetMetadataManager /
// ClassicGroup.offsetExpirationCondition in Kafka 4):
//   - a commit with an explicit expiry (OffsetCommit v2-4 with a retention
//     time) expires at that time, otherwise OffsetsRetention after its
//     base time;
//   - the base time depends on the group: a classic group with a protocol
//     type counts from when it became Empty (the CurrentStateTimestamp of
//     its last metadata record), a group without one (standalone consumers,
//     admin tools) and a KIP-848 group from each commit's timestamp;
//   - a classic "consumer" group that is Stable and a KIP-848 group keep the
//     commits of the topics their members subscribe to, whatever their age;
//     other non-empty classic groups keep every commit;
//   - a group left with no commits and no members is deleted (a tombstone
//     for its metadata), as Kafka deletes it.
// Expired commits become tombstones in __consumer_offsets, written by the
// coordinator like any other deletion.

// expireOffsets runs one expiry pass over the partitions this node leads.
func (s *Service) expireOffsets(ctx context.Context) {
	s.mu.Lock()
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	sort.Slice(parts, func(i, j int) bool { return parts[i].index < parts[j].index })
	for _, p := range parts {
		if ctx.Err() != nil {
			return
		}
		n, groups, err := p.expireOffsets(ctx)
		switch {
		case err != nil:
			s.log.Debug().Err(err).Int32("partition", p.index).Msg("expiring offsets failed")
		case n > 0 || groups > 0:
			s.log.Info().Int32("partition", p.index).Int("commits", n).Int("groups", groups).
				Msg("expired the offsets of inactive groups")
		}
	}
}

// expireOffsets writes the tombstones of p's expired commits (and of the
// groups they leave empty) as one proposal. It holds writeMu exclusively,
// so that no commit lands between the choice and the tombstones: a commit
// made meanwhile is never deleted.
func (p *partition) expireOffsets(ctx context.Context) (commits, groups int, err error) {
	if !p.loaded.Load() {
		return 0, 0, nil
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, 0, nil
	}
	if err := p.catchUp(false); err != nil {
		p.mu.Unlock()
		return 0, 0, err
	}
	now := p.s.cfg.Now().UnixMilli()
	retention := p.s.cfg.OffsetsRetention.Milliseconds()
	var recs []kv
	var deleted []string
	for _, name := range sortedKeys(p.groups) {
		g := p.groups[name]
		expired, all := g.expiredOffsets(now, retention)
		for _, tp := range expired {
			recs = append(recs, kv{Key: offsetKey(name, tp.topic, tp.partition)})
		}
		commits += len(expired)
		if all && g.isEmpty() {
			if g.hasMeta {
				recs = append(recs, kv{Key: groupKey(name)})
			}
			deleted = append(deleted, name)
		}
	}
	p.mu.Unlock()
	if len(recs) == 0 {
		return 0, 0, nil
	}
	if _, err := p.append(ctx, recs); err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range deleted {
		if g := p.groups[name]; g != nil && g.isEmpty() && len(g.offsets) == 0 && len(g.members) == 0 {
			g.stopTimers()
			delete(p.groups, name)
			groups++
		}
	}
	return commits, groups, nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// expiredOffsets lists g's commits that have expired at nowMs (sorted),
// and whether that is all of them (false when none may expire now).
// Caller holds p.mu.
func (g *group) expiredOffsets(nowMs, retentionMs int64) (out []topicPartition, all bool) {
	base, keep, ok := g.expiryBase()
	if !ok {
		return nil, false
	}
	all = true
	for _, topic := range sortedKeys(g.offsets) {
		ps := g.offsets[topic]
		if keep[topic] {
			all = false
			continue
		}
		parts := make([]int32, 0, len(ps))
		for part := range ps {
			parts = append(parts, part)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		for _, part := range parts {
			c := ps[part]
			var expired bool
			if c.ExpireMs > 0 {
				expired = nowMs >= c.ExpireMs
			} else {
				expired = nowMs-base(c) >= retentionMs
			}
			if expired {
				out = append(out, topicPartition{topic, part})
			} else {
				all = false
			}
		}
	}
	return out, all
}

// expiryBase is Kafka's offsetExpirationCondition: the time a commit's
// retention counts from, and the topics whose commits are kept; ok false
// means no commit of g may expire now.
func (g *group) expiryBase() (base func(*committed) int64, keep map[string]bool, ok bool) {
	byCommit := func(c *committed) int64 { return c.CommitMs }
	if g.consumer != nil {
		keep, _ = g.subscribedTopics()
		return byCommit, keep, true
	}
	switch {
	case g.protocolType == "" && len(g.members) == 0:
		return byCommit, nil, true // standalone consumers and admin tools
	case g.state == stateEmpty:
		// Since the group became Empty: its last metadata record (written
		// on that transition) says when. A group whose last record still
		// lists members has not had its Empty record written yet.
		if g.metaValue == nil {
			return byCommit, nil, true
		}
		if len(g.metaValue.Members) > 0 {
			return nil, nil, false
		}
		emptyMs := g.metaValue.CurrentStateTimestamp
		if emptyMs <= 0 { // metadata v0/v1 has no state timestamp
			return byCommit, nil, true
		}
		return func(*committed) int64 { return emptyMs }, nil, true
	case g.state == stateStable && g.protocolType == "consumer":
		keep, _ = g.subscribedTopics()
		return byCommit, keep, true
	}
	return nil, nil, false
}
