package node

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/skiff-broker/skiff/statemachine"
)

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// testConfig is a one-node configuration in a fresh temporary directory
// with a fast Raft tick.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = freeAddr(t)
	cfg.RTTMillisecond = 10
	cfg.ElectionRTT = 10
	cfg.HeartbeatRTT = 1
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.SessionTimeout = time.Second
	cfg.Metrics = metrics.NewSet()
	return cfg
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue reads one sample of the node's metrics set ("_count" of a
// histogram, or a counter).
func metricValue(t *testing.T, set *metrics.Set, name string) float64 {
	t.Helper()
	var b bytes.Buffer
	set.WritePrometheus(&b)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(b.Bytes())
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A one-node cluster: the node registers itself, a proposal is applied and
// answered, and every typed read sees its effect.
func TestNodeOneNodeProposeAndRead(t *testing.T) {
	cfg := testConfig(t)
	n := startNode(t, cfg)
	waitFor(t, 20*time.Second, "node registered", n.Ready)
	if n.ControllerID() != 1 || !n.IsLeader() {
		t.Fatalf("controller %d, leader %v; want this node", n.ControllerID(), n.IsLeader())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	bv, err := n.ReadBrokers(ctx)
	if err != nil || len(bv.Brokers) != 1 || len(bv.Heartbeats) != 1 {
		t.Fatalf("ReadBrokers: %v %+v", err, bv)
	}
	if b := bv.Brokers[0]; b.ID != 1 || !b.Alive || b.KafkaAddr != cfg.KafkaAddr || b.RaftAddr != cfg.RaftAddr {
		t.Fatalf("registered broker %+v", b)
	}

	id := statemachine.TopicID{1, 2, 3}
	batch := statemachine.Batch{Cmds: []statemachine.Command{
		statemachine.CreateTopic{Name: "t", ID: id, PartitionCount: 1, CreatedMs: 1},
		statemachine.AssignReplicas{Topic: id, Partition: 0, Replicas: []int32{1}, DataGroup: statemachine.DataGroupKey{Members: []int32{1}}},
		statemachine.SetLeader{Topic: id, Partition: 0, Leader: 1, LeaderEpoch: 0, IfEpoch: -1},
		statemachine.SetISR{Topic: id, Partition: 0, ISR: []int32{1}, IfEpoch: 0},
	}}
	res, err := n.Propose(ctx, "test", batch)
	if err != nil || len(res.Codes) != 4 {
		t.Fatalf("Propose: %v %+v", err, res)
	}
	for i, c := range res.Codes {
		if c != statemachine.CodeOK {
			t.Fatalf("command %d: code %d", i, c)
		}
	}
	if got := metricValue(t, cfg.Metrics, `skiff_metadata_proposals_total{node="1",kind="test"}`); got != 1 {
		t.Fatalf("skiff_metadata_proposals_total{kind=test} = %v, want 1", got)
	}
	// The same create again (a retried proposal) is a success: same ID.
	if res, err := n.Propose(ctx, "test", batch); err != nil || res.Codes[0] != statemachine.CodeOK {
		t.Fatalf("re-proposed create: %v %+v", err, res)
	}

	// Linearizable and local reads agree once the proposal has returned
	// (one node: it applied the entry before answering).
	reads := metricValue(t, cfg.Metrics, `skiff_metadata_read_seconds_count{node="1"}`)
	q := statemachine.QueryTopics{Names: []string{"t", "missing"}}
	rv, err := n.ReadTopics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	lv, err := n.LocalTopics(q)
	if err != nil {
		t.Fatal(err)
	}
	for what, v := range map[string]*statemachine.View{"ReadTopics": rv, "LocalTopics": lv} {
		if len(v.Topics) != 1 || v.Topics[0].ID != id || len(v.Missing) != 1 || v.Missing[0] != "missing" {
			t.Fatalf("%s: topics %+v, missing %v", what, v.Topics, v.Missing)
		}
		if v.PartitionCount != 1 || len(v.DataGroups) != 1 || len(v.Brokers) != 1 {
			t.Fatalf("%s: %d partitions, %d groups, %d brokers", what, v.PartitionCount, len(v.DataGroups), len(v.Brokers))
		}
	}
	if got := metricValue(t, cfg.Metrics, `skiff_metadata_read_seconds_count{node="1"}`); got != reads+1 {
		t.Fatalf("skiff_metadata_read_seconds_count went from %v to %v, want one more", reads, got)
	}
	if v, err := n.ReadTopics(ctx, statemachine.QueryTopics{IDs: []statemachine.TopicID{id, {9}}}); err != nil || len(v.Topics) != 1 || v.Topics[0].Name != "t" {
		t.Fatalf("ReadTopics by ID: %v %+v", err, v)
	}

	groups, err := n.LocalDataGroupTable()
	if err != nil || len(groups) != 1 || len(groups[0].Members) != 1 || groups[0].Members[0] != 1 {
		t.Fatalf("LocalDataGroupTable: %v %+v", err, groups)
	}
	if _, ok := rv.DataGroups[groups[0].ShardID]; !ok {
		t.Fatalf("the topic's view names groups %v, the table %d", rv.DataGroups, groups[0].ShardID)
	}
	// The data-group loop starts this node's replica of the new group and
	// records its leadership in the metadata shard.
	waitFor(t, 20*time.Second, "data group started and its leader recorded", func() bool {
		gs, err := n.LocalDataGroupTable()
		_, open := n.DataGroupReplica(groups[0].ShardID)
		return err == nil && len(gs) == 1 && gs[0].Leader == 1 && open
	})

	lb, err := n.LocalBrokers()
	if err != nil || len(lb.Brokers) != 1 || lb.Brokers[0].ID != 1 {
		t.Fatalf("LocalBrokers: %v %+v", err, lb)
	}
	d1, err := n.LocalDigest()
	if err != nil || d1.Topics != 1 || d1.Index == 0 || len(d1.Sum) != 64 {
		t.Fatalf("LocalDigest: %v %+v", err, d1)
	}

	// Producer IDs come from blocks allocated through the metadata shard.
	seen := map[int64]bool{}
	for range pidBlockSize + 2 {
		pid, err := n.NextProducerID(ctx)
		if err != nil || seen[pid] {
			t.Fatalf("NextProducerID: %d, %v (seen before: %v)", pid, err, seen[pid])
		}
		seen[pid] = true
	}
	if got := metricValue(t, cfg.Metrics, `skiff_metadata_proposals_total{node="1",kind="allocate_producer_ids"}`); got != 2 {
		t.Fatalf("%d producer-ID blocks for %d IDs, want 2", int(got), pidBlockSize+2)
	}
}

// A closed node answers every call with ErrClosed, at once.
func TestNodeClosed(t *testing.T) {
	n := startNode(t, testConfig(t))
	waitFor(t, 20*time.Second, "node registered", n.Ready)
	n.Close()
	n.Close() // twice is safe
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"ReadTopics":  func() error { _, err := n.ReadTopics(ctx, statemachine.QueryTopics{All: true}); return err },
		"ReadBrokers": func() error { _, err := n.ReadBrokers(ctx); return err },
		"LocalTopics": func() error { _, err := n.LocalTopics(statemachine.QueryTopics{All: true}); return err },
		"LocalDigest": func() error { _, err := n.LocalDigest(); return err },
		"Propose": func() error {
			_, err := n.Propose(ctx, "test", statemachine.Heartbeat{ID: 1})
			return err
		},
	}
	for name, call := range calls {
		start := time.Now()
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s after Close took %v", name, d)
		}
	}
}

