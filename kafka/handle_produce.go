package kafka

// Produce: v3-13
//
// v0-2 are not served: Kafka 4 removed them (KIP-896), and they carry
// MessageSet v0/v1, which Skiff does not store. A request at such a
// version closes the connection (conn.go). ApiVersions still advertises
// v0-13, as Kafka 4 does (KAFKA-18659): librdkafka turns compression off
// unless Produce v0 is advertised.
//
// Behavior:
//   - Acks must be 0, 1 or -1; otherwise every partition gets
//     INVALID_REQUIRED_ACKS (Kafka, kfake): RecordService.Produce checks it
//     (datapath.ValidateAcks), and the code comes from errors.go.
//   - A non-null TransactionID (transactional_id) gives every partition
//     TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Skiff has no transactions
//     (errors.go explains the choice).
//   - Otherwise the whole request is one RecordService.Produce call with a
//     deadline from TimeoutMillis (deadline.go). Record bytes are passed as
//     sent; the service validates them (a MessageSet v0/v1, which v0-2
//     clients send, is its UNSUPPORTED_FOR_MESSAGE_FORMAT). Acks 1 and -1
//     mean the same: the answer comes after the commit.
//   - Acks 0: Kafka sends no response, so neither do we (conn.go); the
//     connection reads its next request only after the service returned.
//     If any partition failed, the connection is closed, as Kafka does, so
//     that the client refreshes its metadata: it has no other way to learn.
//   - A failed partition reports BaseOffset, LogAppendTime and
//     LogStartOffset -1, with the service's message (v8+).
//   - A node low on disk answers KAFKA_STORAGE_ERROR (retriable), before
//     proposing anything (datapath.ErrLowDiskSpace).
//
// Version notes:
//   - v1: ThrottleMillis; v2: LogAppendTime; v3: TransactionID, and
//     RecordBatch (magic 2) is the only format clients send
//   - v4: KAFKA_STORAGE_ERROR may be returned; v0-3 get
//     NOT_LEADER_OR_FOLLOWER in its place (also retriable)
//   - v5: LogStartOffset; v8: ErrorMessage (ErrorRecords not filled)
//   - v9: flexible; v10: CurrentLeader and Brokers tags (not filled: on
//     NOT_LEADER_OR_FOLLOWER kgo refreshes its metadata)
//   - v13: topics by TopicID only (an unknown ID is UNKNOWN_TOPIC_ID from
//     the service); the response echoes the ID

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() {
	registerData(kmsg.Produce, 3, 13, (*Server).handleProduce)
	advertiseFrom(kmsg.Produce, 0) // as Kafka 4 does, for librdkafka (dispatch.go)
}

// errAcksZeroFailed closes a connection after a failed acks=0 produce.
var errAcksZeroFailed = errors.New("kafka: produce with acks=0 failed; closing the connection so the client refreshes metadata")

func (s *Server) handleProduce(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)

	var results []datapath.ProduceTopicResult
	switch {
	case req.TransactionID != nil:
		results = produceFailAll(req, &codeError{kind: datapath.ErrTransactionsDisabled,
			msg: fmt.Sprintf("Transactions are not supported: transactional ID %q cannot produce.", *req.TransactionID)})
	default:
		pctx, cancel := adminContext(ctx, req.TimeoutMillis)
		results = s.cfg.Records.Produce(pctx, produceRequest(req))
		cancel()
	}

	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(req.Topics))
	var failed error
	for i := range req.Topics {
		rt := &req.Topics[i]
		tr, _ := at(results, i)
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, 0, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.ProducePartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			if pr.Err != nil {
				sp.ErrorCode = s.errCode(kmsg.Produce, pr.Err)
				if sp.ErrorCode == kerr.KafkaStorageError.Code && req.Version < 4 {
					sp.ErrorCode = kerr.NotLeaderForPartition.Code // v4: "must be prepared to handle KAFKA_STORAGE_ERROR"
				}
				sp.ErrorMessage = errorMessage(pr.Err)
				sp.BaseOffset = -1
				if failed == nil {
					failed = fmt.Errorf("%w: partition %d: %w", errAcksZeroFailed, rp.Partition, pr.Err)
				}
			} else {
				sp.BaseOffset = pr.BaseOffset
				sp.LogAppendTime = pr.LogAppendTime
				sp.LogStartOffset = pr.LogStartOffset
				s.m.produceBytes.Add(len(rp.Records))
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Acks == 0 {
		return nil, failed // no response; an error closes the connection
	}
	return resp, nil
}

// produceRequest converts the request for the service: topics by name, or
// by ID from v13.
func produceRequest(req *kmsg.ProduceRequest) datapath.ProduceRequest {
	out := datapath.ProduceRequest{
		Acks:          req.Acks,
		TimeoutMillis: req.TimeoutMillis,
		Topics:        make([]datapath.ProduceTopic, len(req.Topics)),
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := datapath.ProduceTopic{Partitions: make([]datapath.ProducePartition, len(rt.Partitions))}
		if req.Version >= 13 {
			t.TopicID = datapath.TopicID(rt.TopicID)
		} else {
			t.Name = rt.Topic
		}
		for j, rp := range rt.Partitions {
			t.Partitions[j] = datapath.ProducePartition{Partition: rp.Partition, Records: rp.Records}
		}
		out.Topics[i] = t
	}
	return out
}

// produceFailAll answers every partition with err, without the service.
func produceFailAll(req *kmsg.ProduceRequest, err error) []datapath.ProduceTopicResult {
	out := make([]datapath.ProduceTopicResult, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		out[i] = datapath.ProduceTopicResult{Name: rt.Topic, TopicID: datapath.TopicID(rt.TopicID),
			Partitions: make([]datapath.ProducePartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			out[i].Partitions[j] = datapath.ProducePartitionResult{Partition: rp.Partition, Err: err}
		}
	}
	return out
}
