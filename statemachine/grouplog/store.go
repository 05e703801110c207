package grouplog

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"

	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// Config tunes a Store. Zero values take the defaults.
type Config struct {
	// SegmentBytes is the size at which the active group segment is
	// rolled to the pre-created spare (default 64 MiB). It is a soft
	// bound: without a spare ready, Update keeps appending to the active
	// segment rather than create a file.
	SegmentBytes int64
	// ReclaimLiveShare: Reclaim rewrites a closed group segment whose live
	// share has fallen below it (default 0.5); one with no live byte is
	// deleted whatever the setting.
	ReclaimLiveShare float64
}

const (
	DefaultSegmentBytes     = 64 << 20
	DefaultReclaimLiveShare = 0.5
)

func (c Config) withDefaults() Config {
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.ReclaimLiveShare <= 0 {
		c.ReclaimLiveShare = DefaultReclaimLiveShare
	}
	return c
}

// Store is one data-group replica's group log: segment files in dir and the
// index in the replica's pebble (see doc.go). Methods that change it
// (Append, DeleteBefore, Retention, DropPartition, Stage, Sync, Reclaim,
// Close) must be called by one goroutine at a time: the state machine's
// apply lock. Read, OffsetForTimestamp, MaxTimestamp and Stats run
// concurrently with them.
type Store struct {
	dir string
	cfg Config
	db  *pebble.DB

	// fmu guards segs (readers hold it for reading while they read files;
	// removing a segment takes it for writing).
	fmu  sync.RWMutex
	segs map[uint64]*segment

	// spareMu guards spare and nextID, shared with the preparer.
	spareMu sync.Mutex
	holdMu  sync.Mutex // held by the preparer while it prepares (HoldPrepare)
	spare   *segment
	nextID  uint64
	newDirs atomic.Bool // files created since the last Sync

	active   *segment
	unsynced map[uint64]*segment
	dirtySeg map[uint64]*segment
	parts    map[Key][]*lseg // ascending; only the apply goroutine uses it
	dirtyL   map[Key]bool    // partitions whose logical segments changed
	goneL    map[Key][]int64 // bases of logical segments dropped since Stage
	scratch  []byte

	prepc chan struct{}
	wbc   chan wbReq // ranges to write back (writeback.go)
	stopc chan struct{}
	wg    sync.WaitGroup
	perr  atomic.Pointer[error] // the preparer's last failure

	appended, reclaimed, rewritten atomic.Int64
	writtenBack                    atomic.Int64 // bytes the writeback goroutine flushed
	bytes, live                    atomic.Int64 // sums over segs
}

// Open opens the group log in dir (created if missing) over db, whose
// committed index says what the segments hold: each segment is cut back to
// the end its record covers (dropping what Updates whose pebble batch was
// lost appended), its bytes since the last Sync are checked, files the
// index does not know are removed, and a spare segment is created. Bytes
// the index covers that are missing or damaged (a power loss before Sync)
// fail with ErrDataLost.
func Open(dir string, db *pebble.DB, cfg Config) (*Store, error) {
	s := &Store{
		dir: dir, cfg: cfg.withDefaults(), db: db,
		segs: map[uint64]*segment{}, unsynced: map[uint64]*segment{}, dirtySeg: map[uint64]*segment{},
		parts: map[Key][]*lseg{}, dirtyL: map[Key]bool{}, goneL: map[Key][]int64{},
		prepc: make(chan struct{}, 1), wbc: make(chan wbReq, 4), stopc: make(chan struct{}),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if err := s.prepare(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.wg.Add(2)
	go s.preparer()
	go s.writeback()
	return s, nil
}

func (s *Store) load() error {
	err := pebblekv.Iter(s.db, []byte{prefixSegment}, []byte{prefixSegment + 1}, nil)(func(k, v []byte) error {
		if len(k) != segKeyLen {
			return fmt.Errorf("%w: segment key %x", ErrCorrupt, k)
		}
		vals := newValues(v, "segment")
		seg := &segment{id: uint64FromKey(k), end: int64(vals.Uvarint()), live: int64(vals.Uvarint()), synced: int64(vals.Uvarint())}
		if err := vals.End(); err != nil {
			return err
		}
		s.segs[seg.id] = seg
		s.bytes.Add(seg.end)
		s.live.Add(seg.live)
		return nil
	})
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		id, ok := parseSegName(e.Name())
		if !ok {
			continue
		}
		s.nextID = max(s.nextID, id+1)
		if s.segs[id] == nil {
			// A spare, or a segment whose first append was lost with
			// its pebble batch, or one reclaimed before a crash.
			if err := os.Remove(segPath(s.dir, id)); err != nil {
				return err
			}
			s.newDirs.Store(true)
		}
	}
	for _, id := range s.segIDs() {
		seg := s.segs[id]
		s.nextID = max(s.nextID, id+1)
		f, err := os.OpenFile(segPath(s.dir, id), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: segment %d is missing", ErrDataLost, id)
		}
		if err != nil {
			return err
		}
		seg.f = f
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() < seg.end {
			return fmt.Errorf("%w: segment %d holds %d bytes, the index covers %d", ErrDataLost, id, st.Size(), seg.end)
		}
		if err := scanRecords(f, min(seg.synced, seg.end), seg.end, func(Key, int64, []byte) error { return nil }); err != nil {
			return fmt.Errorf("%w: segment %d after its last sync: %w", ErrDataLost, id, err)
		}
		if st.Size() > seg.end {
			if err := f.Truncate(seg.end); err != nil {
				return err
			}
			s.unsynced[id] = seg
		}
		s.active = seg // the highest ID is the active one
	}
	return pebblekv.Iter(s.db, []byte{prefixLogical}, []byte{prefixLogical + 1}, nil)(func(k, v []byte) error {
		if len(k) != idxKeyLen {
			return fmt.Errorf("%w: logical segment key %x", ErrCorrupt, k)
		}
		l, err := decodeLseg(k, v)
		if err != nil {
			return err
		}
		pk := parsePartKey(k[1:])
		s.parts[pk] = append(s.parts[pk], l)
		return nil
	})
}

func uint64FromKey(k []byte) uint64 {
	var id uint64
	for _, b := range k[1:9] {
		id = id<<8 | uint64(b)
	}
	return id
}

// segIDs lists the segments in ID order.
func (s *Store) segIDs() []uint64 {
	ids := make([]uint64, 0, len(s.segs))
	for id := range s.segs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// prepare creates the spare segment if there is none. It runs outside
// Update: in Open and on the preparer goroutine.
func (s *Store) prepare() error {
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	if s.spare != nil {
		return nil
	}
	id := s.nextID
	f, err := os.OpenFile(segPath(s.dir, id), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	s.nextID++
	s.newDirs.Store(true)
	s.spare = &segment{id: id, f: f}
	return nil
}

func (s *Store) preparer() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stopc:
			return
		case <-s.prepc:
		}
		s.holdMu.Lock()
		err := s.prepare()
		s.holdMu.Unlock()
		if err != nil {
			s.perr.Store(&err)
		}
	}
}

