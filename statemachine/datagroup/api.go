package datagroup

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// Registry is told about every data-group state machine a node opens and
// closes, so that the node's Fetch/ListOffsets paths can read a local
// replica's logs directly.
type Registry interface {
	Opened(shardID uint64, s *StateMachine)
	Closed(shardID uint64, s *StateMachine)
}

var (
	ErrUnknownPartition = errors.New("datagroup: unknown partition")
	ErrOffsetOutOfRange = errors.New("datagroup: offset out of range")
	ErrClosed           = errors.New("datagroup: closed")
)

// A partition that was never produced to (or was deleted) reads as an empty
// log at offset 0: the state machine cannot tell it from a partition that
// does not exist, the metadata shard can.

// view runs fn with the partition of k (nil if unknown) and the group log,
// holding s.mu for reading so that neither is closed or replaced under fn.
func (s *StateMachine) view(k PartitionKey, fn func(p *partition, gl *grouplog.Store) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return fn(s.parts[k], s.gl)
}

// Read returns whole batches starting with the one that holds offset, at
// most maxBytes unless the first batch alone is larger (Kafka's rule), plus
// the partition's high watermark and log start offset. offset == high
// watermark returns no data and no error. Safe to call concurrently with
// Update. An offset outside [log start, high watermark] returns an error
// wrapping ErrOffsetOutOfRange (and ErrUnknownPartition if the partition
// has no log), with the current hwm and logStart; after Close, ErrClosed.
func (s *StateMachine) Read(k PartitionKey, offset int64, maxBytes int) (data []byte, hwm, logStart int64, err error) {
	err = s.view(k, func(p *partition, gl *grouplog.Store) error {
		if p == nil {
			if offset != 0 {
				return fmt.Errorf("%w: %w: offset %d", ErrOffsetOutOfRange, ErrUnknownPartition, offset)
			}
			return nil
		}
		// The offsets first: the index shows at least what they cover.
		hwm, logStart = p.pubNext.Load(), p.pubStart.Load()
		if offset < logStart || offset > hwm {
			return fmt.Errorf("%w: offset %d, log [%d, %d)", ErrOffsetOutOfRange, offset, logStart, hwm)
		}
		if offset == hwm {
			return nil
		}
		var rerr error
		data, rerr = gl.Read(k, offset, maxBytes)
		return rerr
	})
	return data, hwm, logStart, err
}

// Offsets returns a partition's log start offset and high watermark.
// Unknown partitions (never produced to, or deleted) report 0, 0, and so
// does every partition after Close.
func (s *StateMachine) Offsets(k PartitionKey) (logStart, hwm int64) {
	_ = s.view(k, func(p *partition, _ *grouplog.Store) error {
		if p != nil {
			logStart, hwm = p.pubStart.Load(), p.pubNext.Load()
		}
		return nil
	})
	return logStart, hwm
}

// OffsetForTimestamp: first offset whose batch max timestamp >= ts (at
// least the log start offset) and that batch's max timestamp; ok is false
// if no batch is that recent, the partition is unknown or s is closed.
func (s *StateMachine) OffsetForTimestamp(k PartitionKey, ts int64) (offset, timestamp int64, ok bool) {
	offset, timestamp = -1, -1
	_ = s.view(k, func(p *partition, gl *grouplog.Store) error {
		if p != nil {
			offset, timestamp, ok = gl.OffsetForTimestamp(k, p.pubStart.Load(), ts)
		}
		return nil
	})
	return offset, timestamp, ok
}

// MaxTimestamp: the offset and timestamp of the batch with the largest
// timestamp (ListOffsets -3); (-1, -1) when empty, unknown or closed.
func (s *StateMachine) MaxTimestamp(k PartitionKey) (offset, ts int64) {
	offset, ts = -1, -1
	_ = s.view(k, func(p *partition, gl *grouplog.Store) error {
		if p != nil {
			offset, ts = gl.MaxTimestamp(k, p.pubStart.Load())
		}
		return nil
	})
	return offset, ts
}

// EpochEndOffset answers OffsetForLeaderEpoch: the largest epoch <= epoch
// for which this partition has data, and the start offset of the next
// epoch (or the high watermark). (-1, -1) if none. The history starts at
// the first epoch that appended data and is trimmed with the log start
// offset, as Kafka's leader-epoch cache is.
func (s *StateMachine) EpochEndOffset(k PartitionKey, epoch int32) (leaderEpoch int32, endOffset int64) {
	s.mu.RLock()
	p := s.parts[k]
	var es []epochEntry
	if p != nil && !s.closed {
		es = p.epochs
	}
	s.mu.RUnlock()
	i := sort.Search(len(es), func(i int) bool { return es[i].epoch > epoch }) - 1
	if i < 0 {
		return -1, -1
	}
	if i+1 < len(es) {
		return es[i].epoch, es[i+1].start
	}
	return es[i].epoch, p.pubNext.Load()
}

// Changed returns a channel closed at the next Update that appends data to
// any partition of this group (for Fetch long polling), or by
// RecoverFromSnapshot or Close. Once closed, it returns a closed channel.
func (s *StateMachine) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Partitions lists the partitions that have a log in this group, sorted
// (by topic ID bytes, then partition). Nil after Close.
func (s *StateMachine) Partitions() []PartitionKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.keys)
}
