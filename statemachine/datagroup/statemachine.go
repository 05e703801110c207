package datagroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// Replica directory layout (dir/group-<shard>-<replica>/):
//
//	state/                        pebble: partition and producer records, the
//	                              group log's index, the applied index
//	segments/                     the group log's segment files (grouplog)
//	segments.restore/, .old/      RecoverFromSnapshot's staging (removed by Open)
//	FAILED                        written when this replica stopped on a
//	                              storage error; the node rebuilds it
//
// # Concurrency and lock order
//
// Dragonboat calls Open, Update, Sync, PrepareSnapshot, RecoverFromSnapshot
// and Close one at a time; Lookup, SaveSnapshot and the read API (api.go)
// run concurrently with them, and so does the reclaimer goroutine, which
// takes applyMu. Two locks, taken in this order:
//
//   - applyMu (Mutex) is held by every mutating call for its whole run, by
//     the reclaimer, and by Lookup(QueryDigest), which therefore sees the
//     state between two Updates.
//   - mu (RWMutex) guards db and gl (replaced by RecoverFromSnapshot and
//     Close), the partition map and key list, the Changed channel, closed,
//     and each partition's epochs slice. Readers hold it for reading for
//     the whole read, so the store cannot close under them.

// StateMachine is one replica of a data group.
type StateMachine struct {
	dir       string
	shardID   uint64
	replicaID uint64
	log       zerolog.Logger
	reg       Registry
	cfg       grouplog.Config

	applyMu sync.Mutex
	applied uint64
	// appliedIdx mirrors applied for readers outside the apply goroutine
	// (metrics).
	appliedIdx atomic.Uint64
	stopc      chan struct{} // stops the reclaimer
	done       chan struct{}
	reclaim    chan struct{}

	mu      sync.RWMutex
	db      *pebble.DB // nil before Open and after Close
	gl      *grouplog.Store
	closed  bool
	parts   map[PartitionKey]*partition
	keys    []PartitionKey // sorted
	changed chan struct{}
}

var _ sm.IOnDiskStateMachine = (*StateMachine)(nil)

// NewFactory returns the factory Dragonboat calls for each data-group
// replica. Replica data lives under dir/group-<shard>-<replica>/; dir must
// have passed CheckFormat.
func NewFactory(dir string, log zerolog.Logger, reg Registry) sm.CreateOnDiskStateMachineFunc {
	return NewFactoryWithConfig(dir, log, reg, grouplog.Config{})
}

// NewFactoryWithConfig is NewFactory with group-log settings.
func NewFactoryWithConfig(dir string, log zerolog.Logger, reg Registry, cfg grouplog.Config) sm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return &StateMachine{
			dir:       ReplicaDir(dir, shardID, replicaID),
			shardID:   shardID,
			replicaID: replicaID,
			log: log.With().Uint64("shard", shardID).
				Uint64("replica", replicaID).Logger(),
			reg:     reg,
			cfg:     cfg,
			closed:  true,
			changed: make(chan struct{}),
		}
	}
}

// ReplicaDir is where the replica of shardID with replicaID keeps its data.
func ReplicaDir(dir string, shardID, replicaID uint64) string {
	return filepath.Join(dir, fmt.Sprintf("group-%d-%d", shardID, replicaID))
}

func (s *StateMachine) stateDir() string   { return filepath.Join(s.dir, "state") }
func (s *StateMachine) segsDir() string    { return filepath.Join(s.dir, "segments") }
func (s *StateMachine) stagingDir() string { return filepath.Join(s.dir, "segments.restore") }
func (s *StateMachine) oldDir() string     { return filepath.Join(s.dir, "segments.old") }

// Open loads the pebble state and opens the group log, which cuts its
// segments back to what the index persisted with the applied index covers,
// and returns the applied index. If the group log finds bytes the index
// covers missing (a power loss before Sync), or a FAILED marker is there,
// Open writes the marker and fails; the node handles the marker at the next
// start (see FailedMarker).
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
	if _, err := os.Stat(FailedMarker(s.dir)); err == nil {
		return 0, fmt.Errorf("datagroup: %s: replica marked failed earlier; the node must rebuild it", s.dir)
	}
	for _, d := range []string{s.stagingDir(), s.oldDir()} {
		if err := os.RemoveAll(d); err != nil {
			return 0, fmt.Errorf("datagroup: open: %w", err)
		}
	}
	if err := os.MkdirAll(s.stateDir(), 0o755); err != nil {
		return 0, fmt.Errorf("datagroup: open: %w", err)
	}
	db, err := pebble.Open(s.stateDir(), pebblekv.Options(s.log))
	if err != nil {
		return 0, fmt.Errorf("datagroup: open %s: %w", s.stateDir(), err)
	}
	st, err := loadState(pebbleSource(db, stopc))
	if err == nil && st.recovering {
		// A RecoverFromSnapshot was interrupted: nothing here is usable.
		// Report index 0 so that Dragonboat recovers the snapshot again.
		s.log.Warn().Msg("interrupted snapshot recovery found; discarding the replica's state")
		if err = wipe(db, s.segsDir()); err == nil {
			st = &loaded{parts: map[PartitionKey]*partition{}}
		}
	}
	var gl *grouplog.Store
	if err == nil {
		gl, err = grouplog.Open(s.segsDir(), db, s.cfg)
	}
	if err != nil {
		_ = db.Close()
		if errors.Is(err, sm.ErrOpenStopped) {
			return 0, sm.ErrOpenStopped
		}
		if errors.Is(err, grouplog.ErrDataLost) {
			s.markFailed(err)
		}
		return 0, fmt.Errorf("datagroup: open %s: %w", s.dir, err)
	}
	for _, p := range st.parts {
		p.publish()
	}
	s.applied = st.applied
	s.appliedIdx.Store(s.applied)
	s.mu.Lock()
	s.db, s.gl = db, gl
	s.parts, s.keys, s.closed = st.parts, st.keys, false
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.startReclaimer()
	s.log.Info().Uint64("applied", st.applied).Int("partitions", len(st.keys)).Msg("data group state machine opened")
	return st.applied, nil
}

