package kafka

// DescribeTopicPartitions: v0 (KIP-966)
//
// Behavior (Kafka's DescribeTopicPartitionsRequestHandler):
//   - One linearizable Describe per request. Topics are the requested ones
//     (each once), or every topic for an empty list, in name order.
//   - Paging: at most min(ResponsePartitionLimit, 2000) partitions per
//     answer. A Cursor{Topic, Partition} starts the listing at that topic
//     (topics before it in name order are skipped) and partition (other
//     topics start at 0); its topic must be one of the requested topics
//     (INVALID_REQUEST for every topic otherwise, or for a negative
//     partition). When the limit cuts a topic, NextCursor names that topic
//     and the first partition not returned; when it is reached exactly at
//     the end of a topic and topics remain, NextCursor names the next topic
//     at partition 0. NextCursor is null on the last page.
//   - A missing topic is UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION
//     for an illegal name), with a zero topic ID and no partitions; it takes
//     no room in the page.
//   - Partitions report leader and epoch, replicas, ISR and offline
//     replicas as Metadata does (handle_metadata.go). There are no eligible
//     leader replicas (KIP-966 ELR): both ELR lists are empty.
//   - AuthorizedOperations is left at its default (no ACLs).

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() {
	register(kmsg.DescribeTopicPartitions, 0, 0, (*Server).handleDescribeTopicPartitions)
}

// maxDescribePartitions is Kafka's max.request.partition.size.limit.
const maxDescribePartitions = 2000

func (s *Server) handleDescribeTopicPartitions(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeTopicPartitionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()

	requested := map[string]bool{}
	var names []string
	for _, rt := range req.Topics {
		if !requested[rt.Topic] {
			requested[rt.Topic] = true
			names = append(names, rt.Topic)
		}
	}
	all := len(names) == 0
	if c := req.Cursor; c != nil && (c.Partition < 0 || (!all && !requested[c.Topic])) {
		for _, n := range names {
			t := kmsg.NewDescribeTopicPartitionsResponseTopic()
			t.Topic = kmsg.StringPtr(n)
			t.ErrorCode = s.countCode(kmsg.DescribeTopicPartitions, kerr.InvalidRequest.Code)
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil
	}
	q := topics.Query{All: all, Names: names}
	view, err := s.cfg.Topics.Describe(ctx, q)
	if err != nil {
		return nil, err // as Metadata: clients retry on a new connection
	}
	byName := make(map[string]*topics.Topic, len(view.Topics))
	for _, t := range view.Topics {
		byName[t.Name] = t
		if all {
			names = append(names, t.Name)
		}
	}
	sort.Strings(names)
	start := func(string) int32 { return 0 }
	if c := req.Cursor; c != nil {
		i := sort.SearchStrings(names, c.Topic)
		names = names[i:]
		start = func(name string) int32 {
			if name == c.Topic {
				return c.Partition
			}
			return 0
		}
	}

	alive := aliveSet(view.Brokers)
	remaining := min(req.ResponsePartitionLimit, maxDescribePartitions)
	for _, name := range names {
		if remaining <= 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: 0}
			break
		}
		t := byName[name]
		if t == nil {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.Topic = kmsg.StringPtr(name)
			code := kerr.UnknownTopicOrPartition.Code
			if !legalTopicName(name) {
				code = kerr.InvalidTopicException.Code
			}
			rt.ErrorCode = s.countCode(kmsg.DescribeTopicPartitions, code)
			rt.IsInternal = name == "__consumer_offsets" || name == "__transaction_state"
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		mt := s.metadataTopic(view, t, alive)
		from := min(int(start(name)), len(mt.Partitions))
		upper := min(len(mt.Partitions), from+int(remaining))
		rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
		rt.Topic = kmsg.StringPtr(t.Name)
		rt.TopicID = t.ID
		rt.IsInternal = t.Internal
		rt.Partitions = make([]kmsg.DescribeTopicPartitionsResponseTopicPartition, 0, upper-from)
		for _, mp := range mt.Partitions[from:upper] {
			p := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
			p.ErrorCode, p.Partition, p.LeaderID, p.LeaderEpoch = mp.ErrorCode, mp.Partition, mp.Leader, mp.LeaderEpoch
			p.Replicas, p.ISR, p.OfflineReplicas = mp.Replicas, mp.ISR, mp.OfflineReplicas
			p.EligibleLeaderReplicas, p.LastKnownELR = []int32{}, []int32{}
			if p.OfflineReplicas == nil {
				p.OfflineReplicas = []int32{}
			}
			rt.Partitions = append(rt.Partitions, p)
		}
		resp.Topics = append(resp.Topics, rt)
		if upper < len(mt.Partitions) {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: t.Name, Partition: int32(upper)}
			break
		}
		remaining -= int32(upper - from)
	}
	return resp, nil
}

// legalTopicName is Kafka's Topic.validate: 1-249 characters of
// [a-zA-Z0-9._-], and not "." or "..".
func legalTopicName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
