package topics

import (
	"context"
	"encoding/base64"

	"github.com/skiff-broker/skiff/statemachine"
)

// Delete deletes topics (DeleteTopics), by name or, when Name is "", by ID.
// One read resolves IDs to names (the command needs the name; apply also
// checks the ID) and names to IDs (for the results); one proposal of
// DeleteTopic commands follows. Deleting by name sends the name alone, so
// existence is decided in apply. Internal topics may be deleted (Kafka
// allows deleting __consumer_offsets too; the group coordinator re-creates
// it).
//
// Names found by the read are deleted by name and ID, which makes the batch
// safe to propose again after an unknown outcome (ErrTimeout): when a
// re-proposal finds the topic with that ID gone, the earlier attempt
// deleted it, and the result is success. Names not found are still proposed
// by name alone, so apply decides their existence.
func (s *Service) Delete(ctx context.Context, specs []DeleteSpec) ([]TopicResult, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	var q statemachine.QueryTopics
	for _, sp := range specs {
		if sp.Name != "" {
			q.Names = append(q.Names, sp.Name)
		} else if !sp.ID.IsZero() {
			q.IDs = append(q.IDs, sp.ID)
		}
	}
	view, err := s.read(ctx, "delete topics", q)
	if err != nil {
		return nil, err
	}
	p := planDelete(specs, view)
	if len(p.batch.Cmds) == 0 {
		return p.results, nil
	}
	res, attempts, err := s.proposeCounted(ctx, "delete_topics", p.batch, true)
	if err != nil {
		return nil, err
	}
	for i, at := range p.at {
		if at < 0 {
			continue
		}
		r := &p.results[i]
		switch code := res.Codes[at]; code {
		case statemachine.CodeOK:
			s.log.Info().Str("topic", r.Name).Msg("topic deleted")
		case statemachine.CodeUnknownTopic, statemachine.CodeConditionFailed:
			if attempts > 1 && !p.batch.Cmds[at].(statemachine.DeleteTopic).ID.IsZero() {
				s.log.Info().Str("topic", r.Name).Msg("topic deleted (by an earlier attempt of this request)")
				continue
			}
			*r = unknownTopic(specs[i], r.Name)
		default:
			*r = failed(r.Name, errorf(ErrInvalidRequest, "Deleting topic '%s' failed in the metadata shard (code %d).", r.Name, code))
		}
	}
	return p.results, nil
}

// planDelete resolves specs against view and builds one batch of
// DeleteTopic commands. A topic named twice (by name or ID, after
// resolution) gets ErrDuplicateTopic on every occurrence.
func planDelete(specs []DeleteSpec, view *View) batchPlan {
	p := newBatchPlan(len(specs))
	byName := make(map[string]*Topic, len(view.Topics))
	byID := make(map[TopicID]*Topic, len(view.Topics))
	for _, t := range view.Topics {
		byName[t.Name], byID[t.ID] = t, t
	}
	type key struct {
		name string
		id   TopicID
	}
	keys := make([]key, len(specs))
	names := make([]string, len(specs))
	for i, sp := range specs {
		switch {
		case sp.Name != "":
			names[i] = sp.Name
		case byID[sp.ID] != nil:
			names[i] = byID[sp.ID].Name
		}
		keys[i] = key{name: names[i]}
		if names[i] == "" {
			keys[i].id = sp.ID
		}
	}
	dup := duplicates(keys)
	for i, sp := range specs {
		p.at[i] = -1
		name := names[i]
		switch {
		case sp.Name == "" && sp.ID.IsZero():
			p.results[i] = failed("", errorf(ErrInvalidRequest, "Neither topic name nor topic ID was set."))
		case dup[i]:
			p.results[i] = failed(name, errorf(ErrDuplicateTopic, "Topic '%s' appears more than once in the request.", displayName(sp, name)))
		case name == "":
			p.results[i] = unknownTopic(sp, "")
		default:
			id := sp.ID
			if t := byName[name]; id.IsZero() && t != nil {
				id = t.ID
			}
			// With the ID the command deletes exactly the topic that was
			// read, so proposing it again after an unknown outcome cannot
			// delete a re-created topic of the same name.
			cmd := statemachine.DeleteTopic{Name: name, ID: id}
			p.at[i] = len(p.batch.Cmds)
			p.batch.Cmds = append(p.batch.Cmds, cmd)
			p.results[i] = TopicResult{Name: name, ID: id}
		}
	}
	return p
}

// unknownTopic is the result for a topic to delete that does not exist.
func unknownTopic(sp DeleteSpec, name string) TopicResult {
	if sp.Name == "" {
		return TopicResult{Name: name, ID: sp.ID, NumPartitions: -1, ReplicationFactor: -1, Err: &topicError{
			kinds: []error{ErrUnknownTopicID, ErrUnknownTopic},
			msg:   "Topic ID " + FormatTopicID(sp.ID) + " does not exist.",
		}}
	}
	r := failed(sp.Name, errorf(ErrUnknownTopic, "Topic '%s' does not exist.", sp.Name))
	r.ID = sp.ID
	return r
}

func displayName(sp DeleteSpec, name string) string {
	if name != "" {
		return name
	}
	return FormatTopicID(sp.ID)
}

// FormatTopicID formats id as Kafka does (URL-safe base64, no padding).
func FormatTopicID(id TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}
