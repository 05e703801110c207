// Package partlog stores one Kafka partition's log: v2 record batches in
// segment files (<20-digit base offset>.log) with sparse offset and time
// indexes, Kafka-style.
//
// A data group's state machine (DESIGN §3) appends batches whose offsets it
// has already assigned; the Raft log is the durable copy, so appends are not
// fsynced. The state machine calls Sync before persisting its applied index
// with each partition's next offset, and after a restart calls TruncateTo
// with that offset to drop whatever was written beyond it. Fetch handlers
// call Read, OffsetForTimestamp and the offset accessors concurrently with
// the appender.
//
// Every mutation is deterministic given its arguments (retention takes the
// time from the caller), and segment boundaries depend only on the appended
// batches and SegmentBytes, so replicas that apply the same entries, or
// restore the same snapshot, hold identical segments.
//
// # Concurrency
//
// One sync.RWMutex per Log. Append, TruncateTo, DeleteRecordsBefore,
// EnforceRetention, Close and the bookkeeping part of Sync take it for
// writing; Read and the other queries take it for reading and do their
// file I/O (ReadAt) under it, so a reader never sees bytes that are not
// fully appended nor a file that is being truncated or deleted. Sync's
// fsyncs and a snapshot's copying run without the lock.
//
// # Resources
//
// A Log keeps one open file (the active segment's .log) and the active
// segment's sparse index entries in memory; closed segments cost a few words
// each and their files are opened for the duration of a call. Reads never
// load more than the requested bytes (plus one scan buffer).
package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Config tunes a Log. Zero values take the defaults.
type Config struct {
	// SegmentBytes is the size at which the active segment is rolled
	// (default 1 GiB, at most math.MaxInt32 so positions fit the index).
	SegmentBytes int64
	// IndexIntervalBytes is the log bytes between offset index entries
	// (default 4096).
	IndexIntervalBytes int
}

const (
	DefaultSegmentBytes       = 1 << 30
	DefaultIndexIntervalBytes = 4096
)

func (c Config) withDefaults() Config {
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentBytes > math.MaxInt32 {
		c.SegmentBytes = math.MaxInt32
	}
	if c.IndexIntervalBytes <= 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	return c
}

// Log is one partition's log. See the package documentation.
type Log struct {
	dir string
	cfg Config

	mu       sync.RWMutex
	segs     []*segment // ascending base offsets; the last is active
	start    int64      // log start offset
	size     int64      // sum of segment sizes
	closed   bool
	dirty    bool       // appended or changed since the last Sync
	unsynced []*segment // closed since the last Sync
	dirDirty bool       // files created since the last Sync
}

