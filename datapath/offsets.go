package datapath

import (
	"context"
	"sync"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// ListOffsets answers earliest (-2), latest (-1), max timestamp (-3) and
// by-timestamp lookups from the leader's replica. Latest is the high
// watermark under either isolation level (there are no transactions).
func (s *Service) ListOffsets(ctx context.Context, isolationLevel int8, req []ListOffsetsTopic) []ListOffsetsTopicResult {
	names := make([]string, len(req))
	for i, rt := range req {
		names[i] = rt.Name
	}
	cat, catErr := s.catalog(ctx, names, nil)
	out := make([]ListOffsetsTopicResult, len(req))
	for i, rt := range req {
		out[i] = ListOffsetsTopicResult{Name: rt.Name, Partitions: make([]ListOffsetsPartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			res := &out[i].Partitions[j]
			*res = ListOffsetsPartitionResult{Partition: rp.Partition, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			sm, term, t, err := s.leaderReplica(cat, catErr, rt.Name, rp.Partition)
			if err == nil {
				err = checkEpoch(rp.CurrentLeaderEpoch, term)
			}
			if err != nil {
				res.Err = err
				continue
			}
			k := key(t, rp.Partition)
			res.LeaderEpoch = int32(min(term, 1<<31-1))
			start, hwm := sm.Offsets(k)
			switch rp.Timestamp {
			case TimestampEarliest:
				res.Offset = start
			case TimestampLatest:
				res.Offset = hwm
			case TimestampMax:
				res.Offset, res.Timestamp = sm.MaxTimestamp(k)
			default:
				if off, ts, ok := sm.OffsetForTimestamp(k, rp.Timestamp); ok {
					res.Offset, res.Timestamp = off, ts
				}
			}
		}
	}
	return out
}

// leaderReplica resolves a partition and returns this node's replica of
// its data group, which this node must lead.
func (s *Service) leaderReplica(cat *topics.Catalog, catErr error, name string, p int32) (*datagroup.StateMachine, uint64, *topics.Topic, error) {
	if catErr != nil {
		return nil, 0, nil, nodeErr(catErr)
	}
	t, err := lookup(cat, name, TopicID{})
	if err != nil {
		return nil, 0, nil, err
	}
	shard, term, err := s.leaderOf(t, p)
	if err != nil {
		return nil, 0, nil, err
	}
	sm, ok := s.cfg.Node.DataGroupReplica(shard)
	if !ok {
		return nil, 0, nil, ErrNotLeader
	}
	return sm, term, t, nil
}

// DeleteRecords moves log start offsets: one proposal per data group.
func (s *Service) DeleteRecords(ctx context.Context, req []DeleteRecordsTopic) []DeleteRecordsTopicResult {
	names := make([]string, len(req))
	for i, rt := range req {
		names[i] = rt.Name
	}
	cat, catErr := s.catalog(ctx, names, nil)
	out := make([]DeleteRecordsTopicResult, len(req))
	type ref struct{ t, p int }
	type work struct {
		cmd  datagroup.DeleteRecords
		refs []ref
	}
	groups := map[uint64]*work{}
	var order []uint64
	for i, rt := range req {
		out[i] = DeleteRecordsTopicResult{Name: rt.Name, Partitions: make([]DeleteRecordsPartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			res := &out[i].Partitions[j]
			*res = DeleteRecordsPartitionResult{Partition: rp.Partition, LowWatermark: -1}
			if catErr != nil {
				res.Err = nodeErr(catErr)
				continue
			}
			t, err := lookup(cat, rt.Name, TopicID{})
			if err != nil {
				res.Err = err
				continue
			}
			shard, _, err := s.leaderOf(t, rp.Partition)
			if err != nil {
				res.Err = err
				continue
			}
			if rp.Offset < -1 {
				res.Err = ErrOffsetOutOfRange
				continue
			}
			w := groups[shard]
			if w == nil {
				w = &work{}
				groups[shard] = w
				order = append(order, shard)
			}
			w.cmd.Parts = append(w.cmd.Parts, datagroup.DeleteRecordsPart{Key: key(t, rp.Partition), Offset: rp.Offset})
			w.refs = append(w.refs, ref{i, j})
		}
	}
	var wg sync.WaitGroup
	for _, shard := range order {
		w := groups[shard]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.cfg.Node.ProposeDataGroup(ctx, shard, w.cmd)
			for k, rf := range w.refs {
				res := &out[rf.t].Partitions[rf.p]
				switch {
				case err != nil:
					res.Err = nodeErr(err)
				case k >= len(r.Parts):
					res.Err = ErrInvalidRecord
				case r.Parts[k].Code == datagroup.CodeUnknownPartition && w.cmd.Parts[k].Offset <= 0:
					res.LowWatermark = 0 // an empty, never-written partition
				default:
					if res.Err = codeErr(r.Parts[k].Code); res.Err == nil {
						res.LowWatermark = r.Parts[k].LogStartOffset
					}
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// OffsetForLeaderEpoch answers with the data group's term history.
func (s *Service) OffsetForLeaderEpoch(ctx context.Context, req []EpochTopic) []EpochTopicResult {
	names := make([]string, len(req))
	for i, rt := range req {
		names[i] = rt.Name
	}
	cat, catErr := s.catalog(ctx, names, nil)
	out := make([]EpochTopicResult, len(req))
	for i, rt := range req {
		out[i] = EpochTopicResult{Name: rt.Name, Partitions: make([]EpochPartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			res := &out[i].Partitions[j]
			*res = EpochPartitionResult{Partition: rp.Partition, LeaderEpoch: -1, EndOffset: -1}
			sm, term, t, err := s.leaderReplica(cat, catErr, rt.Name, rp.Partition)
			if err == nil {
				err = checkEpoch(rp.CurrentLeaderEpoch, term)
			}
			if err != nil {
				res.Err = err
				continue
			}
			k := key(t, rp.Partition)
			res.LeaderEpoch, res.EndOffset = sm.EpochEndOffset(k, rp.LeaderEpoch)
			if res.LeaderEpoch < 0 && rp.LeaderEpoch >= 0 {
				// no data in any epoch up to the asked one: the log start
				_, hwm := sm.Offsets(k)
				if hwm == 0 {
					res.LeaderEpoch, res.EndOffset = int32(min(term, 1<<31-1)), 0
				}
			}
		}
	}
	return out
}

// InitProducerID hands out a producer ID for an idempotent producer. IDs
// come from blocks the metadata shard allocates to this broker. A producer
// that sends its current ID and epoch (KIP-360) gets the epoch bumped.
// Transactions are not supported.
func (s *Service) InitProducerID(ctx context.Context, transactionalID *string, producerID int64, producerEpoch int16) (int64, int16, error) {
	if transactionalID != nil {
		return -1, -1, ErrTransactionsDisabled
	}
	if producerID >= 0 && producerEpoch >= 0 && producerEpoch < 32767 {
		return producerID, producerEpoch + 1, nil
	}
	id, err := s.cfg.Node.NextProducerID(ctx)
	if err != nil {
		return -1, -1, nodeErr(err)
	}
	return id, 0, nil
}
