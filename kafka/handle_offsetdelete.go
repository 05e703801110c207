package kafka

// OffsetDelete: v0
//
// Behavior:
//   - Deletes a group's commits for the partitions named (tombstones, one
//     proposal). A group with members may only lose the commits of topics
//     none of its members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC per
//     partition); a non-empty group that does not use the consumer
//     protocol gets NON_EMPTY_GROUP. Unknown groups: GROUP_ID_NOT_FOUND.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.OffsetDelete, 0, 0, (*Server).handleOffsetDelete) }

func (s *Server) handleOffsetDelete(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	ts := make([]consumergroup.DeleteTopicPartitions, 0, len(req.Topics))
	for _, t := range req.Topics {
		dt := consumergroup.DeleteTopicPartitions{Name: t.Topic}
		for _, p := range t.Partitions {
			dt.Partitions = append(dt.Partitions, p.Partition)
		}
		ts = append(ts, dt)
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	results, err := s.cfg.Groups.DeleteOffsets(ctx, req.Group, ts)
	if err != nil {
		resp.ErrorCode = s.errCode(kmsg.OffsetDelete, err)
		return resp, nil
	}
	for i, t := range ts {
		tr, _ := at(results, i)
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = t.Name
		for j, p := range t.Partitions {
			pe, ok := at(tr.Partitions, j)
			if !ok || pe.Partition != p {
				pe = consumergroup.PartitionError{Partition: p, Err: errGroupResults}
			}
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = p
			sp.ErrorCode = s.errCode(kmsg.OffsetDelete, pe.Err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
