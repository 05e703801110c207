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

	items := make([]prepared[topics.AlterSpec], len(req.Resources))
	for i, r := range req.Resources {
		it := prepared[topics.AlterSpec]{name: r.ResourceName}
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			it.spec = topics.AlterSpec{Name: r.ResourceName, Replace: true}
			for _, c := range r.Configs {
				it.spec.Ops = append(it.spec.Ops, topics.ConfigOp{Key: c.Name, Op: topics.OpSet, Value: c.Value})
			}
		case kmsg.ConfigResourceTypeBroker:
			it.err = errBrokerConfigsReadOnly
		default:
			it.err = unsupportedResource(r.ResourceType)
		}
		items[i] = it
	}
	results := runPrepared(items, func(specs []topics.AlterSpec) ([]topics.TopicResult, error) {
		return s.cfg.Topics.AlterConfigs(ctx, specs, req.ValidateOnly)
	})

	resp.Resources = make([]kmsg.AlterConfigsResponseResource, 0, len(results))
	for i, r := range results {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = req.Resources[i].ResourceType, req.Resources[i].ResourceName
		rr.ErrorCode = s.errCode(kmsg.AlterConfigs, r.Err)
		rr.ErrorMessage = errorMessage(r.Err)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}
