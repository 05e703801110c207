package grouplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	dbsm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
	"github.com/skiff-broker/skiff/statemachine/internal/snapio"
)

// Snapshot section (inside the data group's snapio stream, after its
// records, which hold this package's index and segment records):
//
//	segment  0x02, segment ID (uint64 LE), length (uint64 LE), the bytes
//	         ... one per group segment, ascending IDs
//	end      0x00, segment count (uint64 LE)
//
// A segment is streamed up to the end its record covers: exactly what the
// index of the same snapshot describes.
const tagSegment byte = 0x02

// View is a point-in-time copy of the segment list for a snapshot, with
// its own descriptors, so Reclaim may remove files while it is written.
type View struct {
	segs []viewSeg
}

type viewSeg struct {
	id  uint64
	end int64
	f   *os.File
}

// PrepareSnapshot captures the segments (under the apply lock, with the
// pebble snapshot of the same moment).
func (s *Store) PrepareSnapshot() (*View, error) {
	v := &View{}
	for _, id := range s.segIDs() {
		seg := s.segs[id]
		f, err := os.Open(segPath(s.dir, id))
		if err != nil {
			v.Close()
			return nil, err
		}
		v.segs = append(v.segs, viewSeg{id: id, end: seg.end, f: f})
	}
	return v, nil
}

// Close releases the view's files.
func (v *View) Close() {
	for _, s := range v.segs {
		_ = s.f.Close()
	}
	v.segs = nil
}

// Write streams the segments to w.
func (v *View) Write(w *snapio.Writer) error {
	var hdr [17]byte
	hdr[0] = tagSegment
	for _, s := range v.segs {
		binary.LittleEndian.PutUint64(hdr[1:], s.id)
		binary.LittleEndian.PutUint64(hdr[9:], uint64(s.end))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := io.Copy(w, io.NewSectionReader(s.f, 0, s.end)); err != nil {
			return err
		}
	}
	return w.End(uint64(len(v.segs)))
}

// Restore reads the segment section from r into dir (which must not
// exist), fsyncing every file and dir. Errors about the stream's bytes wrap
// snapio.ErrBad.
func Restore(dir string, r *snapio.Reader) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	n := 0
	last := uint64(0)
	for ; ; n++ {
		end, err := r.ReadTag(tagSegment)
		if err != nil {
			return err
		}
		if end {
			break
		}
		h, err := r.ReadN(16)
		if err != nil {
			return err
		}
		id, size := binary.LittleEndian.Uint64(h), binary.LittleEndian.Uint64(h[8:])
		if n > 0 && id <= last {
			return fmt.Errorf("%w: segment IDs out of order", snapio.ErrBad)
		}
		last = id
		if err := restoreFile(segPath(dir, id), r, size); err != nil {
			return err
		}
	}
	if err := r.Count(n); err != nil {
		return err
	}
	return fsutil.SyncDir(dir)
}

func restoreFile(path string, r io.Reader, size uint64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	got, err := io.CopyN(f, r, int64(size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, dbsm.ErrSnapshotStopped) {
		return err
	}
	if uint64(got) != size {
		return fmt.Errorf("%w: truncated segment", snapio.ErrBad)
	}
	return err
}
