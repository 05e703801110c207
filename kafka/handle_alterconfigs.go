package kafka

// AlterConfigs: v0-2
//
// Behavior:
//   - TOPIC resources: one TopicService.AlterConfigs call with Replace set:
//     the topic's configs become exactly the listed ones (Kafka's legacy
//     semantics). ValidateOnly passes through.
//   - BROKER resources: INVALID_REQUEST "broker configs are read-only".
//   - Other resource types: INVALID_REQUEST.
//
// Version notes:
//   - v1: no changes; v2: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.AlterConfigs, 0, 2, (*Server).handleAlterConfigs) }

func (s *Server) handleAlterConfigs(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()

	resp.Resources = alterConfigs(s, ctx, kmsg.AlterConfigs, req.Resources, req.ValidateOnly,
		func(r kmsg.AlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
			return r.ResourceType, r.ResourceName
		},
		func(r kmsg.AlterConfigsRequestResource) topics.AlterSpec {
			spec := topics.AlterSpec{Name: r.ResourceName, Replace: true}
			for _, c := range r.Configs {
				spec.Ops = append(spec.Ops, topics.ConfigOp{Key: c.Name, Op: topics.OpSet, Value: c.Value})
			}
			return spec
		},
		func(r kmsg.AlterConfigsRequestResource, code int16, msg *string) kmsg.AlterConfigsResponseResource {
			rr := kmsg.NewAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
			rr.ErrorCode, rr.ErrorMessage = code, msg
			return rr
		})
	return resp, nil
}