// Open opens (creating if needed) the log in dir and recovers it: the last
// segment is scanned from its last index entry, dropping a torn or corrupt
// tail, and missing or malformed index files are rebuilt. Leftover
// temporary files are removed.
func Open(dir string, cfg Config) (*Log, error) {
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	logs := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		if b, ok := parseSegName(name); ok && e.Type().IsRegular() {
			bases = append(bases, b)
			logs[name[:nameDigits]] = true
		}
	}
	// Index files without a log are leftovers of deleted segments.
	for _, e := range ents {
		name := e.Name()
		for _, suf := range []string{idxSuffix, tsSuffix} {
			if strings.HasSuffix(name, suf) && len(name) == nameDigits+len(suf) && !logs[name[:nameDigits]] {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
	slices.Sort(bases)
	l := &Log{dir: dir, cfg: cfg}
	persisted, hasStart, err := readStartOffset(dir)
	if err != nil {
		return nil, err
	}
	if len(bases) == 0 {
		base := int64(0)
		if hasStart {
			base = persisted
		}
		s, err := createSegment(dir, base)
		if err != nil {
			return nil, err
		}
		l.segs = []*segment{s}
		l.start = base
		l.dirDirty = true
		return l, nil
	}
	for i, b := range bases {
		s := newSegment(b)
		l.segs = append(l.segs, s)
		if i < len(bases)-1 {
			s.next = bases[i+1]
			if err := s.loadClosed(dir, int64(cfg.IndexIntervalBytes)); err != nil {
				return nil, fmt.Errorf("partlog: segment %d: %w", b, err)
			}
		} else if err := s.recoverActive(dir, math.MaxInt64, int64(cfg.IndexIntervalBytes)); err != nil {
			return nil, fmt.Errorf("partlog: segment %d: %w", b, err)
		}
		l.size += s.size
	}
	l.start = l.segs[0].base
	if hasStart && persisted > l.start {
		l.start = persisted
	}
	if next := l.active().next; l.start > next {
		// The tail holding the start offset was lost (it was beyond the
		// last Sync): nothing below the start offset is visible anyway.
		if err := l.resetTo(l.start); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// NextOffset is the offset the next appended batch must carry (the high
// watermark: everything appended is committed).
func (l *Log) NextOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.active().next
}

// StartOffset is the log start offset: the first offset Read accepts.
func (l *Log) StartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.start
}

// Size is the total size of the segment files in bytes.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// MaxTimestamp is the largest batch maxTimestamp in the log, -1 if none.
func (l *Log) MaxTimestamp() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ts := int64(noTimestamp)
	for _, s := range l.segs {
		ts = max(ts, s.maxTs)
	}
	return ts
}

// MaxTimestampOffset answers ListOffsets with timestamp -3 (MAX_TIMESTAMP)
// at batch granularity: the base offset of the first batch carrying the
// largest maxTimestamp (at least StartOffset) and that timestamp; (-1, -1)
// when the log holds no timestamped batch.
func (l *Log) MaxTimestampOffset() (offset, ts int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	offset, ts = -1, noTimestamp
	for _, s := range l.segs {
		if s.maxTsOff >= 0 && s.maxTs > ts {
			offset, ts = s.maxTsOff, s.maxTs
		}
	}
	if offset < 0 {
		return -1, -1
	}
	return max(offset, l.start), ts
}

// Append writes one batch at the end of the log. The batch's base offset
// (read from the bytes: the caller rewrites it after parsing) must be
// NextOffset, and h must be the batch's ParseBatches header (its size and
// lastOffsetDelta are checked against the bytes; the CRC is not
// recomputed). The active segment is rolled first when the batch would take
// it past SegmentBytes; a batch larger than SegmentBytes gets a segment of
// its own. Nothing is fsynced.
func (l *Log) Append(batch []byte, h BatchHeader) error {
	hdr, err := parseBatch(batch, false)
	if err != nil {
		return err
	}
	if hdr.End != len(batch) || h.Size() != len(batch) || h.LastOffsetDelta != hdr.LastOffsetDelta {
		return fmt.Errorf("%w: header does not describe the %d-byte batch", ErrOffsetMismatch, len(batch))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if next := l.active().next; hdr.BaseOffset != next {
		return fmt.Errorf("%w: base offset %d, next offset %d", ErrOffsetMismatch, hdr.BaseOffset, next)
	}
	if hdr.BaseOffset > math.MaxInt64-int64(hdr.LastOffsetDelta)-1 {
		return fmt.Errorf("%w: offset overflow", ErrCorrupt)
	}
	return l.appendLocked(batch, batchInfo{
		size:  int64(len(batch)),
		base:  hdr.BaseOffset,
		last:  hdr.LastOffset(),
		maxTs: hdr.MaxTimestamp,
	}, true)
}

// appendLocked writes b's bytes at the end of the active segment, rolling
// first when needed (by size only if sizeRoll).
func (l *Log) appendLocked(batch []byte, b batchInfo, sizeRoll bool) error {
	a := l.active()
	n := int64(len(batch))
	if a.size > 0 && ((sizeRoll && a.size+n > l.cfg.SegmentBytes) ||
		a.size+n > math.MaxUint32 || b.last-a.base > math.MaxUint32) {
		if err := l.rollLocked(); err != nil {
			return err
		}
		a = l.active()
	}
	b.pos = a.size
	if _, err := a.f.WriteAt(batch, b.pos); err != nil {
		a.f.Truncate(b.pos)
		return err
	}
	a.track(b, int64(l.cfg.IndexIntervalBytes))
	a.size += n
	a.next = b.last + 1
	l.size += n
	l.dirty = true
	return nil
}

// rollLocked closes the active segment and starts a new one at NextOffset.
func (l *Log) rollLocked() error {
	a := l.active()
	if err := a.flushIndexes(l.dir); err != nil {
		return err
	}
	ns, err := createSegment(l.dir, a.next)
	if err != nil {
		return err
	}
	a.close()
	l.unsynced = append(l.unsynced, a)
	l.segs = append(l.segs, ns)
	l.dirDirty, l.dirty = true, true
	return nil
}

// segIndex returns the index of the segment holding offset (the last one
// whose base is <= offset), or -1.
func (l *Log) segIndex(offset int64) int {
	return sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > offset }) - 1
}

