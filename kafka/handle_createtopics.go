package kafka

// CreateTopics: v2-7
//
// v0-1 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one TopicService.Create call (one Raft proposal),
//     with a deadline from TimeoutMillis (deadline.go). The answer comes
//     after the commit, when every partition has a leader (DESIGN §4).
//   - Manual assignments pass through as sent, with each entry's partition
//     index; topics.Service checks and orders them (a gap, a duplicate
//     partition, an assignment next to NumPartitions/ReplicationFactor is
//     rejected for that topic alone).
//   - Per-topic errors map through errors.go; a whole-request failure gives
//     every topic the same retriable code (NOT_CONTROLLER when nothing was
//     written, REQUEST_TIMED_OUT when the outcome is unknown).
//
// Version notes:
//   - v1: ValidateOnly, ErrorMessage; v2: ThrottleMillis
//   - v4: NumPartitions/ReplicationFactor may be -1 (broker defaults)
//   - v5: flexible; NumPartitions, ReplicationFactor and Configs in the
//     response; v7: TopicID

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.CreateTopics, 2, 7, (*Server).handleCreateTopics) }

func (s *Server) handleCreateTopics(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	ctx, cancel := adminContext(ctx, req.TimeoutMillis)
	defer cancel()

	items := make([]prepared[topics.CreateSpec], len(req.Topics))
	for i := range req.Topics {
		items[i] = prepared[topics.CreateSpec]{spec: createSpec(&req.Topics[i]), name: req.Topics[i].Topic}
	}
	opts := topics.CreateOptions{ValidateOnly: req.ValidateOnly}
	results := runPrepared(items, func(specs []topics.CreateSpec) ([]topics.TopicResult, error) {
		return s.cfg.Topics.Create(ctx, specs, opts)
	})

	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, 0, len(results))
	for i, r := range results {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = req.Topics[i].Topic
		rt.ErrorCode = s.errCode(kmsg.CreateTopics, r.Err)
		rt.ErrorMessage = errorMessage(r.Err)
		if r.Err == nil {
			rt.TopicID = r.ID
			rt.NumPartitions = r.NumPartitions
			rt.ReplicationFactor = r.ReplicationFactor
			rt.Configs = createTopicConfigs(r.Configs)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// createSpec converts one request topic. A manual assignment keeps the
// request's order, with each entry's partition in PartitionIndexes: topics
// checks and orders it (Kafka's rules and messages).
func createSpec(rt *kmsg.CreateTopicsRequestTopic) topics.CreateSpec {
	spec := topics.CreateSpec{
		Name:              rt.Topic,
		NumPartitions:     rt.NumPartitions,
		ReplicationFactor: rt.ReplicationFactor,
	}
	for _, c := range rt.Configs {
		spec.Configs = append(spec.Configs, topics.ConfigValue{Key: c.Name, Value: c.Value})
	}
	if len(rt.ReplicaAssignment) == 0 {
		return spec
	}
	spec.Assignment = make([][]int32, len(rt.ReplicaAssignment))
	spec.PartitionIndexes = make([]int32, len(rt.ReplicaAssignment))
	for i, a := range rt.ReplicaAssignment {
		spec.Assignment[i], spec.PartitionIndexes[i] = a.Replicas, a.Partition
	}
	return spec
}

// createTopicConfigs reports a created topic's configs (v5+).
func createTopicConfigs(cfgs []topics.ResolvedConfig) []kmsg.CreateTopicsResponseTopicConfig {
	out := make([]kmsg.CreateTopicsResponseTopicConfig, 0, len(cfgs))
	for _, rc := range cfgs {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name = rc.Key
		c.Value = configValue(rc)
		c.ReadOnly = rc.ReadOnly
		c.Source = int8(rc.Source)
		c.IsSensitive = rc.Sensitive
		out = append(out, c)
	}
	return out
}

// configValue is a config's wire value: null for sensitive configs.
func configValue(rc topics.ResolvedConfig) *string {
	if rc.Sensitive {
		return nil
	}
	v := rc.Value
	return &v
}
