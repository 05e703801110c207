package kafka

// DeleteRecords: v0-2
//
// Behavior:
//   - The whole request is one RecordService.DeleteRecords call, with a
//     deadline from TimeoutMillis (deadline.go). Offset -1 means the high
//     watermark; the service answers the new low watermark.
//   - Partitions come back in request order; a failed one has LowWatermark
//     -1 (Kafka).
//
// Version notes:
//   - v1: no changes (throttling after the response); v2: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() { registerData(kmsg.DeleteRecords, 0, 2, (*Server).handleDeleteRecords) }

func (s *Server) handleDeleteRecords(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	ctx, cancel := adminContext(ctx, req.TimeoutMillis)
	defer cancel()

	asks := make([]datapath.DeleteRecordsTopic, len(req.Topics))
	for i, rt := range req.Topics {
		asks[i] = datapath.DeleteRecordsTopic{Name: rt.Topic, Partitions: make([]datapath.DeleteRecordsPartition, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			asks[i].Partitions[j] = datapath.DeleteRecordsPartition{Partition: rp.Partition, Offset: rp.Offset}
		}
	}
	results := s.cfg.Records.DeleteRecords(ctx, asks)

	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, 0, len(req.Topics))
	for i, rt := range req.Topics {
		tr, _ := at(results, i)
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, 0, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.DeleteRecordsPartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = pr.LowWatermark
			if pr.Err != nil {
				sp.ErrorCode = s.errCode(kmsg.DeleteRecords, pr.Err)
				sp.LowWatermark = -1
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
