package statemachine

// State types of the metadata shard. Values reachable from a *Topic, *Broker
// or *DataGroup returned by Lookup are immutable: Update never mutates a
// published value, it replaces it (copy on write). Readers may therefore keep
// and read them without locks.

// TopicID is a Kafka topic UUID, chosen by the proposer.
type TopicID [16]byte

// IsZero reports whether id is the all-zero UUID (Kafka's "no ID").
func (id TopicID) IsZero() bool { return id == TopicID{} }

// ConfigEntry is one topic config key and value. Slices of entries are kept
// sorted by Key.
type ConfigEntry struct {
	Key   string
	Value string
}

// Broker is a registered broker.
type Broker struct {
	ID          int32
	KafkaAddr   string // advertised host:port
	RaftAddr    string // Raft address, for starting data-group replicas
	Rack        string // "" when unset
	Incarnation uint64 // proposer-chosen, changes on every process start
	Alive       bool   // false once fenced for missed heartbeats
}

// Partition is one partition of a topic: where it lives. Who leads it is
// not a partition fact: its leader is its data group's Raft leader and its
// leader epoch the group's term (DataGroup.Leader/Term, reported by the
// group's leader through SetDataGroupLeader); its preferred leader is
// Replicas[0]. topics.PartitionState derives what Kafka reports from these.
type Partition struct {
	Replicas  []int32 // preferred leader first
	DataGroup uint64  // shard ID of the data group carrying this partition

	// legacy is what the retired SetLeader and SetISR commands recorded.
	// Nothing reads it: it is kept, and stored, only so that Raft logs and
	// snapshots written before their retirement replay to the same bytes
	// (and digests) as before.
	legacy legacyLeader
}

// legacyLeader is the per-partition leader, epoch and ISR that the create
// proposal used to write with constant values (op 4 and 5). New partitions
// have -1, -1 and no ISR.
type legacyLeader struct {
	leader int32
	epoch  int32
	isr    []int32
}

// Topic is a topic and all its partitions (index = partition number).
type Topic struct {
	Name       string
	ID         TopicID
	Internal   bool
	CreatedMs  int64 // proposer's wall clock
	Configs    []ConfigEntry
	Partitions []Partition
}

// DataGroup is a Dragonboat shard that carries the logs of many partitions
// (DESIGN §3). Members is sorted; Slot tells groups of the same member set
// apart: slot k is the group whose preferred leader is Members[k].
type DataGroup struct {
	ShardID uint64
	Members []int32
	Slot    uint8
	Leader  int32 // -1 when unknown
	Term    uint64
}

// FirstDataShardID is the first shard ID handed to data groups. Shard 1 is
// the metadata shard; IDs below this are reserved.
const FirstDataShardID uint64 = 1000
