package datagroup

import "github.com/skiff-broker/skiff/statemachine/internal/wire"

// Primitive encodings: statemachine/internal/wire (shared with the metadata
// shard), plus
//
//	PartitionKey  16 raw topic-ID bytes, then the partition as varint

type writer struct{ wire.Writer }

func newWriter(capacity int) *writer { return &writer{wire.Writer{B: make([]byte, 0, capacity)}} }

func (w *writer) key(k PartitionKey) {
	w.B = append(w.B, k.Topic[:]...)
	w.Int32(k.Partition)
}

// reader adds PartitionKey to wire.Reader; its errors wrap ErrMalformed.
type reader struct {
	wire.Reader
	version byte // the envelope's format version
}

// segmentMs reads a SegmentMs field (format version 2), or gives -1.
func (r *reader) segmentMs() int64 {
	if r.version < 2 {
		return -1
	}
	return r.Varint()
}

func newReader(b []byte) *reader {
	return &reader{Reader: wire.Reader{B: b, Malformed: ErrMalformed}, version: FormatVersion}
}

func (r *reader) key() PartitionKey {
	var k PartitionKey
	copy(k.Topic[:], r.Fixed(len(k.Topic)))
	k.Partition = r.Int32()
	return k
}
