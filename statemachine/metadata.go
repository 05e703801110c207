package statemachine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble"
	dbsm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// StateMachine is the metadata shard's dbsm.IOnDiskStateMachine. Create it
// through NewFactory. See doc.go for its concurrency rules.
type StateMachine struct {
	dir string
	log zerolog.Logger

	mu sync.RWMutex
	db *pebble.DB // nil before Open and after Close
	st *state     // published state; nil before Open and after Close
}

var _ dbsm.IOnDiskStateMachine = (*StateMachine)(nil)

// NewFactory returns the Dragonboat factory of metadata state machines. Each
// replica keeps its pebble database in dir/metadata-<shardID>-<replicaID>.
func NewFactory(dir string, log zerolog.Logger) dbsm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) dbsm.IOnDiskStateMachine {
		return &StateMachine{
			dir: filepath.Join(dir, fmt.Sprintf("metadata-%d-%d", shardID, replicaID)),
			log: log.With().Uint64("shard", shardID).Uint64("replica", replicaID).Logger(),
		}
	}
}

// Open opens (or creates) the pebble database, loads the state into memory
// and returns the applied index persisted with it.
func (sm *StateMachine) Open(stopc <-chan struct{}) (uint64, error) {
	if err := os.MkdirAll(sm.dir, 0o755); err != nil {
		return 0, fmt.Errorf("statemachine: open: %w", err)
	}
	db, err := pebble.Open(sm.dir, sm.pebbleOptions())
	if err != nil {
		return 0, fmt.Errorf("statemachine: open %s: %w", sm.dir, err)
	}
	st, err := loadState(pebbleSource(db, stopc))
	if err != nil {
		_ = db.Close()
		if err == dbsm.ErrOpenStopped {
			return 0, err
		}
		return 0, fmt.Errorf("statemachine: load %s: %w", sm.dir, err)
	}
	sm.mu.Lock()
	sm.db, sm.st = db, st
	sm.mu.Unlock()
	sm.log.Info().Uint64("applied", st.applied).Int("topics", len(st.topics)).
		Int("brokers", len(st.brokers)).Int("groups", len(st.groups)).Msg("metadata state machine opened")
	return st.applied, nil
}

// pebbleSource iterates every key of r (a DB or a Snapshot). While loading
// it checks stopc every 1024 keys and returns dbsm.ErrOpenStopped.
func pebbleSource(r pebble.Reader, stopc <-chan struct{}) pebblekv.Source {
	return pebblekv.Iter(r, keyMin, keyMax, stopc)
}

// Update applies committed entries. Each entry's Result has Value = number
// of commands and Data = EncodeResult. Entries that do not decode get one
// CodeInvalid and change nothing; an unknown op (a newer binary proposed it)
// fails Update, which stops the node. All changes and the last index are written
// in one pebble batch; an error is returned only if storage fails.
func (sm *StateMachine) Update(ents []dbsm.Entry) ([]dbsm.Entry, error) {
	st, db := sm.st, sm.db // Update is never concurrent with Open/Close/Recover
	if st == nil {
		return nil, ErrClosed
	}
	if len(ents) == 0 {
		return ents, nil
	}
	t := newTx(st)
	last := st.applied
	for i := range ents {
		e := &ents[i]
		if e.Index <= last {
			panic(fmt.Sprintf("statemachine: entry index %d after applied index %d", e.Index, last))
		}
		last = e.Index
		var res Result
		cmd, err := Decode(e.Cmd)
		if errors.Is(err, ErrUnknownOp) {
			// Written by a newer binary (consul's rule: an unknown command
			// stops the node rather than letting replicas diverge). Dragonboat
			// stops the process on this error; upgrade the binary.
			return nil, fmt.Errorf("statemachine: entry %d: %w: this binary is older than the one that proposed it; upgrade it", e.Index, err)
		}
		if err != nil {
			sm.log.Error().Err(err).Uint64("index", e.Index).Int("bytes", len(e.Cmd)).
				Msg("undecodable metadata command; reporting it invalid")
			res = Result{Codes: []Code{CodeInvalid}}
		} else {
			res = t.applyCommand(cmd)
		}
		e.Result = dbsm.Result{Value: uint64(len(res.Codes)), Data: EncodeResult(res)}
	}
	b := db.NewBatch()
	err := t.write(b, last)
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	_ = b.Close()
	if err != nil {
		return nil, fmt.Errorf("statemachine: write entries up to %d: %w", last, err)
	}
	sm.mu.Lock()
	t.publish(last)
	sm.mu.Unlock()
	return ents, nil
}

// Sync fsyncs the pebble WAL, which holds every applied batch.
func (sm *StateMachine) Sync() error {
	if sm.db == nil {
		return ErrClosed
	}
	if err := sm.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("statemachine: sync: %w", err)
	}
	return nil
}

// Close closes pebble. Lookup afterwards returns ErrClosed.
func (sm *StateMachine) Close() error {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	db := sm.db
	sm.db, sm.st = nil, nil
	if db == nil {
		return nil
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("statemachine: close: %w", err)
	}
	return nil
}

func (sm *StateMachine) pebbleOptions() *pebble.Options { return pebblekv.Options(sm.log) }
