package kafka

// LeaveGroup: v0-5
//
// Behavior:
//   - Each member leaves its group, which rebalances. From v3 a request
//     names several members, static ones by instance ID (their member ID
//     is resolved and echoed; a mismatch is FENCED_INSTANCE_ID). Unknown
//     members get UNKNOWN_MEMBER_ID. Coordinator errors are top-level.
//   - v0-2 carry one member: its outcome is the top-level error.
//
// Version notes:
//   - v1: ThrottleMillis; v2: no change; v3: Members (batch)
//   - v4: flexible; v5: Reason (logged)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.LeaveGroup, 0, 5, (*Server).handleLeaveGroup) }

func (s *Server) handleLeaveGroup(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []consumergroup.LeaveMember
	if req.Version < 3 {
		members = []consumergroup.LeaveMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			lm := consumergroup.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID}
			if m.Reason != nil {
				lm.Reason = *m.Reason
			}
			members = append(members, lm)
		}
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	results, err := s.cfg.Groups.Leave(ctx, req.Group, members)
	if err != nil {
		resp.ErrorCode = s.errCode(kmsg.LeaveGroup, err)
		return resp, nil
	}
	if req.Version < 3 {
		if r, ok := at(results, 0); ok {
			resp.ErrorCode = s.errCode(kmsg.LeaveGroup, r.Err)
		} else {
			resp.ErrorCode = s.errCode(kmsg.LeaveGroup, errGroupResults)
		}
		return resp, nil
	}
	for i, m := range members {
		r, ok := at(results, i)
		if !ok {
			r = consumergroup.LeaveResult{MemberID: m.MemberID, InstanceID: m.InstanceID, Err: errGroupResults}
		}
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = r.MemberID, r.InstanceID
		rm.ErrorCode = s.errCode(kmsg.LeaveGroup, r.Err)
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
