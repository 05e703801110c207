// Package wire holds the primitive encodings shared by the metadata shard's
// and the data groups' commands, results and stored records:
//
//	uvarint  unsigned integers, lengths and counts (encoding/binary Uvarint:
//	         little-endian base 128)
//	varint   signed integers (zigzag, encoding/binary Varint); int32 fields
//	         must fit in int32
//	byte     uint8 values (ops, codes, versions)
//	bool     one byte, 0 or 1 (anything else is malformed)
//	bytes    uvarint length, then the bytes
//	[]T      uvarint count, then each element
//
// Each state machine wraps Writer and Reader in its own types to add its
// domain encodings (topic IDs, partition keys, configs).
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is wrapped by a Reader's errors when it has no Malformed
// sentinel of its own.
var ErrMalformed = errors.New("wire: malformed input")

// Writer appends the primitives to B.
type Writer struct{ B []byte }

func (w *Writer) Byte(v byte)      { w.B = append(w.B, v) }
func (w *Writer) Uvarint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }
func (w *Writer) Varint(v int64)   { w.B = binary.AppendVarint(w.B, v) }
func (w *Writer) Int32(v int32)    { w.Varint(int64(v)) }

func (w *Writer) Bool(v bool) {
	if v {
		w.Byte(1)
	} else {
		w.Byte(0)
	}
}

// Bytes writes a length-prefixed byte string.
func (w *Writer) Bytes(b []byte) {
	w.Uvarint(uint64(len(b)))
	w.B = append(w.B, b...)
}

// Reader decodes the primitives from B. The first error sticks in Err:
// later reads return zero values, so decoders check it once at the end.
// Reads never panic and never allocate more than a small multiple of the
// bytes left: every count is checked against the remaining input.
type Reader struct {
	B   []byte
	Err error
	// Malformed is the sentinel the errors wrap (ErrMalformed if nil).
	Malformed error
}

// Fail records a malformed-input error (the first one sticks).
func (r *Reader) Fail(format string, args ...any) {
	if r.Err == nil {
		m := r.Malformed
		if m == nil {
			m = ErrMalformed
		}
		r.Err = fmt.Errorf("%w: "+format, append([]any{m}, args...)...)
	}
}

func (r *Reader) Byte() byte {
	if r.Err != nil {
		return 0
	}
	if len(r.B) < 1 {
		r.Fail("truncated")
		return 0
	}
	v := r.B[0]
	r.B = r.B[1:]
	return v
}

func (r *Reader) Uint8() uint8 { return r.Byte() }

func (r *Reader) Bool() bool {
	switch r.Byte() {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Fail("bad bool")
		return false
	}
}

func (r *Reader) Uvarint() uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail("bad uvarint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

func (r *Reader) Varint() int64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

func (r *Reader) Int32() int32 {
	v := r.Varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.Fail("int32 out of range")
		return 0
	}
	return int32(v)
}

// Fixed reads exactly n raw bytes (no length prefix), without copying.
func (r *Reader) Fixed(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if len(r.B) < n {
		r.Fail("truncated: %d bytes wanted, %d left", n, len(r.B))
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// Count reads a slice length whose elements take at least minSize bytes
// each, and rejects it if the rest of the input cannot hold that many.
func (r *Reader) Count(minSize int) int {
	n := r.Uvarint()
	if r.Err != nil {
		return 0
	}
	if n > uint64(len(r.B)/minSize) {
		r.Fail("count %d exceeds remaining %d bytes", n, len(r.B))
		return 0
	}
	return int(n)
}

// Raw returns a length-prefixed byte string without copying (nil when
// empty, so decoded values compare equal however "empty" was spelled).
func (r *Reader) Raw() []byte {
	n := r.Count(1)
	if r.Err != nil || n == 0 {
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// End reports the sticky error, or a malformed-input error if bytes are
// left over.
func (r *Reader) End() error {
	if r.Err == nil && len(r.B) != 0 {
		r.Fail("%d trailing bytes", len(r.B))
	}
	return r.Err
}