// A node whose metadata shard cannot elect a leader (its second initial
// member never starts) still reads its local replica, but linearizable
// reads and proposals fail with a retriable error once their deadline
// passes, and are counted as failures.
func TestNodeNoLeader(t *testing.T) {
	cfg := testConfig(t)
	cfg.InitialMembers = map[uint64]string{1: cfg.RaftAddr, 2: freeAddr(t)}
	n := startNode(t, cfg)

	for what, call := range map[string]func(context.Context) error{
		"ReadTopics": func(ctx context.Context) error {
			_, err := n.ReadTopics(ctx, statemachine.QueryTopics{All: true})
			return err
		},
		"Propose": func(ctx context.Context) error {
			_, err := n.Propose(ctx, "test", statemachine.Heartbeat{ID: 1})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		t.Logf("%s without a leader: %v", what, err)
		if !errors.Is(err, ErrNotReady) && !errors.Is(err, ErrTimeout) {
			t.Errorf("%s without a leader: %v, want ErrNotReady or ErrTimeout", what, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s without a leader returned after %v, its deadline was 300ms", what, d)
		}
	}
	if got := metricValue(t, cfg.Metrics, `skiff_metadata_read_errors_total{node="1"}`); got != 1 {
		t.Errorf("skiff_metadata_read_errors_total = %v, want 1", got)
	}
	if got := metricValue(t, cfg.Metrics, `skiff_metadata_proposal_errors_total{node="1",kind="test"}`); got != 1 {
		t.Errorf("skiff_metadata_proposal_errors_total{kind=test} = %v, want 1", got)
	}
	v, err := n.LocalTopics(statemachine.QueryTopics{All: true, Names: []string{"x"}})
	if err != nil || len(v.Topics) != 0 || len(v.Missing) != 1 {
		t.Fatalf("LocalTopics without a leader: %v %+v", err, v)
	}
	if n.Ready() || n.ControllerID() != -1 {
		t.Fatalf("ready %v, controller %d without a leader", n.Ready(), n.ControllerID())
	}
}
