package topics

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/skiff-broker/skiff/statemachine"
)

// PlanCreate is the batch Create proposes (the bench's seed baseline
// proposes it another way), and CreateOutcome reads codes as Create does.
func TestTopicsPlanCreateIsWhatCreateProposes(t *testing.T) {
	specs := []CreateSpec{auto("a", 2, 3), auto("bad/name", 1, 1), auto("b", 1, -1)}
	ctx := context.Background()

	st := &fakeStore{read: viewOf(), propose: allOK}
	if _, err := newTestService(t, st, nil).Create(ctx, specs, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plan, err := newTestService(t, &fakeStore{read: viewOf()}, nil).PlanCreate(ctx, specs, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.proposals) != 1 || !reflect.DeepEqual(st.proposals[0], plan.Batch()) {
		t.Fatalf("Create proposed %+v, PlanCreate planned %+v", st.proposals, plan.Batch())
	}
	if r := plan.Results(); len(r) != 3 || r[0].Err != nil || !errors.Is(r[1].Err, ErrInvalidTopic) || r[2].Err != nil {
		t.Fatalf("planned results %+v", r)
	}

	// Codes in batch order, however they were obtained: b already exists.
	codes := make([]statemachine.Code, len(plan.Batch().Cmds))
	for i, c := range plan.Batch().Cmds {
		if ct, ok := c.(statemachine.CreateTopicPlaced); ok && ct.Name == "b" {
			codes[i] = statemachine.CodeTopicExists
		}
	}
	s := newTestService(t, &fakeStore{read: viewOf()}, nil)
	res := s.CreateOutcome(plan, statemachine.Result{Codes: codes})
	if res[0].Err != nil || res[0].NumPartitions != 2 || !errors.Is(res[1].Err, ErrInvalidTopic) || !errors.Is(res[2].Err, ErrTopicExists) {
		t.Errorf("outcome %+v", res)
	}
}
