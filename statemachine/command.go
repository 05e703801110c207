package statemachine

// Commands of the metadata shard.
//
// Wire format (the proposer encodes once; the replicated bytes are the truth):
//
//	envelope  = [format version byte = 1][op byte][payload]
//
// Payloads are little-endian binary with length-prefixed strings and slices
// (see codec.go). Every command is idempotent or conditional, because an
// on-disk state machine gets no client sessions and ErrTimeout is ambiguous.

// FormatVersion is the envelope format written by this binary.
const FormatVersion byte = 1

// Op identifies a command.
//
// ONLY ADD TO THE END. Never reuse, renumber or reorder an Op: the numbers
// are in every Raft log and snapshot ever written.
type Op uint8

const (
	OpBatch              Op = 1  // Batch: many commands, one proposal, one Update
	OpCreateTopic        Op = 2  // CreateTopic
	OpAssignReplicas     Op = 3  // AssignReplicas
	OpSetLeader          Op = 4  // SetLeader (retired: no longer proposed)
	OpSetISR             Op = 5  // SetISR (retired: no longer proposed)
	OpDeleteTopic        Op = 6  // DeleteTopic
	OpAlterConfigs       Op = 7  // AlterConfigs
	OpAddPartitions      Op = 8  // AddPartitions
	OpRegisterBroker     Op = 9  // RegisterBroker
	OpHeartbeat          Op = 10 // Heartbeat
	OpFenceBroker        Op = 11 // FenceBroker
	OpSetDataGroupLeader Op = 12 // SetDataGroupLeader
	OpAllocatePIDs       Op = 13 // AllocateProducerIDs
	OpCreateTopicPlaced  Op = 14 // CreateTopicPlaced
	OpEnsureDataGroups   Op = 15 // EnsureDataGroups
)

// Command is any metadata command.
type Command interface{ Op() Op }

// Batch carries several commands in one proposal; they are applied in order
// in one Update. Topic-level commands (CreateTopic, AddPartitions) gate the
// partition-level commands (AssignReplicas; SetLeader, SetISR in old logs) that follow
// them up to the next topic-level command: if the topic-level command fails,
// those are skipped with CodeSkipped. This makes a batch atomic per topic.
type Batch struct{ Cmds []Command }

// CreateTopic creates topic Name with ID and PartitionCount partitions (their
// replicas and data groups come from the AssignReplicas commands that follow
// it in the same batch). If a topic Name exists with the same ID it is a no-op
// success (a retried proposal); with another ID the result is
// CodeTopicExists.
type CreateTopic struct {
	Name           string
	ID             TopicID
	PartitionCount int32
	Internal       bool
	CreatedMs      int64
	Configs        []ConfigEntry // sorted by Key
}

// CreateTopicPlaced is CreateTopic conditional on the placement it was
// planned with: the proposer placed the topic's partitions on its local copy
// of the metadata, whose broker-set version (View.BrokerSet) it carries. It
// applies only if the broker set is still that one (else
// CodeStalePlacement, and the partition commands that follow are skipped:
// the proposer places the topic again and retries). Otherwise it is
// CreateTopic, with the same existence and same-ID rules.
type CreateTopicPlaced struct {
	CreateTopic
	BrokerSet uint64
}

// EnsureDataGroups creates the data groups named by Groups that do not
// exist yet, each with the next free shard ID, in order (the metadata leader
// forms the groups of the live brokers' copysets before any topic needs
// them). Every key must be valid (sorted distinct members, Slot within
// them), else nothing is created and the result is CodeInvalid.
type EnsureDataGroups struct {
	Groups []DataGroupKey
}

// DataGroupKey names a data group by its member set and slot. Apply resolves it
// to a shard ID, creating the group (with the next free shard ID) when no
// group with that key exists yet. Members must be sorted ascending.
type DataGroupKey struct {
	Members []int32
	Slot    uint8
}

// AssignReplicas sets the replicas and data group of one partition. Its
// result value tells the partition's leader as apply knew it: see
// PackLeader.
type AssignReplicas struct {
	Topic     TopicID
	Partition int32
	Replicas  []int32
	DataGroup DataGroupKey
}

// SetLeader is retired: creates proposed it with constant values (the
// preferred leader at epoch 0), which said nothing true once partitions lived
// in data groups. A partition's leader is its data group's (DataGroup.Leader,
// Term). It stays decodable and applies to legacy per-partition fields that
// nothing reads, so old logs replay to the same state bytes: it sets them if
// the current legacy epoch is IfEpoch (or IfEpoch is -1).
type SetLeader struct {
	Topic       TopicID
	Partition   int32
	Leader      int32
	LeaderEpoch int32
	IfEpoch     int32
}

// SetISR is retired like SetLeader (the ISR Kafka sees is derived from the
// replicas and broker liveness). It sets the legacy ISR if the legacy epoch
// is IfEpoch (or IfEpoch is -1).
type SetISR struct {
	Topic     TopicID
	Partition int32
	ISR       []int32
	IfEpoch   int32
}

