package kafka

// DescribeGroups: v0-6
//
// Behavior:
//   - Each group is described by its coordinator; a group coordinated
//     elsewhere gets NOT_COORDINATOR (clients send each group to its own
//     coordinator). Members are listed in join order; protocol, member
//     metadata and assignments only while the group is Stable (Kafka).
//   - A group that does not exist is Dead; from v6 with
//     GROUP_ID_NOT_FOUND. A KIP-848 consumer group is described by
//     ConsumerGroupDescribe and reported here like Kafka does: v6
//     GROUP_ID_NOT_FOUND ("not a classic group"), Dead before.
//   - AuthorizedOperations (v3) is not computed (no ACLs): the default.
//
// Version notes:
//   - v1: ThrottleMillis; v2: no change; v3: AuthorizedOperations
//   - v4: InstanceID; v5: flexible; v6: ErrorMessage, GROUP_ID_NOT_FOUND

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.DescribeGroups, 0, 6, (*Server).handleDescribeGroups) }

func (s *Server) handleDescribeGroups(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()
	results := s.cfg.Groups.Describe(ctx, req.Groups)
	for i, name := range req.Groups {
		r, ok := at(results, i)
		if !ok || r.Group != name {
			r = consumergroup.DescribedGroup{Group: name, Err: errGroupResults}
		}
		sg := kmsg.NewDescribeGroupsResponseGroup()
		sg.Group = name
		sg.State, sg.ProtocolType, sg.Protocol = r.State, r.ProtocolType, r.Protocol
		err := r.Err
		if req.Version < 6 && (errors.Is(err, consumergroup.ErrGroupIDNotFound) || errors.Is(err, consumergroup.ErrGroupTypeMismatch)) {
			err = nil // Dead, no error
		}
		if err != nil {
			sg.ErrorCode = s.errCode(kmsg.DescribeGroups, err)
			sg.ErrorMessage = errorMessage(err)
		}
		for _, m := range r.Members {
			sm := kmsg.NewDescribeGroupsResponseGroupMember()
			sm.MemberID, sm.InstanceID, sm.ClientID, sm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			sm.ProtocolMetadata, sm.MemberAssignment = m.Metadata, m.Assignment
			sg.Members = append(sg.Members, sm)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}
