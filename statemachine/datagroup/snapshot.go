package datagroup

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cockroachdb/pebble"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
	"github.com/skiff-broker/skiff/statemachine/internal/snapio"
)

// Snapshot stream (SaveSnapshot / RecoverFromSnapshot), version 2 (version
// 1 carried one partlog stream per partition):
//
//	header    snapshotMagic (8 bytes), snapshotVersion (uint32 LE)
//	records   every pebble key, ascending (internal/snapio): partition and
//	          producer records, the applied index, and the group log's
//	          index, logical-segment and segment records
//	segments  the group log's segment files (grouplog.View.Write)
//	trailer   SHA-256 of every preceding byte (32 bytes)
//
// A lagging replica of a group with many partitions thus receives a few
// large files and an index, not one log per partition. Recovery restores
// the segments into a staging directory and checks the whole stream before
// it touches the current state; a bad stream leaves the state machine as
// it was and returns an error wrapping ErrBadSnapshot.
const snapshotVersion uint32 = 2

var snapshotMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'D', 'G', 0}

// snapshotCtx is PrepareSnapshot's point-in-time view.
type snapshotCtx struct {
	snap *pebble.Snapshot
	view *grouplog.View
}

func (c *snapshotCtx) close() {
	c.view.Close()
	_ = c.snap.Close()
}

// PrepareSnapshot captures a pebble snapshot and the group segments (with
// descriptors of their own). It runs mutually exclusive with Update and the
// reclaimer, so they match the applied index.
func (s *StateMachine) PrepareSnapshot() (interface{}, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	v, err := s.gl.PrepareSnapshot()
	if err != nil {
		return nil, fmt.Errorf("datagroup: prepare snapshot: %w", err)
	}
	return &snapshotCtx{snap: s.db.NewSnapshot(), view: v}, nil
}

// SaveSnapshot writes PrepareSnapshot's view to w in the stream format
// above and releases it. It runs concurrently with Update. Errors of w
// (ErrSnapshotStreaming) and sm.ErrSnapshotStopped are returned unwrapped.
func (s *StateMachine) SaveSnapshot(ctx interface{}, w io.Writer, stopc <-chan struct{}) error {
	c, ok := ctx.(*snapshotCtx)
	if !ok {
		return fmt.Errorf("datagroup: SaveSnapshot: unexpected context %T", ctx)
	}
	defer c.close()
	return writeSnapshot(c, w, stopc)
}

func writeSnapshot(c *snapshotCtx, w io.Writer, stopc <-chan struct{}) error {
	sw, err := snapio.NewWriter(w, snapshotMagic, snapshotVersion, stopc)
	if err != nil {
		return err
	}
	if err := sw.Records(pebbleSource(c.snap, nil)); err != nil {
		return err
	}
	if err := c.view.Write(sw); err != nil {
		return err
	}
	return sw.Finish()
}

// RecoverFromSnapshot replaces the whole state with the stream's: the
// segments are restored into a staging directory and the stream is checked
// to its checksum first, so a bad stream (an error wrapping ErrBadSnapshot)
// or a stop (sm.ErrSnapshotStopped) changes nothing. The swap itself is
// marked in pebble so that Open discards a half-installed state.
func (s *StateMachine) RecoverFromSnapshot(r io.Reader, stopc <-chan struct{}) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	st, kvs, err := s.readSnapshot(r, stopc)
	if err != nil {
		_ = os.RemoveAll(s.stagingDir())
		if errors.Is(err, snapio.ErrBad) {
			return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
		}
		return err
	}
	if err := s.install(st, kvs); err != nil {
		s.markFailed(err)
		return fmt.Errorf("datagroup: recover from snapshot: %w", err)
	}
	s.log.Info().Uint64("applied", st.applied).Int("partitions", len(st.keys)).Msg("data group state recovered from snapshot")
	return nil
}

// readSnapshot parses and checks the stream, restoring the segments into
// the staging directory.
func (s *StateMachine) readSnapshot(r io.Reader, stopc <-chan struct{}) (*loaded, []snapio.KV, error) {
	sr, err := snapio.NewReader(r, snapshotMagic, snapshotVersion, stopc)
	if err != nil {
		return nil, nil, err
	}
	kvs, err := sr.Records()
	if err != nil {
		return nil, nil, err
	}
	st, err := loadState(snapio.Source(kvs))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", snapio.ErrBad, err)
	}
	if st.recovering {
		return nil, nil, fmt.Errorf("%w: recovery marker in snapshot", snapio.ErrBad)
	}
	if err := os.RemoveAll(s.stagingDir()); err != nil {
		return nil, nil, err
	}
	if err := grouplog.Restore(s.stagingDir(), sr); err != nil {
		return nil, nil, err
	}
	if err := sr.Verify(); err != nil {
		return nil, nil, err
	}
	return st, kvs, nil
}

// install swaps the staged segments and the snapshot's records in. A
// failure here leaves the recovery marker set; the error halts the node
// and Open discards the half-installed state.
func (s *StateMachine) install(st *loaded, kvs []snapio.KV) error {
	if err := s.db.Set(keyRecovering, nil, pebble.Sync); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.gl.Close(); err != nil {
		return err
	}
	s.gl = nil
	s.parts, s.keys = map[PartitionKey]*partition{}, nil
	if err := os.RemoveAll(s.oldDir()); err != nil {
		return err
	}
	if err := os.Rename(s.segsDir(), s.oldDir()); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(s.stagingDir(), s.segsDir()); err != nil {
		return err
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(keyMin, keyMax, nil); err != nil {
		return err
	}
	for _, e := range kvs {
		if err := b.Set(e.K, e.V, nil); err != nil {
			return err
		}
	}
	if err := b.Delete(keyRecovering, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	gl, err := grouplog.Open(s.segsDir(), s.db, s.cfg)
	if err != nil {
		return err
	}
	for _, p := range st.parts {
		p.publish()
	}
	s.gl = gl
	s.parts, s.keys = st.parts, st.keys
	close(s.changed)
	s.changed = make(chan struct{})
	s.applied = st.applied
	s.appliedIdx.Store(s.applied)
	if err := os.RemoveAll(s.oldDir()); err != nil {
		s.log.Warn().Err(err).Msg("removing the replaced segments")
	}
	return nil
}
