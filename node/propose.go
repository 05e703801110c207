package node

import (
	"context"
	"fmt"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// Propose encodes cmd once, proposes it to the metadata shard as one Raft
// entry, waits until it is applied and returns the decoded result. kind
// labels the proposal metrics. Temporary errors (no leader, busy) are
// retried until ctx ends. Errors: ErrNotReady (not committed), ErrTimeout
// (outcome unknown: the entry may still commit), ErrClosed.
func (n *Node) Propose(ctx context.Context, kind string, cmd statemachine.Command) (statemachine.Result, error) {
	data := statemachine.Encode(cmd)
	sess := n.nh.GetNoOPSession(MetadataShardID)
	var res statemachine.Result
	start := time.Now()
	err := n.retry(ctx, false, func(ctx context.Context) error {
		r, err := n.nh.SyncPropose(ctx, sess, data)
		if err != nil {
			return err
		}
		res, err = statemachine.DecodeResult(r.Data)
		if err != nil {
			return fmt.Errorf("node: bad proposal result: %w", err)
		}
		return nil
	})
	if err != nil {
		n.m.proposalErrors(kind).Inc()
		return statemachine.Result{}, err
	}
	n.m.proposals(kind).Inc()
	n.m.proposeSeconds(kind).UpdateDuration(start)
	return res, nil
}

// Read is a linearizable read of the metadata shard (Dragonboat SyncRead:
// a ReadIndex round, then a local Lookup). q is one of the statemachine
// Query* types. It works on followers.
func (n *Node) Read(ctx context.Context, q any) (any, error) {
	var out any
	start := time.Now()
	err := n.retry(ctx, true, func(ctx context.Context) error {
		v, err := n.nh.SyncRead(ctx, MetadataShardID, q)
		if err != nil {
			return err
		}
		out = v
		return nil
	})
	if err != nil {
		n.m.readErrors.Inc()
		return nil, err
	}
	n.m.readSeconds.UpdateDuration(start)
	return out, nil
}

// LocalRead reads this replica's state without a linearizability guarantee
// (Dragonboat StaleRead). For digests, diagnostics and the fencing loop only.
func (n *Node) LocalRead(q any) (any, error) {
	v, err := n.nh.StaleRead(MetadataShardID, q)
	if err != nil {
		return nil, mapError(err)
	}
	return v, nil
}
