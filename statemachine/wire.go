package statemachine

import "github.com/skiff-broker/skiff/statemachine/internal/wire"

// Primitive encodings: statemachine/internal/wire, plus
//
//	TopicID  16 raw bytes
//	string   uvarint length, then the bytes
//
// Fixed-width little-endian uint64 is used only where noted (stored index
// values, snapshot framing).

type writer struct{ wire.Writer }

func newWriter(capacity int) *writer { return &writer{wire.Writer{B: make([]byte, 0, capacity)}} }

func (w *writer) topicID(id TopicID) { w.B = append(w.B, id[:]...) }

func (w *writer) str(s string) {
	w.Uvarint(uint64(len(s)))
	w.B = append(w.B, s...)
}

func (w *writer) int32s(v []int32) {
	w.Uvarint(uint64(len(v)))
	for _, x := range v {
		w.Int32(x)
	}
}

func (w *writer) strs(v []string) {
	w.Uvarint(uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

func (w *writer) configs(v []ConfigEntry) {
	w.Uvarint(uint64(len(v)))
	for _, c := range v {
		w.str(c.Key)
		w.str(c.Value)
	}
}

// reader adds the metadata encodings to wire.Reader; its errors wrap
// ErrMalformed.
type reader struct{ wire.Reader }

func newReader(b []byte) *reader { return &reader{wire.Reader{B: b, Malformed: ErrMalformed}} }

func (r *reader) topicID() TopicID {
	var id TopicID
	copy(id[:], r.Fixed(len(id)))
	return id
}

func (r *reader) str() string { return string(r.Raw()) }

// int32s returns nil for an empty slice, so decoded values compare equal
// however the encoder spelled "empty".
func (r *reader) int32s() []int32 {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = r.Int32()
	}
	if r.Err != nil {
		return nil
	}
	return v
}

func (r *reader) strs() []string {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.str()
	}
	if r.Err != nil {
		return nil
	}
	return v
}

func (r *reader) configs() []ConfigEntry {
	n := r.Count(2)
	if n == 0 {
		return nil
	}
	v := make([]ConfigEntry, n)
	for i := range v {
		v[i].Key = r.str()
		v[i].Value = r.str()
	}
	if r.Err != nil {
		return nil
	}
	return v
}
