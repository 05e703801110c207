package kafka

// FindCoordinator: v0-6
//
// Behavior:
//   - Group keys: the coordinator is the Raft leader of the data group of
//     the key's __consumer_offsets partition (abs(hashCode) % partitions,
//     as Kafka computes it). Any broker answers. The first request creates
//     __consumer_offsets (an internal topic, through the same
//     TopicService.Create as CreateTopics); while a partition has no live
//     leader the key gets COORDINATOR_NOT_AVAILABLE, which clients retry.
//   - Transaction keys get TRANSACTIONAL_ID_AUTHORIZATION_FAILED: Skiff has
//     no transactions (errors.go). Share-group keys (type 2) and unknown
//     types get INVALID_REQUEST; so does an empty key.
//   - One GroupService.FindCoordinator call per request.
//
// Version notes:
//   - v1: CoordinatorType, ErrorMessage, ThrottleMillis
//   - v3: flexible
//   - v4: batched keys (CoordinatorKeys) and per-key results
//   - v5, v6: no changes to the format (v6 allows share-group keys)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { registerGroup(kmsg.FindCoordinator, 0, 6, (*Server).handleFindCoordinator) }

func (s *Server) handleFindCoordinator(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()

	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	keyType := req.CoordinatorType
	if req.Version < 1 {
		keyType = 0
	}
	results := s.cfg.Groups.FindCoordinator(ctx, keyType, keys)
	for i, key := range keys {
		r, ok := at(results, i)
		if !ok || r.Key != key {
			r.Err, r.NodeID, r.Port = errGroupResults, -1, -1
		}
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		c.NodeID, c.Host, c.Port = r.NodeID, r.Host, r.Port
		if r.Err != nil {
			c.NodeID, c.Host, c.Port = -1, "", -1
			c.ErrorCode = s.errCode(kmsg.FindCoordinator, r.Err)
			c.ErrorMessage = errorMessage(r.Err)
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if req.Version < 4 && len(resp.Coordinators) == 1 {
		c := resp.Coordinators[0]
		resp.Coordinators = nil
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
	}
	return resp, nil
}