func (s *Store) kick() {
	select {
	case s.prepc <- struct{}{}:
	default:
	}
}

// takeSpare makes the spare the active segment. It creates no file.
func (s *Store) takeSpare() bool {
	s.spareMu.Lock()
	sp := s.spare
	s.spare = nil
	s.spareMu.Unlock()
	if sp == nil {
		return false
	}
	s.fmu.Lock()
	s.segs[sp.id] = sp
	s.fmu.Unlock()
	s.active = sp
	s.dirtySeg[sp.id] = sp
	s.kick()
	return true
}

// writeRecord appends one record to the active segment (rolling to the
// spare when the active one is full and a spare is ready) and returns the
// segment and the position of the batch bytes.
func (s *Store) writeRecord(k Key, batch []byte) (*segment, int64, error) {
	n := int64(recHeaderSize + len(batch))
	if s.active == nil || (s.active.end > 0 && s.active.end+n > s.cfg.SegmentBytes) {
		if !s.takeSpare() && s.active == nil {
			err := errors.New("no segment file ready")
			if p := s.perr.Load(); p != nil {
				err = *p
			}
			return nil, 0, fmt.Errorf("grouplog: append: %w", err)
		}
	}
	a := s.active
	s.scratch = appendRecHeader(s.scratch[:0], k, len(batch))
	s.scratch = append(s.scratch, batch...)
	if _, err := a.f.WriteAt(s.scratch, a.end); err != nil {
		return nil, 0, fmt.Errorf("grouplog: append to segment %d: %w", a.id, err)
	}
	pos := a.end + recHeaderSize
	a.end += n
	a.live += n
	s.bytes.Add(n)
	s.live.Add(n)
	s.unsynced[a.id] = a
	s.dirtySeg[a.id] = a
	s.noteWritten(a)
	return a, pos, nil
}

// Append writes one batch of partition k (its base offset already
// rewritten; h is its header) and adds its index entry to b. nowMs is the
// proposer's clock; segmentBytes and segmentMs are the topic's settings,
// which bound the partition's logical segments (retention's unit).
func (s *Store) Append(b *pebble.Batch, k Key, batch []byte, h BatchHeader, nowMs, segmentBytes, segmentMs int64) error {
	segs := s.parts[k]
	var a *lseg
	if n := len(segs); n > 0 {
		a = segs[n-1]
	}
	size := int64(len(batch))
	if a == nil || a.closed || (a.bytes > 0 && (a.bytes+size > segmentBytes ||
		(segmentMs > 0 && nowMs >= math.MinInt64+segmentMs && nowMs-segmentMs >= a.createdMs))) {
		if a != nil && !a.closed {
			a.closed = true
		}
		a = &lseg{base: h.BaseOffset, last: h.BaseOffset - 1, maxTs: -1, maxTsOff: -1, createdMs: nowMs}
		s.parts[k] = append(segs, a)
	}
	seg, pos, err := s.writeRecord(k, batch)
	if err != nil {
		return err
	}
	s.scratch = encodeEntry(s.scratch[:0], entry{seg: seg.id, pos: pos, size: size, last: h.LastOffset(), maxTs: h.MaxTimestamp})
	if err := b.Set(offsetKey(prefixIndex, k, h.BaseOffset), s.scratch, nil); err != nil {
		return err
	}
	a.last = h.LastOffset()
	a.bytes += size
	if a.maxTsOff < 0 || h.MaxTimestamp > a.maxTs {
		a.maxTs, a.maxTsOff = h.MaxTimestamp, h.BaseOffset
	}
	s.dirtyL[k] = true
	s.appended.Add(recHeaderSize + size)
	return nil
}

