package kafka

// CreatePartitions: v0-3
//
// Behavior:
//   - The whole request is one TopicService.CreatePartitions call, with a
//     deadline from TimeoutMillis; ValidateOnly passes through.
//   - Count is the new total; Assignment lists the replicas of each new
//     partition, or is null for automatic placement.
//
// Version notes:
//   - v1: no changes; v2: flexible; v3: no changes

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.CreatePartitions, 0, 3, (*Server).handleCreatePartitions) }

func (s *Server) handleCreatePartitions(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	ctx, cancel := adminContext(ctx, req.TimeoutMillis)
	defer cancel()

	items := make([]prepared[topics.PartitionsSpec], len(req.Topics))
	for i, rt := range req.Topics {
		spec := topics.PartitionsSpec{Name: rt.Topic, Count: rt.Count}
		if rt.Assignment != nil {
			spec.Assignment = make([][]int32, len(rt.Assignment))
			for j, a := range rt.Assignment {
				spec.Assignment[j] = a.Replicas
			}
		}
		items[i] = prepared[topics.PartitionsSpec]{spec: spec, name: rt.Topic}
	}
	results := runPrepared(items, func(specs []topics.PartitionsSpec) ([]topics.TopicResult, error) {
		return s.cfg.Topics.CreatePartitions(ctx, specs, req.ValidateOnly)
	})

	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, 0, len(results))
	for i, r := range results {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = req.Topics[i].Topic
		rt.ErrorCode = s.errCode(kmsg.CreatePartitions, r.Err)
		rt.ErrorMessage = errorMessage(r.Err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
