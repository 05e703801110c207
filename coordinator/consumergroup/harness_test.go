package consumergroup

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Unit-test harness: a Service over one node that leads a one-partition
// __consumer_offsets whose data group is a real datagroup.StateMachine in a
// temporary directory. Proposals are applied to it directly, one entry at
// a time (no Raft: there is a single replica and nothing to agree on).
// Time is a fake clock that drives both cfg.Now and the group timers.

const offsetsShard = 1

var offsetsTopicID = TopicID{0xcc}

// fakeClock is cfg.Now and Service.afterFunc: timers fire only when the
// test advances the clock, in deadline order, on the test's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	fn   func()
	done bool // fired or stopped
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, fn func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), fn: fn}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock by d, firing every timer that falls due on the
// way (including timers those timers start) at its own deadline.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		live := c.timers[:0]
		for _, t := range c.timers {
			if t.done {
				continue
			}
			live = append(live, t)
			if !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		c.timers = live
		if next == nil {
			break
		}
		next.done = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.fn()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// testNode is the coordinator's Node: node 1, leader of the offsets
// partition's data group, with a topic table the test controls.
type testNode struct {
	sm *datagroup.StateMachine

	mu     sync.Mutex
	index  uint64
	topics map[string]*statemachine.Topic
}

func (n *testNode) ID() int32 { return 1 }

func (n *testNode) ReadTopics(_ context.Context, q topics.Query) (*topics.View, error) {
	return n.LocalTopics(q)
}

func (n *testNode) ReadBrokers(context.Context) (*statemachine.BrokersView, error) {
	return &statemachine.BrokersView{Brokers: []*statemachine.Broker{{ID: 1, Alive: true}}, Heartbeats: []uint64{1}}, nil
}

func (n *testNode) LocalTopics(qt topics.Query) (*topics.View, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v := &topics.View{}
	seen := map[string]bool{}
	add := func(t *statemachine.Topic) {
		if !seen[t.Name] {
			seen[t.Name] = true
			v.Topics = append(v.Topics, t)
		}
	}
	for _, t := range n.topics {
		if qt.All || slices.Contains(qt.IDs, t.ID) {
			add(t)
		}
	}
	for _, name := range qt.Names {
		if t := n.topics[name]; t != nil {
			add(t)
		} else {
			v.Missing = append(v.Missing, name)
		}
	}
	sort.Slice(v.Topics, func(i, j int) bool { return v.Topics[i].Name < v.Topics[j].Name })
	return v, nil
}

func (n *testNode) DataGroupLeader(uint64) (int32, uint64, bool) { return 1, 1, true }

func (n *testNode) DataGroupReplica(shard uint64) (*datagroup.StateMachine, bool) {
	return n.sm, shard == offsetsShard
}

func (n *testNode) ProposeDataGroup(_ context.Context, shard uint64, cmd datagroup.Command) (datagroup.Result, error) {
	if shard != offsetsShard {
		return datagroup.Result{}, errors.New("testNode: unknown data group")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.index++
	out, err := n.sm.Update([]sm.Entry{{Index: n.index, Cmd: datagroup.Encode(cmd)}})
	if err != nil {
		return datagroup.Result{}, err
	}
	return datagroup.DecodeResult(out[0].Result.Data)
}

// setTopic creates or resizes a user topic.
func (n *testNode) setTopic(name string, id TopicID, partitions int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.topics[name] = &statemachine.Topic{Name: name, ID: id, Partitions: make([]statemachine.Partition, partitions)}
}

type noTopics struct{}

func (noTopics) Create(context.Context, []topics.CreateSpec, topics.CreateOptions) ([]topics.TopicResult, error) {
	return nil, errors.New("noTopics: the offsets topic exists")
}

type harness struct {
	t     *testing.T
	s     *Service
	node  *testNode
	clock *fakeClock
	p     *partition
}

// newHarness starts a coordinator with cfg's non-zero fields (Node, Topics
// and Now are the harness's) and loads the offsets partition.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	dg := datagroup.NewFactory(t.TempDir(), zerolog.Nop(), nil)(offsetsShard, 1).(*datagroup.StateMachine)
	if _, err := dg.Open(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dg.Close() })
	n := &testNode{sm: dg, topics: map[string]*statemachine.Topic{
		OffsetsTopic: {Name: OffsetsTopic, ID: offsetsTopicID, Internal: true,
			Partitions: []statemachine.Partition{{Replicas: []int32{1}, DataGroup: offsetsShard}}},
	}}
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	cfg.Node, cfg.Topics, cfg.Now = n, noTopics{}, clock.Now
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.afterFunc = clock.AfterFunc
	h := &harness{t: t, s: s, node: n, clock: clock}
	t.Cleanup(s.close)
	h.p = h.load()
	return h
}

// load makes the harness's service take over the offsets partition again
// from the log (as a new coordinator would) and returns the partition.
func (h *harness) load() *partition {
	h.t.Helper()
	s := h.s
	s.mu.Lock()
	if old := s.parts[0]; old != nil {
		old.unload()
	}
	s.topic = s.readTopic()
	p := newPartition(s, 0, offsetsTopicID, offsetsShard, 1)
	s.parts[0] = p
	s.mu.Unlock()
	p.load(context.Background())
	if !p.isLoaded() {
		h.t.Fatal("the offsets partition did not load")
	}
	h.p = p
	return p
}

// group returns the named group (nil if none), under the partition lock.
func (h *harness) group(name string) *group {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	return h.p.groups[name]
}

// locked runs fn under the partition lock.
func (h *harness) locked(fn func()) {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	fn()
}

// await returns what ch delivers, failing the test after a deadline (only
// real work, such as a log write, stands between a request and its answer:
// no timer fires unless the test advances the clock).
func await[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", what)
		panic("unreachable")
	}
}

// waiting reports whether member id of group still waits for the answer
// to its JoinGroup or SyncGroup: the coordinator clears the wait, under
// the lock, when it answers (the answer's channel may lag behind).
func (h *harness) waiting(group, id string) bool {
	var w bool
	h.locked(func() {
		if g := h.p.groups[group]; g != nil && g.members[id] != nil {
			w = g.members[id].joinCh != nil || g.members[id].syncCh != nil
		}
	})
	return w
}

// goJoin starts a JoinGroup and returns the channel its answer comes on.
func (h *harness) goJoin(req JoinRequest) <-chan JoinResult {
	ch := make(chan JoinResult, 1)
	go func() { ch <- h.s.Join(context.Background(), req) }()
	return ch
}

// goSync starts a SyncGroup and returns the channel its answer comes on.
func (h *harness) goSync(req SyncRequest) <-chan SyncResult {
	ch := make(chan SyncResult, 1)
	go func() { ch <- h.s.Sync(context.Background(), req) }()
	return ch
}

// waitFor polls cond under the partition lock until it holds, failing the
// test after a deadline: for a request started on another goroutine to
// reach the group.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		h.locked(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var ctxBG = context.Background()
