package kafka

// IncrementalAlterConfigs: v0-1
//
// Behavior:
//   - TOPIC resources: one TopicService.AlterConfigs call; each key is set,
//     deleted (back to the default), appended to or subtracted from.
//     ValidateOnly passes through. An op outside 0-3 is INVALID_REQUEST for
//     that resource (topics checks it).
//   - BROKER resources: INVALID_REQUEST "broker configs are read-only".
//   - Other resource types: INVALID_REQUEST.
//
// Version notes:
//   - v1: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() {
	register(kmsg.IncrementalAlterConfigs, 0, 1, (*Server).handleIncrementalAlterConfigs)
}

func (s *Server) handleIncrementalAlterConfigs(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()

	resp.Resources = alterConfigs(s, ctx, kmsg.IncrementalAlterConfigs, req.Resources, req.ValidateOnly,
		func(r kmsg.IncrementalAlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
			return r.ResourceType, r.ResourceName
		},
		incrementalSpec,
		func(r kmsg.IncrementalAlterConfigsRequestResource, code int16, msg *string) kmsg.IncrementalAlterConfigsResponseResource {
			rr := kmsg.NewIncrementalAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
			rr.ErrorCode, rr.ErrorMessage = code, msg
			return rr
		})
	return resp, nil
}

// incrementalSpec converts one topic resource. Ops pass through as sent:
// topics refuses one outside 0-3 (INVALID_REQUEST).
func incrementalSpec(r kmsg.IncrementalAlterConfigsRequestResource) topics.AlterSpec {
	spec := topics.AlterSpec{Name: r.ResourceName}
	for _, c := range r.Configs {
		spec.Ops = append(spec.Ops, topics.ConfigOp{Key: c.Name, Op: topics.ConfigOpType(c.Op), Value: c.Value})
	}
	return spec
}
