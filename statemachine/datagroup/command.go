// Package datagroup is the state machine of a data group: a Dragonboat
// shard that carries the logs of many partitions (DESIGN §3). Only
// committed entries reach it, so everything it stores is committed: the
// high watermark of a partition is its applied end offset.
package datagroup

import "github.com/skiff-broker/skiff/statemachine/grouplog"

// Commands of a data group. Envelope: [FormatVersion][op][payload], like the
// metadata shard's. The proposer decides everything non-deterministic
// (timestamps, configs, leader epoch) and puts it in the command.

// FormatVersion is the envelope format written by this binary. Version 2
// added SegmentMs to ProducePart and RetentionPart; version 1 envelopes
// still decode, with SegmentMs -1 (no time-based roll).
const FormatVersion byte = 2

// Op identifies a command. ONLY ADD TO THE END; never reuse or renumber.
type Op uint8

const (
	OpProduce          Op = 1
	OpDeleteRecords    Op = 2
	OpRetention        Op = 3
	OpDeletePartitions Op = 4
)

// Command is any data-group command.
type Command interface{ Op() Op }

// PartitionKey names a partition by topic ID (never by name: a re-created
// topic is a different log) and index.
type PartitionKey = grouplog.Key

// Produce appends record batches to partitions of this group. One Produce
// request becomes at most one Produce command per group it touches.
type Produce struct {
	TimestampMs int64 // proposer's clock: the LogAppendTime
	LeaderEpoch int32 // the group's Raft term when proposed; written into each batch's partitionLeaderEpoch
	Parts       []ProducePart
}

// ProducePart is one partition's records of a Produce.
type ProducePart struct {
	Key             PartitionKey
	LogAppendTime   bool   // message.timestamp.type=LogAppendTime
	MaxMessageBytes int32  // max.message.bytes: a larger batch gets CodeMessageTooLarge
	SegmentBytes    int64  // segment.bytes: bounds the partition's logical segments (retention's unit)
	SegmentMs       int64  // segment.ms: a logical segment this old rolls (0 or -1: never)
	Records         []byte // record batches (v2) exactly as the client sent them
}

// DeleteRecords moves log start offsets forward (Kafka DeleteRecords).
// Offset -1 means the high watermark.
type DeleteRecords struct {
	Parts []DeleteRecordsPart
}

// DeleteRecordsPart is one partition of a DeleteRecords.
type DeleteRecordsPart struct {
	Key    PartitionKey
	Offset int64
}

// Retention deletes old segments; the group leader proposes it
// periodically with the topics' current configs.
type Retention struct {
	NowMs int64
	Parts []RetentionPart
}

// RetentionPart is one partition's retention settings.
type RetentionPart struct {
	Key            PartitionKey
	RetentionMs    int64 // -1: infinite
	RetentionBytes int64 // -1: infinite
	SegmentMs      int64 // segment.ms: the active logical segment closes once this old (0 or -1: never)
}

// DeletePartitions removes partitions' logs and producer state (their topic
// was deleted).
type DeletePartitions struct {
	Keys []PartitionKey
}

func (Produce) Op() Op          { return OpProduce }
func (DeleteRecords) Op() Op    { return OpDeleteRecords }
func (Retention) Op() Op        { return OpRetention }
func (DeletePartitions) Op() Op { return OpDeletePartitions }

// Code is the outcome for one partition.
type Code uint8

const (
	CodeOK                   Code = 0
	CodeCorruptMessage       Code = 1 // bad CRC or batch framing
	CodeMessageTooLarge      Code = 2
	CodeOutOfOrderSequence   Code = 3
	CodeInvalidProducerEpoch Code = 4 // an older epoch of a known producer
	CodeUnsupportedMagic     Code = 5 // record batch magic other than 2
	CodeInvalidRecord        Code = 6 // e.g. an empty batch, or a control/transactional batch
	CodeOffsetOutOfRange     Code = 7 // DeleteRecords beyond the high watermark
	CodeUnknownPartition     Code = 8
)

// PartResult is the outcome for one partition of a command, in command
// order. For Produce: BaseOffset of the first appended batch (or, for a
// retried duplicate of an acknowledged batch, its original offset),
// LogAppendTime (-1 unless LogAppendTime), LogStartOffset. For
// DeleteRecords: LogStartOffset is the new low watermark.
type PartResult struct {
	Code           Code
	BaseOffset     int64
	LogAppendTime  int64
	LogStartOffset int64
}

// Result is the decoded sm.Result.Data of a data-group proposal.
type Result struct{ Parts []PartResult }
