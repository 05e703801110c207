package kafka

// ConsumerGroupDescribe: v0-1 (KIP-848)
//
// Behavior:
//   - Describes consumer groups (the KIP-848 kind): state, group epoch,
//     target assignment epoch, assignor, and per member its epoch,
//     subscription, current and target assignment. A classic group, or
//     one that does not exist, gets GROUP_ID_NOT_FOUND; a group
//     coordinated elsewhere NOT_COORDINATOR. AuthorizedOperations is not
//     computed (no ACLs).
//
// Version notes:
//   - v1: MemberType (always 1, consumer)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() {
	registerConsumerGroup(kmsg.ConsumerGroupDescribe, 0, 1, (*Server).handleConsumerGroupDescribe)
}

func (s *Server) handleConsumerGroupDescribe(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ConsumerGroupDescribeRequest)
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()
	results := s.cfg.Groups.ConsumerDescribe(ctx, req.Groups)
	assignment := func(tps []consumergroup.TopicPartitions) kmsg.Assignment {
		a := kmsg.NewAssignment()
		for _, t := range tps {
			tp := kmsg.NewAssignmentTopicPartition()
			tp.TopicID, tp.Partitions = t.ID, t.Partitions
			a.TopicPartitions = append(a.TopicPartitions, tp)
		}
		return a
	}
	for i, name := range req.Groups {
		r, ok := at(results, i)
		if !ok || r.Group != name {
			r = consumergroup.ConsumerGroupDescription{Group: name, Err: errGroupResults}
		}
		sg := kmsg.NewConsumerGroupDescribeResponseGroup()
		sg.Group = name
		if r.Err != nil {
			sg.ErrorCode = s.errCode(kmsg.ConsumerGroupDescribe, r.Err)
			sg.ErrorMessage = errorMessage(r.Err)
			resp.Groups = append(resp.Groups, sg)
			continue
		}
		sg.State, sg.Epoch, sg.AssignmentEpoch, sg.AssignorName = r.State, r.Epoch, r.AssignmentEpoch, r.AssignorName
		for _, m := range r.Members {
			sm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
			sm.MemberID, sm.InstanceID, sm.RackID, sm.MemberEpoch = m.MemberID, m.InstanceID, m.RackID, m.MemberEpoch
			sm.ClientID, sm.ClientHost = m.ClientID, m.ClientHost
			sm.SubscribedTopics, sm.SubscribedTopicRegex = m.SubscribedTopics, m.SubscribedTopicRegex
			sm.Assignment, sm.TargetAssignment = assignment(m.Assignment), assignment(m.TargetAssignment)
			sm.MemberType = 1
			sg.Members = append(sg.Members, sm)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}