// FailedMarker is the file whose presence in a replica directory means the
// replica stopped on a storage failure (or lost data in a power loss) and
// must not be opened again as is: node/ discards its data and replays its
// Raft log, or leaves it stopped when the log was compacted (node/rebuild.go).
func FailedMarker(replicaDir string) string { return filepath.Join(replicaDir, "FAILED") }

// markFailed writes the FAILED marker with the reason and logs it.
func (s *StateMachine) markFailed(cause error) {
	s.log.Error().Err(cause).Str("dir", s.dir).
		Msg("data-group replica stopped on a storage failure; marked FAILED, the node rebuilds or retires it at the next start")
	msg := fmt.Sprintf("%s: %v\n", time.Now().UTC().Format(time.RFC3339), cause)
	if err := os.WriteFile(FailedMarker(s.dir), []byte(msg), 0o644); err == nil {
		_ = fsutil.SyncDir(s.dir)
	}
}

// wipe deletes every record and segment (synced).
func wipe(db *pebble.DB, segs string) error {
	if err := os.RemoveAll(segs); err != nil {
		return err
	}
	if err := fsutil.SyncDir(filepath.Dir(segs)); err != nil {
		return err
	}
	return db.DeleteRange(keyMin, keyMax, pebble.Sync)
}

// pebbleSource iterates every key of r (a DB or a Snapshot), checking stopc
// every 1024 keys (dbsm.ErrOpenStopped).
func pebbleSource(r pebble.Reader, stopc <-chan struct{}) kvSource {
	return pebblekv.Iter(r, keyMin, keyMax, stopc)
}

// Sync fsyncs the group log's segments written since the last Sync (and
// its directory if files were created), then pebble, whose WAL holds every
// applied batch. Segments first: once the applied index is durable, so is
// the data its index covers.
func (s *StateMachine) Sync() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	if err := s.gl.Sync(); err != nil {
		return fmt.Errorf("datagroup: sync: %w", err)
	}
	return nil
}

// Close stops the reclaimer and closes the group log and pebble (no fsync:
// Dragonboat calls Sync before it relies on anything). Reads afterwards
// return ErrClosed; Close is idempotent.
func (s *StateMachine) Close() error {
	wasOpen, err := s.close()
	if wasOpen && s.reg != nil {
		s.reg.Closed(s.shardID, s)
	}
	return err
}

func (s *StateMachine) close() (wasOpen bool, _ error) {
	s.stopReclaimer()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return false, nil
	}
	s.mu.Lock()
	db, gl := s.db, s.gl
	s.db, s.gl = nil, nil
	s.parts, s.keys, s.closed = nil, nil, true
	close(s.changed) // wake long polls; Changed() now returns a closed channel
	s.mu.Unlock()
	err := gl.Close()
	if cerr := db.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return true, fmt.Errorf("datagroup: close: %w", err)
	}
	return true, nil
}

// ReclaimInterval is how often the reclaimer looks for group segments to
// free, besides when Updates delete data.
const ReclaimInterval = 10 * time.Second

func (s *StateMachine) startReclaimer() {
	s.stopc, s.done, s.reclaim = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	go func(stopc, done, kick chan struct{}) {
		defer close(done)
		t := time.NewTicker(ReclaimInterval)
		defer t.Stop()
		for {
			select {
			case <-stopc:
				return
			case <-t.C:
			case <-kick:
			}
			if _, _, err := s.Reclaim(); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Error().Err(err).Msg("reclaiming group segments failed")
			}
		}
	}(s.stopc, s.done, s.reclaim)
}

func (s *StateMachine) stopReclaimer() {
	s.applyMu.Lock()
	stopc, done := s.stopc, s.done
	s.stopc, s.done = nil, nil
	s.applyMu.Unlock()
	if stopc != nil {
		close(stopc)
		<-done
	}
}

// kickReclaim wakes the reclaimer (after an Update deleted data).
func (s *StateMachine) kickReclaim() {
	select {
	case s.reclaim <- struct{}{}:
	default:
	}
}

// Reclaim frees the group segments no partition needs (grouplog.Reclaim),
// between two Updates. It returns the bytes freed and copied.
func (s *StateMachine) Reclaim() (freed, copied int64, err error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return 0, 0, ErrClosed
	}
	return s.gl.Reclaim()
}

// AppliedIndex is the Raft index this replica has applied (for metrics:
// replicas of one group compare theirs to see how far each lags).
func (s *StateMachine) AppliedIndex() uint64 { return s.appliedIdx.Load() }

// Stats describes the replica's group log (for /metrics).
func (s *StateMachine) Stats() grouplog.Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.gl == nil {
		return grouplog.Stats{}
	}
	return s.gl.Stats()
}