// segFile returns a reader of s's log file and a function to release it.
func (l *Log) segFile(s *segment) (*os.File, func(), error) {
	if s.f != nil {
		return s.f, func() {}, nil
	}
	f, err := os.Open(segName(l.dir, s.base, logSuffix))
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// idxOf returns a view of s's offset index and a release function.
func (l *Log) idxOf(s *segment) (*idxView, func(), error) {
	if s.f != nil {
		return &idxView{mem: s.idx}, func() {}, nil
	}
	if s.idxCount == 0 {
		return &idxView{}, func() {}, nil
	}
	f, err := os.Open(segName(l.dir, s.base, idxSuffix))
	if err != nil {
		return nil, nil, err
	}
	return &idxView{f: f, n: s.idxCount}, func() { f.Close() }, nil
}

// findBatch returns the position and header of the batch of s containing
// offset, or found false (pos = s.size) if s ends at or before offset.
func (l *Log) findBatch(s *segment, f *os.File, offset int64) (b batchInfo, found bool, err error) {
	iv, release, err := l.idxOf(s)
	if err != nil {
		return b, false, err
	}
	rel := offset - s.base
	if rel > math.MaxUint32 {
		rel = math.MaxUint32
	}
	e, err := iv.floor(uint32(rel))
	release()
	if err != nil {
		return b, false, err
	}
	for attempt := 0; ; attempt++ {
		sc := newScanner(f, int64(e.pos), s.size, false)
		first := true
		for {
			b, ok := sc.next()
			if !ok {
				break
			}
			if first && b.base != s.base+int64(e.rel) {
				break // a stale index entry: rescan from the start
			}
			first = false
			if b.last >= offset {
				sc.release()
				return b, true, nil
			}
		}
		sc.release()
		if sc.err != nil {
			return b, false, sc.err
		}
		if !first || attempt > 0 || e.pos == 0 {
			return batchInfo{pos: s.size}, false, nil
		}
		e = idxEntry{}
	}
}

// Read returns whole batches starting with the one that contains offset
// (it may start before offset), at most maxBytes of them; if that first
// batch alone exceeds maxBytes it is returned whole, so consumers always
// progress. offset == NextOffset returns no data and no error; an offset
// below StartOffset or above NextOffset returns ErrOffsetOutOfRange. The
// result is a fresh slice the caller owns.
func (l *Log) Read(offset int64, maxBytes int) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	next := l.active().next
	if offset < l.start || offset > next {
		return nil, fmt.Errorf("%w: offset %d, log [%d, %d)", ErrOffsetOutOfRange, offset, l.start, next)
	}
	if offset == next {
		return nil, nil
	}
	var out []byte
	pos := int64(-1)
	for i := max(l.segIndex(offset), 0); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.size == 0 {
			continue
		}
		f, release, err := l.segFile(s)
		if err != nil {
			return nil, err
		}
		if pos < 0 {
			b, found, err := l.findBatch(s, f, offset)
			if err != nil || !found {
				release()
				if err != nil {
					return nil, err
				}
				pos = 0
				continue
			}
			pos = b.pos
		} else {
			pos = 0
		}
		var done bool
		out, done, err = readBatches(f, pos, s.size, out, maxBytes)
		release()
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	return out, nil
}

