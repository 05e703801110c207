package statemachine

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
	"github.com/skiff-broker/skiff/statemachine/internal/snapio"
)

// Snapshot stream (SaveSnapshot / RecoverFromSnapshot): internal/snapio's
// framing with snapshotMagic and snapshotVersion, one record per pebble key
// (applied index and heartbeat counters too), no other section:
//
//	header   snapshotMagic (8 bytes), snapshotVersion (uint32 LE)
//	record   0x01, uvarint len(key), key, uvarint len(value), value
//	end      0x00, record count (uint64 LE),
//	         SHA-256 of every byte before it (32 bytes)
//
// Recovery stops reading after the checksum (the reader Dragonboat passes may
// carry its own framing after the application's bytes).
//
// Recovery reads and checks the whole stream, and parses it into a new
// in-memory state, before it touches pebble; a bad stream leaves the state
// machine unchanged.
const snapshotVersion uint32 = 1

var snapshotMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'M', 'D', 0}

// PrepareSnapshot captures a pebble snapshot of the current state. It runs
// mutually exclusive with Update, so the snapshot matches the applied index.
func (sm *StateMachine) PrepareSnapshot() (interface{}, error) {
	if sm.db == nil {
		return nil, ErrClosed
	}
	return sm.db.NewSnapshot(), nil
}

// SaveSnapshot writes the pebble snapshot from PrepareSnapshot to w in the
// stream format above, and releases it. It runs concurrently with Update.
func (sm *StateMachine) SaveSnapshot(ctx interface{}, w io.Writer, stopc <-chan struct{}) error {
	snap, ok := ctx.(*pebble.Snapshot)
	if !ok {
		return fmt.Errorf("statemachine: SaveSnapshot: unexpected context %T", ctx)
	}
	defer snap.Close()
	return writeSnapshot(pebbleSource(snap, nil), w, stopc)
}

func writeSnapshot(src pebblekv.Source, w io.Writer, stopc <-chan struct{}) error {
	sw, err := snapio.NewWriter(w, snapshotMagic, snapshotVersion, stopc)
	if err != nil {
		return err
	}
	if err := sw.Records(src); err != nil {
		return err // unwrapped: Dragonboat compares ErrSnapshotStopped/Streaming
	}
	return sw.Finish()
}

// RecoverFromSnapshot replaces the whole state with the stream's. A stream
// that is not a valid snapshot returns an error wrapping ErrBadSnapshot and
// changes nothing.
func (sm *StateMachine) RecoverFromSnapshot(r io.Reader, stopc <-chan struct{}) error {
	if sm.db == nil {
		return ErrClosed
	}
	kvs, err := readSnapshot(r, stopc)
	if err != nil {
		return err
	}
	st, err := loadState(snapio.Source(kvs))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	b := sm.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(keyMin, keyMax, nil); err != nil {
		return fmt.Errorf("statemachine: recover: %w", err)
	}
	for i := range kvs {
		if err := b.Set(kvs[i].K, kvs[i].V, nil); err != nil {
			return fmt.Errorf("statemachine: recover: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("statemachine: recover: %w", err)
	}
	sm.mu.Lock()
	sm.st = st
	sm.mu.Unlock()
	sm.log.Info().Uint64("applied", st.applied).Int("topics", len(st.topics)).Msg("metadata state recovered from snapshot")
	return nil
}

func readSnapshot(r io.Reader, stopc <-chan struct{}) ([]snapio.KV, error) {
	kvs, err := func() ([]snapio.KV, error) {
		s, err := snapio.NewReader(r, snapshotMagic, snapshotVersion, stopc)
		if err != nil {
			return nil, err
		}
		kvs, err := s.Records()
		if err != nil {
			return nil, err
		}
		return kvs, s.Verify()
	}()
	if errors.Is(err, snapio.ErrBad) {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return kvs, err
}
