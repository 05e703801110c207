package kafka

// DescribeConfigs: v1-4
//
// v0-0 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - TOPIC resources: one Describe for all of them, then
//     TopicService.TopicConfigs. A missing topic is
//     UNKNOWN_TOPIC_OR_PARTITION; a failed read gives every topic resource
//     the mapped retriable code.
//   - BROKER resources: our node ID or "" -> TopicService.BrokerConfigs
//     (read-only); another broker ID is INVALID_REQUEST, as in Kafka.
//   - Other resource types are INVALID_REQUEST.
//   - ConfigNames filters the keys (null or empty: all, as in Kafka; unknown
//     keys are omitted).
//   - Sensitive values are null.
//
// Version notes:
//   - v1: IncludeSynonyms (the config itself is listed as its only
//     synonym), Source replaces IsDefault
//   - v3: IncludeDocumentation, ConfigType; v4: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.DescribeConfigs, 1, 4, (*Server).handleDescribeConfigs) }

func (s *Server) handleDescribeConfigs(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()

	var names []string
	for _, r := range req.Resources {
		if r.ResourceType == kmsg.ConfigResourceTypeTopic {
			names = append(names, r.ResourceName)
		}
	}
	var (
		found   = map[string]*topics.Topic{}
		readErr error
	)
	if len(names) > 0 {
		view, err := s.cfg.Topics.Describe(ctx, topics.Query{Names: names})
		readErr = err
		if err == nil {
			for _, t := range view.Topics {
				found[t.Name] = t
			}
		}
	}

	synonyms := req.Version >= 1 && req.IncludeSynonyms
	docs := req.Version >= 3 && req.IncludeDocumentation
	resp.Resources = make([]kmsg.DescribeConfigsResponseResource, 0, len(req.Resources))
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName

		var (
			cfgs []topics.ResolvedConfig
			err  error
		)
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			switch t := found[r.ResourceName]; {
			case readErr != nil:
				err = readErr
			case t == nil:
				err = &codeError{kind: topics.ErrUnknownTopic, msg: kerr.UnknownTopicOrPartition.Description}
			default:
				cfgs = s.cfg.Topics.TopicConfigs(t)
			}
		case kmsg.ConfigResourceTypeBroker:
			if err = s.checkBrokerResource(r.ResourceName); err == nil {
				cfgs = s.cfg.Topics.BrokerConfigs()
			}
		default:
			err = unsupportedResource(r.ResourceType)
		}
		if err != nil {
			rr.ErrorCode = s.errCode(kmsg.DescribeConfigs, err)
			rr.ErrorMessage = errorMessage(err)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		rr.Configs = describeConfigs(cfgs, r.ConfigNames, synonyms, docs)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// describeConfigs converts cfgs, keeping only the keys in want (all when
// want is empty).
func describeConfigs(cfgs []topics.ResolvedConfig, want []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	var keep map[string]bool
	if len(want) > 0 {
		keep = make(map[string]bool, len(want))
		for _, k := range want {
			keep[k] = true
		}
	}
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(cfgs))
	for _, rc := range cfgs {
		if keep != nil && !keep[rc.Key] {
			continue
		}
		out = append(out, describeConfig(rc, synonyms, docs))
	}
	return out
}
