package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// ProposeDataGroup proposes cmd to a data group as one Raft entry and waits
// until it is applied (committed by a majority: Kafka's acks=all). Errors
// as for Propose; ErrTimeout means the outcome is unknown.
func (n *Node) ProposeDataGroup(ctx context.Context, shardID uint64, cmd datagroup.Command) (datagroup.Result, error) {
	data := datagroup.Encode(cmd)
	sess := n.nh.GetNoOPSession(shardID)
	var res datagroup.Result
	start := time.Now()
	err := n.retry(ctx, false, func(ctx context.Context) error {
		r, err := n.nh.SyncPropose(ctx, sess, data)
		if err != nil {
			return err
		}
		res, err = datagroup.DecodeResult(r.Data)
		if err != nil {
			return fmt.Errorf("node: bad data-group result: %w", err)
		}
		return nil
	})
	if err != nil {
		n.m.dataGroupProposalErrors.Inc()
		return datagroup.Result{}, err
	}
	n.m.dataGroupProposals.Inc()
	n.m.dataGroupProposeSeconds.UpdateDuration(start)
	n.m.dataGroupProposedBytes.Add(len(data))
	return res, nil
}

// ProposeDataGroupAsync proposes cmd without waiting for the outcome (acks=0).
func (n *Node) ProposeDataGroupAsync(shardID uint64, cmd datagroup.Command, timeout time.Duration) error {
	rs, err := n.nh.Propose(n.nh.GetNoOPSession(shardID), datagroup.Encode(cmd), timeout)
	if err != nil {
		return mapError(err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer rs.Release()
		select {
		case <-rs.ResultC():
		case <-n.ctx.Done():
		}
	}()
	return nil
}

// pidBlock hands out producer IDs from blocks allocated through the
// metadata shard, so that IDs are unique cluster-wide without a proposal
// per InitProducerId.
type pidBlock struct {
	mu   sync.Mutex
	next int64
	end  int64
}

const pidBlockSize = 1000

// NextProducerID returns a cluster-unique producer ID.
func (n *Node) NextProducerID(ctx context.Context) (int64, error) {
	b := &n.pids
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next >= b.end {
		res, err := n.Propose(ctx, "allocate_producer_ids", statemachine.AllocateProducerIDs{Broker: n.ID(), Count: pidBlockSize})
		if err != nil {
			return 0, err
		}
		if len(res.Codes) != 1 || res.Codes[0] != statemachine.CodeOK || len(res.Values) != 1 {
			return 0, fmt.Errorf("node: producer-ID block allocation failed: %+v", res)
		}
		b.next, b.end = res.Values[0], res.Values[0]+pidBlockSize
	}
	id := b.next
	b.next++
	return id, nil
}
