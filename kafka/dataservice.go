package kafka

import (
	"context"
	"errors"

	"github.com/skiff-broker/skiff/datapath"
)

// RecordService is what the Kafka front needs from the data path
// (datapath). Every method answers a whole Kafka request in one call;
// results come back in request order, one per requested topic and
// partition, with per-partition errors that wrap the records sentinels
// (mapped to Kafka codes in errors.go).
type RecordService interface {
	Produce(ctx context.Context, req datapath.ProduceRequest) []datapath.ProduceTopicResult
	// Fetch waits up to req.MaxWait for req.MinBytes; ctx allows for that.
	Fetch(ctx context.Context, req datapath.FetchRequest) []datapath.FetchTopicResult
	ListOffsets(ctx context.Context, isolationLevel int8, topics []datapath.ListOffsetsTopic) []datapath.ListOffsetsTopicResult
	DeleteRecords(ctx context.Context, topics []datapath.DeleteRecordsTopic) []datapath.DeleteRecordsTopicResult
	OffsetForLeaderEpoch(ctx context.Context, topics []datapath.EpochTopic) []datapath.EpochTopicResult
	// InitProducerID allocates (or bumps, for a known producerID/epoch) an
	// idempotent producer ID. A non-nil transactionalID is refused with
	// datapath.ErrTransactionsDisabled.
	InitProducerID(ctx context.Context, transactionalID *string, producerID int64, producerEpoch int16) (int64, int16, error)
}

// errRecordResults marks a partition that the RecordService left out or
// answered out of request order: a broken contract, answered with
// UNKNOWN_SERVER_ERROR (errCode logs it as unmapped).
var errRecordResults = errors.New("kafka: record service results do not match the request")

// at returns rs[i] and true, or the zero value and false past the end, so
// that a short result list cannot panic a handler.
func at[T any](rs []T, i int) (T, bool) {
	if i >= 0 && i < len(rs) {
		return rs[i], true
	}
	var zero T
	return zero, false
}
