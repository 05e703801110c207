package topics

import (
	"context"

	"github.com/skiff-broker/skiff/statemachine"
)

// partitionsAttempts bounds the re-reads after a concurrent change of a
// topic's partition count (CodeConditionFailed).
const partitionsAttempts = 3

// CreatePartitions grows topics (CreatePartitions). Each attempt is one read
// of the named topics and one proposal of AddPartitions (conditional on the
// count read) plus the new partitions' commands; topics whose count changed
// concurrently are re-read and planned again, up to 3 times. With
// validateOnly nothing is written.
//
// The proposal is conditional, not idempotent, so an unknown outcome
// (ErrTimeout) is returned, not retried: the client's retry re-reads.
func (s *Service) CreatePartitions(ctx context.Context, specs []PartitionsSpec, validateOnly bool) ([]TopicResult, error) {
	results := make([]TopicResult, len(specs))
	pending := make([]int, len(specs)) // indices into specs still to plan
	for i := range specs {
		pending[i] = i
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		sub := make([]PartitionsSpec, len(pending))
		names := make([]string, len(pending))
		for j, i := range pending {
			sub[j], names[j] = specs[i], specs[i].Name
		}
		view, err := s.read(ctx, "create partitions", statemachine.QueryTopics{Names: names})
		if err != nil {
			return nil, err
		}
		p := planPartitions(partitionsInput{
			specs:         sub,
			view:          view,
			defaultRF:     s.cfg.DefaultReplicationFactor,
			maxPartitions: s.cfg.MaxPartitionsPerRequest,
		})
		for j, i := range pending {
			results[i] = p.results[j]
		}
		if validateOnly || len(p.batch.Cmds) == 0 {
			return results, nil
		}
		res, err := s.propose(ctx, "create_partitions", p.batch, false)
		if err != nil {
			return nil, err
		}
		var again []int
		for j, i := range pending {
			at := p.at[j]
			if at < 0 {
				continue
			}
			r := &results[i]
			add := p.batch.Cmds[at].(statemachine.AddPartitions)
			switch code := res.Codes[at]; code {
			case statemachine.CodeOK:
				end := at + 1 + cmdsPerPartition*int(add.NewCount-add.ExpectCount)
				if err := s.partitionOutcome(r.Name, add.ExpectCount, res.Codes[at+1:end]); err != nil {
					*r = failed(r.Name, err)
				}
			case statemachine.CodeConditionFailed:
				if attempt < partitionsAttempts {
					again = append(again, i)
				} else {
					*r = failed(r.Name, errorf(ErrInvalidRequest, "Partitions of topic '%s' changed concurrently; retry the request.", r.Name))
				}
			case statemachine.CodeUnknownTopic:
				*r = failed(r.Name, errorf(ErrUnknownTopic, "Topic '%s' does not exist.", r.Name))
			default:
				*r = failed(r.Name, errorf(ErrInvalidRequest, "Adding partitions to topic '%s' failed in the metadata shard (code %d).", r.Name, code))
			}
		}
		pending = again
	}
	return results, nil
}

// partitionsInput is everything planPartitions needs.
type partitionsInput struct {
	specs         []PartitionsSpec
	view          *View // the named topics and all brokers
	defaultRF     int16 // for a topic without partitions (never expected)
	maxPartitions int
}

// planPartitions validates specs against the view and builds one batch:
// per valid topic, AddPartitions{ExpectCount: current} followed by the
// three commands of each new partition. Placement continues the ring at
// the cluster's partition count.
func planPartitions(in partitionsInput) batchPlan {
	p := newBatchPlan(len(in.specs))
	dup := duplicateNames(in.specs, func(sp PartitionsSpec) string { return sp.Name })
	byName := make(map[string]*Topic, len(in.view.Topics))
	for _, t := range in.view.Topics {
		byName[t.Name] = t
	}
	registered := registeredSet(in.view.Brokers)
	live := liveCount(in.view.Brokers)

	type valid struct {
		t      *Topic
		rf     int
		assign [][]int32
	}
	vs := make([]*valid, len(in.specs))
	total := 0
	for i, sp := range in.specs {
		p.at[i] = -1
		if dup[i] {
			p.results[i] = failed(sp.Name, errorf(ErrDuplicateTopic, "Topic '%s' appears more than once in the request.", sp.Name))
			continue
		}
		t := byName[sp.Name]
		if t == nil {
			p.results[i] = failed(sp.Name, errorf(ErrUnknownTopic, "Topic '%s' does not exist.", sp.Name))
			continue
		}
		rf, err := validatePartitionsSpec(sp, t, in.defaultRF, registered, live)
		if err != nil {
			p.results[i] = failed(sp.Name, err)
			continue
		}
		vs[i] = &valid{t: t, rf: rf, assign: sp.Assignment}
		total += int(sp.Count) - len(t.Partitions)
	}
	if total > in.maxPartitions {
		for i, v := range vs {
			if v != nil {
				vs[i] = nil
				p.results[i] = failed(in.specs[i].Name, errorf(ErrPolicyViolation,
					"The request would create %d partitions, more than the limit of %d per request.", total, in.maxPartitions))
			}
		}
	}

	ring := placementRing(in.view.Brokers)
	c := in.view.PartitionCount
	for i, v := range vs {
		if v == nil {
			continue
		}
		sp, current := in.specs[i], int32(len(v.t.Partitions))
		p.at[i] = len(p.batch.Cmds)
		p.batch.Cmds = append(p.batch.Cmds, statemachine.AddPartitions{Topic: v.t.ID, ExpectCount: current, NewCount: sp.Count})
		for part := current; part < sp.Count; part++ {
			var replicas []int32
			if v.assign != nil {
				replicas = v.assign[part-current]
			} else {
				replicas = placeReplicas(ring, v.rf, c)
				c++
			}
			p.batch.Cmds = append(p.batch.Cmds, partitionCmds(v.t.ID, part, replicas)...)
		}
		p.results[i] = TopicResult{
			Name:              sp.Name,
			ID:                v.t.ID,
			NumPartitions:     sp.Count,
			ReplicationFactor: int16(v.rf),
			Configs:           resolveTopicConfigs(v.t.Configs),
		}
	}
	return p
}

// validatePartitionsSpec checks the new count and the manual assignment of
// the new partitions, and returns the replication factor to use (the
// topic's).
func validatePartitionsSpec(sp PartitionsSpec, t *Topic, defRF int16, registered map[int32]bool, live int) (int, error) {
	current := int32(len(t.Partitions))
	switch {
	case sp.Count == current:
		return 0, errorf(ErrInvalidPartitions, "Topic already has %d partitions.", current)
	case sp.Count < current:
		return 0, errorf(ErrInvalidPartitions, "Topic currently has %d partitions, which is higher than the requested %d.", current, sp.Count)
	}
	if err := checkPartitionCount(sp.Count); err != nil {
		return 0, err
	}
	rf := int(defaultRF(defRF, live))
	if current > 0 {
		rf = len(t.Partitions[0].Replicas)
	}
	if sp.Assignment != nil {
		if add := int(sp.Count - current); len(sp.Assignment) != add {
			return 0, errorf(ErrInvalidReplicaAssignment, "Increasing the number of partitions by %d but %d assignments provided.", add, len(sp.Assignment))
		}
		return validateAssignment(sp.Assignment, rf, registered)
	}
	if rf > live {
		return 0, errorf(ErrInvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, live)
	}
	return rf, nil
}
