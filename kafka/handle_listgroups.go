package kafka

// ListGroups: v0-5
//
// Behavior:
//   - Lists the groups this broker coordinates (clients ask every broker
//     and merge), with their state (v4) and type (v5): "classic" or
//     "consumer" (KIP-848). StatesFilter and TypesFilter match
//     case-insensitively; empty filters match everything.
//
// Version notes:
//   - v1: ThrottleMillis; v2: no change; v3: flexible
//   - v4: StatesFilter, GroupState; v5: TypesFilter, GroupType

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerGroup(kmsg.ListGroups, 0, 5, (*Server).handleListGroups) }

func (s *Server) handleListGroups(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()
	var states, types []string
	if req.Version >= 4 {
		states = req.StatesFilter
	}
	if req.Version >= 5 {
		types = req.TypesFilter
	}
	for _, g := range s.cfg.Groups.List(ctx, states, types) {
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.Group, g.ProtocolType, g.State, g.Type
		resp.Groups = append(resp.Groups, lg)
	}
	return resp, nil
}
