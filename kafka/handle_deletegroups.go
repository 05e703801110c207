package kafka

// DeleteGroups: v0-3
//
// Behavior:
//   - Deletes empty groups and their committed offsets: tombstones in
//     __consumer_offsets, one proposal per offsets partition involved,
//     answered after the commit. A group with members gets
//     NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND, one coordinated
//     elsewhere NOT_COORDINATOR.
//
// Version notes:
//   - v1: no change; v2: flexible; v3: ErrorMessage

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerGroup(kmsg.DeleteGroups, 0, 3, (*Server).handleDeleteGroups) }

func (s *Server) handleDeleteGroups(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()
	errs := s.cfg.Groups.DeleteGroups(ctx, req.Groups)
	for i, name := range req.Groups {
		err, ok := at(errs, i)
		if !ok {
			err = errGroupResults
		}
		sg := kmsg.NewDeleteGroupsResponseGroup()
		sg.Group = name
		if err != nil {
			sg.ErrorCode = s.errCode(kmsg.DeleteGroups, err)
			sg.ErrorMessage = errorMessage(err)
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}
