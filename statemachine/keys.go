package statemachine

import (
	"encoding/binary"
	"fmt"
)

// Pebble key layout. The first byte names the record type; integer IDs are
// big-endian so that keys sort in numeric order. Record values start with
// recordVersion and use the wire.go primitives.
//
//	"a"                     applied index, uint64 LE      (not in the digest)
//	"b" + broker ID         Broker record
//	"g" + shard ID (u64 BE) DataGroup record
//	"h" + broker ID         heartbeat counter, uint64 LE  (not in the digest)
//	"n"                     next free data-group shard ID, uint64 LE
//	"p"                     next free producer ID, uint64 LE
//	"t" + topic name        Topic record (all partitions included)
//
// Broker IDs are int32 stored as uint32(id) ^ 1<<31, big-endian.
const (
	prefixApplied   byte = 'a'
	prefixBroker    byte = 'b'
	prefixDataGroup byte = 'g'
	prefixHeartbeat byte = 'h'
	prefixNextShard byte = 'n'
	prefixNextPID   byte = 'p'
	prefixTopic     byte = 't'
)

// recordVersion is the first byte of every Topic, Broker and DataGroup value.
const recordVersion byte = 1

var (
	keyApplied   = []byte{prefixApplied}
	keyNextShard = []byte{prefixNextShard}
	keyNextPID   = []byte{prefixNextPID}
	// keyMin and keyMax bound every key this package writes.
	keyMin = []byte{0x00}
	keyMax = []byte{0xff}
)

func brokerIDKey(prefix byte, id int32) []byte {
	k := make([]byte, 5)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], uint32(id)^1<<31)
	return k
}

func brokerKey(id int32) []byte    { return brokerIDKey(prefixBroker, id) }
func heartbeatKey(id int32) []byte { return brokerIDKey(prefixHeartbeat, id) }

func groupKey(shard uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixDataGroup
	binary.BigEndian.PutUint64(k[1:], shard)
	return k
}

func topicKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	k = append(k, prefixTopic)
	return append(k, name...)
}

func u64Value(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func parseU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: uint64 value of %d bytes", ErrMalformed, len(v))
	}
	return binary.LittleEndian.Uint64(v), nil
}

func parseBrokerIDKey(k []byte) (int32, error) {
	if len(k) != 5 {
		return 0, fmt.Errorf("%w: broker key of %d bytes", ErrMalformed, len(k))
	}
	return int32(binary.BigEndian.Uint32(k[1:]) ^ 1<<31), nil
}

// Record encodings.

func appendTopic(w *writer, t *Topic) {
	w.Byte(recordVersion)
	w.str(t.Name)
	w.topicID(t.ID)
	w.Bool(t.Internal)
	w.Varint(t.CreatedMs)
	w.configs(t.Configs)
	w.Uvarint(uint64(len(t.Partitions)))
	for i := range t.Partitions {
		p := &t.Partitions[i]
		w.int32s(p.Replicas)
		w.Int32(p.legacy.leader)
		w.Int32(p.legacy.epoch)
		w.int32s(p.legacy.isr)
		w.Uvarint(p.DataGroup)
	}
}

func parseTopic(b []byte) (*Topic, error) {
	r := newReader(b)
	if v := r.Byte(); r.Err == nil && v != recordVersion {
		return nil, fmt.Errorf("%w: topic record version %d", ErrMalformed, v)
	}
	t := &Topic{Name: r.str(), ID: r.topicID(), Internal: r.Bool(), CreatedMs: r.Varint(), Configs: r.configs()}
	n := r.Count(5) // replicas count, leader, epoch, ISR count, group
	if n > 0 {
		t.Partitions = make([]Partition, n)
		for i := range t.Partitions {
			p := &t.Partitions[i]
			p.Replicas = r.int32s()
			p.legacy.leader = r.Int32()
			p.legacy.epoch = r.Int32()
			p.legacy.isr = r.int32s()
			p.DataGroup = r.Uvarint()
		}
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	return t, nil
}

func appendBroker(w *writer, b *Broker) {
	w.Byte(recordVersion)
	w.Int32(b.ID)
	w.str(b.KafkaAddr)
	w.str(b.Rack)
	w.Uvarint(b.Incarnation)
	w.Bool(b.Alive)
	w.str(b.RaftAddr)
}

func parseBroker(v []byte) (*Broker, error) {
	r := newReader(v)
	if ver := r.Byte(); r.Err == nil && ver != recordVersion {
		return nil, fmt.Errorf("%w: broker record version %d", ErrMalformed, ver)
	}
	b := &Broker{ID: r.Int32(), KafkaAddr: r.str(), Rack: r.str(), Incarnation: r.Uvarint(), Alive: r.Bool(), RaftAddr: r.str()}
	if err := r.End(); err != nil {
		return nil, err
	}
	return b, nil
}

func appendDataGroup(w *writer, g *DataGroup) {
	w.Byte(recordVersion)
	w.Uvarint(g.ShardID)
	w.int32s(g.Members)
	w.Byte(g.Slot)
	w.Int32(g.Leader)
	w.Uvarint(g.Term)
}

func parseDataGroup(v []byte) (*DataGroup, error) {
	r := newReader(v)
	if ver := r.Byte(); r.Err == nil && ver != recordVersion {
		return nil, fmt.Errorf("%w: group record version %d", ErrMalformed, ver)
	}
	g := &DataGroup{ShardID: r.Uvarint(), Members: r.int32s(), Slot: r.Uint8(), Leader: r.Int32(), Term: r.Uvarint()}
	if err := r.End(); err != nil {
		return nil, err
	}
	return g, nil
}

// dataGroupIndexKey is the deterministic map key of a DataGroupKey: the slot, then
// each member as 4 big-endian bytes.
func dataGroupIndexKey(members []int32, slot uint8) string {
	b := make([]byte, 1, 1+4*len(members))
	b[0] = slot
	for _, m := range members {
		b = binary.BigEndian.AppendUint32(b, uint32(m))
	}
	return string(b)
}