// readBatches appends to out the whole batches of r from pos (a batch
// start) to end that fit in maxBytes-len(out), or the first batch whatever
// its size if out is empty. done reports that the budget is exhausted.
func readBatches(r *os.File, pos, end int64, out []byte, maxBytes int) (_ []byte, done bool, err error) {
	if len(out) == 0 && pos < end {
		var hb [batchLengthPrefix]byte
		if _, err := r.ReadAt(hb[:], pos); err != nil {
			return out, true, err
		}
		size := batchLengthPrefix + int64(int32(binary.BigEndian.Uint32(hb[offBatchLength:])))
		if size < BatchHeaderSize || pos+size > end {
			return out, true, fmt.Errorf("%w: batch at position %d of a segment", ErrCorrupt, pos)
		}
		if size >= int64(maxBytes) {
			out = make([]byte, size)
			if _, err := r.ReadAt(out, pos); err != nil {
				return nil, true, err
			}
			return out, true, nil
		}
	}
	budget := int64(maxBytes - len(out))
	n := min(budget, end-pos)
	if n < BatchHeaderSize {
		return out, budget < BatchHeaderSize, nil
	}
	old := len(out)
	out = slices.Grow(out, int(n))[:old+int(n)]
	if _, err := r.ReadAt(out[old:], pos); err != nil {
		return out[:old], true, err
	}
	chunk := out[old:]
	p := 0
	for p+batchLengthPrefix <= len(chunk) {
		size := batchLengthPrefix + int(int32(binary.BigEndian.Uint32(chunk[p+offBatchLength:])))
		if size < BatchHeaderSize || p+size > len(chunk) {
			break
		}
		p += size
	}
	out = out[:old+p]
	return out, p < len(chunk) || int64(p) == budget, nil
}

// OffsetForTimestamp answers ListOffsets by timestamp: the base offset of
// the first batch (at or after StartOffset) whose maxTimestamp is >= ts,
// clamped to StartOffset, and that batch's maxTimestamp; ok is false when
// no batch is that recent.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, batchTimestamp int64, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1, false
	}
	for i := max(l.segIndex(l.start), 0); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.size == 0 || s.maxTs < ts {
			continue
		}
		b, found, err := l.findByTimestamp(s, ts)
		if err == nil && found {
			return max(b.base, l.start), b.maxTs, true
		}
	}
	return -1, -1, false
}

func (l *Log) findByTimestamp(s *segment, ts int64) (batchInfo, bool, error) {
	tv := &tsView{mem: s.ts}
	if s.f == nil {
		tv = &tsView{}
		if s.tsCount > 0 {
			tf, err := os.Open(segName(l.dir, s.base, tsSuffix))
			if err != nil {
				return batchInfo{}, false, err
			}
			defer tf.Close()
			tv = &tsView{f: tf, n: s.tsCount}
		}
	}
	rel, err := tv.scanStart(ts)
	if err != nil {
		return batchInfo{}, false, err
	}
	f, release, err := l.segFile(s)
	if err != nil {
		return batchInfo{}, false, err
	}
	defer release()
	b, found, err := l.findBatch(s, f, s.base+int64(rel))
	if err != nil || !found {
		return b, false, err
	}
	sc := newScanner(f, b.pos, s.size, false)
	defer sc.release()
	for {
		b, ok := sc.next()
		if !ok {
			return b, false, sc.err
		}
		if b.maxTs >= ts && b.last >= l.start {
			return b, true, nil
		}
	}
}

