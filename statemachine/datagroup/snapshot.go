package datagroup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/skiff-broker/skiff/statemachine/partlog"
)

// Snapshot stream (SaveSnapshot / RecoverFromSnapshot):
//
//	header   snapshotMagic (8 bytes), snapshotVersion (uint32 LE)
//	record   0x01, uvarint len(key), key, uvarint len(value), value
//	         ... one per pebble key, strictly ascending, the applied
//	         index included
//	end      0x00, record count (uint64 LE)
//	log      0x02, the partition record's key (21 bytes), the partition's
//	         partlog snapshot stream (partlog.SnapshotView.WriteTo)
//	         ... one per partition record, in key order
//	end      0x00, log count (uint64 LE)
//	trailer  SHA-256 of every preceding byte (32 bytes)
//
// Recovery stops reading after the checksum (the reader Dragonboat passes may
// carry its own framing after the application's bytes). It restores the
// logs into a staging directory and checks the whole stream before it
// touches the current state; a bad stream leaves the state machine as it
// was and returns an error wrapping ErrBadSnapshot.
const (
	snapshotVersion uint32 = 1
	snapRecord      byte   = 0x01
	snapLog         byte   = 0x02
	snapEnd         byte   = 0x00
	maxSnapKeyLen          = 1 << 10
	maxSnapValueLen        = 64 << 20
)

var snapshotMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'D', 'G', 0}

// snapshotCtx is PrepareSnapshot's point-in-time view.
type snapshotCtx struct {
	snap  *pebble.Snapshot
	keys  []PartitionKey
	views []*partlog.SnapshotView
}

func (c *snapshotCtx) close() {
	for _, v := range c.views {
		_ = v.Close()
	}
	_ = c.snap.Close()
}

// PrepareSnapshot captures a pebble snapshot and every log's segments. It
// runs mutually exclusive with Update, so they match the applied index.
func (s *StateMachine) PrepareSnapshot() (interface{}, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	c := &snapshotCtx{snap: s.db.NewSnapshot(), keys: append([]PartitionKey(nil), s.keys...)}
	for _, k := range c.keys {
		v, err := s.parts[k].log.PrepareSnapshot()
		if err != nil {
			c.close()
			return nil, fmt.Errorf("datagroup: prepare snapshot of %s: %w", dirName(k), err)
		}
		c.views = append(c.views, v)
	}
	return c, nil
}

// stopWriter fails writes with ErrSnapshotStopped once stopc is closed.
type stopWriter struct {
	w     io.Writer
	stopc <-chan struct{}
}

func (s stopWriter) Write(p []byte) (int, error) {
	if stopped(s.stopc) {
		return 0, sm.ErrSnapshotStopped
	}
	return s.w.Write(p)
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
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(stopWriter{w, stopc}, h), 256<<10)
	buf := append([]byte(nil), snapshotMagic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, snapshotVersion)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	var count uint64
	err := pebbleSource(c.snap, nil)(func(k, v []byte) error {
		count++
		buf = append(buf[:0], snapRecord)
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		_, err := bw.Write(v)
		return err
	})
	if err != nil {
		return err
	}
	buf = append(buf[:0], snapEnd)
	buf = binary.LittleEndian.AppendUint64(buf, count)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	for i, k := range c.keys {
		buf = append(buf[:0], snapLog)
		buf = append(buf, partitionKey(k)...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		if _, err := c.views[i].WriteTo(bw); err != nil {
			return err
		}
	}
	buf = append(buf[:0], snapEnd)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(c.keys)))
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

// hashReader hashes every byte it hands out. It reads no more than asked,
// so partlog.Restore can consume exactly its own stream from it.
type hashReader struct {
	r     *bufio.Reader
	h     hash.Hash
	stopc <-chan struct{}
	one   [1]byte
}

func (s *hashReader) Read(p []byte) (int, error) {
	if stopped(s.stopc) {
		return 0, sm.ErrSnapshotStopped
	}
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

func (s *hashReader) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.one[0] = b
		s.h.Write(s.one[:])
	}
	return b, err
}

// read returns the next n bytes; the buffer grows with the bytes actually
// read, so a huge bogus length fails at the end of the stream rather than
// allocating up front.
func (s *hashReader) read(n uint64) ([]byte, error) {
	var buf bytes.Buffer
	if n <= 4096 {
		buf.Grow(int(n))
	}
	got, err := io.CopyN(&buf, s, int64(n))
	if errors.Is(err, sm.ErrSnapshotStopped) {
		return nil, err
	}
	if err != nil || uint64(got) != n {
		return nil, badSnapshot("truncated")
	}
	return buf.Bytes(), nil
}

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
}

type kv struct{ k, v []byte }

// RecoverFromSnapshot replaces the whole state with the stream's: the logs
// are restored into a staging directory and the stream is checked to its
// checksum first, so a bad stream (an error wrapping ErrBadSnapshot) or a
// stop (sm.ErrSnapshotStopped) changes nothing. The swap itself is marked
// in pebble so that Open discards a half-installed state (see Open).
func (s *StateMachine) RecoverFromSnapshot(r io.Reader, stopc <-chan struct{}) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	st, kvs, err := s.readSnapshot(r, stopc)
	if err != nil {
		_ = os.RemoveAll(s.stagingDir())
		return err
	}
	if err := s.install(st, kvs); err != nil {
		return fmt.Errorf("datagroup: recover from snapshot: %w", err)
	}
	s.log.Info().Uint64("applied", st.applied).Int("partitions", len(st.keys)).Msg("data group state recovered from snapshot")
	return nil
}

