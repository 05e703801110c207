// Package snapio holds the snapshot framing both state machines use:
//
//	header   magic (8 bytes), version (uint32 LE)
//	record   0x01, uvarint len(key), key, uvarint len(value), value
//	         ... one per key, strictly ascending
//	end      0x00, record count (uint64 LE)
//	...      sections of the state machine's own (data groups: the log)
//	trailer  SHA-256 of every preceding byte (32 bytes)
//
// A Reader reads no more than the stream's own bytes (the reader Dragonboat
// passes may carry its own framing after them).
package snapio

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	dbsm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

const (
	tagRecord byte = 0x01
	tagEnd    byte = 0x00
	// MaxKeyLen and MaxValueLen bound what a Reader accepts.
	MaxKeyLen   = 64 << 10
	MaxValueLen = 1 << 30
)

// ErrBad is wrapped by every error about the stream's bytes; callers wrap
// it again with their own ErrBadSnapshot.
var ErrBad = errors.New("bad snapshot")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBad}, args...)...)
}

// Writer hashes and buffers what it writes, and fails with
// dbsm.ErrSnapshotStopped once stopc is closed.
type Writer struct {
	w     io.Writer
	h     hash.Hash
	bw    *bufio.Writer
	stopc <-chan struct{}
	buf   []byte
}

type stopWriter struct {
	w     io.Writer
	stopc <-chan struct{}
}

func (s stopWriter) Write(p []byte) (int, error) {
	if pebblekv.Stopped(s.stopc) {
		return 0, dbsm.ErrSnapshotStopped
	}
	return s.w.Write(p)
}

// NewWriter writes the header.
func NewWriter(w io.Writer, magic [8]byte, version uint32, stopc <-chan struct{}) (*Writer, error) {
	h := sha256.New()
	sw := &Writer{w: w, h: h, stopc: stopc}
	sw.bw = bufio.NewWriterSize(io.MultiWriter(stopWriter{w, stopc}, h), 256<<10)
	sw.buf = append(sw.buf[:0], magic[:]...)
	sw.buf = binary.LittleEndian.AppendUint32(sw.buf, version)
	_, err := sw.bw.Write(sw.buf)
	return sw, err
}

// Write writes raw bytes (sections of the caller's own).
func (s *Writer) Write(p []byte) (int, error) { return s.bw.Write(p) }

// Records writes every record of src, then the end tag and count.
func (s *Writer) Records(src pebblekv.Source) error {
	var count uint64
	err := src(func(k, v []byte) error {
		count++
		s.buf = append(s.buf[:0], tagRecord)
		s.buf = binary.AppendUvarint(s.buf, uint64(len(k)))
		s.buf = append(s.buf, k...)
		s.buf = binary.AppendUvarint(s.buf, uint64(len(v)))
		if _, err := s.bw.Write(s.buf); err != nil {
			return err
		}
		_, err := s.bw.Write(v)
		return err
	})
	if err != nil {
		return err
	}
	return s.End(count)
}

// End writes an end tag and a count (uint64 LE).
func (s *Writer) End(count uint64) error {
	s.buf = append(s.buf[:0], tagEnd)
	s.buf = binary.LittleEndian.AppendUint64(s.buf, count)
	_, err := s.bw.Write(s.buf)
	return err
}

// Finish flushes and writes the checksum trailer. Errors of the underlying
// writer and dbsm.ErrSnapshotStopped are returned unwrapped.
func (s *Writer) Finish() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	_, err := s.w.Write(s.h.Sum(nil))
	return err
}

// KV is one record.
type KV struct{ K, V []byte }

// Source is a pebblekv.Source over kvs.
func Source(kvs []KV) pebblekv.Source {
	return func(fn func(k, v []byte) error) error {
		for i := range kvs {
			if err := fn(kvs[i].K, kvs[i].V); err != nil {
				return err
			}
		}
		return nil
	}
}

