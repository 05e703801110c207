// Package seed is the bench's baseline for `skiff bench topics --compare
// seed`: topics created the way the earlier (seed) broker did, one
// proposal per partition command, so that the one-proposal path of
// topics.Service.Create can be compared with it in the same run.
//
// It lives outside the product: no Kafka request reaches it, and no
// product package can import it (`go list -deps` of kafka/ and topics/
// never lists bench/; TestBenchSeedNotInProduct checks). It is built from
// what topics exports for any caller: PlanCreate (the batch Create would
// propose), CreateOutcome and WaitForLeaders.
package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/topics"
)

// Kind labels the seed path's proposals in skiff_metadata_proposals_total.
const Kind = "seed_baseline"

// Proposer is the metadata shard: *node.Node.
type Proposer interface {
	Propose(ctx context.Context, kind string, cmd statemachine.Command) (statemachine.Result, error)
}

// Create plans specs exactly like svc.Create (PlanCreate), then proposes
// through store the request's CreateTopic records as one batch on their
// own and, for every partition of every created topic, each of its
// commands (AssignReplicas, then the legacy SetLeader and SetISR) as a separate sequential
// proposal. A request for T topics of P partitions is therefore 1 + 3·T·P
// proposals instead of one, all labelled Kind. Like Create it returns after
// every partition has a leader; the results have Create's shape and
// meaning. The error is for whole-request failures.
func Create(ctx context.Context, svc *topics.Service, store Proposer, specs []topics.CreateSpec) ([]topics.TopicResult, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	plan, err := svc.PlanCreate(ctx, specs, topics.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cmds := plan.Batch().Cmds
	if len(cmds) == 0 {
		return plan.Results(), nil
	}

	// The topic records alone, in one batch.
	var topicBatch statemachine.Batch
	var topicAt []int // index in cmds of each CreateTopic
	for i, c := range cmds {
		switch c.(type) {
		case statemachine.CreateTopic, statemachine.CreateTopicPlaced:
			topicAt = append(topicAt, i)
			topicBatch.Cmds = append(topicBatch.Cmds, c)
		}
	}
	res, err := propose(ctx, store, topicBatch)
	if err != nil {
		return nil, err
	}
	if len(res.Codes) != len(topicBatch.Cmds) {
		return nil, fmt.Errorf("seed: result has %d codes for %d topics", len(res.Codes), len(topicBatch.Cmds))
	}

	// Then every partition command of every created topic on its own; the
	// codes go where they would be in the one batch.
	codes := make([]statemachine.Code, len(cmds))
	for k, at := range topicAt {
		codes[at] = res.Codes[k]
		if res.Codes[k] != statemachine.CodeOK {
			continue
		}
		end := len(cmds)
		if k+1 < len(topicAt) {
			end = topicAt[k+1]
		}
		for j := at + 1; j < end; j++ {
			// The earlier broker's three commands per partition; the
			// position's code is the first one that is not OK.
			for _, c := range seedPartitionCmds(cmds[j]) {
				r, err := propose(ctx, store, c)
				if err != nil {
					return nil, err
				}
				if len(r.Codes) != 1 {
					return nil, fmt.Errorf("seed: result has %d codes for one command", len(r.Codes))
				}
				if codes[j] == statemachine.CodeOK {
					codes[j] = r.Codes[0]
				}
			}
		}
	}
	results := svc.CreateOutcome(plan, statemachine.Result{Codes: codes})
	svc.WaitForLeaders(ctx, results)
	return results, nil
}

// propose proposes cmd (every command of the seed path is idempotent: a
// CreateTopic with its ID, and the first AssignReplicas, SetLeader and
// SetISR of a new partition), proposing it again after an unknown outcome
// until ctx ends, as topics does.
func propose(ctx context.Context, store Proposer, cmd statemachine.Command) (statemachine.Result, error) {
	backoff := 10 * time.Millisecond
	for {
		res, err := store.Propose(ctx, Kind, cmd)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, node.ErrTimeout) || ctx.Err() != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("seed: %w", err)
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// seedPartitionCmds expands one AssignReplicas of the create plan into the
// three commands the earlier broker proposed per partition: AssignReplicas,
// then the retired SetLeader (preferred leader, epoch 0) and SetISR (all
// replicas), which still apply to legacy fields that nothing reads. Any
// other command is proposed as it is.
func seedPartitionCmds(c statemachine.Command) []statemachine.Command {
	ar, ok := c.(statemachine.AssignReplicas)
	if !ok || len(ar.Replicas) == 0 {
		return []statemachine.Command{c}
	}
	return []statemachine.Command{ar,
		statemachine.SetLeader{Topic: ar.Topic, Partition: ar.Partition, Leader: ar.Replicas[0], LeaderEpoch: 0, IfEpoch: -1},
		statemachine.SetISR{Topic: ar.Topic, Partition: ar.Partition, ISR: slices.Clone(ar.Replicas), IfEpoch: 0},
	}
}
