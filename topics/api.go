package topics

import (
	"github.com/skiff-broker/skiff/statemachine"
)

// Read-model aliases, so that kafka/ can use metadata values without
// importing statemachine.
type (
	View        = statemachine.View
	Topic       = statemachine.Topic
	Partition   = statemachine.Partition
	Broker      = statemachine.Broker
	TopicID     = statemachine.TopicID
	ConfigEntry = statemachine.ConfigEntry
	DataGroup   = statemachine.DataGroup
	Query       = statemachine.QueryTopics
)

// ConfigValue is a config key with a nullable value, as Kafka requests carry
// them. A nil Value means "the default".
type ConfigValue struct {
	Key   string
	Value *string
}

// CreateSpec is one topic of a CreateTopics request (or an auto-creation).
type CreateSpec struct {
	Name              string
	NumPartitions     int32 // -1: num.partitions (ignored with Assignment)
	ReplicationFactor int16 // -1: default.replication.factor (ignored with Assignment)
	// Assignment is a manual replica assignment: Assignment[p] lists the
	// replicas of partition p, preferred leader first. Empty: automatic.
	Assignment [][]int32
	// PartitionIndexes optionally gives the partition number of each
	// Assignment entry (Kafka's CreatableReplicaAssignment.PartitionIndex):
	// Assignment[i] then belongs to partition PartitionIndexes[i], and every
	// partition 0..len(Assignment)-1 must appear exactly once. Nil: i.
	PartitionIndexes []int32
	Configs          []ConfigValue
}

// CreateOptions modify a Create call.
type CreateOptions struct {
	ValidateOnly bool // run all validation and placement, write nothing
	Internal     bool // mark the topics internal (e.g. __consumer_offsets)
}

// TopicResult is the outcome for one topic of a request, in request order.
// Err is nil or wraps one of the sentinels in errors.go (use errors.Is); its
// text is a message fit for Kafka's ErrorMessage field. When Err is set,
// NumPartitions and ReplicationFactor are -1 (as Kafka answers).
type TopicResult struct {
	Name              string
	ID                TopicID
	Err               error
	NumPartitions     int32
	ReplicationFactor int16
	Configs           []ResolvedConfig // the topic's full config after the change (CreateTopics v5+)
}

// DeleteSpec names a topic to delete: by Name, or by ID when Name is "".
type DeleteSpec struct {
	Name string
	ID   TopicID
}

// PartitionsSpec is one topic of a CreatePartitions request.
type PartitionsSpec struct {
	Name       string
	Count      int32     // new total partition count
	Assignment [][]int32 // replicas of each new partition, or nil
}

// ConfigOpType is an IncrementalAlterConfigs operation.
type ConfigOpType int8

const (
	OpSet      ConfigOpType = 0
	OpDelete   ConfigOpType = 1
	OpAppend   ConfigOpType = 2
	OpSubtract ConfigOpType = 3
)

// ConfigOp is one config change.
type ConfigOp struct {
	Key   string
	Op    ConfigOpType
	Value *string
}

// AlterSpec changes one topic's configs. Replace (AlterConfigs) makes the
// topic's configs exactly the OpSet entries of Ops; otherwise Ops apply
// incrementally (IncrementalAlterConfigs).
type AlterSpec struct {
	Name    string
	Replace bool
	Ops     []ConfigOp
}

// ConfigSource mirrors Kafka's DescribeConfigs config source.
type ConfigSource int8

const (
	SourceTopic        ConfigSource = 1 // DYNAMIC_TOPIC_CONFIG
	SourceStaticBroker ConfigSource = 4 // STATIC_BROKER_CONFIG
	SourceDefault      ConfigSource = 5 // DEFAULT_CONFIG
)

// ConfigType mirrors Kafka's DescribeConfigs config type.
type ConfigType int8

const (
	TypeBoolean  ConfigType = 1
	TypeString   ConfigType = 2
	TypeInt      ConfigType = 3
	TypeShort    ConfigType = 4
	TypeLong     ConfigType = 5
	TypeDouble   ConfigType = 6
	TypeList     ConfigType = 7
	TypeClass    ConfigType = 8
	TypePassword ConfigType = 9
)

// ResolvedConfig is one config as DescribeConfigs reports it.
type ResolvedConfig struct {
	Key       string
	Value     string
	Source    ConfigSource
	Type      ConfigType
	ReadOnly  bool
	Sensitive bool
	Doc       string
}
