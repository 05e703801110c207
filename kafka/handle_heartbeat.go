package kafka

// Heartbeat: v0-4
//
// Behavior:
//   - Keeps a classic member's session alive. REBALANCE_IN_PROGRESS tells
//     a member of the current generation to rejoin; UNKNOWN_MEMBER_ID,
//     ILLEGAL_GENERATION and FENCED_INSTANCE_ID that it is out; the
//     coordinator codes that it must find the coordinator again.
//
// Version notes:
//   - v1: ThrottleMillis; v2: no change; v3: InstanceID; v4: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.Heartbeat, 0, 4, (*Server).handleHeartbeat) }

func (s *Server) handleHeartbeat(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	hr := consumergroup.HeartbeatRequest{Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID, Generation: req.Generation}
	if req.Version < 3 {
		hr.InstanceID = nil
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	if err := s.cfg.Groups.Heartbeat(ctx, hr); err != nil {
		resp.ErrorCode = s.errCode(kmsg.Heartbeat, err)
	}
	return resp, nil
}