// Stage writes the logical-segment and group-segment records changed since
// the last Stage into b (the caller commits b with its own records and the
// applied index).
func (s *Store) Stage(b *pebble.Batch) error {
	keys := make([]Key, 0, len(s.dirtyL))
	for k := range s.dirtyL {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		// Point deletes and sets: a range tombstone per append would pile
		// up in pebble.
		for _, base := range s.goneL[k] {
			if err := b.Delete(offsetKey(prefixLogical, k, base), nil); err != nil {
				return err
			}
		}
		for _, l := range s.parts[k] {
			if err := b.Set(offsetKey(prefixLogical, k, l.base), encodeLseg(l), nil); err != nil {
				return err
			}
		}
	}
	clear(s.dirtyL)
	clear(s.goneL)
	for _, seg := range s.dirtySeg {
		if err := b.Set(segmentKey(seg.id), encodeSegment(seg), nil); err != nil {
			return err
		}
	}
	clear(s.dirtySeg)
	return nil
}

// Sync fsyncs the segments written since the last Sync and the directory
// if files were created, then records their synced ends and fsyncs
// pebble (its WAL holds every batch committed before). Segments first: once
// pebble says an index entry is durable, so are its bytes.
func (s *Store) Sync() error {
	if err := s.syncFiles(); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := s.Stage(b); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("grouplog: sync: %w", err)
	}
	return nil
}

// syncFiles fsyncs the unsynced segments and, if needed, the directory.
func (s *Store) syncFiles() error {
	for _, id := range sortedIDs(s.unsynced) {
		seg := s.unsynced[id]
		if err := seg.f.Sync(); err != nil {
			return fmt.Errorf("grouplog: sync segment %d: %w", id, err)
		}
		seg.synced = seg.end
		s.dirtySeg[id] = seg
		delete(s.unsynced, id)
	}
	if s.newDirs.Swap(false) {
		if err := fsutil.SyncDir(s.dir); err != nil {
			s.newDirs.Store(true)
			return fmt.Errorf("grouplog: sync: %w", err)
		}
	}
	return nil
}

func sortedIDs(m map[uint64]*segment) []uint64 {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func compareKeys(a, b Key) int {
	for i := range a.Topic {
		if a.Topic[i] != b.Topic[i] {
			if a.Topic[i] < b.Topic[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.Partition < b.Partition:
		return -1
	case a.Partition > b.Partition:
		return 1
	}
	return 0
}

// Close stops the preparer and closes the segment files (no fsync).
func (s *Store) Close() error {
	close(s.stopc)
	s.wg.Wait()
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	var err error
	s.fmu.Lock()
	for _, seg := range s.segs {
		if cerr := seg.f.Close(); cerr != nil && err == nil && seg.f != nil {
			err = cerr
		}
	}
	s.segs = map[uint64]*segment{}
	s.fmu.Unlock()
	s.spareMu.Lock()
	if s.spare != nil {
		_ = s.spare.f.Close()
		s.spare = nil
	}
	s.spareMu.Unlock()
	return err
}

// Stats describe a group log for metrics.
type Stats struct {
	Segments       int   // group segment files in use (the spare excluded)
	Bytes          int64 // bytes of those files the index covers
	LiveBytes      int64 // bytes some partition still needs
	AppendedBytes  int64 // appended since Open (record headers included)
	ReclaimedBytes int64 // freed by deleting or rewriting segments since Open
	RewrittenBytes int64 // copied by rewrites since Open (write amplification)
}

// Stats reads the counters (safe with the apply goroutine running).
func (s *Store) Stats() Stats {
	s.fmu.RLock()
	n := len(s.segs)
	s.fmu.RUnlock()
	return Stats{Segments: n, Bytes: s.bytes.Load(), LiveBytes: s.live.Load(),
		AppendedBytes: s.appended.Load(), ReclaimedBytes: s.reclaimed.Load(), RewrittenBytes: s.rewritten.Load()}
}

// HoldPrepare stops the preparer from creating spares until the returned
// function is called (tests: an Update then has at most the spare that
// exists now).
func (s *Store) HoldPrepare() (release func()) {
	s.holdMu.Lock()
	return func() {
		s.holdMu.Unlock()
		s.kick()
	}
}

// SpareReady reports whether a spare segment is prepared (tests).
func (s *Store) SpareReady() bool {
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	return s.spare != nil
}
