package kafka

// ConsumerGroupHeartbeat: v0-1 (KIP-848)
//
// Behavior:
//   - The next-generation consumer group protocol: the coordinator assigns
//     partitions itself (group.consumer.assignors: uniform, range) and each
//     heartbeat reconciles the member towards its target: revocations
//     first, then new partitions once no other member holds them.
//   - MemberEpoch 0 joins (v1 members bring their own member ID; v0 gets
//     one), -1 leaves, -2 leaves for now (static members keep their
//     partitions reserved until their session times out).
//   - Errors: INVALID_REQUEST (malformed fields), UNSUPPORTED_ASSIGNOR,
//     INVALID_REGULAR_EXPRESSION, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
//     FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED,
//     GROUP_ID_NOT_FOUND (a classic group with members), and the
//     coordinator codes.
//   - Advertised only when the GroupService serves the protocol
//     (GroupService.ConsumerProtocol).
//
// Version notes:
//   - v1: SubscribedTopicRegex; the client generates its member ID

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() {
	registerConsumerGroup(kmsg.ConsumerGroupHeartbeat, 0, 1, (*Server).handleConsumerGroupHeartbeat)
}

func (s *Server) handleConsumerGroupHeartbeat(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	hr := consumergroup.ConsumerHeartbeatRequest{
		Group: req.Group, MemberID: req.MemberID, MemberEpoch: req.MemberEpoch,
		InstanceID: req.InstanceID, RackID: req.RackID, RebalanceTimeoutMs: req.RebalanceTimeoutMillis,
		SubscribedTopicNames: req.SubscribedTopicNames, ServerAssignor: req.ServerAssignor,
		Client: clientOf(ctx),
	}
	if req.Version >= 1 {
		hr.SubscribedTopicRegex = req.SubscribedTopicRegex
	}
	if req.Topics != nil {
		hr.Topics = make([]consumergroup.TopicPartitions, 0, len(req.Topics))
		for _, t := range req.Topics {
			hr.Topics = append(hr.Topics, consumergroup.TopicPartitions{ID: t.TopicID, Partitions: t.Partitions})
		}
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	r := s.cfg.Groups.ConsumerHeartbeat(ctx, hr)
	resp.HeartbeatIntervalMillis = r.HeartbeatIntervalMs
	if r.Err != nil {
		resp.ErrorCode = s.errCode(kmsg.ConsumerGroupHeartbeat, r.Err)
		resp.ErrorMessage = errorMessage(r.Err)
		if req.MemberID != "" {
			resp.MemberID = kmsg.StringPtr(req.MemberID)
		}
		resp.MemberEpoch = req.MemberEpoch
		return resp, nil
	}
	resp.MemberID = kmsg.StringPtr(r.MemberID)
	resp.MemberEpoch = r.MemberEpoch
	if r.HasAssignment {
		a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
		a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
		for _, t := range r.Assignment {
			at := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			at.TopicID, at.Partitions = t.ID, t.Partitions
			a.Topics = append(a.Topics, at)
		}
		resp.Assignment = &a
	}
	return resp, nil
}