// readSnapshot parses and checks the stream, restoring the logs (closed)
// into the staging directory.
func (s *StateMachine) readSnapshot(r io.Reader, stopc <-chan struct{}) (*loaded, []kv, error) {
	hr := &hashReader{r: bufio.NewReaderSize(r, 256<<10), h: sha256.New(), stopc: stopc}
	hdr, err := hr.read(uint64(len(snapshotMagic) + 4))
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(hdr[:len(snapshotMagic)], snapshotMagic[:]) {
		return nil, nil, badSnapshot("not a skiff data-group snapshot")
	}
	if v := binary.LittleEndian.Uint32(hdr[len(snapshotMagic):]); v != snapshotVersion {
		return nil, nil, badSnapshot("unsupported snapshot version %d", v)
	}
	var kvs []kv
	for {
		tag, err := hr.ReadByte()
		if err != nil {
			return nil, nil, badSnapshot("truncated")
		}
		if tag == snapEnd {
			break
		}
		if tag != snapRecord {
			return nil, nil, badSnapshot("unknown record tag %d", tag)
		}
		kl, err := binary.ReadUvarint(hr)
		if err != nil || kl == 0 || kl > maxSnapKeyLen {
			return nil, nil, badSnapshot("bad key length")
		}
		k, err := hr.read(kl)
		if err != nil {
			return nil, nil, err
		}
		if n := len(kvs); n > 0 && bytes.Compare(kvs[n-1].k, k) >= 0 {
			return nil, nil, badSnapshot("keys out of order")
		}
		vl, err := binary.ReadUvarint(hr)
		if err != nil || vl > maxSnapValueLen {
			return nil, nil, badSnapshot("bad value length")
		}
		v, err := hr.read(vl)
		if err != nil {
			return nil, nil, err
		}
		kvs = append(kvs, kv{k: k, v: v})
	}
	if err := readCount(hr, len(kvs)); err != nil {
		return nil, nil, err
	}
	st, err := loadState(func(fn func(k, v []byte) error) error {
		for _, e := range kvs {
			if err := fn(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, badSnapshot("%v", err)
	}
	if st.recovering {
		return nil, nil, badSnapshot("recovery marker in snapshot")
	}
	staging := s.stagingDir()
	if err := os.RemoveAll(staging); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, nil, err
	}
	n := 0
	for ; ; n++ {
		tag, err := hr.ReadByte()
		if err != nil {
			return nil, nil, badSnapshot("truncated")
		}
		if tag == snapEnd {
			break
		}
		if tag != snapLog {
			return nil, nil, badSnapshot("unknown log tag %d", tag)
		}
		key, err := hr.read(partKeyLen)
		if err != nil {
			return nil, nil, err
		}
		if n >= len(st.keys) || !bytes.Equal(key, partitionKey(st.keys[n])) {
			return nil, nil, badSnapshot("log %d does not match the partition records", n)
		}
		p := st.parts[st.keys[n]]
		l, err := partlog.Restore(filepath.Join(staging, dirName(p.key)), logConfig(p.segmentBytes), hr)
		if errors.Is(err, sm.ErrSnapshotStopped) {
			return nil, nil, err
		}
		if err != nil {
			return nil, nil, badSnapshot("partition %s: %w", dirName(p.key), err)
		}
		start, next := l.StartOffset(), l.NextOffset()
		if err := l.Close(); err != nil {
			return nil, nil, err
		}
		if start != p.start || next != p.next {
			return nil, nil, badSnapshot("partition %s: log [%d, %d), record [%d, %d)",
				dirName(p.key), start, next, p.start, p.next)
		}
	}
	if n != len(st.keys) {
		return nil, nil, badSnapshot("%d logs for %d partitions", n, len(st.keys))
	}
	if err := readCount(hr, n); err != nil {
		return nil, nil, err
	}
	want := hr.h.Sum(nil)
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(hr.r, sum[:]); err != nil {
		return nil, nil, badSnapshot("truncated checksum")
	}
	if !bytes.Equal(sum[:], want) {
		return nil, nil, badSnapshot("checksum mismatch")
	}
	return st, kvs, nil
}

func readCount(hr *hashReader, want int) error {
	b, err := hr.read(8)
	if err != nil {
		return err
	}
	if n := binary.LittleEndian.Uint64(b); n != uint64(want) {
		return badSnapshot("count %d, read %d", n, want)
	}
	return nil
}

// install swaps the staged logs and the snapshot's records in. A failure
// here leaves the recovery marker set; the error halts the node and Open
// discards the half-installed state.
func (s *StateMachine) install(st *loaded, kvs []kv) error {
	if err := s.db.Set(keyRecovering, nil, pebble.Sync); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.parts
	s.parts, s.keys = map[PartitionKey]*partition{}, nil
	closeLogs(old)
	err := func() error {
		if err := os.RemoveAll(s.oldDir()); err != nil {
			return err
		}
		if err := os.Rename(s.logsDir(), s.oldDir()); err != nil {
			return err
		}
		if err := os.Rename(s.stagingDir(), s.logsDir()); err != nil {
			return err
		}
		if err := fsyncDir(s.dir); err != nil {
			return err
		}
		for _, k := range st.keys {
			p := st.parts[k]
			var err error
			if p.log, err = partlog.Open(s.partDir(k), logConfig(p.segmentBytes)); err != nil {
				return err
			}
			if err := alignLog(p); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		closeLogs(st.parts)
		s.mu.Unlock()
		return err
	}
	s.parts, s.keys = st.parts, st.keys
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.touched = map[*partition]struct{}{}
	s.dirSync = false

	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(keyMin, keyMax, nil); err != nil {
		return err
	}
	for _, e := range kvs {
		if err := b.Set(e.k, e.v, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	s.applied = st.applied
	if err := os.RemoveAll(s.oldDir()); err != nil {
		s.log.Warn().Err(err).Msg("removing the replaced logs")
	}
	return nil
}
