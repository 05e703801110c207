package kafka

// OffsetForLeaderEpoch: v2-4
//
// v0-1 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one RecordService.OffsetForLeaderEpoch call,
//     bounded by readTimeout (the request has no timeout field). For each
//     partition the service answers the largest leader epoch <= the asked
//     one and its end offset; CurrentLeaderEpoch (v2+) is checked by the
//     service (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
//   - Partitions come back in request order; a failed one has LeaderEpoch
//     and EndOffset -1 (kmsg defaults, Kafka's UNDEFINED values).
//   - ReplicaID (v3+) is ignored: every caller is treated as a consumer.
//
// Version notes:
//   - v1: LeaderEpoch in the response; v2: CurrentLeaderEpoch,
//     ThrottleMillis; v3: ReplicaID; v4: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() {
	registerData(kmsg.OffsetForLeaderEpoch, 2, 4, (*Server).handleOffsetForLeaderEpoch)
}

func (s *Server) handleOffsetForLeaderEpoch(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
	ctx, cancel := readContext(ctx)
	defer cancel()

	asks := make([]datapath.EpochTopic, len(req.Topics))
	for i, rt := range req.Topics {
		asks[i] = datapath.EpochTopic{Name: rt.Topic, Partitions: make([]datapath.EpochPartition, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			asks[i].Partitions[j] = datapath.EpochPartition{
				Partition: rp.Partition, CurrentLeaderEpoch: rp.CurrentLeaderEpoch, LeaderEpoch: rp.LeaderEpoch}
		}
	}
	results := s.cfg.Records.OffsetForLeaderEpoch(ctx, asks)

	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, 0, len(req.Topics))
	for i, rt := range req.Topics {
		tr, _ := at(results, i)
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, 0, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.EpochPartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			if pr.Err != nil {
				sp.ErrorCode = s.errCode(kmsg.OffsetForLeaderEpoch, pr.Err)
			} else {
				sp.LeaderEpoch, sp.EndOffset = pr.LeaderEpoch, pr.EndOffset
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
