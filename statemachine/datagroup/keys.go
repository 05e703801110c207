package datagroup

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// Pebble key layout. The first byte names the record type; integers in keys
// are big-endian with the sign bit flipped so that keys sort numerically.
// Values start with recordVersion and use the wire.go primitives.
//
//	"a"                                  applied index, uint64 LE
//	"p" + topic ID + partition           partition record
//	"q" + topic ID + partition + pid     producer record
//	"r"                                  RecoverFromSnapshot in progress
//	"g", "i", "l"                        the group log's (statemachine/grouplog)
//
// Partition record (version 2): next offset, log start offset (varints),
// then the leader-epoch history [](epoch int32, start offset varint).
// Producer record: epoch int32 (int16 range), last append time varint (the
// Produce's TimestampMs, for expiry), then the last appended batches,
// oldest first, at most maxSeqEntries: [](first sequence int32, last
// sequence int32, base offset varint, last offset varint).
const (
	prefixApplied    byte = 'a'
	prefixPartition  byte = 'p'
	prefixProducer   byte = 'q'
	prefixRecovering byte = 'r'

	recordVersion byte = 2
	maxSeqEntries      = 5

	partKeyLen = 1 + 16 + 4
	prodKeyLen = partKeyLen + 8
)

var (
	keyApplied    = []byte{prefixApplied}
	keyRecovering = []byte{prefixRecovering}
	// keyMin and keyMax bound every key this package writes.
	keyMin = []byte{0x00}
	keyMax = []byte{0xff}
)

// epochEntry: leader epoch e started at offset start.
type epochEntry struct {
	epoch int32
	start int64
}

// seqEntry is one appended idempotent batch, for dedupe.
type seqEntry struct {
	firstSeq, lastSeq int32
	base, last        int64
}

// producer is the idempotence state of one producer ID on one partition.
type producer struct {
	epoch   int16
	lastMs  int64
	batches []seqEntry // oldest first, at most maxSeqEntries
}

func (p *producer) clone() *producer {
	c := *p
	c.batches = slices.Clone(p.batches)
	return &c
}

// partition is one partition's state. key is fixed; the other fields are
// changed only by Update (with s.applyMu held). Readers use pubNext and
// pubStart, set once the pebble batch holding the change is committed (so
// they never announce data the index does not show yet), and epochs, which
// is replaced (never mutated in place) under s.mu.
type partition struct {
	key               PartitionKey
	next, start       int64
	pubNext, pubStart atomic.Int64
	epochs            []epochEntry
	producers         map[int64]*producer
}

// publish makes the partition's offsets visible to readers.
func (p *partition) publish() {
	p.pubStart.Store(p.start)
	p.pubNext.Store(p.next)
}

