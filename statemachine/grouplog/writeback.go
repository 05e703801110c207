package grouplog

import "os"

// WritebackBytes is how many appended bytes of a segment accumulate before
// the writeback goroutine flushes them to disk, outside the apply lock.
// Dragonboat calls Sync under its state-machine lock (rsm sync()), so
// Update waits for it; without writeback, the first fsync after a burst
// flushed every dirty byte written since the last Sync at once (up to
// SnapshotEntries entries, hundreds of MiB) and stalled produce for
// seconds. With it, Sync finds at most about this much left to write.
const WritebackBytes = 4 << 20

// wbReq is one range of a segment to write back.
type wbReq struct {
	f      *os.File
	off, n int64
}

// noteWritten hands a's bytes since its last writeback to the writeback
// goroutine once there are WritebackBytes of them. It never blocks: with
// the goroutine busy, the range grows and goes with the next call (or
// Sync covers it).
func (s *Store) noteWritten(a *segment) {
	if a.end-a.wbFrom < WritebackBytes {
		return
	}
	select {
	case s.wbc <- wbReq{f: a.f, off: a.wbFrom, n: a.end - a.wbFrom}:
		a.wbFrom = a.end
	default:
	}
}

// writeback writes back the ranges noteWritten hands it until Close. A
// range is only a hint: a failure (the segment closed by reclaim, an I/O
// error) is left to Sync, whose fsync reports what matters.
func (s *Store) writeback() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stopc:
			return
		case r := <-s.wbc:
			if writebackRange(r.f, r.off, r.n) == nil {
				s.writtenBack.Add(r.n)
			}
		}
	}
}
