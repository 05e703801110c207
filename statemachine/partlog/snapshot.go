package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Snapshot stream (all big-endian):
//
//	header   "SKPLSNAP" | version uint32 (1) | startOffset int64 |
//	         nextOffset int64 | segmentCount uint32 (>= 1)
//	segment  baseOffset int64 | length uint64 | length bytes of whole batches
//	         (repeated segmentCount times, oldest first, starting with the
//	         segment that holds startOffset; the last may be empty)
//	trailer  CRC-32C (Castagnoli) of every preceding byte, uint32
//
// Segment boundaries are part of the stream so that a restored replica rolls
// (and so deletes by retention) exactly where the others do. The stream is
// self-delimiting: Restore reads exactly the bytes WriteSnapshot wrote, so
// a caller may embed several in one stream.

const (
	snapMagic       = "SKPLSNAP"
	snapVersion     = 1
	snapHeaderSize  = 8 + 4 + 8 + 8 + 4
	snapSectionSize = 8 + 8
)

// SnapshotView is a point-in-time view of a Log for a snapshot: the offsets
// and segment sizes at PrepareSnapshot, with the segment files held open so
// that later appends, retention and DeleteRecords do not affect it (a
// TruncateTo of the captured range would). Write it with WriteTo, possibly
// concurrently with further appends, then Close it.
type SnapshotView struct {
	start, next int64
	segs        []snapSeg
}

type snapSeg struct {
	base, size int64
	f          *os.File
}

// PrepareSnapshot captures the log for a snapshot (Dragonboat's
// PrepareSnapshot phase); the caller must Close the view.
func (l *Log) PrepareSnapshot() (*SnapshotView, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	v := &SnapshotView{start: l.start, next: l.active().next}
	for _, s := range l.segs[max(l.segIndex(l.start), 0):] {
		f, err := os.Open(segName(l.dir, s.base, logSuffix))
		if err != nil {
			v.Close()
			return nil, err
		}
		v.segs = append(v.segs, snapSeg{base: s.base, size: s.size, f: f})
	}
	return v, nil
}

// Close releases the view's files.
func (v *SnapshotView) Close() error {
	for _, s := range v.segs {
		s.f.Close()
	}
	v.segs = nil
	return nil
}

// WriteTo writes the snapshot stream to w.
func (v *SnapshotView) WriteTo(w io.Writer) (int64, error) {
	cw := &crcWriter{w: w, h: crc32.New(castagnoli)}
	hdr := make([]byte, 0, snapHeaderSize)
	hdr = append(hdr, snapMagic...)
	hdr = binary.BigEndian.AppendUint32(hdr, snapVersion)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(v.start))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(v.next))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(v.segs)))
	if _, err := cw.Write(hdr); err != nil {
		return cw.n, err
	}
	buf := make([]byte, 256<<10)
	for _, s := range v.segs {
		var sec [snapSectionSize]byte
		binary.BigEndian.PutUint64(sec[:], uint64(s.base))
		binary.BigEndian.PutUint64(sec[8:], uint64(s.size))
		if _, err := cw.Write(sec[:]); err != nil {
			return cw.n, err
		}
		k, err := io.CopyBuffer(cw, io.NewSectionReader(s.f, 0, s.size), buf)
		if err == nil && k != s.size {
			err = fmt.Errorf("partlog: segment %d: copied %d of %d bytes", s.base, k, s.size)
		}
		if err != nil {
			return cw.n, err
		}
	}
	var tr [4]byte
	binary.BigEndian.PutUint32(tr[:], cw.h.Sum32())
	k, err := w.Write(tr[:])
	return cw.n + int64(k), err
}

// WriteSnapshot writes StartOffset, NextOffset and the segments from the
// one holding StartOffset to w (see PrepareSnapshot to split the capture
// from the copy).
func (l *Log) WriteSnapshot(w io.Writer) error {
	v, err := l.PrepareSnapshot()
	if err != nil {
		return err
	}
	defer v.Close()
	_, err = v.WriteTo(w)
	return err
}

type crcWriter struct {
	w io.Writer
	h hash.Hash32
	n int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

type crcReader struct {
	r io.Reader
	h hash.Hash32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	return n, err
}

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
}

// Restore replaces dir with the log described by a WriteSnapshot stream
// and opens it. It reads exactly the stream's bytes from r (wrap r in a
// bufio.Reader for speed). Every batch is validated (CRC, contiguous
// offsets) into a sibling temporary directory first; on any error, dir is
// left as it was and the error wraps ErrBadSnapshot (or is an I/O error).
func Restore(dir string, cfg Config, r io.Reader) (*Log, error) {
	cfg = cfg.withDefaults()
	dir = filepath.Clean(dir)
	tmp := dir + ".restore" + tmpSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := restoreInto(tmp, cfg, r); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = badSnapshot("truncated stream: %v", err)
		}
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := fsyncPath(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	return Open(dir, cfg)
}

