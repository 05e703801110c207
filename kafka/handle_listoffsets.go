package kafka

// ListOffsets: v1-11
//
// v0-0 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one RecordService.ListOffsets call, with a
//     deadline from TimeoutMillis (v10+) or readTimeout, and the request's
//     IsolationLevel (v2+; no transactions, so both levels answer alike).
//   - Timestamps -1 (latest), -2 (earliest), -3 (max timestamp) and
//     positive ones go to the service as sent. -4 (earliest local, KIP-405)
//     is -2: every record is local. -5 (latest tiered, KIP-1005) and -6
//     (earliest pending upload, KIP-1023) are answered here with offset and
//     timestamp -1, what Kafka answers without tiered storage.
//   - A failed partition has Offset, Timestamp and LeaderEpoch -1.
//
// Version notes:
//   - v0: MaxNumOffsets and OldStyleOffsets: the answer is [offset] (or []
//     when there is none or MaxNumOffsets is 0), not Kafka's list of
//     segment base offsets
//   - v1: Timestamp and Offset; v2: IsolationLevel, ThrottleMillis
//   - v4: CurrentLeaderEpoch (checked by the service), LeaderEpoch
//   - v6: flexible; v7: -3; v8: -4; v9: -5; v10: TimeoutMillis; v11: -6

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() { registerData(kmsg.ListOffsets, 1, 11, (*Server).handleListOffsets) }

// Special ListOffsets timestamps beyond the ones in records.
const (
	timestampEarliestLocal         int64 = -4
	timestampLatestTiered          int64 = -5
	timestampEarliestPendingUpload int64 = -6
)

// listOffsetsSlot locates a request partition's answer: in the service's
// results (topic, partition), or answered here (local).
type listOffsetsSlot struct {
	topic, part int
	local       bool
}

func (s *Server) handleListOffsets(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListOffsetsRequest)
	var cancel context.CancelFunc
	if req.Version >= 10 {
		ctx, cancel = adminContext(ctx, req.TimeoutMillis)
	} else {
		ctx, cancel = readContext(ctx)
	}
	defer cancel()

	slots := make([][]listOffsetsSlot, len(req.Topics))
	var asks []datapath.ListOffsetsTopic
	for i := range req.Topics {
		rt := &req.Topics[i]
		slots[i] = make([]listOffsetsSlot, len(rt.Partitions))
		var ask *datapath.ListOffsetsTopic
		for j, rp := range rt.Partitions {
			ts := rp.Timestamp
			switch ts {
			case timestampLatestTiered, timestampEarliestPendingUpload:
				slots[i][j] = listOffsetsSlot{local: true}
				continue
			case timestampEarliestLocal:
				ts = datapath.TimestampEarliest
			}
			if ask == nil {
				asks = append(asks, datapath.ListOffsetsTopic{Name: rt.Topic})
				ask = &asks[len(asks)-1]
			}
			slots[i][j] = listOffsetsSlot{topic: len(asks) - 1, part: len(ask.Partitions)}
			ask.Partitions = append(ask.Partitions, datapath.ListOffsetsPartition{
				Partition: rp.Partition, Timestamp: ts, CurrentLeaderEpoch: rp.CurrentLeaderEpoch})
		}
	}
	var results []datapath.ListOffsetsTopicResult
	if len(asks) > 0 {
		results = s.cfg.Records.ListOffsets(ctx, req.IsolationLevel, asks)
	}

	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, 0, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, 0, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.OldStyleOffsets = []int64{}
			slot := slots[i][j]
			if slot.local {
				st.Partitions = append(st.Partitions, sp) // offset and timestamp -1
				continue
			}
			tr, _ := at(results, slot.topic)
			pr, ok := at(tr.Partitions, slot.part)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.ListOffsetsPartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			if pr.Err != nil {
				sp.ErrorCode = s.errCode(kmsg.ListOffsets, pr.Err)
			} else {
				sp.Timestamp, sp.Offset, sp.LeaderEpoch = pr.Timestamp, pr.Offset, pr.LeaderEpoch
				if pr.Offset >= 0 && rp.MaxNumOffsets > 0 {
					sp.OldStyleOffsets = []int64{pr.Offset}
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
