package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// A segment is one <base>.log file with its .index and .timeindex. Only the
// active (last) segment keeps an open file and its index entries in memory;
// closed segments cost a few words and are opened on demand.
type segment struct {
	base     int64 // offset of the first batch (the file name)
	next     int64 // offset after the last batch
	size     int64 // bytes of whole batches in the .log file
	maxTs    int64 // max batch maxTimestamp, noTimestamp if none
	maxTsOff int64 // base offset of the first batch with maxTs, -1 if none

	// Closed segments: entry counts of the index files.
	idxCount, tsCount int

	// Active segment only.
	f                     *os.File
	idx                   []idxEntry
	ts                    []tsEntry
	idxFlushed, tsFlushed int   // entries already in the files
	sinceIdx              int64 // log bytes appended since the last index entry
}

const (
	logSuffix   = ".log"
	idxSuffix   = ".index"
	tsSuffix    = ".timeindex"
	startFile   = "start-offset"
	tmpSuffix   = ".tmp"
	nameDigits  = 20
	scanBufSize = 64 << 10
)

func segName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// parseSegName returns the base offset of a "<20 digits>.log" name.
func parseSegName(name string) (int64, bool) {
	if len(name) != nameDigits+len(logSuffix) || name[nameDigits:] != logSuffix {
		return 0, false
	}
	var v int64
	for _, c := range name[:nameDigits] {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func newSegment(base int64) *segment {
	return &segment{base: base, next: base, maxTs: noTimestamp, maxTsOff: -1}
}

// createSegment creates an empty active segment file at base, replacing any
// file of that name and its indexes.
func createSegment(dir string, base int64) (*segment, error) {
	for _, suf := range []string{idxSuffix, tsSuffix} {
		if err := os.Remove(segName(dir, base, suf)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	f, err := os.OpenFile(segName(dir, base, logSuffix), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	s := newSegment(base)
	s.f = f
	return s, nil
}

// removeFiles deletes the segment's three files.
func (s *segment) removeFiles(dir string) error {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	var first error
	for _, suf := range []string{logSuffix, idxSuffix, tsSuffix} {
		if err := os.Remove(segName(dir, s.base, suf)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// track updates the segment's index state for a batch just placed at pos:
// an offset index entry when IndexIntervalBytes have gone by since the last
// one (plus a time index entry if the running max grew), the byte counter
// and the running max timestamp. The same rule runs on Append and on every
// rebuild, so rebuilt indexes equal the ones written live.
func (s *segment) track(b batchInfo, interval int64) {
	point := false
	if s.sinceIdx >= interval && b.pos > 0 {
		s.idx = append(s.idx, idxEntry{rel: uint32(b.base - s.base), pos: uint32(b.pos)})
		s.sinceIdx = 0
		point = true
	}
	s.sinceIdx += b.size
	if b.maxTs > s.maxTs {
		s.maxTs, s.maxTsOff = b.maxTs, b.base
	}
	if point {
		s.markTs()
	}
}

// markTs appends a time index entry for the running max if it grew since
// the last entry.
func (s *segment) markTs() {
	last := int64(noTimestamp)
	if n := len(s.ts); n > 0 {
		last = s.ts[n-1].ts
	}
	if s.maxTs > last && s.maxTsOff >= s.base {
		s.ts = append(s.ts, tsEntry{ts: s.maxTs, rel: uint32(s.maxTsOff - s.base)})
	}
}

// flushIndexes appends the active segment's unwritten index entries (and a
// final time index entry for the running max) to its files.
func (s *segment) flushIndexes(dir string) error {
	s.markTs()
	if s.idxFlushed < len(s.idx) {
		buf := encodeIdx(nil, s.idx[s.idxFlushed:])
		if err := writeEntries(segName(dir, s.base, idxSuffix), buf, int64(s.idxFlushed)*idxEntrySize, false); err != nil {
			return err
		}
		s.idxFlushed = len(s.idx)
	}
	if s.tsFlushed < len(s.ts) {
		buf := encodeTs(nil, s.ts[s.tsFlushed:])
		if err := writeEntries(segName(dir, s.base, tsSuffix), buf, int64(s.tsFlushed)*tsEntrySize, false); err != nil {
			return err
		}
		s.tsFlushed = len(s.ts)
	}
	return nil
}

// rewriteIndexes replaces both index files with the in-memory entries.
func (s *segment) rewriteIndexes(dir string) error {
	if err := writeEntries(segName(dir, s.base, idxSuffix), encodeIdx(nil, s.idx), 0, true); err != nil {
		return err
	}
	if err := writeEntries(segName(dir, s.base, tsSuffix), encodeTs(nil, s.ts), 0, true); err != nil {
		return err
	}
	s.idxFlushed, s.tsFlushed = len(s.idx), len(s.ts)
	return nil
}

// close turns the active segment into a closed one (indexes must have been
// flushed).
func (s *segment) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.idxCount, s.tsCount = len(s.idx), len(s.ts)
	s.idx, s.ts = nil, nil
	s.idxFlushed, s.tsFlushed, s.sinceIdx = 0, 0, 0
}

// recoverActive makes s the active segment from its files: it loads the
// index files (their well formed prefix, below limit), then scans the log
// from the last index entry, checking CRCs and offset continuity, up to the
// first batch at or beyond limit or the first torn/corrupt batch. The file
// is truncated there and the index files are rewritten. s.base must be set.
func (s *segment) recoverActive(dir string, limit int64, interval int64) (err error) {
	f, err := os.OpenFile(segName(dir, s.base, logSuffix), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			s.f = nil
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	fileSize := fi.Size()
	relLimit := int64(math.MaxUint32) + 1
	if limit-s.base < relLimit {
		relLimit = limit - s.base
	}
	idx, err := readIdxFile(segName(dir, s.base, idxSuffix), fileSize, relLimit)
	if err != nil {
		return err
	}
	// The last entry must point at the batch it names.
	for len(idx) > 0 {
		e := idx[len(idx)-1]
		var hb [offMagic + 1]byte
		if _, err := f.ReadAt(hb[:], int64(e.pos)); err == nil &&
			int64(binary.BigEndian.Uint64(hb[:])) == s.base+int64(e.rel) && hb[offMagic] == 2 {
			break
		}
		idx = idx[:len(idx)-1]
	}
	relMax := int64(-1) // no index entry: rescan everything, keep no time entry
	var pos int64
	expected := s.base
	if n := len(idx); n > 0 {
		relMax = int64(idx[n-1].rel)
		pos = int64(idx[n-1].pos)
		expected = s.base + relMax
	}
	ts, err := readTsFile(segName(dir, s.base, tsSuffix), relMax)
	if err != nil {
		return err
	}
	s.f, s.idx, s.ts = f, idx, ts
	s.maxTs, s.maxTsOff, s.sinceIdx = noTimestamp, -1, 0
	if n := len(ts); n > 0 {
		s.maxTs, s.maxTsOff = ts[n-1].ts, s.base+int64(ts[n-1].rel)
	}
	end := pos
	sc := newScanner(f, pos, fileSize, true)
	for {
		b, ok := sc.next()
		if !ok || b.base != expected || b.base >= limit || b.last-s.base > math.MaxUint32 {
			break
		}
		s.track(b, interval)
		expected = b.last + 1
		end = b.pos + b.size
	}
	if sc.err != nil {
		return sc.err
	}
	if fileSize > end {
		if err := f.Truncate(end); err != nil {
			return err
		}
	}
	s.size, s.next = end, expected
	return s.rewriteIndexes(dir)
}

// loadClosed fills a closed segment's size, max timestamp and index entry
// counts from its files, rebuilding the indexes by a header scan when they
// are missing or malformed. s.base and s.next must be set.
func (s *segment) loadClosed(dir string, interval int64) error {
	fi, err := os.Stat(segName(dir, s.base, logSuffix))
	if err != nil {
		return err
	}
	s.size = fi.Size()
	ifi, ierr := os.Stat(segName(dir, s.base, idxSuffix))
	if ierr == nil && ifi.Size()%idxEntrySize == 0 {
		if tf, err := os.Open(segName(dir, s.base, tsSuffix)); err == nil {
			tfi, err := tf.Stat()
			if err == nil && tfi.Size()%tsEntrySize == 0 && (tfi.Size() > 0 || s.size == 0) {
				s.idxCount = int(ifi.Size() / idxEntrySize)
				s.tsCount = int(tfi.Size() / tsEntrySize)
				s.maxTs, s.maxTsOff = noTimestamp, -1
				ok := true
				if s.tsCount > 0 {
					var b [tsEntrySize]byte
					_, err = tf.ReadAt(b[:], tfi.Size()-tsEntrySize)
					e := decodeTs(b[:])
					ok = err == nil && s.base+int64(e.rel) < s.next
					s.maxTs, s.maxTsOff = e.ts, s.base+int64(e.rel)
				}
				tf.Close()
				if ok {
					return nil
				}
			} else {
				tf.Close()
			}
		}
	}
	return s.rebuildClosed(dir, interval)
}

// rebuildClosed rewrites a closed segment's index files from a scan of its
// batch headers.
func (s *segment) rebuildClosed(dir string, interval int64) error {
	f, err := os.Open(segName(dir, s.base, logSuffix))
	if err != nil {
		return err
	}
	defer f.Close()
	s.idx, s.ts = nil, nil
	s.maxTs, s.maxTsOff, s.sinceIdx = noTimestamp, -1, 0
	sc := newScanner(f, 0, s.size, false)
	expected := s.base
	for {
		b, ok := sc.next()
		if !ok || b.base != expected || b.last-s.base > math.MaxUint32 {
			break
		}
		s.track(b, interval)
		expected = b.last + 1
	}
	if sc.err != nil {
		return sc.err
	}
	s.markTs()
	if err := s.rewriteIndexes(dir); err != nil {
		return err
	}
	s.close()
	return nil
}

// batchInfo is what scans need from a batch on disk.
type batchInfo struct {
	pos, size  int64
	base, last int64
	maxTs      int64
}

var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanBufSize); return &b }}

// scanner walks the batches of a file region [pos, end) with large reads.
// next stops (ok false) at end, at a torn or malformed batch (with verify,
// also at a CRC mismatch); I/O errors other than those are left in err.
type scanner struct {
	r        io.ReaderAt
	pos, end int64
	verify   bool
	bufp     *[]byte
	buf      []byte // bytes of the file at [bufPos, bufPos+len(buf))
	bufPos   int64
	big      []byte
	err      error
}

func newScanner(r io.ReaderAt, pos, end int64, verify bool) *scanner {
	return &scanner{r: r, pos: pos, end: end, verify: verify}
}

func (s *scanner) release() {
	if s.bufp != nil {
		scanBufs.Put(s.bufp)
		s.bufp, s.buf = nil, nil
	}
}

// window returns the file bytes [pos, pos+n) from the buffer, refilling it
// when needed; n must be <= scanBufSize.
func (s *scanner) window(pos int64, n int) []byte {
	if pos >= s.bufPos && pos+int64(n) <= s.bufPos+int64(len(s.buf)) {
		return s.buf[pos-s.bufPos : pos-s.bufPos+int64(n)]
	}
	if s.bufp == nil {
		s.bufp = scanBufs.Get().(*[]byte)
	}
	m := int64(scanBufSize)
	if s.end-pos < m {
		m = s.end - pos
	}
	buf := (*s.bufp)[:m]
	k, err := s.r.ReadAt(buf, pos)
	if k < n {
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = err
		}
		s.buf = nil
		return nil
	}
	s.buf, s.bufPos = buf[:k], pos
	return s.buf[:n]
}

func (s *scanner) next() (batchInfo, bool) {
	if s.err != nil || s.pos+BatchHeaderSize > s.end {
		s.release()
		return batchInfo{}, false
	}
	hb := s.window(s.pos, BatchHeaderSize)
	if hb == nil {
		s.release()
		return batchInfo{}, false
	}
	h, err := parseHeader(hb)
	size := int64(h.BatchLength) + batchLengthPrefix
	if err != nil || s.pos+size > s.end {
		s.release()
		return batchInfo{}, false
	}
	if s.verify {
		var whole []byte
		if size <= scanBufSize {
			whole = s.window(s.pos, int(size))
		} else {
			if int64(cap(s.big)) < size {
				s.big = make([]byte, size)
			}
			whole = s.big[:size]
			if _, err := s.r.ReadAt(whole, s.pos); err != nil {
				if !errors.Is(err, io.EOF) {
					s.err = err
				}
				whole = nil
			}
		}
		if whole == nil || crc32.Checksum(whole[offAttributes:], castagnoli) != h.CRC {
			s.release()
			return batchInfo{}, false
		}
	}
	b := batchInfo{pos: s.pos, size: size, base: h.BaseOffset, last: h.BaseOffset + int64(h.LastOffsetDelta), maxTs: h.MaxTimestamp}
	s.pos += size
	return b, true
}