func restoreInto(tmp string, cfg Config, r io.Reader) (err error) {
	cr := &crcReader{r: r, h: crc32.New(castagnoli)}
	var hdr [snapHeaderSize]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return err
	}
	if string(hdr[:8]) != snapMagic {
		return badSnapshot("bad magic")
	}
	if v := binary.BigEndian.Uint32(hdr[8:]); v != snapVersion {
		return badSnapshot("unsupported version %d", v)
	}
	start := int64(binary.BigEndian.Uint64(hdr[12:]))
	next := int64(binary.BigEndian.Uint64(hdr[20:]))
	nseg := binary.BigEndian.Uint32(hdr[28:])
	if start < 0 || next < start || nseg == 0 {
		return badSnapshot("start offset %d, next offset %d, %d segments", start, next, nseg)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	l := &Log{dir: tmp, cfg: cfg}
	defer func() {
		if len(l.segs) > 0 && l.active().f != nil {
			l.active().f.Close()
		}
	}()
	var buf []byte
	for i := uint32(0); i < nseg; i++ {
		var sec [snapSectionSize]byte
		if _, err := io.ReadFull(cr, sec[:]); err != nil {
			return err
		}
		base := int64(binary.BigEndian.Uint64(sec[:]))
		length := binary.BigEndian.Uint64(sec[8:])
		if length > math.MaxUint32 || (length == 0 && i != nseg-1) {
			return badSnapshot("segment %d: length %d", i, length)
		}
		if i == 0 {
			if base < 0 || base > start {
				return badSnapshot("first segment base %d, start offset %d", base, start)
			}
			s, err := createSegment(tmp, base)
			if err != nil {
				return err
			}
			l.segs = []*segment{s}
		} else {
			if base != l.active().next {
				return badSnapshot("segment %d: base %d, previous segment ends at %d", i, base, l.active().next)
			}
			if err := l.rollLocked(); err != nil {
				return err
			}
		}
		a := l.active()
		for rem := int64(length); rem > 0; {
			if rem < BatchHeaderSize {
				return badSnapshot("segment %d: %d trailing bytes", i, rem)
			}
			buf = buf[:0]
			if buf, err = readN(cr, buf, batchLengthPrefix); err != nil {
				return err
			}
			size := batchLengthPrefix + int64(int32(binary.BigEndian.Uint32(buf[offBatchLength:])))
			if size < BatchHeaderSize || size > rem {
				return badSnapshot("segment %d: batch of %d bytes, %d left", i, size, rem)
			}
			if buf, err = readN(cr, buf, int(size)); err != nil {
				return err
			}
			h, err := parseBatch(buf, true)
			if err != nil {
				return badSnapshot("segment %d: %v", i, err)
			}
			if h.BaseOffset != a.next || h.LastOffset()-a.base > math.MaxUint32 || h.LastOffset() >= next {
				return badSnapshot("segment %d: batch [%d, %d] after offset %d (next offset %d)", i, h.BaseOffset, h.LastOffset(), a.next, next)
			}
			if err := l.appendLocked(buf, batchInfo{size: size, base: h.BaseOffset, last: h.LastOffset(), maxTs: h.MaxTimestamp}, false); err != nil {
				return err
			}
			rem -= size
		}
	}
	if l.active().next != next || start < l.segs[0].base {
		return badSnapshot("segments end at %d, next offset %d", l.active().next, next)
	}
	var tr [4]byte
	if _, err := io.ReadFull(r, tr[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(tr[:]) != cr.h.Sum32() {
		return badSnapshot("checksum mismatch")
	}
	if err := l.active().flushIndexes(tmp); err != nil {
		return err
	}
	if start > l.segs[0].base {
		if err := writeStartOffset(tmp, start); err != nil {
			return err
		}
	}
	// Make the restored files durable before they replace the old ones.
	for _, s := range l.segs {
		for _, suf := range []string{logSuffix, idxSuffix, tsSuffix} {
			if err := fsyncPath(segName(tmp, s.base, suf)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return fsyncPath(tmp)
}

// readN extends buf to n bytes read from r, growing it as data arrives so
// that a lying length cannot force a large allocation.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		chunk := min(n-len(buf), 1<<20)
		buf = slices.Grow(buf, chunk)
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
