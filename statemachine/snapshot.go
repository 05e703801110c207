package statemachine

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/cockroachdb/pebble"
	dbsm "github.com/lni/dragonboat/v4/statemachine"
)

// Snapshot stream (SaveSnapshot / RecoverFromSnapshot):
//
//	header   snapshotMagic (8 bytes), snapshotVersion (uint32 LE)
//	record   0x01, uvarint len(key), key, uvarint len(value), value
//	         ... one per pebble key, strictly ascending, all keys included
//	         (applied index and heartbeat counters too)
//	end      0x00, record count (uint64 LE),
//	         SHA-256 of every byte before it (32 bytes)
//
// Recovery stops reading after the checksum (the reader Dragonboat passes may
// carry its own framing after the application's bytes).
//
// Recovery reads and checks the whole stream, and parses it into a new
// in-memory state, before it touches pebble; a bad stream leaves the state
// machine unchanged.
const (
	snapshotVersion uint32 = 1
	snapRecord      byte   = 0x01
	snapEnd         byte   = 0x00
	maxSnapKeyLen          = 64 << 10
	maxSnapValueLen        = 1 << 30
)

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

func writeSnapshot(src kvSource, w io.Writer, stopc <-chan struct{}) error {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
	var buf []byte
	buf = append(buf, snapshotMagic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, snapshotVersion)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	var count uint64
	err := src(func(k, v []byte) error {
		if count++; count%256 == 0 && stopped(stopc) {
			return dbsm.ErrSnapshotStopped
		}
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
		return err // unwrapped: Dragonboat compares ErrSnapshotStopped/Streaming
	}
	buf = append(buf[:0], snapEnd)
	buf = binary.LittleEndian.AppendUint64(buf, count)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(h.Sum(nil))
	return err
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
	st, err := loadState(kvs.source())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	b := sm.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(keyMin, keyMax, nil); err != nil {
		return fmt.Errorf("statemachine: recover: %w", err)
	}
	for i := range kvs {
		if err := b.Set(kvs[i].k, kvs[i].v, nil); err != nil {
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

type kv struct{ k, v []byte }

type kvList []kv

func (l kvList) source() kvSource {
	return func(fn func(k, v []byte) error) error {
		for i := range l {
			if err := fn(l[i].k, l[i].v); err != nil {
				return err
			}
		}
		return nil
	}
}

// snapReader hashes every byte it hands out.
type snapReader struct {
	r   *bufio.Reader
	h   hash.Hash
	one [1]byte
}

func (s *snapReader) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.one[0] = b
		s.h.Write(s.one[:])
	}
	return b, err
}

// read returns the next n bytes. The buffer grows with the bytes actually
// read, so a huge bogus length fails at the end of the stream rather than
// allocating up front.
func (s *snapReader) read(n uint64) ([]byte, error) {
	var buf bytes.Buffer
	if n <= 4096 {
		buf.Grow(int(n))
	}
	got, err := io.CopyN(&buf, io.TeeReader(s.r, s.h), int64(n))
	if err != nil || uint64(got) != n {
		return nil, fmt.Errorf("%w: truncated", ErrBadSnapshot)
	}
	return buf.Bytes(), nil
}

func readSnapshot(r io.Reader, stopc <-chan struct{}) (kvList, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
	}
	s := &snapReader{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}
	hdr, err := s.read(uint64(len(snapshotMagic) + 4))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(hdr[:len(snapshotMagic)], snapshotMagic[:]) {
		return nil, bad("not a skiff metadata snapshot")
	}
	if v := binary.LittleEndian.Uint32(hdr[len(snapshotMagic):]); v != snapshotVersion {
		return nil, bad("unsupported snapshot version %d", v)
	}
	var kvs kvList
	for {
		if len(kvs)%256 == 255 && stopped(stopc) {
			return nil, dbsm.ErrSnapshotStopped
		}
		tag, err := s.ReadByte()
		if err != nil {
			return nil, bad("truncated")
		}
		if tag == snapEnd {
			break
		}
		if tag != snapRecord {
			return nil, bad("unknown record tag %d", tag)
		}
		kl, err := binary.ReadUvarint(s)
		if err != nil || kl == 0 || kl > maxSnapKeyLen {
			return nil, bad("bad key length")
		}
		k, err := s.read(kl)
		if err != nil {
			return nil, err
		}
		if n := len(kvs); n > 0 && bytes.Compare(kvs[n-1].k, k) >= 0 {
			return nil, bad("keys out of order")
		}
		vl, err := binary.ReadUvarint(s)
		if err != nil || vl > maxSnapValueLen {
			return nil, bad("bad value length")
		}
		v, err := s.read(vl)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv{k: k, v: v})
	}
	cnt, err := s.read(8)
	if err != nil {
		return nil, err
	}
	if n := binary.LittleEndian.Uint64(cnt); n != uint64(len(kvs)) {
		return nil, bad("record count %d, read %d", n, len(kvs))
	}
	want := s.h.Sum(nil)
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(s.r, sum[:]); err != nil {
		return nil, bad("truncated checksum")
	}
	if !bytes.Equal(sum[:], want) {
		return nil, bad("checksum mismatch")
	}
	return kvs, nil
}
