package topics

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
)

// fakeStore scripts a metadata shard: read answers reads, propose answers
// proposals; every call is recorded.
type fakeStore struct {
	mu        sync.Mutex
	read      func(q any) (any, error)
	propose   func(n int, cmd statemachine.Command) (statemachine.Result, error)
	reads     []any
	local     []any // LocalRead queries
	proposals []statemachine.Command
	kinds     []string
	follower  bool // IsLeader answers false
}

func (f *fakeStore) LocalTopics(q statemachine.QueryTopics) (*statemachine.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.local = append(f.local, q)
	v, err := f.read(q)
	if err != nil {
		return nil, err
	}
	return v.(*View), nil
}

func (f *fakeStore) LocalDataGroupTable() ([]*statemachine.DataGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := statemachine.QueryDataGroups{}
	f.local = append(f.local, q)
	v, err := f.read(q)
	if err != nil {
		return nil, err
	}
	gs, _ := v.([]*statemachine.DataGroup)
	return gs, nil
}

func (f *fakeStore) IsLeader() bool { return !f.follower }

func (f *fakeStore) ReadTopics(_ context.Context, q statemachine.QueryTopics) (*statemachine.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, q)
	v, err := f.read(q)
	if err != nil {
		return nil, err
	}
	return v.(*View), nil
}

func (f *fakeStore) Propose(_ context.Context, kind string, cmd statemachine.Command) (statemachine.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proposals = append(f.proposals, cmd)
	f.kinds = append(f.kinds, kind)
	return f.propose(len(f.proposals), cmd)
}

// allOK answers a batch with CodeOK for every command.
func allOK(_ int, cmd statemachine.Command) (statemachine.Result, error) {
	return statemachine.Result{Codes: make([]statemachine.Code, len(cmd.(statemachine.Batch).Cmds))}, nil
}

func viewOf(topics ...*Topic) func(any) (any, error) {
	return func(any) (any, error) {
		return &View{Brokers: brokersN(3), Topics: topics, PartitionCount: 10}, nil
	}
}

func newTestService(t *testing.T, st *fakeStore, mod func(*Config)) *Service {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Store = st
	cfg.NewID = seqIDs()
	cfg.Now = func() time.Time { return time.UnixMilli(1700000000000) }
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t))
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTopicsConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Store = &fakeStore{}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"partitions 0":   func(c *Config) { c.DefaultPartitions = 0 },
		"partitions max": func(c *Config) { c.DefaultPartitions = maxTopicPartitions + 1 },
		"rf negative":    func(c *Config) { c.DefaultReplicationFactor = -1 },
		"max requests":   func(c *Config) { c.MaxPartitionsPerRequest = 0 },
		"rf over limit":  func(c *Config) { c.DefaultReplicationFactor = 256 },
	} {
		c := ok
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
	noStore := ok
	noStore.Store = nil
	if _, err := New(noStore); err == nil {
		t.Error("New accepted a config without a Store")
	}
}

