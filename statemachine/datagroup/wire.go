package datagroup

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Primitive encodings shared by commands, results and stored records (the
// metadata shard's, statemachine/wire.go):
//
//	uvarint       unsigned integers, lengths and counts (encoding/binary)
//	varint        signed integers (zigzag); int32 fields must fit in int32
//	byte          uint8, Op and Code values
//	bool          one byte, 0 or 1 (anything else is malformed)
//	PartitionKey  16 raw topic-ID bytes, then the partition as varint
//	bytes         uvarint length, then the bytes
//	[]T           uvarint count, then each element

type writer struct{ b []byte }

func (w *writer) byte(v byte)      { w.b = append(w.b, v) }
func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *writer) int32(v int32)    { w.varint(int64(v)) }

func (w *writer) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

func (w *writer) key(k PartitionKey) {
	w.b = append(w.b, k.Topic[:]...)
	w.int32(k.Partition)
}

func (w *writer) bytes(b []byte) {
	w.uvarint(uint64(len(b)))
	w.b = append(w.b, b...)
}

// reader decodes the primitives above. The first error sticks: later reads
// return zero values, so decoders check r.err once at the end. Reads never
// panic and never allocate more than a small multiple of the bytes left:
// every count is checked against the remaining input before make().
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("bad bool")
		return false
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int32() int32 {
	v := r.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("int32 out of range")
		return 0
	}
	return int32(v)
}

func (r *reader) key() PartitionKey {
	var k PartitionKey
	if r.err != nil {
		return k
	}
	if len(r.b) < len(k.Topic) {
		r.fail("truncated topic ID")
		return k
	}
	copy(k.Topic[:], r.b)
	r.b = r.b[len(k.Topic):]
	k.Partition = r.int32()
	return k
}

// count reads a slice length whose elements take at least minSize bytes
// each, and rejects it if the rest of the input cannot hold that many.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(len(r.b)/minSize) {
		r.fail("count %d exceeds remaining %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

// raw returns a length-prefixed byte string without copying (nil when
// empty, so decoded values compare equal however "empty" was spelled).
func (r *reader) raw() []byte {
	n := r.count(1)
	if r.err != nil || n == 0 {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// end reports the sticky error, or ErrMalformed if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}
