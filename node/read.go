package node

import (
	"context"
	"fmt"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// Reads of the metadata shard, typed: each query type of statemachine has
// one method per guarantee, and the type check of the state machine's
// answer lives here, once (etcd's Range request/response pairs). Read* is
// linearizable; Local* reads this replica without that guarantee (see
// doc.go, "Which reads are local").

// ReadTopics is a linearizable read of the topics q names (with the brokers
// and the data groups they use).
func (n *Node) ReadTopics(ctx context.Context, q statemachine.QueryTopics) (*statemachine.View, error) {
	return readAs[*statemachine.View](ctx, n, q)
}

// ReadBrokers is a linearizable read of every broker and its heartbeat
// counter.
func (n *Node) ReadBrokers(ctx context.Context) (*statemachine.BrokersView, error) {
	return readAs[*statemachine.BrokersView](ctx, n, statemachine.QueryBrokers{})
}

// LocalTopics reads the topics q names from this replica.
func (n *Node) LocalTopics(q statemachine.QueryTopics) (*statemachine.View, error) {
	return localAs[*statemachine.View](n, q)
}

// LocalBrokers reads every broker and its heartbeat counter from this
// replica.
func (n *Node) LocalBrokers() (*statemachine.BrokersView, error) {
	return localAs[*statemachine.BrokersView](n, statemachine.QueryBrokers{})
}

// LocalDataGroupTable reads the metadata shard's table of data groups
// (members, slot, recorded leader and term) from this replica, sorted by
// shard ID. LocalDataGroups, by contrast, lists the replicas open here.
func (n *Node) LocalDataGroupTable() ([]*statemachine.DataGroup, error) {
	return localAs[[]*statemachine.DataGroup](n, statemachine.QueryDataGroups{})
}

// LocalDigest is this replica's metadata digest, for comparing replicas.
func (n *Node) LocalDigest() (statemachine.Digest, error) {
	return localAs[statemachine.Digest](n, statemachine.QueryDigest{})
}

// readAs is a linearizable read (Dragonboat SyncRead: a ReadIndex round,
// then a local Lookup) whose answer must be a T. It works on followers and
// retries temporary errors until ctx ends; its latency and failures are the
// skiff_metadata_read_* metrics.
func readAs[T any](ctx context.Context, n *Node, q any) (T, error) {
	var out T
	start := time.Now()
	err := n.retry(ctx, true, func(ctx context.Context) error {
		v, err := n.nh.SyncRead(ctx, MetadataShardID, q)
		if err != nil {
			return err
		}
		out, err = answerAs[T](q, v)
		return err
	})
	if err != nil {
		n.m.readErrors.Inc()
		var zero T
		return zero, err
	}
	n.m.readSeconds.UpdateDuration(start)
	return out, nil
}

// localAs reads this replica (Dragonboat StaleRead) and checks the answer
// is a T.
func localAs[T any](n *Node, q any) (T, error) {
	v, err := n.nh.StaleRead(MetadataShardID, q)
	if err != nil {
		var zero T
		return zero, mapError(err)
	}
	return answerAs[T](q, v)
}

func answerAs[T any](q, v any) (T, error) {
	out, ok := v.(T)
	if !ok {
		return out, fmt.Errorf("node: %T answered with %T, want %T", q, v, out)
	}
	return out, nil
}
