package topics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
)

func newSMService(t *testing.T, st *smStore, set *metrics.Set) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Store = st
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	cfg.Metrics = set
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// describeAll reads every topic and checks that each partition has replicas
// (created whole) and a live leader.
func describeAll(t *testing.T, st *smStore) map[string]*Topic {
	t.Helper()
	v, err := st.sm.Lookup(statemachine.QueryTopics{All: true})
	if err != nil {
		t.Fatal(err)
	}
	view := v.(*View)
	alive := AliveBrokers(view.Brokers)
	out := map[string]*Topic{}
	for _, tp := range view.Topics {
		for i, p := range tp.Partitions {
			if len(p.Replicas) == 0 || p.DataGroup == 0 {
				t.Fatalf("%s/%d has no replicas: a topic was created in part", tp.Name, i)
			}
			if st := PartitionState(view, p, alive); st.Leader < 0 {
				t.Fatalf("%s/%d has no leader", tp.Name, i)
			}
		}
		out[tp.Name] = tp
	}
	return out
}

// TestTopicsCreateOneRound: with the data groups led (a running cluster), a
// create is one proposal and no linearizable read, and its partitions are
// led when it answers.
func TestTopicsCreateOneRound(t *testing.T) {
	st := newSMStore(t, 1, 2, 3)
	st.leadGroups(0)
	set := metrics.NewSet()
	s := newSMService(t, st, set)
	p0, r0 := st.counts()
	res, err := s.Create(context.Background(), []CreateSpec{auto("a", 3, 3), auto("b", 5, -1)}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Name, r.Err)
		}
	}
	p1, r1 := st.counts()
	if p1-p0 != 1 || r1-r0 != 0 {
		t.Fatalf("create took %d proposals and %d linearizable reads, want 1 and 0", p1-p0, r1-r0)
	}
	if got := describeAll(t, st); len(got) != 2 || len(got["b"].Partitions) != 5 {
		t.Fatalf("topics %v", got)
	}
	if c := set.GetOrCreateCounter(`skiff_topics_create_requests_total{node="0"}`).Get(); c != 1 {
		t.Fatalf("requests counter %d", c)
	}
}

// autoLead records a leader for every data group without one, as the
// groups' replicas do once elected, until the test ends.
func autoLead(t *testing.T, st *smStore) {
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			gv, _ := st.sm.Lookup(statemachine.QueryDataGroups{})
			for _, g := range gv.([]*DataGroup) {
				if g.Leader < 0 {
					st.apply(statemachine.SetDataGroupLeader{ShardID: g.ShardID, Leader: g.Members[g.Slot], Term: 1})
				}
			}
		}
	}()
}

// TestTopicsCreateStalePlacementRetried: a broker is fenced between the
// placement (on the local copy) and the apply: apply rejects the stale
// placement, the service places the topic again on the brokers that are
// left and proposes again.
func TestTopicsCreateStalePlacementRetried(t *testing.T) {
	st := newSMStore(t, 1, 2, 3)
	st.leadGroups(0)
	autoLead(t, st)
	st.beforePropose = func(n int, _ statemachine.Command) {
		if n == 1 {
			st.apply(statemachine.FenceBroker{ID: 3, IfHeartbeats: 1})
		}
	}
	s := newSMService(t, st, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Create(ctx, []CreateSpec{auto("a", 4, 2)}, CreateOptions{})
	if err != nil || res[0].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if p, r := st.counts(); p != 2 || r != 0 {
		t.Fatalf("%d proposals, %d linearizable reads; want 2 (stale, then placed again) and 0", p, r)
	}
	first := st.proposals[0].(statemachine.Batch).Cmds[0].(statemachine.CreateTopicPlaced)
	second := st.proposals[1].(statemachine.Batch).Cmds[0].(statemachine.CreateTopicPlaced)
	if first.BrokerSet == second.BrokerSet {
		t.Fatal("the second placement used the same broker set")
	}
	for i, p := range describeAll(t, st)["a"].Partitions {
		if slices.Contains(p.Replicas, 3) {
			t.Fatalf("partition %d placed on fenced broker 3: %v", i, p.Replicas)
		}
	}
}

// TestTopicsCreateCoalesced: requests that arrive while a proposal is in
// flight share the next one; each keeps its own per-topic results, and a
// name created by several of them goes to the first applied, the others
// getting ErrTopicExists. Every topic is created whole. (One proposal in
// flight, so that the merge is deterministic.)
func TestTopicsCreateCoalesced(t *testing.T) {
	const k = 16
	st := newSMStore(t, 1, 2, 3)
	st.leadGroups(0)
	set := metrics.NewSet()
	var s *Service
	creates := func(b statemachine.Batch) int {
		n := 0
		for _, c := range b.Cmds {
			if _, ok := c.(statemachine.CreateTopicPlaced); ok {
				n++
			}
		}
		return n
	}
	queued := func() int {
		s.gc.Lock()
		defer s.gc.Unlock()
		n := 0
		for _, j := range s.gc.queue {
			n += creates(j.batch)
		}
		return n
	}
	st.beforePropose = func(n int, cmd statemachine.Command) {
		if n != 1 {
			return
		}
		// Hold the first proposal in flight until every request (two valid
		// topics each) is in it or queued.
		held := creates(cmd.(statemachine.Batch))
		deadline := time.Now().Add(10 * time.Second)
		for held+queued() < 2*k && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling the queue, not waiting for time to pass
		}
	}
	s = newSMService(t, st, set)
	s.maxInFlight = 1
	ctx := context.Background()
	results := make([][]TopicResult, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			specs := []CreateSpec{auto(fmt.Sprintf("shared-%d", i%3), 2, 3), auto(fmt.Sprintf("own-%d", i), 3, 3)}
			if i == k-1 {
				specs = append(specs, auto("bad/name", 1, 1))
			}
			res, err := s.Create(ctx, specs, CreateOptions{})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	// The first proposal carries whatever was queued when it was formed (one
	// request, or all of them when every goroutine queued first); the
	// second carries all the rest.
	if p, r := st.counts(); p < 1 || p > 2 || r != 0 {
		t.Fatalf("%d proposals and %d linearizable reads for %d requests, want 1 or 2 and 0", p, r, k)
	}
	won := map[string]int{}
	for i, res := range results {
		for _, r := range res {
			switch {
			case strings.HasPrefix(r.Name, "own-"):
				if r.Err != nil {
					t.Errorf("request %d: %s: %v", i, r.Name, r.Err)
				}
			case strings.HasPrefix(r.Name, "shared-"):
				if r.Err == nil {
					won[r.Name]++
				} else if !errors.Is(r.Err, ErrTopicExists) {
					t.Errorf("request %d: %s: %v", i, r.Name, r.Err)
				}
			default:
				if !errors.Is(r.Err, ErrInvalidTopic) {
					t.Errorf("request %d: %s: %v", i, r.Name, r.Err)
				}
			}
		}
	}
	for j := range 3 {
		if n := won[fmt.Sprintf("shared-%d", j)]; n != 1 {
			t.Errorf("shared-%d created by %d requests, want 1", j, n)
		}
	}
	if got := describeAll(t, st); len(got) != 3+k {
		t.Fatalf("%d topics, want %d", len(got), 3+k)
	}
	if c := set.GetOrCreateCounter(`skiff_topics_create_requests_total{node="0"}`).Get(); c != k {
		t.Fatalf("requests counter %d, want %d", c, k)
	}
}