// DeleteTopic deletes a topic by name; if ID is non-zero the topic must also
// have that ID. A missing topic gives CodeUnknownTopic.
type DeleteTopic struct {
	Name string
	ID   TopicID
}

// AlterConfigs changes a topic's configs. With Replace the topic's configs
// become exactly Set (Kafka's AlterConfigs); otherwise Set entries are added
// or overwritten and Delete keys removed (IncrementalAlterConfigs).
type AlterConfigs struct {
	Topic   TopicID
	Replace bool
	Set     []ConfigEntry // sorted by Key
	Delete  []string      // sorted
}

// AddPartitions grows topic Topic from ExpectCount to NewCount partitions if
// it has exactly ExpectCount now (else CodeConditionFailed). The new
// partitions' partition commands follow it in the batch.
type AddPartitions struct {
	Topic       TopicID
	ExpectCount int32
	NewCount    int32
}

// RegisterBroker records a broker's address and rack and marks it alive.
type RegisterBroker struct {
	ID          int32
	KafkaAddr   string
	Rack        string
	Incarnation uint64
	RaftAddr    string
}

// SetDataGroupLeader records the Raft leader and term of a data group, as its
// new leader reports them. It applies if Term is newer than the recorded
// term (or the same term with no leader recorded); an older term gives
// CodeConditionFailed, so a late report never undoes a newer one.
type SetDataGroupLeader struct {
	ShardID uint64
	Leader  int32
	Term    uint64
}

// AllocateProducerIDs hands broker Broker the next Count producer IDs; the
// first one is the command's Result value.
type AllocateProducerIDs struct {
	Broker int32
	Count  uint32
}

// Heartbeat marks a registered broker alive and bumps its heartbeat counter
// (the counter is excluded from the digest). Unknown broker or a different
// incarnation gives CodeUnknownBroker.
type Heartbeat struct {
	ID          int32
	Incarnation uint64
}

// FenceBroker marks a broker not alive if its heartbeat counter is still
// IfHeartbeats (else CodeConditionFailed): the metadata leader saw no
// heartbeat from it for the session timeout.
type FenceBroker struct {
	ID           int32
	IfHeartbeats uint64
}

func (Batch) Op() Op               { return OpBatch }
func (CreateTopic) Op() Op         { return OpCreateTopic }
func (AssignReplicas) Op() Op      { return OpAssignReplicas }
func (SetLeader) Op() Op           { return OpSetLeader }
func (SetISR) Op() Op              { return OpSetISR }
func (DeleteTopic) Op() Op         { return OpDeleteTopic }
func (AlterConfigs) Op() Op        { return OpAlterConfigs }
func (AddPartitions) Op() Op       { return OpAddPartitions }
func (RegisterBroker) Op() Op      { return OpRegisterBroker }
func (Heartbeat) Op() Op           { return OpHeartbeat }
func (FenceBroker) Op() Op         { return OpFenceBroker }
func (SetDataGroupLeader) Op() Op  { return OpSetDataGroupLeader }
func (AllocateProducerIDs) Op() Op { return OpAllocatePIDs }
func (CreateTopicPlaced) Op() Op   { return OpCreateTopicPlaced }
func (EnsureDataGroups) Op() Op    { return OpEnsureDataGroups }

// Code is the outcome of one command, reported in the proposal's result.
type Code uint8

const (
	CodeOK              Code = 0
	CodeTopicExists     Code = 1
	CodeUnknownTopic    Code = 2
	CodeConditionFailed Code = 3
	CodeSkipped         Code = 4 // gated by a failed topic-level command
	CodeInvalid         Code = 5 // structurally invalid (bad partition index, ...)
	CodeUnknownBroker   Code = 6
	CodeStalePlacement  Code = 7 // CreateTopicPlaced: the broker set changed since placement
)

// Result is the decoded sm.Result of a proposal: one Code per command, in
// order. For a Batch, Codes[i] is the outcome of Batch.Cmds[i]; for a single
// command, len(Codes) == 1.
//
// Values[i] is a value produced by command i (the first producer ID of
// AllocateProducerIDs; the partition's leader for AssignReplicas, see
// PackLeader), 0 for commands that produce none.
type Result struct {
	Codes  []Code
	Values []int64
}

// PackLeader is the result value of an AssignReplicas: the leader of the
// partition's data group and the group's term (its leader epoch), as apply
// found them, when the group has a leader recorded that is alive; 0 when it
// has none (a new group, or one between leaders).
func PackLeader(leader int32, term uint64) int64 {
	if leader < 0 || term == 0 {
		return 0
	}
	return int64(min(term, 1<<31-1))<<32 | int64(leader) + 1
}

// UnpackLeader reverses PackLeader; ok is false for 0.
func UnpackLeader(v int64) (leader, epoch int32, ok bool) {
	if v <= 0 {
		return -1, -1, false
	}
	return int32(v&(1<<32-1)) - 1, int32(v >> 32), true
}
