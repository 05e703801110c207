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