// TruncateTo drops every batch at or after nextOffset, so that NextOffset
// becomes nextOffset (used at recovery with the next offset the state
// machine persisted). nextOffset must be a batch boundary (else
// ErrNotBatchBoundary) and at most NextOffset (else ErrOffsetOutOfRange).
// If nextOffset is below StartOffset (a DeleteRecords or retention that ran
// after the persisted state and will be replayed), the log becomes empty at
// nextOffset with StartOffset = nextOffset.
func (l *Log) TruncateTo(nextOffset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	next := l.active().next
	if nextOffset < 0 || nextOffset > next {
		return fmt.Errorf("%w: truncate to %d, log [%d, %d)", ErrOffsetOutOfRange, nextOffset, l.start, next)
	}
	if nextOffset == next {
		return nil
	}
	if nextOffset <= l.segs[0].base || nextOffset < l.start {
		return l.resetTo(nextOffset)
	}
	// The segment that will end at nextOffset: the last with base < it.
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base >= nextOffset }) - 1
	s := l.segs[i]
	f, release, err := l.segFile(s)
	if err != nil {
		return err
	}
	b, found, err := l.findBatch(s, f, nextOffset)
	release()
	if err != nil {
		return err
	}
	if found && b.base != nextOffset {
		return fmt.Errorf("%w: offset %d is inside batch [%d, %d]", ErrNotBatchBoundary, nextOffset, b.base, b.last)
	}
	if s.f != nil {
		// The active segment: get its in-memory entries onto disk so the
		// rebuild below starts from the latest one.
		if err := s.flushIndexes(l.dir); err != nil {
			return err
		}
	}
	for j := len(l.segs) - 1; j > i; j-- {
		if err := l.dropSegment(l.segs[j]); err != nil {
			return l.fail(err)
		}
		l.segs = l.segs[:j]
	}
	s.close()
	l.dropUnsynced(s)
	l.size -= s.size
	if err := s.recoverActive(l.dir, nextOffset, int64(l.cfg.IndexIntervalBytes)); err != nil {
		return l.fail(err)
	}
	l.size += s.size
	l.dirty = true
	if s.next != nextOffset {
		return fmt.Errorf("%w: segment %d recovered to %d, not %d", ErrCorrupt, s.base, s.next, nextOffset)
	}
	return nil
}

// resetTo replaces every segment by an empty one at offset, which becomes
// both StartOffset and NextOffset.
func (l *Log) resetTo(offset int64) error {
	for i, s := range l.segs {
		if err := l.dropSegment(s); err != nil {
			l.segs = l.segs[i:]
			return l.fail(err)
		}
	}
	// A placeholder keeps l.segs non-empty if creating the file fails.
	l.segs = []*segment{newSegment(offset)}
	ns, err := createSegment(l.dir, offset)
	if err != nil {
		return l.fail(err)
	}
	l.segs = []*segment{ns}
	l.size = 0
	l.dirty, l.dirDirty = true, true
	if l.start != offset {
		l.start = offset
		if err := writeStartOffset(l.dir, offset); err != nil {
			return l.fail(err)
		}
	}
	return nil
}

// fail marks the log unusable after an I/O error that left its files and
// its memory out of step: it must be reopened (Open recovers).
func (l *Log) fail(err error) error {
	l.closed = true
	if len(l.segs) > 0 {
		if a := l.active(); a.f != nil {
			a.f.Close()
			a.f = nil
		}
	}
	return fmt.Errorf("partlog: %s: log must be reopened: %w", l.dir, err)
}

// dropSegment deletes s's files and forgets it in the sync bookkeeping (the
// caller removes it from l.segs and adjusts l.size unless it resets them).
func (l *Log) dropSegment(s *segment) error {
	l.dropUnsynced(s)
	l.size -= s.size
	l.dirDirty = true
	return s.removeFiles(l.dir)
}

func (l *Log) dropUnsynced(s *segment) {
	l.unsynced = slices.DeleteFunc(l.unsynced, func(x *segment) bool { return x == s })
}

// DeleteRecordsBefore moves StartOffset forward to offset (Kafka
// DeleteRecords), persisting it in the start-offset file, and deletes the
// segments entirely below it. An offset at or below StartOffset changes
// nothing; one above NextOffset is ErrOffsetOutOfRange. When offset is
// NextOffset the active segment, if not empty, is replaced by an empty one.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	next := l.active().next
	if offset > next {
		return fmt.Errorf("%w: delete before %d, log [%d, %d)", ErrOffsetOutOfRange, offset, l.start, next)
	}
	if offset <= l.start {
		return nil
	}
	if err := writeStartOffset(l.dir, offset); err != nil {
		return err
	}
	l.start = offset
	if a := l.active(); a.next <= offset && a.size > 0 {
		if err := l.rollLocked(); err != nil {
			return err
		}
	}
	k := 0
	for k < len(l.segs)-1 && l.segs[k].next <= offset {
		if err := l.dropSegment(l.segs[k]); err != nil {
			return l.fail(err)
		}
		k++
	}
	l.segs = slices.Delete(l.segs, 0, k)
	l.dirty = true
	return nil
}

