// Package records is the data path: Produce, Fetch, ListOffsets,
// DeleteRecords, OffsetForLeaderEpoch and InitProducerId over the
// partitions' data groups. kafka/ calls it through an interface; it reads
// metadata through the node and proposes to data groups through the node.
package datapath

import (
	"errors"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// TopicID is a Kafka topic UUID.
type TopicID = statemachine.TopicID

// ProduceRequest is one Kafka Produce request.
type ProduceRequest struct {
	Acks          int16 // 0, 1 or -1 (all); 1 means the same as all here
	TimeoutMillis int32
	Topics        []ProduceTopic
}

// ProduceTopic is one topic of a Produce request: by Name, or by TopicID
// when Name is "" (Produce v13+).
type ProduceTopic struct {
	Name       string
	TopicID    TopicID
	Partitions []ProducePartition
}

// ProducePartition is one partition's record batches, as sent.
type ProducePartition struct {
	Partition int32
	Records   []byte
}

// ProduceTopicResult mirrors ProduceTopic, in request order.
type ProduceTopicResult struct {
	Name       string
	TopicID    TopicID
	Partitions []ProducePartitionResult
}

// ProducePartitionResult is one partition's outcome. Err wraps a sentinel
// in this package (errors.Is), or is nil.
type ProducePartitionResult struct {
	Partition      int32
	Err            error
	BaseOffset     int64
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
}

// FetchRequest is one Kafka Fetch request (sessions are not supported:
// every fetch is a full fetch).
type FetchRequest struct {
	MaxWait        time.Duration
	MinBytes       int32
	MaxBytes       int32 // whole response
	IsolationLevel int8
	Topics         []FetchTopic
}

// FetchTopic is one topic of a Fetch: by Name, or by TopicID (v13+).
type FetchTopic struct {
	Name       string
	TopicID    TopicID
	Partitions []FetchPartition
}

// FetchPartition is one partition of a Fetch.
type FetchPartition struct {
	Partition          int32
	FetchOffset        int64
	PartitionMaxBytes  int32
	CurrentLeaderEpoch int32 // -1: not given
}

// FetchTopicResult mirrors FetchTopic.
type FetchTopicResult struct {
	Name       string
	TopicID    TopicID
	Partitions []FetchPartitionResult
}

// FetchPartitionResult is one partition's data.
type FetchPartitionResult struct {
	Partition        int32
	Err              error
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Records          []byte
}

// ListOffsetsTopic is one topic of ListOffsets.
type ListOffsetsTopic struct {
	Name       string
	Partitions []ListOffsetsPartition
}

// Special ListOffsets timestamps.
const (
	TimestampLatest   int64 = -1
	TimestampEarliest int64 = -2
	TimestampMax      int64 = -3
)

// ListOffsetsPartition asks for the offset at Timestamp.
type ListOffsetsPartition struct {
	Partition          int32
	Timestamp          int64
	CurrentLeaderEpoch int32
}

// ListOffsetsTopicResult mirrors ListOffsetsTopic.
type ListOffsetsTopicResult struct {
	Name       string
	Partitions []ListOffsetsPartitionResult
}

// ListOffsetsPartitionResult: Offset -1 and Timestamp -1 when no such
// offset exists (a timestamp after the last batch).
type ListOffsetsPartitionResult struct {
	Partition   int32
	Err         error
	Timestamp   int64
	Offset      int64
	LeaderEpoch int32
}

// DeleteRecordsTopic is one topic of DeleteRecords.
type DeleteRecordsTopic struct {
	Name       string
	Partitions []DeleteRecordsPartition
}

// DeleteRecordsPartition: delete records before Offset (-1: the high watermark).
type DeleteRecordsPartition struct {
	Partition int32
	Offset    int64
}

// DeleteRecordsTopicResult mirrors DeleteRecordsTopic.
type DeleteRecordsTopicResult struct {
	Name       string
	Partitions []DeleteRecordsPartitionResult
}

// DeleteRecordsPartitionResult is the new low watermark.
type DeleteRecordsPartitionResult struct {
	Partition    int32
	Err          error
	LowWatermark int64
}

// EpochTopic is one topic of OffsetForLeaderEpoch.
type EpochTopic struct {
	Name       string
	Partitions []EpochPartition
}

// EpochPartition asks for the end offset of LeaderEpoch.
type EpochPartition struct {
	Partition          int32
	CurrentLeaderEpoch int32
	LeaderEpoch        int32
}

// EpochTopicResult mirrors EpochTopic.
type EpochTopicResult struct {
	Name       string
	Partitions []EpochPartitionResult
}

// EpochPartitionResult: the largest epoch <= the asked one and its end offset.
type EpochPartitionResult struct {
	Partition   int32
	Err         error
	LeaderEpoch int32
	EndOffset   int64
}

// Per-partition outcomes; kafka/ maps each to one kerr code.
var (
	ErrNotLeader            = errors.New("datapath: not the leader of this partition") // NOT_LEADER_OR_FOLLOWER
	ErrUnknownTopicOrPart   = errors.New("datapath: unknown topic or partition")       // UNKNOWN_TOPIC_OR_PARTITION
	ErrUnknownTopicID       = errors.New("datapath: unknown topic ID")                 // UNKNOWN_TOPIC_ID
	ErrLeaderNotAvailable   = errors.New("datapath: leader not available")             // LEADER_NOT_AVAILABLE
	ErrCorruptMessage       = errors.New("datapath: corrupt message")                  // CORRUPT_MESSAGE
	ErrMessageTooLarge      = errors.New("datapath: message too large")                // MESSAGE_TOO_LARGE
	ErrOutOfOrderSequence   = errors.New("datapath: out of order sequence number")     // OUT_OF_ORDER_SEQUENCE_NUMBER
	ErrInvalidProducerEpoch = errors.New("datapath: invalid producer epoch")           // INVALID_PRODUCER_EPOCH
	ErrUnsupportedMagic     = errors.New("datapath: unsupported record format")        // UNSUPPORTED_FOR_MESSAGE_FORMAT
	ErrInvalidRecord        = errors.New("datapath: invalid record")                   // INVALID_RECORD
	ErrOffsetOutOfRange     = errors.New("datapath: offset out of range")              // OFFSET_OUT_OF_RANGE
	ErrFencedLeaderEpoch    = errors.New("datapath: fenced leader epoch")              // FENCED_LEADER_EPOCH
	ErrUnknownLeaderEpoch   = errors.New("datapath: unknown leader epoch")             // UNKNOWN_LEADER_EPOCH
	ErrInvalidRequiredAcks  = errors.New("datapath: invalid required acks")            // INVALID_REQUIRED_ACKS
	ErrTransactionsDisabled = errors.New("datapath: transactions are not supported")   // TRANSACTIONAL_ID_AUTHORIZATION_FAILED? see kafka/errors.go
	ErrTimeout              = errors.New("datapath: request timed out")                // REQUEST_TIMED_OUT
	ErrNotReady             = errors.New("datapath: not ready")                        // NOT_LEADER_OR_FOLLOWER (retriable)
	ErrPolicyViolation      = errors.New("datapath: policy violation")                 // POLICY_VIOLATION
	ErrLowDiskSpace         = errors.New("datapath: data dir low on free space")       // KAFKA_STORAGE_ERROR (retriable)
)