func TestTopicsCreateOneProposal(t *testing.T) {
	st := &fakeStore{read: viewOf()}
	st.propose = func(_ int, cmd statemachine.Command) (statemachine.Result, error) {
		res, _ := allOK(0, cmd)
		for i, c := range cmd.(statemachine.Batch).Cmds {
			if ct, ok := c.(statemachine.CreateTopicPlaced); ok && ct.Name == "b" {
				res.Codes[i] = statemachine.CodeTopicExists
				for j := 1; j <= int(ct.PartitionCount); j++ {
					res.Codes[i+j] = statemachine.CodeSkipped
				}
			}
		}
		return res, nil
	}
	s := newTestService(t, st, nil)
	res, err := s.Create(context.Background(), []CreateSpec{auto("a", 2, 3), auto("b", 4, 1), auto("bad/name", 1, 1), auto("c", -1, -1)}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// One consensus round: the proposal. Placement and the leader check
	// read the local copy.
	if len(st.proposals) != 1 || st.kinds[0] != "create_topics" || len(st.reads) != 0 || len(st.local) == 0 {
		t.Fatalf("%d proposals %v, %d reads, %d local reads; want one proposal and no linearizable read", len(st.proposals), st.kinds, len(st.reads), len(st.local))
	}
	if n := len(st.proposals[0].(statemachine.Batch).Cmds); n != 3+(2+4+1) {
		t.Errorf("batch of %d commands", n)
	}
	if res[0].Err != nil || res[0].ID != (TopicID{1}) || res[0].NumPartitions != 2 {
		t.Errorf("a: %+v", res[0])
	}
	if !errors.Is(res[1].Err, ErrTopicExists) || res[1].Err.Error() != "Topic 'b' already exists." {
		t.Errorf("b: %v", res[1].Err)
	}
	if !errors.Is(res[2].Err, ErrInvalidTopic) {
		t.Errorf("bad/name: %v", res[2].Err)
	}
	if res[3].Err != nil || res[3].ReplicationFactor != 3 || res[3].NumPartitions != 1 {
		t.Errorf("c: %+v", res[3])
	}
}

func TestTopicsCreateNothingValidNoProposal(t *testing.T) {
	st := &fakeStore{read: viewOf(), propose: allOK}
	s := newTestService(t, st, nil)
	res, err := s.Create(context.Background(), []CreateSpec{auto("x", 0, 1), auto("y", 1, 9)}, CreateOptions{})
	if err != nil || len(st.proposals) != 0 {
		t.Fatalf("err %v, %d proposals", err, len(st.proposals))
	}
	if !errors.Is(res[0].Err, ErrInvalidPartitions) || !errors.Is(res[1].Err, ErrInvalidReplicationFactor) {
		t.Errorf("results %v %v", res[0].Err, res[1].Err)
	}
	if _, err := s.Create(context.Background(), []CreateSpec{auto("x", 1, 1)}, CreateOptions{ValidateOnly: true}); err != nil || len(st.proposals) != 0 {
		t.Errorf("validate only: %v, %d proposals", err, len(st.proposals))
	}
}

func TestTopicsCreateRetriesUnknownOutcome(t *testing.T) {
	st := &fakeStore{read: viewOf()}
	st.propose = func(n int, cmd statemachine.Command) (statemachine.Result, error) {
		if n < 3 {
			return statemachine.Result{}, fmt.Errorf("propose: %w", node.ErrTimeout)
		}
		return allOK(n, cmd)
	}
	s := newTestService(t, st, nil)
	res, err := s.Create(context.Background(), []CreateSpec{auto("a", 3, 2)}, CreateOptions{})
	if err != nil || res[0].Err != nil {
		t.Fatalf("%v %v", err, res[0].Err)
	}
	if len(st.proposals) != 3 {
		t.Fatalf("%d proposals, want 3", len(st.proposals))
	}
	for i := 1; i < 3; i++ {
		if !reflect.DeepEqual(st.proposals[i], st.proposals[0]) {
			t.Errorf("proposal %d differs from the first: a retry must re-propose the same batch (same IDs)", i)
		}
	}
}

func TestTopicsCreateRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		storeErr    error
		topicsErr   error
		wantPropose int
	}{
		{node.ErrNotReady, ErrNotReady, 1},
		{node.ErrClosed, ErrClosed, 1},
		{node.ErrTimeout, ErrTimeout, -1}, // retried until ctx ends
	} {
		st := &fakeStore{read: viewOf()}
		st.propose = func(int, statemachine.Command) (statemachine.Result, error) {
			return statemachine.Result{}, fmt.Errorf("node: propose: %w", tc.storeErr)
		}
		s := newTestService(t, st, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := s.Create(ctx, []CreateSpec{auto("a", 1, 1)}, CreateOptions{})
		cancel()
		if !errors.Is(err, tc.topicsErr) || !errors.Is(err, tc.storeErr) {
			t.Errorf("%v: got %v", tc.storeErr, err)
		}
		// The proposing goroutine may still be retrying right at the
		// deadline: read the count under the store's lock.
		st.mu.Lock()
		n := len(st.proposals)
		st.mu.Unlock()
		if tc.wantPropose > 0 && n != tc.wantPropose {
			t.Errorf("%v: %d proposals, want %d", tc.storeErr, n, tc.wantPropose)
		}
		if tc.wantPropose < 0 && n < 2 {
			t.Errorf("%v: %d proposals, want retries", tc.storeErr, n)
		}
	}
	// A failing read is a request error too.
	st := &fakeStore{read: func(any) (any, error) { return nil, node.ErrNotReady }}
	s := newTestService(t, st, nil)
	if _, err := s.Create(context.Background(), []CreateSpec{auto("a", 1, 1)}, CreateOptions{}); !errors.Is(err, ErrNotReady) {
		t.Errorf("read error: %v", err)
	}
}

