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
type reader struct{ wire.Reader }

func newReader(b []byte) *reader { return &reader{wire.Reader{B: b, Malformed: ErrMalformed}} }

func (r *reader) key() PartitionKey {
	var k PartitionKey
	copy(k.Topic[:], r.Fixed(len(k.Topic)))
	k.Partition = r.Int32()
	return k
}
