package kafka

// SyncGroup: v0-5
//
// Behavior:
//   - Members of a generation wait here for the leader's assignment. The
//     leader's request writes the assignment (a group metadata record) to
//     __consumer_offsets through Raft before anyone gets it, so that a new
//     coordinator after a failover knows the generation.
//   - Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID,
//     REBALANCE_IN_PROGRESS (the group started another join phase),
//     INCONSISTENT_GROUP_PROTOCOL (v5 fields that do not match), and the
//     coordinator codes.
//
// Version notes:
//   - v1: ThrottleMillis; v2: no change; v3: InstanceID
//   - v4: flexible; v5: ProtocolType and Protocol in request and response

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.SyncGroup, 0, 5, (*Server).handleSyncGroup) }

// syncWait bounds a SyncGroup's wait for the leader; the coordinator
// itself ends the sync phase after the rebalance timeout.
const syncWait = 10 * time.Minute

func (s *Server) handleSyncGroup(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.SyncGroupRequest)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	sr := consumergroup.SyncRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID, Generation: req.Generation,
	}
	if req.Version < 3 {
		sr.InstanceID = nil
	}
	if req.Version >= 5 {
		sr.ProtocolType, sr.Protocol = req.ProtocolType, req.Protocol
	}
	for _, a := range req.GroupAssignment {
		sr.Assignments = append(sr.Assignments, consumergroup.Assignment{MemberID: a.MemberID, Data: a.MemberAssignment})
	}
	ctx, cancel := groupContext(ctx, syncWait)
	defer cancel()
	r := s.cfg.Groups.Sync(ctx, sr)
	if r.Err != nil {
		resp.ErrorCode = s.errCode(kmsg.SyncGroup, r.Err)
		return resp, nil
	}
	resp.ProtocolType, resp.Protocol = r.ProtocolType, r.Protocol
	resp.MemberAssignment = r.Assignment
	return resp, nil
}