func TestTopicsAutoCreate(t *testing.T) {
	st := &fakeStore{read: viewOf(), propose: allOK}
	s := newTestService(t, st, func(c *Config) { c.AutoCreateTopics = false })
	res, err := s.AutoCreate(context.Background(), []string{"a", "b"})
	if err != nil || len(res) != 2 || !errors.Is(res[0].Err, ErrAutoCreateDisabled) || !errors.Is(res[1].Err, ErrAutoCreateDisabled) {
		t.Fatalf("disabled: %v %+v", err, res)
	}
	if len(st.reads)+len(st.proposals) != 0 {
		t.Error("disabled auto-create touched the store")
	}

	s = newTestService(t, st, func(c *Config) { c.DefaultPartitions = 3; c.DefaultReplicationFactor = 2 })
	res, err = s.AutoCreate(context.Background(), []string{"a", "b", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.proposals) != 1 {
		t.Fatalf("%d proposals", len(st.proposals))
	}
	creates := 0
	for _, c := range st.proposals[0].(statemachine.Batch).Cmds {
		if ct, ok := c.(statemachine.CreateTopicPlaced); ok {
			creates++
			if ct.PartitionCount != 3 {
				t.Errorf("%s: %d partitions", ct.Name, ct.PartitionCount)
			}
		}
	}
	if creates != 2 || res[0].Err != nil || res[2].ID != res[0].ID || res[1].ReplicationFactor != 2 {
		t.Errorf("%d creates, results %+v", creates, res)
	}
}

func TestTopicsCreatePartitionsRetriesConditionFailed(t *testing.T) {
	reads := 0
	st := &fakeStore{}
	st.read = func(any) (any, error) {
		reads++
		return &View{Brokers: brokersN(3), Topics: []*Topic{topicWith("a", 1, reads, 2)}, PartitionCount: reads}, nil
	}
	st.propose = func(n int, cmd statemachine.Command) (statemachine.Result, error) {
		res, _ := allOK(n, cmd)
		if n == 1 {
			for i := range res.Codes {
				res.Codes[i] = statemachine.CodeSkipped
			}
			res.Codes[0] = statemachine.CodeConditionFailed
		}
		return res, nil
	}
	s := newTestService(t, st, nil)
	res, err := s.CreatePartitions(context.Background(), []PartitionsSpec{{Name: "a", Count: 4}, {Name: "zz", Count: 2}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].NumPartitions != 4 || !errors.Is(res[1].Err, ErrUnknownTopic) {
		t.Fatalf("results %+v", res)
	}
	if len(st.proposals) != 2 || st.kinds[1] != "create_partitions" {
		t.Fatalf("%d proposals", len(st.proposals))
	}
	add := st.proposals[1].(statemachine.Batch).Cmds[0].(statemachine.AddPartitions)
	if add.ExpectCount != 2 || add.NewCount != 4 {
		t.Errorf("retry proposed %+v, want ExpectCount 2 (re-read)", add)
	}
}

func TestTopicsDelete(t *testing.T) {
	st := &fakeStore{read: viewOf(topicWith("a", 1, 1, 1), topicWith("b", 2, 1, 1))}
	st.propose = func(n int, cmd statemachine.Command) (statemachine.Result, error) {
		res, _ := allOK(n, cmd)
		for i, c := range cmd.(statemachine.Batch).Cmds {
			if c.(statemachine.DeleteTopic).Name == "gone" {
				res.Codes[i] = statemachine.CodeUnknownTopic
			}
		}
		return res, nil
	}
	s := newTestService(t, st, nil)
	res, err := s.Delete(context.Background(), []DeleteSpec{{Name: "a"}, {ID: TopicID{2}}, {Name: "gone"}, {ID: TopicID{7}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.proposals) != 1 || st.kinds[0] != "delete_topics" || len(st.reads) != 1 {
		t.Fatalf("%d proposals, %d reads", len(st.proposals), len(st.reads))
	}
	q := st.reads[0].(statemachine.QueryTopics)
	if len(q.Names) != 2 || len(q.IDs) != 2 {
		t.Errorf("query %+v", q)
	}
	if res[0].Err != nil || res[0].ID != (TopicID{1}) || res[1].Err != nil || res[1].Name != "b" {
		t.Errorf("results %+v %+v", res[0], res[1])
	}
	if !errors.Is(res[2].Err, ErrUnknownTopic) || errors.Is(res[2].Err, ErrUnknownTopicID) {
		t.Errorf("gone: %v", res[2].Err)
	}
	if !errors.Is(res[3].Err, ErrUnknownTopicID) {
		t.Errorf("unknown id: %v", res[3].Err)
	}
}

func TestTopicsAlterConfigs(t *testing.T) {
	str := func(s string) *string { return &s }
	st := &fakeStore{read: viewOf(topicWith("a", 1, 1, 1), topicWith("b", 2, 1, 1)), propose: allOK}
	s := newTestService(t, st, nil)
	res, err := s.AlterConfigs(context.Background(), []AlterSpec{
		{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Value: str("5")}}},
		{Name: "b", Replace: true, Ops: []ConfigOp{{Key: "cleanup.policy", Value: str("compact")}}},
		{Name: "c", Ops: []ConfigOp{{Key: "retention.ms", Value: str("5")}}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.proposals) != 1 || st.kinds[0] != "alter_configs" || len(st.proposals[0].(statemachine.Batch).Cmds) != 2 {
		t.Fatalf("proposals %v", st.proposals)
	}
	if res[0].Err != nil || res[1].Err != nil || !errors.Is(res[2].Err, ErrUnknownTopic) {
		t.Errorf("results %v %v %v", res[0].Err, res[1].Err, res[2].Err)
	}
	if _, err := s.AlterConfigs(context.Background(), []AlterSpec{{Name: "a", Replace: true}}, true); err != nil || len(st.proposals) != 1 {
		t.Errorf("validate only proposed: %v", err)
	}
}

func TestTopicsDescribe(t *testing.T) {
	st := &fakeStore{read: viewOf(topicWith("a", 1, 1, 1))}
	s := newTestService(t, st, nil)
	v, err := s.Describe(context.Background(), Query{All: true})
	if err != nil || len(v.Topics) != 1 || len(st.reads) != 1 || !st.reads[0].(statemachine.QueryTopics).All {
		t.Fatalf("%v %+v", err, v)
	}
}

func TestTopicsNewTopicID(t *testing.T) {
	seen := map[TopicID]bool{}
	for i := 0; i < 1000; i++ {
		id := NewTopicID()
		if id.IsZero() || seen[id] || id[6]>>4 != 4 || id[8]>>6 != 2 || FormatTopicID(id)[0] == '-' {
			t.Fatalf("bad id %x (%s)", id, FormatTopicID(id))
		}
		seen[id] = true
	}
}
