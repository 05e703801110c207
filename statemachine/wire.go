package statemachine

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Primitive encodings shared by commands, results and stored records:
//
//	uvarint  unsigned integers, lengths and counts (encoding/binary Uvarint:
//	         little-endian base 128)
//	varint   signed integers (zigzag, encoding/binary Varint); int32 fields
//	         must fit in int32
//	byte     uint8 and Op values
//	bool     one byte, 0 or 1 (anything else is malformed)
//	TopicID  16 raw bytes
//	string   uvarint length, then the bytes
//	[]T      uvarint count, then each element
//
// Fixed-width little-endian uint64 is used only where noted (stored index
// values, snapshot framing).

type writer struct{ b []byte }

func (w *writer) byte(v byte)        { w.b = append(w.b, v) }
func (w *writer) uvarint(v uint64)   { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) varint(v int64)     { w.b = binary.AppendVarint(w.b, v) }
func (w *writer) int32(v int32)      { w.varint(int64(v)) }
func (w *writer) topicID(id TopicID) { w.b = append(w.b, id[:]...) }

func (w *writer) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) bytes(b []byte) {
	w.uvarint(uint64(len(b)))
	w.b = append(w.b, b...)
}

func (w *writer) int32s(v []int32) {
	w.uvarint(uint64(len(v)))
	for _, x := range v {
		w.int32(x)
	}
}

func (w *writer) strs(v []string) {
	w.uvarint(uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

func (w *writer) configs(v []ConfigEntry) {
	w.uvarint(uint64(len(v)))
	for _, c := range v {
		w.str(c.Key)
		w.str(c.Value)
	}
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

func (r *reader) uint8() uint8 { return r.byte() }

func (r *reader) topicID() TopicID {
	var id TopicID
	if r.err != nil {
		return id
	}
	if len(r.b) < len(id) {
		r.fail("truncated topic ID")
		return id
	}
	copy(id[:], r.b)
	r.b = r.b[len(id):]
	return id
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

// raw returns a length-prefixed byte string without copying.
func (r *reader) raw() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.raw()) }

// int32s returns nil for an empty slice, so decoded values compare equal
// however the encoder spelled "empty".
func (r *reader) int32s() []int32 {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = r.int32()
	}
	if r.err != nil {
		return nil
	}
	return v
}

func (r *reader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.str()
	}
	if r.err != nil {
		return nil
	}
	return v
}

func (r *reader) configs() []ConfigEntry {
	n := r.count(2)
	if n == 0 {
		return nil
	}
	v := make([]ConfigEntry, n)
	for i := range v {
		v[i].Key = r.str()
		v[i].Value = r.str()
	}
	if r.err != nil {
		return nil
	}
	return v
}

// end reports the sticky error, or ErrMalformed if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}
