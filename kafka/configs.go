package kafka

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

// errBrokerConfigsReadOnly answers any attempt to alter broker configs:
// Skiff's broker configs are static (flags).
var errBrokerConfigsReadOnly = invalidRequest("broker configs are read-only")

// checkBrokerResource accepts a BROKER resource name that addresses this
// node: our ID, or "" (the cluster-wide default), as Kafka does.
func (s *Server) checkBrokerResource(name string) error {
	if name == "" {
		return nil
	}
	if id, err := strconv.ParseInt(name, 10, 32); err == nil && int32(id) == s.cfg.NodeID {
		return nil
	}
	return invalidRequest(fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %s", s.cfg.NodeID, name))
}

// unsupportedResource is the error for resource types other than TOPIC and
// BROKER.
func unsupportedResource(t kmsg.ConfigResourceType) error {
	return invalidRequest(fmt.Sprintf("Unsupported resource type %s", t))
}

// describeConfig converts one resolved config for DescribeConfigs.
func describeConfig(rc topics.ResolvedConfig, synonyms, docs bool) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = rc.Key
	c.Value = configValue(rc)
	c.ReadOnly = rc.ReadOnly
	c.IsDefault = rc.Source == topics.SourceDefault
	c.Source = kmsg.ConfigSource(rc.Source)
	c.IsSensitive = rc.Sensitive
	c.ConfigType = kmsg.ConfigType(rc.Type)
	if synonyms {
		// The config's own value is its first (and, without dynamic
		// broker configs, only) synonym, as Kafka lists it.
		syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		syn.Name, syn.Value, syn.Source = rc.Key, c.Value, c.Source
		c.ConfigSynonyms = []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{syn}
	}
	if docs && rc.Doc != "" {
		doc := rc.Doc
		c.Documentation = &doc
	}
	return c
}

// alterConfigs answers the resources of an AlterConfigs or
// IncrementalAlterConfigs request, which differ only in their types and in
// how a topic resource becomes an AlterSpec (topicSpec): TOPIC resources go
// to topics in one call, BROKER ones are read-only, other types are
// unsupported. answer builds the response resource for resources[i].
func alterConfigs[Req, Resp any](s *Server, ctx context.Context, key kmsg.Key, resources []Req, validateOnly bool,
	ident func(Req) (kmsg.ConfigResourceType, string), topicSpec func(Req) topics.AlterSpec,
	answer func(r Req, code int16, msg *string) Resp,
) []Resp {
	items := make([]prepared[topics.AlterSpec], len(resources))
	for i, r := range resources {
		typ, name := ident(r)
		it := prepared[topics.AlterSpec]{name: name}
		switch typ {
		case kmsg.ConfigResourceTypeTopic:
			it.spec = topicSpec(r)
		case kmsg.ConfigResourceTypeBroker:
			it.err = errBrokerConfigsReadOnly
		default:
			it.err = unsupportedResource(typ)
		}
		items[i] = it
	}
	results := runPrepared(items, func(specs []topics.AlterSpec) ([]topics.TopicResult, error) {
		return s.cfg.Topics.AlterConfigs(ctx, specs, validateOnly)
	})
	out := make([]Resp, 0, len(results))
	for i, r := range results {
		out = append(out, answer(resources[i], s.errCode(key, r.Err), errorMessage(r.Err)))
	}
	return out
}
