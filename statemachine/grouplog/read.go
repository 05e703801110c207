package grouplog

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Readers see the committed index: an Update's batches become visible when
// its pebble batch commits, after their bytes are in the segment files.
// They hold fmu for reading while they read files, so Reclaim removes a
// segment only after the readers that could still use it are done.

func (s *Store) iter(prefix byte, k Key) *pebble.Iterator {
	lo, hi := partRange(prefix, k)
	return s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
}

// readBatch reads one batch's bytes into out (appended).
func (s *Store) readBatch(out []byte, e entry) ([]byte, error) {
	seg := s.segs[e.seg]
	if seg == nil {
		return out, fmt.Errorf("%w: index entry at %d points to missing segment %d", ErrCorrupt, e.base, e.seg)
	}
	n := len(out)
	out = append(out, make([]byte, e.size)...)
	if _, err := seg.f.ReadAt(out[n:], e.pos); err != nil {
		return out[:n], fmt.Errorf("grouplog: read segment %d at %d: %w", e.seg, e.pos, err)
	}
	return out, nil
}

// Read returns k's whole batches starting with the one that holds offset
// (it may start before offset), at most maxBytes of them; a first batch
// larger than maxBytes is returned whole, so consumers always progress.
// An offset beyond the last indexed batch returns nothing. The caller
// checks offset against the partition's log start and next offset.
func (s *Store) Read(k Key, offset int64, maxBytes int) ([]byte, error) {
	s.fmu.RLock()
	defer s.fmu.RUnlock()
	it := s.iter(prefixIndex, k)
	defer it.Close()
	valid := it.SeekLT(offsetKey(prefixIndex, k, offset+1))
	if valid {
		e, err := decodeEntry(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		if e.last < offset {
			valid = it.Next()
		}
	} else {
		valid = it.First()
	}
	var out []byte
	for ; valid; valid = it.Next() {
		e, err := decodeEntry(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && len(out)+int(e.size) > maxBytes {
			break
		}
		if out, err = s.readBatch(out, e); err != nil {
			return nil, err
		}
		if len(out) >= maxBytes {
			break
		}
	}
	return out, it.Error()
}

// OffsetForTimestamp answers ListOffsets by timestamp: the base offset of
// the first batch at or after start whose max timestamp is >= ts (at least
// start) and that timestamp; ok is false when no batch is that recent.
func (s *Store) OffsetForTimestamp(k Key, start, ts int64) (offset, batchTs int64, ok bool) {
	// The logical segments' max timestamps skip whole segments.
	lit := s.iter(prefixLogical, k)
	from := int64(-1)
	for valid := lit.First(); valid; valid = lit.Next() {
		l, err := decodeLseg(lit.Key(), lit.Value())
		if err != nil {
			break
		}
		if l.last >= start && l.maxTs >= ts {
			from = l.base
			break
		}
	}
	_ = lit.Close()
	if from < 0 {
		return -1, -1, false
	}
	it := s.iter(prefixIndex, k)
	defer it.Close()
	for valid := it.SeekGE(offsetKey(prefixIndex, k, from)); valid; valid = it.Next() {
		e, err := decodeEntry(it.Key(), it.Value())
		if err != nil {
			return -1, -1, false
		}
		if e.last >= start && e.maxTs >= ts {
			return max(e.base, start), e.maxTs, true
		}
	}
	return -1, -1, false
}

// MaxTimestamp answers ListOffsets -3 at batch granularity: the base
// offset (at least start) of the first batch carrying k's largest max
// timestamp, and that timestamp; (-1, -1) when k holds no batch.
func (s *Store) MaxTimestamp(k Key, start int64) (offset, ts int64) {
	it := s.iter(prefixLogical, k)
	defer it.Close()
	offset, ts = -1, -1
	for valid := it.First(); valid; valid = it.Next() {
		l, err := decodeLseg(it.Key(), it.Value())
		if err != nil || l.maxTsOff < 0 || l.last < start {
			continue
		}
		if offset < 0 || l.maxTs > ts {
			offset, ts = l.maxTsOff, l.maxTs
		}
	}
	if offset < 0 {
		return -1, -1
	}
	return max(offset, start), ts
}
