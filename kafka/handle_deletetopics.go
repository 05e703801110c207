package kafka

// DeleteTopics: v1-6
//
// v0-0 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one TopicService.Delete call, with a deadline
//     from TimeoutMillis.
//   - Topics are named (v0-5 TopicNames; v6 Topics[].Topic) or, from v6,
//     given by TopicID with a null name. Both at once is INVALID_REQUEST;
//     neither is UNKNOWN_TOPIC_ID.
//   - An unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown ID
//     UNKNOWN_TOPIC_ID. A topic deleted by ID reports its name.
//
// Version notes:
//   - v1: ThrottleMillis; v4: flexible; v5: ErrorMessage
//   - v6: Topics with TopicID in the request, TopicID in the response

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.DeleteTopics, 1, 6, (*Server).handleDeleteTopics) }

func (s *Server) handleDeleteTopics(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	ctx, cancel := adminContext(ctx, req.TimeoutMillis)
	defer cancel()

	var items []prepared[topics.DeleteSpec]
	if req.Version < 6 {
		for _, name := range req.TopicNames {
			items = append(items, prepared[topics.DeleteSpec]{spec: topics.DeleteSpec{Name: name}, name: name})
		}
	} else {
		for _, rt := range req.Topics {
			items = append(items, deleteItem(rt))
		}
	}
	results := runPrepared(items, func(specs []topics.DeleteSpec) ([]topics.TopicResult, error) {
		return s.cfg.Topics.Delete(ctx, specs)
	})

	resp.Topics = make([]kmsg.DeleteTopicsResponseTopic, 0, len(results))
	for _, r := range results {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		if r.Name != "" {
			name := r.Name
			rt.Topic = &name
		}
		rt.TopicID = r.ID
		rt.ErrorCode = s.errCode(kmsg.DeleteTopics, r.Err)
		rt.ErrorMessage = errorMessage(r.Err)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// deleteItem converts one v6+ request topic.
func deleteItem(rt kmsg.DeleteTopicsRequestTopic) prepared[topics.DeleteSpec] {
	id := topics.TopicID(rt.TopicID)
	switch {
	case rt.Topic != nil && !id.IsZero():
		return prepared[topics.DeleteSpec]{name: *rt.Topic, id: id,
			err: invalidRequest("Cannot specify both a topic name and a topic ID.")}
	case rt.Topic != nil:
		return prepared[topics.DeleteSpec]{spec: topics.DeleteSpec{Name: *rt.Topic}, name: *rt.Topic}
	case id.IsZero():
		return prepared[topics.DeleteSpec]{err: &codeError{kind: topics.ErrUnknownTopicID,
			msg: "A topic name or a non-zero topic ID is required."}}
	default:
		return prepared[topics.DeleteSpec]{spec: topics.DeleteSpec{ID: id}, id: id}
	}
}