// EnforceRetention deletes the oldest closed segments (never the active
// one), as Kafka does: first those whose max timestamp is older than
// nowMs-retentionMs, then, while the log is larger than retentionBytes,
// those whose deletion still leaves at least retentionBytes. A negative
// retentionMs or retentionBytes means no limit. StartOffset moves to the
// first remaining segment's base if it was below. It returns the number of
// segments deleted. nowMs comes from the caller so replicas agree.
func (l *Log) EnforceRetention(nowMs int64, retentionMs int64, retentionBytes int64) (deleted int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	last := len(l.segs) - 1
	k := 0
	if retentionMs >= 0 && nowMs >= math.MinInt64+retentionMs {
		cutoff := nowMs - retentionMs
		for k < last && l.segs[k].maxTs < cutoff {
			k++
		}
	}
	if retentionBytes >= 0 {
		remaining := l.size
		for _, s := range l.segs[:k] {
			remaining -= s.size
		}
		for k < last && remaining-l.segs[k].size >= retentionBytes {
			remaining -= l.segs[k].size
			k++
		}
	}
	for j := 0; j < k; j++ {
		if err := l.dropSegment(l.segs[j]); err != nil {
			return j, l.fail(err)
		}
	}
	l.segs = slices.Delete(l.segs, 0, k)
	l.start = max(l.start, l.segs[0].base)
	if k > 0 {
		l.dirty = true
	}
	return k, nil
}

// Sync writes the active segment's pending index entries and fsyncs the
// active segment's files, the segments rolled since the last Sync and, if
// files were created or deleted, the directory. After it returns, Open
// recovers at least everything appended before the call.
func (l *Log) Sync() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if !l.dirty && !l.dirDirty && len(l.unsynced) == 0 {
		l.mu.Unlock()
		return nil
	}
	a := l.active()
	if err := a.flushIndexes(l.dir); err != nil {
		l.mu.Unlock()
		return err
	}
	var paths []string
	for _, s := range append(slices.Clone(l.unsynced), a) {
		for _, suf := range []string{logSuffix, idxSuffix, tsSuffix} {
			paths = append(paths, segName(l.dir, s.base, suf))
		}
	}
	syncDir := l.dirDirty
	unsynced := l.unsynced
	l.unsynced, l.dirty, l.dirDirty = nil, false, false
	l.mu.Unlock()

	// fsync through separate descriptors, without the lock: a file deleted
	// meanwhile by retention no longer needs it.
	err := func() error {
		for _, p := range paths {
			if err := fsyncPath(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if syncDir {
			return fsyncPath(l.dir)
		}
		return nil
	}()
	if err != nil {
		l.mu.Lock()
		l.unsynced = append(unsynced, l.unsynced...)
		l.dirty, l.dirDirty = true, l.dirDirty || syncDir
		l.mu.Unlock()
	}
	return err
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close writes the pending index entries and closes the active segment (no
// fsync: call Sync first if that matters). Further calls fail with
// ErrClosed; Close itself is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	a := l.active()
	err := a.flushIndexes(l.dir)
	if a.f != nil {
		if cerr := a.f.Close(); err == nil {
			err = cerr
		}
		a.f = nil
	}
	return err
}

// Remove closes the log and deletes its directory (topic deletion).
func (l *Log) Remove() error {
	l.mu.Lock()
	l.closed = true
	if a := l.active(); a.f != nil {
		a.f.Close()
		a.f = nil
	}
	l.segs = []*segment{newSegment(l.active().next)}
	l.size = 0
	l.mu.Unlock()
	return os.RemoveAll(l.dir)
}

// start-offset file: offset int64 then CRC-32C of it, big-endian.
func readStartOffset(dir string) (int64, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, startFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, false, nil // written atomically: garbage means it is unusable
	}
	off := int64(binary.BigEndian.Uint64(b))
	return off, off >= 0, nil
}

func writeStartOffset(dir string, off int64) error {
	b := binary.BigEndian.AppendUint64(nil, uint64(off))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return writeFileAtomic(filepath.Join(dir, startFile), b)
}

// writeFileAtomic writes path via a synced temporary file and a rename,
// then syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return fsyncPath(filepath.Dir(path))
}
