package kafka

// OffsetFetch: v1-10
//
// v0-0 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - Committed offsets from the coordinator's memory, which is the fold of
//     the group's __consumer_offsets partition. A partition without a
//     commit, or a group that does not exist, reads as offset -1 without
//     an error (Kafka's answer); null topics (v2+) list every commit.
//   - v8+ asks for several groups, each answered on its own (a group whose
//     coordinator is elsewhere gets NOT_COORDINATOR, the others their
//     offsets). RequireStable (v7) needs no waiting: Skiff has no
//     transactions, so no commit is ever pending.
//   - v9: a KIP-848 member's fetch is checked against its epoch
//     (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH); v10 names topics by ID.
//
// Version notes:
//   - v1: offsets from Kafka-based storage (the only kind here)
//   - v2: top-level ErrorCode, null topics = all; v3: ThrottleMillis
//   - v5: LeaderEpoch; v6: flexible; v7: RequireStable
//   - v8: Groups (batch); v9: MemberID/MemberEpoch; v10: TopicID

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.OffsetFetch, 1, 10, (*Server).handleOffsetFetch) }

func (s *Server) handleOffsetFetch(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	var fgs []consumergroup.FetchGroup
	if req.Version < 8 {
		fg := consumergroup.FetchGroup{Group: req.Group, MemberEpoch: -1}
		if req.Topics != nil || req.Version < 2 {
			fg.Topics = []consumergroup.FetchTopic{}
			for _, t := range req.Topics {
				fg.Topics = append(fg.Topics, consumergroup.FetchTopic{Name: t.Topic, Partitions: t.Partitions})
			}
		}
		fgs = append(fgs, fg)
	} else {
		for _, g := range req.Groups {
			fg := consumergroup.FetchGroup{Group: g.Group, MemberEpoch: -1}
			if req.Version >= 9 {
				fg.MemberID, fg.MemberEpoch = g.MemberID, g.MemberEpoch
			}
			if g.Topics != nil {
				fg.Topics = []consumergroup.FetchTopic{}
				for _, t := range g.Topics {
					ft := consumergroup.FetchTopic{Name: t.Topic, Partitions: t.Partitions}
					if req.Version >= 10 {
						ft = consumergroup.FetchTopic{ID: t.TopicID, Partitions: t.Partitions}
					}
					fg.Topics = append(fg.Topics, ft)
				}
			}
			fgs = append(fgs, fg)
		}
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	results := s.cfg.Groups.Fetch(ctx, fgs)

	for i, fg := range fgs {
		r, ok := at(results, i)
		if !ok || r.Group != fg.Group {
			r = consumergroup.FetchedGroup{Group: fg.Group, Err: errGroupResults}
		}
		sg := kmsg.NewOffsetFetchResponseGroup()
		sg.Group = fg.Group
		sg.ErrorCode = s.errCode(kmsg.OffsetFetch, r.Err)
		for _, t := range r.Topics {
			st := kmsg.NewOffsetFetchResponseGroupTopic()
			st.Topic, st.TopicID = t.Name, t.ID
			for _, p := range t.Partitions {
				sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata
				sp.ErrorCode = s.errCode(kmsg.OffsetFetch, p.Err)
				st.Partitions = append(st.Partitions, sp)
			}
			sg.Topics = append(sg.Topics, st)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	if req.Version >= 8 {
		return resp, nil
	}
	// v0-7: one group, its topics at the top level.
	g := resp.Groups[0]
	resp.Groups = nil
	resp.ErrorCode = g.ErrorCode
	for _, t := range g.Topics {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t.Topic
		for _, p := range t.Partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Version < 2 && g.ErrorCode != 0 {
		// No top-level code before v2: every requested partition carries it.
		for _, t := range req.Topics {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = t.Topic
			for _, p := range t.Partitions {
				sp := kmsg.NewOffsetFetchResponseTopicPartition()
				sp.Partition, sp.Offset, sp.ErrorCode = p, -1, g.ErrorCode
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
	}
	return resp, nil
}
