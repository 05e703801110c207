package topics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
)

// SeedBaselineKind labels the proposals of CreateSeedBaseline in
// skiff_metadata_proposals_total.
const SeedBaselineKind = "seed_baseline"

// CreateSeedBaseline exists for the benchmark only (`skiff bench topics
// --compare seed`): it creates topics the way the earlier (seed) broker did,
// so that the one-proposal path of Create can be compared with it in the
// same run. The kafka package never calls it, and no Kafka request reaches
// it; the bench calls it directly on an in-process broker's Service.
//
// It validates and places exactly like Create, then proposes the request's
// CreateTopic records as one batch on their own, and then, for every
// partition of every created topic, three separate sequential proposals:
// AssignReplicas, then SetLeader, then SetISR. A request for T topics of P
// partitions is therefore 1 + 3·T·P proposals instead of one. All proposals
// are labelled SeedBaselineKind. Like Create it returns after every
// partition has a leader; the results have Create's shape and meaning.
func (s *Service) CreateSeedBaseline(ctx context.Context, specs []CreateSpec) ([]TopicResult, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	view, err := s.read(ctx, "seed baseline", statemachine.QueryTopics{})
	if err != nil {
		return nil, err
	}
	p := planCreate(createInput{
		specs:         specs,
		brokers:       view.Brokers,
		start:         view.PartitionCount,
		numPartitions: s.cfg.DefaultPartitions,
		defaultRF:     s.cfg.DefaultReplicationFactor,
		maxPartitions: s.cfg.MaxPartitionsPerRequest,
		nowMs:         s.cfg.Now().UnixMilli(),
		newID:         s.cfg.NewID,
	})
	if len(p.batch.Cmds) == 0 {
		return p.results, nil
	}

	// The topic records alone, in one batch.
	var topicBatch statemachine.Batch
	topicAt := make([]int, len(p.at)) // spec i's index in topicBatch, or -1
	for i, at := range p.at {
		topicAt[i] = -1
		if at >= 0 {
			topicAt[i] = len(topicBatch.Cmds)
			topicBatch.Cmds = append(topicBatch.Cmds, p.batch.Cmds[at])
		}
	}
	res, err := s.propose(ctx, SeedBaselineKind, topicBatch, true)
	if err != nil {
		return nil, err
	}

	// Then every partition command of every created topic on its own.
	for i, at := range p.at {
		if at < 0 {
			continue
		}
		r := &p.results[i]
		ct := p.batch.Cmds[at].(statemachine.CreateTopic)
		switch code := res.Codes[topicAt[i]]; code {
		case statemachine.CodeOK:
		case statemachine.CodeTopicExists:
			*r = failed(r.Name, errorf(ErrTopicExists, "Topic '%s' already exists.", r.Name))
			continue
		default:
			*r = failed(r.Name, errorf(ErrInvalidRequest, "Creating topic '%s' failed in the metadata shard (code %d).", r.Name, code))
			continue
		}
		cmds := seedPartitionCmds(p.batch.Cmds[at+1 : at+1+cmdsPerPartition*int(ct.PartitionCount)])
		codes := make([]statemachine.Code, len(cmds)/3) // one per partition: its first non-OK code
		for j, cmd := range cmds {
			code, err := s.proposeOneSeed(ctx, cmd)
			if err != nil {
				return nil, err
			}
			if codes[j/3] == statemachine.CodeOK {
				codes[j/3] = code
			}
		}
		if err := s.partitionOutcome(r.Name, 0, codes); err != nil {
			*r = failed(r.Name, err)
		}
	}
	var names []string
	for _, r := range p.results {
		if r.Err == nil {
			names = append(names, r.Name)
		}
	}
	s.waitForLeaders(ctx, names)
	return p.results, nil
}

// proposeOneSeed proposes one bare partition command (AssignReplicas,
// SetLeader or SetISR of a new partition: all idempotent) and returns its
// code, proposing it again after an unknown outcome as propose does.
func (s *Service) proposeOneSeed(ctx context.Context, cmd statemachine.Command) (statemachine.Code, error) {
	backoff := 10 * time.Millisecond
	for {
		res, err := s.cfg.Store.Propose(ctx, SeedBaselineKind, cmd)
		if err == nil {
			if len(res.Codes) != 1 {
				return 0, fmt.Errorf("topics: %s: result has %d codes for one command", SeedBaselineKind, len(res.Codes))
			}
			return res.Codes[0], nil
		}
		if !errors.Is(err, node.ErrTimeout) || ctx.Err() != nil {
			return 0, wrapStoreError(SeedBaselineKind, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, wrapStoreError(SeedBaselineKind, err)
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// seedPartitionCmds expands each AssignReplicas of the create plan into the
// three commands the earlier broker proposed per partition: AssignReplicas,
// then the retired SetLeader (preferred leader, epoch 0) and SetISR (all
// replicas), which still apply to legacy fields that nothing reads.
func seedPartitionCmds(assigns []statemachine.Command) []statemachine.Command {
	out := make([]statemachine.Command, 0, 3*len(assigns))
	for _, c := range assigns {
		ar := c.(statemachine.AssignReplicas)
		out = append(out, ar,
			statemachine.SetLeader{Topic: ar.Topic, Partition: ar.Partition, Leader: ar.Replicas[0], LeaderEpoch: 0, IfEpoch: -1},
			statemachine.SetISR{Topic: ar.Topic, Partition: ar.Partition, ISR: slices.Clone(ar.Replicas), IfEpoch: 0})
	}
	return out
}
