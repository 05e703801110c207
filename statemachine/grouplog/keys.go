package grouplog

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/skiff-broker/skiff/statemachine/internal/wire"
)

// Pebble keys this package owns in the data group's store (the data-group
// state machine owns the others: 'a', 'p', 'q', 'r'). Offsets in keys are
// big-endian with the sign bit flipped, so keys sort numerically.
//
//	'g' + segment ID (uint64 BE)                group segment: end, live, synced
//	'i' + partition key (20) + base offset (8)  index entry of one batch
//	'l' + partition key (20) + base offset (8)  logical segment of a partition
//
// Values start with recordVersion; integers are varints.
//
//	index entry      segment ID, position of the batch bytes, length, last
//	                 offset, max timestamp
//	logical segment  last offset, bytes, max timestamp, offset of the first
//	                 batch with it, created at (ms, the proposer's clock),
//	                 closed (bool)
//	group segment    end (bytes the index covers), live bytes, synced end
const (
	prefixSegment byte = 'g'
	prefixIndex   byte = 'i'
	prefixLogical byte = 'l'

	recordVersion byte = 1

	keyLen      = 16 + 4
	idxKeyLen   = 1 + keyLen + 8
	segKeyLen   = 1 + 8
	indexMaxLen = 1 + 5*binary.MaxVarintLen64
)

// Key names a partition: topic ID and index.
type Key struct {
	Topic     [16]byte
	Partition int32
}

func (k Key) String() string { return fmt.Sprintf("%x-%d", k.Topic[:], k.Partition) }

func appendPartKey(b []byte, k Key) []byte {
	b = append(b, k.Topic[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(k.Partition)^1<<31)
}

func parsePartKey(b []byte) Key {
	var k Key
	copy(k.Topic[:], b[:16])
	k.Partition = int32(binary.BigEndian.Uint32(b[16:20]) ^ 1<<31)
	return k
}

func offsetKey(prefix byte, k Key, off int64) []byte {
	b := make([]byte, 0, idxKeyLen)
	b = append(b, prefix)
	b = appendPartKey(b, k)
	return binary.BigEndian.AppendUint64(b, uint64(off)^1<<63)
}

func keyOffset(b []byte) int64 { return int64(binary.BigEndian.Uint64(b[1+keyLen:]) ^ 1<<63) }

// partRange bounds every key of prefix for k: [lo, hi).
func partRange(prefix byte, k Key) (lo, hi []byte) {
	lo = appendPartKey([]byte{prefix}, k)
	hi = append(slices.Clone(lo), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return lo, hi
}

func segmentKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixSegment}, id)
}

// entry is one batch's index entry.
type entry struct {
	base, last int64
	seg        uint64
	pos, size  int64 // the batch bytes in the segment file
	maxTs      int64
}

func encodeEntry(b []byte, e entry) []byte {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, e.seg)
	b = binary.AppendUvarint(b, uint64(e.pos))
	b = binary.AppendUvarint(b, uint64(e.size))
	b = binary.AppendVarint(b, e.last)
	return binary.AppendVarint(b, e.maxTs)
}

// newValues returns a reader of a record's varints after its version byte.
func newValues(b []byte, what string) *wire.Reader {
	r := &wire.Reader{B: b, Malformed: ErrCorrupt}
	if v := r.Byte(); r.Err == nil && v != recordVersion {
		r.Fail("%s record version %d", what, v)
	}
	return r
}

func decodeEntry(k, val []byte) (entry, error) {
	v := newValues(val, "index")
	e := entry{base: keyOffset(k), seg: v.Uvarint(), pos: int64(v.Uvarint()), size: int64(v.Uvarint()), last: v.Varint(), maxTs: v.Varint()}
	if err := v.End(); err != nil {
		return e, err
	}
	if e.size <= 0 || e.pos < 0 || e.last < e.base {
		return e, fmt.Errorf("%w: index entry %+v", ErrCorrupt, e)
	}
	return e, nil
}

// lseg is one logical segment of a partition: the unit of retention
// (segment.bytes and segment.ms bound it, as they bound a Kafka segment).
type lseg struct {
	base, last int64 // last = base-1 while empty
	bytes      int64
	maxTs      int64
	maxTsOff   int64
	createdMs  int64
	closed     bool
}

func encodeLseg(l *lseg) []byte {
	b := []byte{recordVersion}
	b = binary.AppendVarint(b, l.last)
	b = binary.AppendVarint(b, l.bytes)
	b = binary.AppendVarint(b, l.maxTs)
	b = binary.AppendVarint(b, l.maxTsOff)
	b = binary.AppendVarint(b, l.createdMs)
	if l.closed {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeLseg(k, val []byte) (*lseg, error) {
	v := newValues(val, "logical segment")
	l := &lseg{base: keyOffset(k), last: v.Varint(), bytes: v.Varint(), maxTs: v.Varint(), maxTsOff: v.Varint(), createdMs: v.Varint()}
	l.closed = v.Bool()
	return l, v.End()
}

func encodeSegment(s *segment) []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, uint64(s.end))
	b = binary.AppendUvarint(b, uint64(s.live))
	return binary.AppendUvarint(b, uint64(s.synced))
}
