package consumergroup

import "github.com/skiff-broker/skiff/statemachine"

// TopicID is a Kafka topic UUID.
type TopicID = statemachine.TopicID

// Client identifies the connection a request came on (DescribeGroups
// reports it per member).
type Client struct {
	ID   string
	Host string
}

// Coordinator types of FindCoordinator.
const (
	KeyTypeGroup       int8 = 0
	KeyTypeTransaction int8 = 1
	KeyTypeShare       int8 = 2
)

// CoordinatorResult answers FindCoordinator for one key.
type CoordinatorResult struct {
	Key    string
	Err    error
	NodeID int32
	Host   string
	Port   int32
}

// Protocol is one assignment protocol a joining member supports.
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest is a classic JoinGroup.
type JoinRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	// RequireKnownMemberID: JoinGroup v4+, where a dynamic member without
	// an ID gets MEMBER_ID_REQUIRED and an ID to join with.
	RequireKnownMemberID bool
	// SkipAssignmentOK: JoinGroup v9+ understands SkipAssignment (KIP-814).
	SkipAssignmentOK   bool
	ProtocolType       string
	Protocols          []Protocol
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32 // v0: the session timeout
	Reason             string
	Client             Client
}

// JoinMember is one member's metadata, sent to the leader.
type JoinMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// JoinResult answers a JoinGroup. MemberID is set with ErrMemberIDRequired.
type JoinResult struct {
	Err            error
	Generation     int32
	ProtocolType   *string
	Protocol       *string
	LeaderID       string
	MemberID       string
	SkipAssignment bool
	Members        []JoinMember // the leader only
}

// Assignment is one member's assignment in the leader's SyncGroup.
type Assignment struct {
	MemberID string
	Data     []byte
}

// SyncRequest is a classic SyncGroup.
type SyncRequest struct {
	Group        string
	MemberID     string
	InstanceID   *string
	Generation   int32
	ProtocolType *string // v5+
	Protocol     *string // v5+
	Assignments  []Assignment
}

// SyncResult answers a SyncGroup.
type SyncResult struct {
	Err          error
	ProtocolType *string
	Protocol     *string
	Assignment   []byte
}

// HeartbeatRequest is a classic Heartbeat.
type HeartbeatRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	Generation int32
}

// LeaveMember is one member of a LeaveGroup.
type LeaveMember struct {
	MemberID   string
	InstanceID *string
	Reason     string
}

// LeaveResult is one member's outcome; MemberID is resolved from the
// instance ID for static members.
type LeaveResult struct {
	MemberID   string
	InstanceID *string
	Err        error
}

// CommitPartition is one partition of an OffsetCommit.
type CommitPartition struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
}

// CommitTopic is one topic of an OffsetCommit: by Name, or by ID (v10+).
type CommitTopic struct {
	Name       string
	ID         TopicID
	Partitions []CommitPartition
}

// CommitRequest is an OffsetCommit. Generation -1 with an empty MemberID
// is a commit from outside group management ("simple" consumers, admin).
// For a KIP-848 group Generation is the member epoch.
type CommitRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	Generation int32
	// RetentionMs is OffsetCommit v2-4's retention time: -1 (Kafka's
	// default) or 0 means offsets.retention.minutes; otherwise the commits
	// expire RetentionMs after the commit, whatever the group does.
	RetentionMs int64
	Topics      []CommitTopic
}

// PartitionError is one partition's outcome.
type PartitionError struct {
	Partition int32
	Err       error
}

// TopicErrors mirrors a request topic.
type TopicErrors struct {
	Name       string
	ID         TopicID
	Partitions []PartitionError
}

// FetchTopic asks for a topic's committed offsets: Partitions nil means
// every partition with a commit. By Name, or by ID (v10+).
type FetchTopic struct {
	Name       string
	ID         TopicID
	Partitions []int32
}

// FetchGroup is one group of an OffsetFetch. Topics nil means everything
// the group has committed. MemberID/MemberEpoch (v9+) are checked for
// KIP-848 groups when MemberID is set or MemberEpoch >= 0.
type FetchGroup struct {
	Group       string
	MemberID    *string
	MemberEpoch int32
	Topics      []FetchTopic
}

// FetchedPartition is one committed offset; Offset -1 when there is none.
type FetchedPartition struct {
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
	Err         error
}

// FetchedTopic mirrors a FetchTopic (or lists a committed topic).
type FetchedTopic struct {
	Name       string
	ID         TopicID
	Partitions []FetchedPartition
}

// FetchedGroup answers one FetchGroup.
type FetchedGroup struct {
	Group  string
	Err    error
	Topics []FetchedTopic
}

// DescribedMember is one member of a described classic group.
type DescribedMember struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// DescribedGroup answers DescribeGroups for one group.
type DescribedGroup struct {
	Group        string
	Err          error
	State        string
	ProtocolType string
	Protocol     string
	Members      []DescribedMember
}

// ListedGroup is one group of ListGroups.
type ListedGroup struct {
	Group        string
	ProtocolType string
	State        string
	Type         string // "classic" or "consumer"
}

// DeleteTopicPartitions names partitions for OffsetDelete.
type DeleteTopicPartitions struct {
	Name       string
	Partitions []int32
}

// TopicPartitions is a set of partitions of one topic, by ID (KIP-848).
type TopicPartitions struct {
	ID         TopicID
	Partitions []int32
}

// ConsumerHeartbeatRequest is a KIP-848 ConsumerGroupHeartbeat. Fields
// that a heartbeat may leave out to mean "unchanged" are nil (or -1 for
// RebalanceTimeoutMs).
type ConsumerHeartbeatRequest struct {
	Group                string
	MemberID             string
	MemberEpoch          int32
	InstanceID           *string
	RackID               *string
	RebalanceTimeoutMs   int32
	SubscribedTopicNames []string
	SubscribedTopicRegex *string
	ServerAssignor       *string
	Topics               []TopicPartitions // owned partitions; nil: unchanged
	Client               Client
}

// ConsumerHeartbeatResult answers a ConsumerGroupHeartbeat. Assignment is
// sent only when HasAssignment (the member's assignment changed).
type ConsumerHeartbeatResult struct {
	Err                 error
	MemberID            string
	MemberEpoch         int32
	HeartbeatIntervalMs int32
	HasAssignment       bool
	Assignment          []TopicPartitions
}

// ConsumerMemberDescription is one member of ConsumerGroupDescribe.
type ConsumerMemberDescription struct {
	MemberID             string
	InstanceID           *string
	RackID               *string
	MemberEpoch          int32
	ClientID             string
	ClientHost           string
	SubscribedTopics     []string
	SubscribedTopicRegex *string
	Assignment           []TopicPartitions
	TargetAssignment     []TopicPartitions
}

// ConsumerGroupDescription answers ConsumerGroupDescribe for one group.
type ConsumerGroupDescription struct {
	Group           string
	Err             error
	State           string
	Epoch           int32
	AssignmentEpoch int32
	AssignorName    string
	Members         []ConsumerMemberDescription
}
