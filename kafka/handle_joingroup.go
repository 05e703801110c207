package kafka

// JoinGroup: v0-9
//
// Behavior:
//   - The classic group protocol, as Kafka's coordinator runs it
//     (coordinator/consumergroup): the request waits until the group's join phase
//     completes, at most the group's rebalance timeout; members that do not
//     rejoin by then are removed. A new group waits
//     group.initial.rebalance.delay.ms for more members first.
//   - From v4 a dynamic member without a member ID gets MEMBER_ID_REQUIRED
//     with an ID to join again with. Static members (group.instance.id, v5)
//     join at once; a static member rejoining a stable group with unchanged
//     protocols takes over its old assignment without a rebalance (and the
//     old member ID is fenced with FENCED_INSTANCE_ID).
//   - Errors: INVALID_GROUP_ID (empty), NOT_COORDINATOR /
//     COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE (find the
//     coordinator again), INVALID_SESSION_TIMEOUT,
//     INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
//     GROUP_MAX_SIZE_REACHED; Generation -1 with any error.
//
// Version notes:
//   - v1: RebalanceTimeoutMillis (v0 uses the session timeout)
//   - v2: ThrottleMillis; v3: no change
//   - v4: MEMBER_ID_REQUIRED round trip; v5: InstanceID
//   - v6: flexible; v7: ProtocolType in the response; v8: Reason
//   - v9: SkipAssignment (KIP-814) for a static leader that rejoins

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.JoinGroup, 0, 9, (*Server).handleJoinGroup) }

func (s *Server) handleJoinGroup(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.JoinGroupRequest)
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)

	rebalance := req.RebalanceTimeoutMillis
	if req.Version < 1 || rebalance <= 0 {
		rebalance = req.SessionTimeoutMillis
	}
	jr := consumergroup.JoinRequest{
		Group:                req.Group,
		MemberID:             req.MemberID,
		InstanceID:           req.InstanceID,
		RequireKnownMemberID: req.Version >= 4,
		SkipAssignmentOK:     req.Version >= 9,
		ProtocolType:         req.ProtocolType,
		SessionTimeoutMs:     req.SessionTimeoutMillis,
		RebalanceTimeoutMs:   rebalance,
		Client:               clientOf(ctx),
	}
	if req.Version < 5 {
		jr.InstanceID = nil
	}
	if req.Reason != nil {
		jr.Reason = *req.Reason
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, consumergroup.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	wait := min(time.Duration(max(rebalance, 0))*time.Millisecond, 10*time.Minute)
	ctx, cancel := groupContext(ctx, wait)
	defer cancel()
	r := s.cfg.Groups.Join(ctx, jr)

	resp.MemberID = r.MemberID
	if r.Err != nil {
		resp.ErrorCode = s.errCode(kmsg.JoinGroup, r.Err)
		resp.Generation = -1
		if req.Version >= 7 {
			resp.ProtocolType, resp.Protocol = nil, nil
		}
		return resp, nil
	}
	resp.Generation = r.Generation
	resp.ProtocolType, resp.Protocol = r.ProtocolType, r.Protocol
	resp.LeaderID = r.LeaderID
	resp.SkipAssignment = r.SkipAssignment && req.Version >= 9
	for _, m := range r.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
