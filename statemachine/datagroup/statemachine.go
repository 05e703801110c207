package datagroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
	"github.com/skiff-broker/skiff/statemachine/partlog"
)

// Replica directory layout (dir/group-<shard>-<replica>/):
//
//	state/                     pebble: partition and producer records, applied index
//	logs/<topicIDhex>-<part>/  one partlog.Log per partition
//	logs.restore/, logs.old/   RecoverFromSnapshot's staging (removed by Open)
//
// # Concurrency and lock order
//
// Dragonboat calls Open, Update, Sync, PrepareSnapshot, RecoverFromSnapshot
// and Close one at a time; Lookup, SaveSnapshot and the read API (api.go)
// run concurrently with them. Two locks, taken in this order:
//
//   - applyMu (Mutex) is held by every mutating call for its whole run, and
//     by Lookup(QueryDigest), which therefore sees the state between two
//     Updates.
//   - mu (RWMutex) guards the partition map and key list, the Changed
//     channel, closed, and each partition's epochs slice (replaced, never
//     mutated in place). Readers hold it only to find a partition; they then
//     call its partlog.Log, which has its own lock. A reader that meets a log
//     closed under it (RecoverFromSnapshot, DeletePartitions) looks again.
//
// Update appends to the logs before it commits pebble, so a reader may see
// a batch a moment before the applied index covers it: harmless, since
// only committed entries are applied and a crash re-applies them
// identically.

// StateMachine is one replica of a data group.
type StateMachine struct {
	dir       string
	shardID   uint64
	replicaID uint64
	log       zerolog.Logger
	reg       Registry

	applyMu sync.Mutex
	db      *pebble.DB // nil before Open and after Close
	applied uint64
	touched map[*partition]struct{} // logs to fsync at the next Sync
	dirSync bool                    // logs/ gained or lost a directory since the last Sync

	mu      sync.RWMutex
	closed  bool
	parts   map[PartitionKey]*partition
	keys    []PartitionKey // sorted
	changed chan struct{}
}

var _ sm.IOnDiskStateMachine = (*StateMachine)(nil)

// NewFactory returns the factory Dragonboat calls for each data-group
// replica. Replica data lives under dir/group-<shard>-<replica>/.
func NewFactory(dir string, log zerolog.Logger, reg Registry) sm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return &StateMachine{
			dir:       filepath.Join(dir, fmt.Sprintf("group-%d-%d", shardID, replicaID)),
			shardID:   shardID,
			replicaID: replicaID,
			log: log.With().Uint64("shard", shardID).
				Uint64("replica", replicaID).Logger(),
			reg:     reg,
			closed:  true,
			changed: make(chan struct{}),
		}
	}
}

func (s *StateMachine) stateDir() string   { return filepath.Join(s.dir, "state") }
func (s *StateMachine) logsDir() string    { return filepath.Join(s.dir, "logs") }
func (s *StateMachine) stagingDir() string { return filepath.Join(s.dir, "logs.restore") }
func (s *StateMachine) oldDir() string     { return filepath.Join(s.dir, "logs.old") }

func (s *StateMachine) partDir(k PartitionKey) string { return filepath.Join(s.logsDir(), dirName(k)) }

func logConfig(segmentBytes int64) partlog.Config {
	return partlog.Config{SegmentBytes: segmentBytes}
}

// Open loads the pebble state, opens each partition's log and truncates it
// to the next offset persisted with the applied index (dropping what was
// appended by Updates whose pebble batch did not survive), removes
// directories that belong to no partition, and returns the applied index.
//
// Limitation: segment files are fsynced only by Sync. After a power loss
// (not a process crash) a log can be shorter than its persisted state, if
// pebble's unsynced batches survived but the segment bytes did not. Open
// then fails with ErrDataLost rather than serve a hole; remove the replica's
// data so that it rejoins from a snapshot.
func (s *StateMachine) Open(stopc <-chan struct{}) (uint64, error) {
	idx, err := s.open(stopc)
	if err == nil && s.reg != nil {
		s.reg.Opened(s.shardID, s)
	}
	return idx, err
}

func (s *StateMachine) open(stopc <-chan struct{}) (uint64, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db != nil {
		return 0, errors.New("datagroup: already open")
	}
	if err := os.MkdirAll(s.logsDir(), 0o755); err != nil {
		return 0, fmt.Errorf("datagroup: open: %w", err)
	}
	db, err := pebble.Open(s.stateDir(), s.pebbleOptions())
	if err != nil {
		return 0, fmt.Errorf("datagroup: open %s: %w", s.stateDir(), err)
	}
	st, err := loadState(pebbleSource(db, stopc))
	if err == nil && st.recovering {
		// A RecoverFromSnapshot was interrupted: nothing here is usable.
		// Report index 0 so that Dragonboat recovers the snapshot again.
		s.log.Warn().Msg("interrupted snapshot recovery found; discarding the replica's state")
		if err = wipe(db, s.logsDir()); err == nil {
			st = &loaded{parts: map[PartitionKey]*partition{}}
		}
	}
	if err == nil {
		err = s.openLogs(db, st, stopc)
	}
	if err != nil {
		_ = db.Close()
		if errors.Is(err, sm.ErrOpenStopped) {
			return 0, sm.ErrOpenStopped
		}
		return 0, fmt.Errorf("datagroup: open %s: %w", s.dir, err)
	}
	s.db, s.applied = db, st.applied
	s.touched = map[*partition]struct{}{}
	s.mu.Lock()
	s.parts, s.keys, s.closed = st.parts, st.keys, false
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.log.Info().Uint64("applied", st.applied).Int("partitions", len(st.keys)).Msg("data group state machine opened")
	return st.applied, nil
}

