package topics

import (
	"context"

	"github.com/skiff-broker/skiff/statemachine"
)

// Plan is what Create would propose for a request: the one batch (per valid
// topic, its CreateTopic followed by the commands of each of its
// partitions) and the would-be results. It exists so that a caller outside
// the product (the bench's seed baseline) can propose the same commands
// another way and compare; Create builds its proposal through PlanCreate
// too.
type Plan struct{ p createPlan }

// Batch is the batch Create would propose (empty when no topic is valid).
func (pl Plan) Batch() statemachine.Batch { return pl.p.batch }

// Results are the planned outcomes, one per spec: final for the specs that
// failed validation, the would-be success for the others.
func (pl Plan) Results() []TopicResult { return pl.p.results }

// PlanCreate reads what placement needs, as Create does (this node's local
// copy), and plans specs as Create does (validation, defaults, placement,
// topic IDs, the broker-set version apply re-checks); it writes nothing.
func (s *Service) PlanCreate(ctx context.Context, specs []CreateSpec, opts CreateOptions) (Plan, error) {
	view, err := s.placementView(ctx)
	if err != nil {
		return Plan{}, err
	}
	return Plan{s.planPlaced(view, specs, opts)}, nil
}

// CreateOutcome turns the codes of pl's batch (res.Codes[i] is the code of
// pl.Batch().Cmds[i], however the commands were proposed) into the results
// Create would return, and logs the created topics. The caller then waits
// for leaders (WaitForLeaders) as Create does.
func (s *Service) CreateOutcome(pl Plan, res statemachine.Result) []TopicResult {
	_ = s.applyCreateResult(pl.p, res)
	return pl.p.results
}

// WaitForLeaders returns once every partition of the created topics in
// results has a leader, or ctx ends (Create's last step).
func (s *Service) WaitForLeaders(ctx context.Context, results []TopicResult) {
	var names []string
	for _, r := range results {
		if r.Err == nil {
			names = append(names, r.Name)
		}
	}
	s.waitForLeaders(ctx, names)
}
