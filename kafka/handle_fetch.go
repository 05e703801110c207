package kafka

// Fetch: v4-18
//
// v0-3 are not offered: Kafka 4 removed them (KIP-896), and they would need
// down-conversion to MessageSet v0/v1.
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one RecordService.Fetch call. The service waits
//     up to MaxWaitMillis (capped at maxFetchWait) for MinBytes; the
//     handler's context allows that wait plus readTimeout (deadline.go).
//     MaxBytes, PartitionMaxBytes and IsolationLevel are passed through.
//   - No fetch sessions (KIP-227): every response is a full response with
//     SessionID 0, which tells the client that no session was created (kgo
//     then stops asking and sends epoch -1). Following Kafka's
//     FetchMetadata, epoch 0 (open a session) and -1 (no session) are full
//     fetches whatever the SessionID; any other epoch refers to a session we
//     cannot have, and gets a top-level FETCH_SESSION_ID_NOT_FOUND with no
//     topics (kgo: reset the session, or stop using sessions). Forgotten
//     topics are therefore ignored.
//   - Partitions come back in request order. LastStableOffset is the high
//     watermark (no transactions); AbortedTransactions is an empty list for
//     read_committed and null otherwise, as Kafka sends it;
//     PreferredReadReplica is -1. A failed partition has high watermark,
//     LastStableOffset and LogStartOffset -1 (Kafka). RecordBatches is never
//     null (librdkafka reads a null as a bad MessageSet size; kfake).
//   - Records are returned as stored: RecordBatch v2. There is no
//     down-conversion for v0-3, which pre-0.11 clients would need.
//   - ReplicaID/ReplicaState (follower fetches) and Rack are ignored.
//
// Version notes:
//   - v1: ThrottleMillis; v3: MaxBytes; v4: IsolationLevel,
//     LastStableOffset, AbortedTransactions; v5: LogStartOffset
//   - v7: sessions (see above); v9: CurrentLeaderEpoch (checked by the
//     service); v11: Rack, PreferredReadReplica; v12: flexible
//   - v13: topics by TopicID (an unknown ID is UNKNOWN_TOPIC_ID from the
//     service); the response echoes the ID
//   - v15: ReplicaState; v17: ReplicaDirectoryID; v18: HighWatermark tag
//     (broker-to-broker fields, ignored)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() { registerData(kmsg.Fetch, 4, 18, (*Server).handleFetch) }

// Kafka's FetchMetadata epochs that mean a full fetch.
const (
	fetchInitialEpoch int32 = 0  // open a session (we answer SessionID 0: none)
	fetchFinalEpoch   int32 = -1 // no session
)

func (s *Server) handleFetch(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.Version >= 7 && req.SessionEpoch != fetchInitialEpoch && req.SessionEpoch != fetchFinalEpoch {
		resp.ErrorCode = s.countCode(kmsg.Fetch, kerr.FetchSessionIDNotFound.Code)
		return resp, nil
	}

	fr := fetchRequest(req)
	fctx, cancel := fetchContext(ctx, fr.MaxWait)
	results := s.cfg.Records.Fetch(fctx, fr)
	cancel()

	readCommitted := req.IsolationLevel == 1
	resp.Topics = make([]kmsg.FetchResponseTopic, 0, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		tr, _ := at(results, i)
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, 0, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.FetchPartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.RecordBatches = []byte{}
			if readCommitted {
				sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			if pr.Err != nil {
				sp.ErrorCode = s.errCode(kmsg.Fetch, pr.Err)
				sp.HighWatermark = -1
			} else {
				sp.HighWatermark = pr.HighWatermark
				sp.LastStableOffset = pr.HighWatermark
				sp.LogStartOffset = pr.LogStartOffset
				if len(pr.Records) > 0 {
					sp.RecordBatches = pr.Records
					s.m.fetchBytes.Add(len(pr.Records))
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// fetchRequest converts the request for the service: topics by name, or by
// ID from v13. Fields a version lacks keep kmsg's defaults (MaxBytes
// unlimited before v3, read_uncommitted before v4, CurrentLeaderEpoch -1
// before v9).
func fetchRequest(req *kmsg.FetchRequest) datapath.FetchRequest {
	out := datapath.FetchRequest{
		MaxWait:        fetchWait(req.MaxWaitMillis),
		MinBytes:       req.MinBytes,
		MaxBytes:       req.MaxBytes,
		IsolationLevel: req.IsolationLevel,
		Topics:         make([]datapath.FetchTopic, len(req.Topics)),
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := datapath.FetchTopic{Partitions: make([]datapath.FetchPartition, len(rt.Partitions))}
		if req.Version >= 13 {
			t.TopicID = datapath.TopicID(rt.TopicID)
		} else {
			t.Name = rt.Topic
		}
		for j, rp := range rt.Partitions {
			t.Partitions[j] = datapath.FetchPartition{
				Partition:          rp.Partition,
				FetchOffset:        rp.FetchOffset,
				PartitionMaxBytes:  rp.PartitionMaxBytes,
				CurrentLeaderEpoch: rp.CurrentLeaderEpoch,
			}
		}
		out.Topics[i] = t
	}
	return out
}
