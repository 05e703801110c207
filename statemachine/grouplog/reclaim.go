package grouplog

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble"
)

// Reclaim frees group segments no partition needs any more, outside
// Update (the caller holds the apply lock, so no Update runs meanwhile):
// a closed segment with no live byte is deleted; one whose live share has
// fallen below Config.ReclaimLiveShare has its live batches copied to the
// active segment first. Each segment is one step: the copies are fsynced,
// then the new index entries and the segment's removal are committed to
// pebble in one synced batch, then the file is removed (after the readers
// that may still use it). A crash between two steps leaves either the old
// entries (and copies beyond the index, which Open cuts) or the new ones
// (and an unknown file, which Open removes). It returns the bytes freed
// and the bytes copied.
func (s *Store) Reclaim() (freed, copied int64, err error) {
	for _, id := range s.segIDs() {
		seg := s.segs[id]
		if seg == s.active || seg.end == 0 {
			continue
		}
		if seg.live > 0 && float64(seg.live) >= s.cfg.ReclaimLiveShare*float64(seg.end) {
			continue
		}
		n, err := s.reclaim(seg)
		if err != nil {
			return freed, copied, fmt.Errorf("grouplog: reclaim segment %d: %w", id, err)
		}
		freed += seg.end
		copied += n
	}
	return freed, copied, nil
}

func (s *Store) reclaim(seg *segment) (copied int64, err error) {
	b := s.db.NewBatch()
	defer b.Close()
	if seg.live > 0 {
		err := scanRecords(seg.f, 0, seg.end, func(k Key, pos int64, batch []byte) error {
			base := int64(beUint64(batch))
			key := offsetKey(prefixIndex, k, base)
			v, closer, err := s.db.Get(key)
			if err == pebble.ErrNotFound {
				return nil
			}
			if err != nil {
				return err
			}
			e, err := decodeEntry(key, v)
			closer.Close()
			if err != nil || e.seg != seg.id || e.pos != pos {
				return err // dead: deleted, or a newer batch at that key
			}
			to, npos, err := s.writeRecord(k, batch)
			if err != nil {
				return err
			}
			e.seg, e.pos = to.id, npos
			copied += recHeaderSize + e.size
			return b.Set(key, encodeEntry(nil, e), nil)
		})
		if err != nil {
			return 0, err
		}
	}
	if err := s.syncFiles(); err != nil {
		return 0, err
	}
	if err := s.Stage(b); err != nil {
		return 0, err
	}
	if err := b.Delete(segmentKey(seg.id), nil); err != nil {
		return 0, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	s.fmu.Lock()
	delete(s.segs, seg.id)
	s.fmu.Unlock()
	delete(s.unsynced, seg.id)
	delete(s.dirtySeg, seg.id)
	s.bytes.Add(-seg.end)
	s.live.Add(-seg.live)
	s.reclaimed.Add(seg.end)
	s.rewritten.Add(copied)
	_ = seg.f.Close()
	if err := os.Remove(segPath(s.dir, seg.id)); err != nil {
		return copied, err
	}
	s.newDirs.Store(true)
	return copied, nil
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}
