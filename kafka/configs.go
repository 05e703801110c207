package kafka

import (
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
