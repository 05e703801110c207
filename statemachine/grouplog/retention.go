package grouplog

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// Deleting data only removes index entries and logical segments (in b) and
// lowers the live bytes of the group segments that held them; Reclaim
// frees the files later, outside Update. b must be an indexed batch: the
// deletions read the index through it, so they see the entries appended
// (and deleted) earlier in the same batch.

// dropEntries removes k's index entries with base in [from, to) whose last
// offset is below below.
func (s *Store) dropEntries(b *pebble.Batch, k Key, from, to, below int64) error {
	lo, hi := offsetKey(prefixIndex, k, from), offsetKey(prefixIndex, k, to)
	var dead [][]byte
	err := pebblekv.Iter(b, lo, hi, nil)(func(key, v []byte) error {
		e, err := decodeEntry(key, v)
		if err != nil {
			return err
		}
		if e.last >= below {
			return nil
		}
		if seg := s.segs[e.seg]; seg != nil {
			n := recHeaderSize + e.size
			seg.live -= n
			s.live.Add(-n)
			s.dirtySeg[seg.id] = seg
		}
		dead = append(dead, slices.Clone(key))
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range dead {
		if err := b.Delete(key, nil); err != nil {
			return err
		}
	}
	return nil
}

// DeleteBefore drops k's batches that end below offset (Kafka
// DeleteRecords; offset is the new log start, at most the next offset),
// and the logical segments left empty.
func (s *Store) DeleteBefore(b *pebble.Batch, k Key, offset int64) error {
	segs := s.parts[k]
	if len(segs) == 0 {
		return nil
	}
	if err := s.dropEntries(b, k, segs[0].base, offset+1, offset); err != nil {
		return err
	}
	i := 0
	for i < len(segs) && segs[i].last < offset {
		i++
	}
	s.dropLsegs(k, i)
	return nil
}

// Retention applies k's retention.ms, retention.bytes (negative: no limit)
// and segment.ms at nowMs (the proposer's clock), as Kafka does per
// segment: the active logical segment is closed once segment.ms old (so a
// partition that stops receiving data still expires), then the oldest
// closed logical segments go while their max timestamp is older than
// retention.ms, then while the partition stays at least retentionBytes
// without them. It returns the first offset kept (the new log start
// candidate) or -1 when nothing was deleted; when everything is deleted it
// returns next, the partition's next offset.
func (s *Store) Retention(b *pebble.Batch, k Key, nowMs, retentionMs, retentionBytes, segmentMs, next int64) (int64, error) {
	segs := s.parts[k]
	if len(segs) == 0 {
		return -1, nil
	}
	if a := segs[len(segs)-1]; !a.closed && a.bytes > 0 && segmentMs > 0 &&
		nowMs >= math.MinInt64+segmentMs && nowMs-segmentMs >= a.createdMs {
		a.closed = true
		s.dirtyL[k] = true
	}
	closedN := len(segs)
	if !segs[closedN-1].closed {
		closedN--
	}
	n := 0
	if retentionMs >= 0 && nowMs >= math.MinInt64+retentionMs {
		cutoff := nowMs - retentionMs
		for n < closedN && segs[n].maxTs < cutoff {
			n++
		}
	}
	if retentionBytes >= 0 {
		var size int64
		for _, l := range segs[n:] {
			size += l.bytes
		}
		for n < closedN && size-segs[n].bytes >= retentionBytes {
			size -= segs[n].bytes
			n++
		}
	}
	if n == 0 {
		return -1, nil
	}
	first := next
	if n < len(segs) {
		first = segs[n].base
	}
	if err := s.dropEntries(b, k, segs[0].base, first, math.MaxInt64); err != nil {
		return -1, err
	}
	s.dropLsegs(k, n)
	return first, nil
}

// DropPartition removes every batch and logical segment of k.
func (s *Store) DropPartition(b *pebble.Batch, k Key) error {
	if err := s.dropEntries(b, k, math.MinInt64, math.MaxInt64, math.MaxInt64); err != nil {
		return err
	}
	s.dropLsegs(k, len(s.parts[k]))
	return nil
}

// dropLsegs forgets k's first n logical segments; Stage deletes their
// records.
func (s *Store) dropLsegs(k Key, n int) {
	segs := s.parts[k]
	for _, l := range segs[:n] {
		s.goneL[k] = append(s.goneL[k], l.base)
	}
	if n == len(segs) {
		delete(s.parts, k)
	} else {
		s.parts[k] = segs[n:]
	}
	s.dirtyL[k] = true
}

// Size is the bytes of k's batches (the sum over its logical segments).
func (s *Store) Size(k Key) int64 {
	var n int64
	for _, l := range s.parts[k] {
		n += l.bytes
	}
	return n
}

// LogicalDigest encodes k's logical segments (for a replica digest: they
// are deterministic, unlike the group segments that hold the bytes).
func (s *Store) LogicalDigest(k Key) []byte {
	var b []byte
	for _, l := range s.parts[k] {
		b = binary.BigEndian.AppendUint64(b, uint64(l.base))
		b = append(b, encodeLseg(l)...)
	}
	return b
}

// LogicalSegments returns the base offsets of k's logical segments (tests
// and tools; call it from the apply goroutine or with it stopped).
func (s *Store) LogicalSegments(k Key) []int64 {
	var out []int64
	for _, l := range s.parts[k] {
		out = append(out, l.base)
	}
	return out
}
