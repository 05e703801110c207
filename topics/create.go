package topics

import (
	"context"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// Create creates topics (CreateTopics) in one consensus round:
//
//   - It places the topics on this node's LOCAL copy of the metadata (no
//     read round): safe because every topic is proposed as
//     CreateTopicPlaced, which carries the broker-set version the placement
//     used, and apply rejects it (CodeStalePlacement) if the brokers changed
//     since; such topics are placed again on the local copy (which has
//     applied the rejecting entry by then) and proposed again. Existence is
//     checked in apply, as always.
//   - Every per-partition command of the request is in one batch, and
//     concurrent requests share a proposal (group commit, see commit): each
//     topic stays all-or-nothing with its own result.
//   - Apply reports the live leader of each new partition's data group in
//     the result, so when every group already had one (the normal case:
//     groups are formed when brokers join, see RunDataGroupPreparer) the answer
//     needs no further read. Otherwise it waits, on the local copy, until
//     the new groups' leaders are recorded.
//
// The answer is never sent before commit. The result has one entry per spec,
// in order; see TopicResult. With opts.ValidateOnly nothing is written and
// the result IDs are zero. A proposal whose outcome is unknown is proposed
// again with the same topic IDs until ctx ends (same-ID creates are
// idempotent in apply). The error is only for whole-request failures
// (ErrNotReady, ErrTimeout, ErrClosed).
func (s *Service) Create(ctx context.Context, specs []CreateSpec, opts CreateOptions) ([]TopicResult, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	if !opts.ValidateOnly {
		s.m.createRequests.Inc()
	}
	results := make([]TopicResult, len(specs))
	pending := make([]int, len(specs)) // indexes into specs still to create
	for i := range pending {
		pending[i] = i
	}
	allLed := true
	var created []string
	for attempt := 1; ; attempt++ {
		view, err := s.placementView(ctx)
		if err != nil {
			return nil, err
		}
		sub := make([]CreateSpec, len(pending))
		for j, i := range pending {
			sub[j] = specs[i]
		}
		p := s.planPlaced(view, sub, opts)
		if opts.ValidateOnly || len(p.batch.Cmds) == 0 {
			for j, i := range pending {
				results[i] = p.results[j]
			}
			return results, nil
		}
		res, err := s.commit(ctx, p.batch)
		if err != nil {
			return nil, err
		}
		out := s.applyCreateResult(p, res)
		var again []int
		for j, i := range pending {
			switch {
			case out[j].stale && attempt < placementAttempts:
				again = append(again, i)
				continue
			case out[j].stale:
				results[i] = failed(specs[i].Name, errorf(ErrInvalidRequest,
					"The brokers of the cluster kept changing while topic '%s' was placed; retry the request.", specs[i].Name))
				continue
			}
			results[i] = p.results[j]
			if results[i].Err == nil {
				created = append(created, results[i].Name)
				allLed = allLed && out[j].led
			}
		}
		if len(again) == 0 {
			break
		}
		s.log.Debug().Int("topics", len(again)).Int("attempt", attempt).Msg("placement was stale; placing again")
		pending = again
	}
	if !allLed {
		s.waitForLeaders(ctx, created)
	}
	return results, nil
}

// placementAttempts bounds how often one request's topics are placed again
// after CodeStalePlacement (the broker set changed between placement and
// apply: a broker joined, was fenced or came back).
const placementAttempts = 5

// placementView reads what placement needs (brokers, partition count,
// broker-set version) from this node's local copy of the metadata. That is
// safe because apply re-checks the broker set (CreateTopicPlaced). A local
// copy with no live broker is one that has not caught up yet (a node just
// started): then it is read linearizably once.
func (s *Service) placementView(ctx context.Context) (*View, error) {
	if view, err := s.localView(statemachine.QueryTopics{}); err == nil && liveCount(view.Brokers) > 0 {
		return view, nil
	}
	return s.read(ctx, "create topics", statemachine.QueryTopics{})
}

// planPlaced plans specs on view as CreateTopicPlaced commands carrying the
// view's broker-set version. The placement rotation continues from the
// larger of the cluster's partition count and what this service placed
// last, so that concurrent requests planned on the same local copy do not
// all start at the same broker.
func (s *Service) planPlaced(view *View, specs []CreateSpec, opts CreateOptions) createPlan {
	s.placeMu.Lock()
	defer s.placeMu.Unlock()
	start := max(view.PartitionCount, s.placeCursor)
	p := planCreate(createInput{
		specs:          specs,
		brokers:        view.Brokers,
		start:          start,
		numPartitions:  s.cfg.DefaultPartitions,
		defaultRF:      s.cfg.DefaultReplicationFactor,
		maxPartitions:  s.cfg.MaxPartitionsPerRequest,
		nowMs:          s.cfg.Now().UnixMilli(),
		newID:          s.cfg.NewID,
		validateOnly:   opts.ValidateOnly,
		internalTopics: opts.Internal,
		brokerSet:      view.BrokerSet,
		placed:         true,
	})
	if !opts.ValidateOnly {
		s.placeCursor = start + p.placed
	}
	return p
}

// waitForLeaders returns once every partition of the named topics has a
// live leader recorded (DESIGN §4: a client can produce right after
// CreateTopics), reading this node's local copy: a leader recorded there is
// committed, so every linearizable read sees it too. Only partitions placed
// in a data group without a leader need it (a group formed by this very
// create, or one between leaders). If ctx ends first, the topics exist
// anyway and the answer is still success; the wait is logged.
func (s *Service) waitForLeaders(ctx context.Context, names []string) {
	if len(names) == 0 {
		return
	}
	backoff := time.Millisecond
	for {
		view, err := s.localView(statemachine.QueryTopics{Names: names})
		if err == nil && allLed(view) {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			s.log.Warn().Strs("topics", names).Msg("created topics still have partitions without a leader at the request deadline")
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// allLed reports whether every partition in view has a live leader
// (PartitionState, as Metadata reports it).
func allLed(view *View) bool {
	alive := AliveBrokers(view.Brokers)
	for _, t := range view.Topics {
		for _, p := range t.Partitions {
			if PartitionState(view, p, alive).Leader < 0 {
				return false
			}
		}
	}
	return true
}

// AutoCreate creates missing topics with the broker defaults (auto-creation
// from Metadata or FindCoordinator). Names may repeat: each distinct name is
// created once and every occurrence gets its outcome. When
// auto.create.topics.enable is off every result is ErrAutoCreateDisabled.
// ErrTopicExists means another request created the topic first.
func (s *Service) AutoCreate(ctx context.Context, names []string) ([]TopicResult, error) {
	if !s.cfg.AutoCreateTopics {
		out := make([]TopicResult, len(names))
		for i, n := range names {
			out[i] = failed(n, errorf(ErrAutoCreateDisabled, "Topic '%s' does not exist and auto topic creation is disabled.", n))
		}
		return out, nil
	}
	first := make(map[string]int, len(names))
	var specs []CreateSpec
	for _, n := range names {
		if _, ok := first[n]; !ok {
			first[n] = len(specs)
			specs = append(specs, CreateSpec{Name: n, NumPartitions: -1, ReplicationFactor: -1})
		}
	}
	res, err := s.Create(ctx, specs, CreateOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]TopicResult, len(names))
	for i, n := range names {
		out[i] = res[first[n]]
	}
	return out, nil
}

// createInput is everything planCreate needs: the request, the brokers of a
// linearizable read and the broker defaults.
type createInput struct {
	specs          []CreateSpec
	brokers        []*Broker // all registered brokers
	start          int       // placement offset (partitions in the cluster)
	numPartitions  int32
	defaultRF      int16
	maxPartitions  int
	nowMs          int64
	newID          func() TopicID
	validateOnly   bool
	internalTopics bool
	// placed: propose CreateTopicPlaced with brokerSet (the version of the
	// broker list placement used) instead of CreateTopic.
	placed    bool
	brokerSet uint64
}

// createPlan is a planned CreateTopics request.
type createPlan struct {
	batchPlan     // at: spec i's CreateTopic(Placed)
	placed    int // partitions placed automatically (the rotation advanced by this much)
}

// validCreate is a spec that passed validation.
type validCreate struct {
	partitions int32
	rf         int16
	assign     [][]int32 // nil: automatic placement
	configs    []ConfigEntry
}

// planCreate validates specs, resolves defaults, places replicas and builds
// the one batch of the request: per valid topic, a CreateTopic followed by
// one AssignReplicas for each partition. It is pure but
// for calling newID once per proposed topic.
func planCreate(in createInput) createPlan {
	p := createPlan{batchPlan: newBatchPlan(len(in.specs))}
	dup := duplicateNames(in.specs, func(sp CreateSpec) string { return sp.Name })
	registered := registeredSet(in.brokers)
	live := liveCount(in.brokers)

	valid := make([]*validCreate, len(in.specs))
	total := 0
	for i, sp := range in.specs {
		p.at[i] = -1
		if dup[i] {
			p.results[i] = failed(sp.Name, errorf(ErrDuplicateTopic, "Topic '%s' appears more than once in the request.", sp.Name))
			continue
		}
		v, err := validateCreate(sp, in, registered, live)
		if err != nil {
			p.results[i] = failed(sp.Name, err)
			continue
		}
		valid[i] = v
		total += int(v.partitions)
	}
	if total > in.maxPartitions {
		for i, v := range valid {
			if v != nil {
				valid[i] = nil
				p.results[i] = failed(in.specs[i].Name, errorf(ErrPolicyViolation,
					"The request would create %d partitions, more than the limit of %d per request.", total, in.maxPartitions))
			}
		}
	}

	ring := placementRing(in.brokers)
	c := in.start
	for i, v := range valid {
		if v == nil {
			continue
		}
		sp := in.specs[i]
		var id TopicID
		if !in.validateOnly {
			id = in.newID()
		}
		p.at[i] = len(p.batch.Cmds)
		ct := statemachine.CreateTopic{
			Name:           sp.Name,
			ID:             id,
			PartitionCount: v.partitions,
			Internal:       in.internalTopics,
			CreatedMs:      in.nowMs,
			Configs:        v.configs,
		}
		if in.placed {
			p.batch.Cmds = append(p.batch.Cmds, statemachine.CreateTopicPlaced{CreateTopic: ct, BrokerSet: in.brokerSet})
		} else {
			p.batch.Cmds = append(p.batch.Cmds, ct)
		}
		for part := int32(0); part < v.partitions; part++ {
			var replicas []int32
			if v.assign != nil {
				replicas = v.assign[part]
			} else {
				replicas = placeReplicas(ring, int(v.rf), c)
				c++
			}
			p.batch.Cmds = append(p.batch.Cmds, partitionCmds(id, part, replicas)...)
		}
		p.results[i] = TopicResult{
			Name:              sp.Name,
			ID:                id,
			NumPartitions:     v.partitions,
			ReplicationFactor: v.rf,
			Configs:           resolveTopicConfigs(v.configs),
		}
	}
	p.placed = c - in.start
	if in.validateOnly {
		p.batch.Cmds = nil
		for i := range p.at {
			p.at[i] = -1
		}
	}
	return p
}

// validateCreate validates one spec (name, partitions and replication
// factor or manual assignment, configs) and resolves its defaults.
func validateCreate(sp CreateSpec, in createInput, registered map[int32]bool, live int) (*validCreate, error) {
	if err := validateName(sp.Name); err != nil {
		return nil, err
	}
	v := &validCreate{}
	if len(sp.Assignment) > 0 {
		if sp.NumPartitions != -1 || sp.ReplicationFactor != -1 {
			return nil, errorf(ErrInvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		assign, err := orderAssignment(sp.Assignment, sp.PartitionIndexes)
		if err != nil {
			return nil, err
		}
		rf, err := validateAssignment(assign, 0, registered)
		if err != nil {
			return nil, err
		}
		v.assign, v.partitions, v.rf = assign, int32(len(assign)), int16(rf)
	} else {
		n, err := resolvePartitions(sp.NumPartitions, in.numPartitions)
		if err != nil {
			return nil, err
		}
		rf, err := resolveRF(sp.ReplicationFactor, in.defaultRF, live)
		if err != nil {
			return nil, err
		}
		v.partitions, v.rf = n, rf
	}
	cfgs, err := resolveCreateConfigs(sp.Configs)
	if err != nil {
		return nil, err
	}
	v.configs = cfgs
	return v, nil
}

// createOutcome is what one proposed spec's commands said.
type createOutcome struct {
	stale bool // CodeStalePlacement: place it again
	led   bool // every partition's group reported a live leader at apply
}

// createCmd returns the CreateTopic inside a plan's topic-level command.
func createCmd(c statemachine.Command) statemachine.CreateTopic {
	if cp, ok := c.(statemachine.CreateTopicPlaced); ok {
		return cp.CreateTopic
	}
	return c.(statemachine.CreateTopic)
}

// applyCreateResult turns the proposal's codes into the plan's results and
// returns, per spec, whether its placement was stale and whether its
// partitions' leaders are known.
func (s *Service) applyCreateResult(p createPlan, res statemachine.Result) []createOutcome {
	out := make([]createOutcome, len(p.at))
	for i, at := range p.at {
		if at < 0 {
			continue
		}
		r := &p.results[i]
		ct := createCmd(p.batch.Cmds[at])
		switch code := res.Codes[at]; code {
		case statemachine.CodeOK:
			end := at + 1 + cmdsPerPartition*int(ct.PartitionCount)
			if err := s.partitionOutcome(r.Name, 0, res.Codes[at+1:end]); err != nil {
				*r = failed(r.Name, err)
				continue
			}
			out[i].led = res.Values != nil
			for j := at + 1; j < end && out[i].led; j++ {
				_, _, ok := statemachine.UnpackLeader(res.Values[j])
				out[i].led = ok
			}
			s.log.Debug().Str("topic", r.Name).Str("id", FormatTopicID(ct.ID)).Int32("partitions", ct.PartitionCount).Msg("topic created")
		case statemachine.CodeStalePlacement:
			out[i].stale = true
		case statemachine.CodeTopicExists:
			*r = failed(r.Name, errorf(ErrTopicExists, "Topic '%s' already exists.", r.Name))
		default:
			*r = failed(r.Name, errorf(ErrInvalidRequest, "Creating topic '%s' failed in the metadata shard (code %d).", r.Name, code))
		}
	}
	return out
}

// partitionOutcome checks the codes of the partition commands of a topic
// whose topic-level command succeeded. CodeConditionFailed is tolerated (a
// legacy SetISR of the seed path re-applied when a create was retried); any
// other failure means the topic is broken and is reported.
func (s *Service) partitionOutcome(topic string, first int32, codes []statemachine.Code) error {
	for j, code := range codes {
		part := first + int32(j/cmdsPerPartition)
		switch code {
		case statemachine.CodeOK:
		case statemachine.CodeConditionFailed:
			s.log.Warn().Str("topic", topic).Int32("partition", part).Msg("partition command condition failed (retried proposal?)")
		default:
			s.log.Error().Str("topic", topic).Int32("partition", part).Uint8("code", uint8(code)).Msg("partition command failed")
			return errorf(ErrInvalidRequest, "Partition %d of topic '%s' failed in the metadata shard (code %d).", part, topic, code)
		}
	}
	return nil
}