// wipe deletes every record and log (synced).
func wipe(db *pebble.DB, logs string) error {
	if err := os.RemoveAll(logs); err != nil {
		return err
	}
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	if err := fsyncDir(filepath.Dir(logs)); err != nil {
		return err
	}
	return db.DeleteRange(keyMin, keyMax, pebble.Sync)
}

// openLogs opens every partition of st and brings its log to the persisted
// offsets; on error the logs opened so far are closed.
func (s *StateMachine) openLogs(db *pebble.DB, st *loaded, stopc <-chan struct{}) (err error) {
	for _, d := range []string{s.stagingDir(), s.oldDir()} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil {
			closeLogs(st.parts)
		}
	}()
	known := make(map[string]bool, len(st.keys))
	for _, k := range st.keys {
		if stopped(stopc) {
			return sm.ErrOpenStopped
		}
		p := st.parts[k]
		known[dirName(k)] = true
		if p.log, err = partlog.Open(s.partDir(k), logConfig(p.segmentBytes)); err != nil {
			return err
		}
		persisted := p.start
		if err := alignLog(p); err != nil {
			return fmt.Errorf("partition %s: %w", dirName(k), err)
		}
		if p.start != persisted {
			// Keep the record equal to the log: snapshots copy both.
			if err := db.Set(partitionKey(k), encodePartition(p), pebble.NoSync); err != nil {
				return err
			}
		}
	}
	// Directories of partitions created by an Update whose pebble batch was
	// lost, or deleted by one whose removal did not finish.
	ents, err := os.ReadDir(s.logsDir())
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !known[e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.logsDir(), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// alignLog makes p.log end at p.next and start at p.start (both persisted).
func alignLog(p *partition) error {
	if got := p.log.NextOffset(); got < p.next {
		return fmt.Errorf("%w: log ends at offset %d, state says %d (segment data lost in a power "+
			"loss before Sync; remove this replica's data so that it rejoins from a snapshot)",
			ErrDataLost, got, p.next)
	}
	if err := p.log.TruncateTo(p.next); err != nil {
		return err
	}
	if p.log.StartOffset() < p.start {
		if err := p.log.DeleteRecordsBefore(p.start); err != nil {
			return err
		}
	}
	// A DeleteRecords or retention beyond the persisted state is replayed
	// identically; until then nothing below the log's start can be served.
	if start := p.log.StartOffset(); start != p.start {
		p.start = start
		if es := trimEpochs(p.epochs, start); es != nil {
			p.epochs = es
		}
	}
	return nil
}

func closeLogs(parts map[PartitionKey]*partition) {
	for _, p := range parts {
		if p.log != nil {
			_ = p.log.Close()
		}
	}
}

// pebbleSource iterates every key of r (a DB or a Snapshot), checking stopc
// every 1024 keys (dbsm.ErrOpenStopped).
func pebbleSource(r pebble.Reader, stopc <-chan struct{}) kvSource {
	return pebblekv.Iter(r, keyMin, keyMax, stopc)
}

func stopped(stopc <-chan struct{}) bool { return pebblekv.Stopped(stopc) }

// Sync fsyncs the logs touched since the last Sync, the logs directory if
// partitions were created or removed, then pebble's WAL (which holds every
// applied batch). Logs first: once the applied index is durable, so is the
// data it covers.
func (s *StateMachine) Sync() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	// Sorted, so that a failure is reported the same way each time.
	ps := make([]*partition, 0, len(s.touched))
	for p := range s.touched {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *partition) int { return compareKeys(a.key, b.key) })
	for _, p := range ps {
		if err := p.log.Sync(); err != nil {
			return fmt.Errorf("datagroup: sync %s: %w", dirName(p.key), err)
		}
		delete(s.touched, p)
	}
	if s.dirSync {
		if err := fsyncDir(s.logsDir()); err != nil {
			return fmt.Errorf("datagroup: sync: %w", err)
		}
		s.dirSync = false
	}
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("datagroup: sync: %w", err)
	}
	return nil
}

func fsyncDir(dir string) error { return fsutil.SyncDir(dir) }

// Close closes the logs and pebble (no fsync: Dragonboat calls Sync before
// it relies on anything). Reads afterwards return ErrClosed; Close is
// idempotent.
func (s *StateMachine) Close() error {
	wasOpen, err := s.close()
	if wasOpen && s.reg != nil {
		s.reg.Closed(s.shardID, s)
	}
	return err
}

func (s *StateMachine) close() (wasOpen bool, _ error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return false, nil
	}
	s.mu.Lock()
	parts := s.parts
	s.parts, s.keys, s.closed = nil, nil, true
	close(s.changed) // wake long polls; Changed() now returns a closed channel
	s.mu.Unlock()
	var err error
	for _, k := range sortedKeys(parts) {
		if cerr := parts[k].log.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if cerr := s.db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	s.db, s.touched = nil, nil
	if err != nil {
		return true, fmt.Errorf("datagroup: close: %w", err)
	}
	return true, nil
}

func sortedKeys(parts map[PartitionKey]*partition) []PartitionKey {
	ks := make([]PartitionKey, 0, len(parts))
	for k := range parts {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, compareKeys)
	return ks
}

func (s *StateMachine) pebbleOptions() *pebble.Options { return pebblekv.Options(s.log) }