// Reader hashes every byte it hands out and fails with
// dbsm.ErrSnapshotStopped once stopc is closed. It reads no more than
// asked, so a nested decoder can consume exactly its own bytes.
type Reader struct {
	r     *bufio.Reader
	h     hash.Hash
	stopc <-chan struct{}
	one   [1]byte
}

// NewReader reads and checks the header.
func NewReader(r io.Reader, magic [8]byte, version uint32, stopc <-chan struct{}) (*Reader, error) {
	s := &Reader{r: bufio.NewReaderSize(r, 256<<10), h: sha256.New(), stopc: stopc}
	hdr, err := s.ReadN(uint64(len(magic) + 4))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(hdr[:len(magic)], magic[:]) {
		return nil, bad("not a %q snapshot", bytes.TrimRight(magic[:], "\x00"))
	}
	if v := binary.LittleEndian.Uint32(hdr[len(magic):]); v != version {
		return nil, bad("unsupported snapshot version %d (this binary reads %d)", v, version)
	}
	return s, nil
}

func (s *Reader) Read(p []byte) (int, error) {
	if pebblekv.Stopped(s.stopc) {
		return 0, dbsm.ErrSnapshotStopped
	}
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

func (s *Reader) ReadByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.one[0] = b
		s.h.Write(s.one[:])
	}
	return b, err
}

// ReadN returns the next n bytes. The buffer grows with the bytes actually
// read, so a huge bogus length fails at the end of the stream rather than
// allocating up front.
func (s *Reader) ReadN(n uint64) ([]byte, error) {
	var buf bytes.Buffer
	if n <= 4096 {
		buf.Grow(int(n))
	}
	got, err := io.CopyN(&buf, s, int64(n))
	if errors.Is(err, dbsm.ErrSnapshotStopped) {
		return nil, err
	}
	if err != nil || uint64(got) != n {
		return nil, bad("truncated")
	}
	return buf.Bytes(), nil
}

// Records reads the record section up to and including its count.
func (s *Reader) Records() ([]KV, error) {
	var kvs []KV
	for {
		tag, err := s.ReadByte()
		if err != nil {
			return nil, bad("truncated")
		}
		if tag == tagEnd {
			break
		}
		if tag != tagRecord {
			return nil, bad("unknown record tag %d", tag)
		}
		kl, err := binary.ReadUvarint(s)
		if err != nil || kl == 0 || kl > MaxKeyLen {
			return nil, bad("bad key length")
		}
		k, err := s.ReadN(kl)
		if err != nil {
			return nil, err
		}
		if n := len(kvs); n > 0 && bytes.Compare(kvs[n-1].K, k) >= 0 {
			return nil, bad("keys out of order")
		}
		vl, err := binary.ReadUvarint(s)
		if err != nil || vl > MaxValueLen {
			return nil, bad("bad value length")
		}
		v, err := s.ReadN(vl)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, KV{K: k, V: v})
	}
	return kvs, s.Count(len(kvs))
}

// Count reads a count (uint64 LE) and checks it against want.
func (s *Reader) Count(want int) error {
	b, err := s.ReadN(8)
	if err != nil {
		return err
	}
	if n := binary.LittleEndian.Uint64(b); n != uint64(want) {
		return bad("count %d, read %d", n, want)
	}
	return nil
}

// ReadTag reads one section tag byte: true for an end tag (then the caller
// reads the count with Count), false for want; anything else is bad.
func (s *Reader) ReadTag(want byte) (end bool, err error) {
	tag, err := s.ReadByte()
	if err != nil {
		return false, bad("truncated")
	}
	switch tag {
	case tagEnd:
		return true, nil
	case want:
		return false, nil
	}
	return false, bad("unknown tag %d", tag)
}

// Verify reads the checksum trailer and compares it with the hash of
// everything read before.
func (s *Reader) Verify() error {
	want := s.h.Sum(nil)
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(s.r, sum[:]); err != nil {
		return bad("truncated checksum")
	}
	if !bytes.Equal(sum[:], want) {
		return bad("checksum mismatch")
	}
	return nil
}