func compareKeys(a, b PartitionKey) int {
	if c := bytes.Compare(a.Topic[:], b.Topic[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// dirName names a partition in logs and errors.
func dirName(k PartitionKey) string { return k.String() }

func appendKey(b []byte, prefix byte, k PartitionKey) []byte {
	b = append(b, prefix)
	b = append(b, k.Topic[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(k.Partition)^1<<31)
}

func partitionKey(k PartitionKey) []byte {
	return appendKey(make([]byte, 0, partKeyLen), prefixPartition, k)
}

func producerKey(k PartitionKey, pid int64) []byte {
	b := appendKey(make([]byte, 0, prodKeyLen), prefixProducer, k)
	return binary.BigEndian.AppendUint64(b, uint64(pid)^1<<63)
}

// producerRange bounds every producer key of k: [lo, hi).
func producerRange(k PartitionKey) (lo, hi []byte) {
	lo = appendKey(nil, prefixProducer, k)
	hi = append(slices.Clone(lo), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return lo, hi
}

func parseKey(b []byte) PartitionKey {
	var k PartitionKey
	copy(k.Topic[:], b[1:17])
	k.Partition = int32(binary.BigEndian.Uint32(b[17:21]) ^ 1<<31)
	return k
}

func u64Value(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func encodePartition(p *partition) []byte {
	w := newWriter(32 + len(p.epochs)*8)
	w.Byte(recordVersion)
	w.Varint(p.next)
	w.Varint(p.start)
	w.Uvarint(uint64(len(p.epochs)))
	for _, e := range p.epochs {
		w.Int32(e.epoch)
		w.Varint(e.start)
	}
	return w.B
}

func decodePartition(k PartitionKey, v []byte) (*partition, error) {
	r := newReader(v)
	if r.Byte() != recordVersion {
		r.Fail("partition record version")
	}
	p := &partition{key: k, next: r.Varint(), start: r.Varint(), producers: map[int64]*producer{}}
	if n := r.Count(2); n > 0 {
		p.epochs = make([]epochEntry, n)
		for i := range p.epochs {
			p.epochs[i] = epochEntry{epoch: r.Int32(), start: r.Varint()}
		}
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	if p.start < 0 || p.next < p.start {
		return nil, fmt.Errorf("%w: partition offsets [%d, %d)", ErrMalformed, p.start, p.next)
	}
	for i, e := range p.epochs {
		if i > 0 && (e.epoch <= p.epochs[i-1].epoch || e.start < p.epochs[i-1].start) {
			return nil, fmt.Errorf("%w: epoch history out of order", ErrMalformed)
		}
	}
	return p, nil
}

func encodeProducer(pr *producer) []byte {
	w := newWriter(16 + len(pr.batches)*20)
	w.Byte(recordVersion)
	w.Int32(int32(pr.epoch))
	w.Varint(pr.lastMs)
	w.Uvarint(uint64(len(pr.batches)))
	for _, b := range pr.batches {
		w.Int32(b.firstSeq)
		w.Int32(b.lastSeq)
		w.Varint(b.base)
		w.Varint(b.last)
	}
	return w.B
}

func decodeProducer(v []byte) (*producer, error) {
	r := newReader(v)
	if r.Byte() != recordVersion {
		r.Fail("producer record version")
	}
	epoch := r.Int32()
	if epoch < 0 || epoch > math.MaxInt16 {
		r.Fail("producer epoch %d", epoch)
	}
	pr := &producer{epoch: int16(epoch), lastMs: r.Varint()}
	n := r.Count(4)
	if n == 0 || n > maxSeqEntries {
		r.Fail("%d producer batches", n)
	}
	if r.Err == nil {
		pr.batches = make([]seqEntry, n)
		for i := range pr.batches {
			pr.batches[i] = seqEntry{firstSeq: r.Int32(), lastSeq: r.Int32(), base: r.Varint(), last: r.Varint()}
		}
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	return pr, nil
}

// loaded is the state read from pebble or a snapshot's records.
type loaded struct {
	applied    uint64
	recovering bool
	parts      map[PartitionKey]*partition
	keys       []PartitionKey // sorted
}

// kvSource calls fn for every stored key/value in ascending key order.
type kvSource = pebblekv.Source

// loadState parses stored records. An unknown key, a bad record or a
// producer of an unknown partition is an error wrapping ErrMalformed.
func loadState(src kvSource) (*loaded, error) {
	st := &loaded{parts: map[PartitionKey]*partition{}}
	err := src(func(k, v []byte) error {
		if len(k) == 0 {
			return fmt.Errorf("%w: empty key", ErrMalformed)
		}
		switch {
		case k[0] == prefixApplied && len(k) == 1:
			if len(v) != 8 {
				return fmt.Errorf("%w: applied index of %d bytes", ErrMalformed, len(v))
			}
			st.applied = binary.LittleEndian.Uint64(v)
		case k[0] == prefixRecovering && len(k) == 1:
			st.recovering = true
		case k[0] == 'g' || k[0] == 'i' || k[0] == 'l':
			// the group log's, read by grouplog.Open
		case k[0] == prefixPartition && len(k) == partKeyLen:
			pk := parseKey(k)
			p, err := decodePartition(pk, v)
			if err != nil {
				return fmt.Errorf("partition %s: %w", dirName(pk), err)
			}
			st.parts[pk] = p
			st.keys = append(st.keys, pk) // keys arrive sorted
		case k[0] == prefixProducer && len(k) == prodKeyLen:
			pk := parseKey(k)
			p := st.parts[pk]
			if p == nil {
				return fmt.Errorf("%w: producer of unknown partition %s", ErrMalformed, dirName(pk))
			}
			pr, err := decodeProducer(v)
			if err != nil {
				return fmt.Errorf("producer of %s: %w", dirName(pk), err)
			}
			p.producers[int64(binary.BigEndian.Uint64(k[partKeyLen:])^1<<63)] = pr
		default:
			return fmt.Errorf("%w: unknown key %x", ErrMalformed, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
