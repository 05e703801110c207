package datapath

import (
	"context"
	"time"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Run does the data groups' housekeeping until ctx ends: every
// MaintenanceInterval, for each group this node leads, it proposes one
// Retention command with the topics' retention.ms, retention.bytes and
// segment.ms (the leader's clock decides, so every replica closes and
// deletes the same logical segments; see retentionPart for which
// partitions) and one DeletePartitions for the logs of topics that no longer exist.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.maintain(ctx)
	}
}

func (s *Service) maintain(ctx context.Context) {
	self := s.cfg.Node.ID()
	for _, shard := range s.cfg.Node.LocalDataGroups() {
		if leader, _, ok := s.cfg.Node.DataGroupLeader(shard); !ok || leader != self {
			continue
		}
		sm, ok := s.cfg.Node.DataGroupReplica(shard)
		if !ok {
			continue
		}
		parts := sm.Partitions()
		if len(parts) == 0 {
			continue
		}
		ids := make([]TopicID, 0, len(parts))
		for _, k := range parts {
			ids = append(ids, k.Topic)
		}
		// Linearizable: a local replica that has not applied a topic's
		// creation yet would take its partitions for deleted ones.
		cat, err := topics.ReadCatalog(ctx, s.cfg.Node, nil, ids)
		if err != nil {
			continue
		}
		var gone []datagroup.PartitionKey
		ret := datagroup.Retention{NowMs: s.cfg.Now().UnixMilli()}
		for _, k := range parts {
			t := cat.Topic("", k.Topic)
			if t == nil || int(k.Partition) >= len(t.Partitions) {
				gone = append(gone, k)
				continue
			}
			if rp, ok := retentionPart(t, k); ok {
				ret.Parts = append(ret.Parts, rp)
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if len(gone) > 0 {
			if _, err := s.cfg.Node.ProposeDataGroup(pctx, shard, datagroup.DeletePartitions{Keys: gone}); err == nil {
				s.log.Info().Uint64("shard", shard).Int("partitions", len(gone)).Msg("removed the logs of deleted topics")
			}
		}
		if len(ret.Parts) > 0 {
			if _, err := s.cfg.Node.ProposeDataGroup(pctx, shard, ret); err != nil {
				s.log.Debug().Err(err).Uint64("shard", shard).Msg("retention proposal failed")
			}
		}
		cancel()
	}
}

// retentionPart is partition k's part of a Retention command, from its
// topic t's configs; ok is false when retention must not touch it: a
// topic whose cleanup.policy lacks delete (compact only: Kafka never
// deletes its segments by time or size, it only compacts them, so that
// the latest record of every key stays; without this a compacted topic
// lost all its keys after retention.ms), or one with neither a time nor a
// size limit.
func retentionPart(t *topics.Topic, k datagroup.PartitionKey) (datagroup.RetentionPart, bool) {
	if deletes, _ := topics.CleanupPolicy(t); !deletes {
		return datagroup.RetentionPart{}, false
	}
	ms := topics.TopicConfigInt(t, "retention.ms")
	bytes := topics.TopicConfigInt(t, "retention.bytes")
	if ms < 0 && bytes < 0 {
		return datagroup.RetentionPart{}, false
	}
	return datagroup.RetentionPart{Key: k, RetentionMs: ms, RetentionBytes: bytes,
		SegmentMs: topics.TopicConfigInt(t, "segment.ms")}, true
}
