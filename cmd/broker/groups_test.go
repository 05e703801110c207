package broker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

// Consumer-group tests: real franz-go (and sarama, kcat) group consumers
// against 3 real NodeHosts. __consumer_offsets has 10 partitions here and
// groups wait 300 ms for more members before their first generation.

const groupOffsetsPartitions = 10

func groupCluster(t *testing.T) *clustertest.Cluster {
	t.Helper()
	return clustertest.New(t, 3, clustertest.Options{Groups: func(gc *consumergroup.Config) {
		gc.OffsetsTopicPartitions = groupOffsetsPartitions
		gc.InitialRebalanceDelay = 300 * time.Millisecond
		gc.MinSessionTimeout = time.Second
		gc.CompactMinRecords = 50
		gc.CleanupInterval = 500 * time.Millisecond
	}})
}

// consumed tracks what a group's members processed and committed.
type consumed struct {
	mu      sync.Mutex
	byValue map[string]int // record value -> times processed
	dups    []string
	n       atomic.Int64
}

func newConsumed() *consumed { return &consumed{byValue: map[string]int{}} }

func (c *consumed) add(recs []*kgo.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		v := string(r.Value)
		c.byValue[v]++
		if c.byValue[v] == 2 {
			c.dups = append(c.dups, fmt.Sprintf("%s (%s/%d@%d)", v, r.Topic, r.Partition, r.Offset))
		}
	}
	c.n.Add(int64(len(recs)))
}

// waitFor waits until n distinct records were processed.
func (c *consumed) waitFor(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	err := clustertest.WaitFor(timeout, func() error {
		c.mu.Lock()
		got := len(c.byValue)
		c.mu.Unlock()
		if got < n {
			return fmt.Errorf("%d of %d records consumed", got, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// check asserts that exactly the values sent were processed, each once.
func (c *consumed) check(t *testing.T, sent []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dups) > 0 {
		t.Errorf("%d records processed more than once, e.g. %v", len(c.dups), c.dups[:min(5, len(c.dups))])
	}
	for _, v := range sent {
		if c.byValue[v] == 0 {
			t.Errorf("record %s never processed", v)
		}
	}
	if len(c.byValue) != len(sent) {
		t.Errorf("%d distinct records processed, %d sent", len(c.byValue), len(sent))
	}
}

// member is one group consumer running a poll-process-commit loop: it
// blocks rebalances while it processes a poll and commits what it
// processed (synchronously) before it allows the next one, so that a
// partition never moves with processed but uncommitted records.
type member struct {
	cl      *kgo.Client
	cancel  context.CancelFunc
	done    chan struct{}
	revoked atomic.Int32
	lost    atomic.Int32
}

func startMember(t *testing.T, addr, group string, topics []string, into *consumed, opts ...kgo.Opt) *member {
	t.Helper()
	m := &member{done: make(chan struct{})}
	base := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.SessionTimeout(8 * time.Second),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.RebalanceTimeout(20 * time.Second),
		kgo.RequestRetries(100),
		kgo.RetryTimeout(45 * time.Second),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { m.revoked.Add(1) }),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { m.lost.Add(1) }),
		kgo.WithLogger(kgo.BasicLogger(kgoLogWriter{t, group + "@" + addr}, kgo.LogLevelInfo, nil)),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				cl.AllowRebalance()
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				if !kerr.IsRetriable(err) && !errors.Is(err, context.Canceled) {
					t.Errorf("group %s: fetch %s/%d: %v", group, topic, p, err)
				}
			})
			recs := fs.Records()
			if len(recs) > 0 {
				into.add(recs)
				if err := cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
					t.Errorf("group %s: commit after processing %d records: %v", group, len(recs), err)
				}
			}
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(m.stop)
	return m
}

func (m *member) stop() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

// produceValues produces n records with unique values prefix-i, spread
// over topics, and returns the values.
func produceValues(t *testing.T, cl *kgo.Client, prefix string, topics []string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	var vals []string
	for i := range n {
		v := fmt.Sprintf("%s-%05d", prefix, i)
		vals = append(vals, v)
		recs = append(recs, &kgo.Record{Topic: topics[i%len(topics)], Key: []byte(v), Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %s: %v", prefix, err)
	}
	return vals
}

// coordinatorOf asks the node at addr for group's coordinator.
func coordinatorOf(t *testing.T, addr, group string) int32 {
	t.Helper()
	var node int32 = -1
	err := clustertest.WaitFor(20*time.Second, func() error {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKeys = []string{group}
		resp, err := tryRequest(addr, req)
		if err != nil {
			return err
		}
		c := resp.(*kmsg.FindCoordinatorResponse).Coordinators[0]
		if err := kerr.ErrorForCode(c.ErrorCode); err != nil {
			return err
		}
		node = c.NodeID
		return nil
	})
	if err != nil {
		t.Fatalf("find coordinator of %s: %v", group, err)
	}
	return node
}

func tryRequest(addr string, req kmsg.Request) (kmsg.Response, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.SeedBrokers()[0].Request(ctx, req)
}

// readyCoordinator waits until group's coordinator has loaded its offsets
// partition (a Heartbeat of an unknown member gets UNKNOWN_MEMBER_ID, not
// COORDINATOR_LOAD_IN_PROGRESS) and returns its node ID.
func readyCoordinator(t *testing.T, c *clustertest.Cluster, group string) int32 {
	t.Helper()
	var coord int32
	err := clustertest.WaitFor(30*time.Second, func() error {
		coord = coordinatorOf(t, c.KafkaAddrs()[0], group)
		resp, err := tryRequest(c.KafkaAddrs()[coord-1], &kmsg.HeartbeatRequest{Version: 4, Group: group, MemberID: "probe"})
		if err != nil {
			return err
		}
		if code := resp.(*kmsg.HeartbeatResponse).ErrorCode; code != kerr.UnknownMemberID.Code {
			return kerr.ErrorForCode(code)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return coord
}

// settleLeaders creates __consumer_offsets (through FindCoordinator) and
// waits until every partition of it and of topics is led by its preferred
// leader: the nodes hand data-group leadership to preferred leaders in the
// first seconds of a cluster, and a coordinator that moves in the middle of
// a group's first rebalance makes its members join again.
func settleLeaders(t *testing.T, c *clustertest.Cluster, topics ...string) {
	t.Helper()
	coordinatorOf(t, c.KafkaAddrs()[0], "settle")
	topics = append(topics, consumergroup.OffsetsTopic)
	err := clustertest.WaitFor(60*time.Second, func() error {
		md, err := tryRequest(c.KafkaAddrs()[0], metadataReq(topics))
		if err != nil {
			return err
		}
		for _, mt := range md.(*kmsg.MetadataResponse).Topics {
			for _, p := range mt.Partitions {
				if len(p.Replicas) == 0 || p.Leader != p.Replicas[0] {
					return fmt.Errorf("%s/%d led by %d, preferred %v", *mt.Topic, p.Partition, p.Leader, p.Replicas)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func metadataReq(topics []string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// liveAdmin is a kadm client seeded with the running nodes.
func liveAdmin(c *clustertest.Cluster) (*kadm.Client, func()) {
	var seeds []string
	for i, a := range c.KafkaAddrs() {
		if c.Broker(i) != nil {
			seeds = append(seeds, a)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequestRetries(20))
	if err != nil {
		panic(err)
	}
	return kadm.NewClient(cl), cl.Close
}

// fetchOffsets fetches a group's committed offsets, each attempt with a
// new client: kgo's sharded OffsetFetch keeps dialing a cached coordinator
// that is gone instead of finding the new one.
func fetchOffsets(t *testing.T, c *clustertest.Cluster, group string) kadm.OffsetResponses {
	t.Helper()
	var offs kadm.OffsetResponses
	err := clustertest.WaitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		adm, done := liveAdmin(c)
		defer done()
		var err error
		offs, err = adm.FetchOffsets(ctx, group)
		if err == nil {
			err = offs.Error()
		}
		return err
	})
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	return offs
}

// committedEqualsEnd waits until the group's committed offsets equal the
// end offsets of every partition of topics.
func committedEqualsEnd(t *testing.T, c *clustertest.Cluster, group string, topics []string) {
	t.Helper()
	err := clustertest.WaitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		adm, done := liveAdmin(c)
		defer done()
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return err
		}
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		var bad []string
		ends.Each(func(e kadm.ListedOffset) {
			o, ok := offs.Lookup(e.Topic, e.Partition)
			if e.Offset > 0 && (!ok || o.At != e.Offset) {
				bad = append(bad, fmt.Sprintf("%s/%d committed %d end %d", e.Topic, e.Partition, o.At, e.Offset))
			}
		})
		if len(bad) > 0 {
			return fmt.Errorf("%d partitions behind: %v", len(bad), bad[:min(4, len(bad))])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameOffsetsPartition returns two group names, with the given prefixes,
// that live in the same __consumer_offsets partition (so they share a
// coordinator).
func sameOffsetsPartition(a, b string) (string, string) {
	for i := 0; ; i++ {
		for j := 0; j < 50; j++ {
			ga, gb := fmt.Sprintf("%s-%d", a, i), fmt.Sprintf("%s-%d", b, j)
			if consumergroup.PartitionFor(ga, groupOffsetsPartitions) == consumergroup.PartitionFor(gb, groupOffsetsPartitions) {
				return ga, gb
			}
		}
	}
}

// Three group consumers on three different nodes share topics of 7, 11 and
// 31 partitions, with the cooperative-sticky balancer in one group and the
// range balancer in another. Every record is processed exactly once, and
// all commits are there, across a rebalance (a third member joins) and
// across the loss of the groups' coordinator.
func TestClusterGroupExactlyOnceAcrossRebalanceAndCoordinatorLoss(t *testing.T) {
	c := groupCluster(t)
	addrs := c.KafkaAddrs()
	topics := []string{"eo-7", "eo-11", "eo-31"}
	for i, n := range []int32{7, 11, 31} {
		createTopic(t, c, topics[i], n, 3, nil)
	}
	settleLeaders(t, c, topics...)
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100), kgo.RetryTimeout(45*time.Second))
	gSticky, gRange := sameOffsetsPartition("eo-sticky", "eo-range")
	type grp struct {
		name     string
		balancer kgo.GroupBalancer
		got      *consumed
		members  []*member
	}
	gs := []*grp{
		{name: gSticky, balancer: kgo.CooperativeStickyBalancer(), got: newConsumed()},
		{name: gRange, balancer: kgo.RangeBalancer(), got: newConsumed()},
	}
	var sent []string
	for _, g := range gs {
		for i := range 2 {
			g.members = append(g.members, startMember(t, addrs[i], g.name, topics, g.got, kgo.Balancers(g.balancer)))
		}
	}
	sent = append(sent, produceValues(t, prod, "a", topics, 600)...)
	for _, g := range gs {
		g.got.waitFor(t, len(sent), 60*time.Second)
	}

	// A third member, on the third node: the groups rebalance while
	// records keep coming.
	for _, g := range gs {
		g.members = append(g.members, startMember(t, addrs[2], g.name, topics, g.got, kgo.Balancers(g.balancer)))
	}
	sent = append(sent, produceValues(t, prod, "b", topics, 600)...)
	adm := kadm.NewClient(nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100)))
	for _, g := range gs {
		g.got.waitFor(t, len(sent), 60*time.Second)
		// every member has partitions
		err := clustertest.WaitFor(30*time.Second, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			dg, err := adm.DescribeGroups(ctx, g.name)
			if err != nil {
				return err
			}
			d := dg[g.name]
			if d.State != "Stable" || len(d.Members) != 3 {
				return fmt.Errorf("group %s: %s with %d members", g.name, d.State, len(d.Members))
			}
			for _, m := range d.Members {
				if a, ok := m.Assigned.AsConsumer(); !ok || len(a.Topics) == 0 {
					return fmt.Errorf("group %s: member %s has no partitions", g.name, m.MemberID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range gs {
		committedEqualsEnd(t, c, g.name, topics)
	}
	before := map[string]kadm.OffsetResponses{}
	lostBefore := map[*member]int32{}
	for _, g := range gs {
		before[g.name] = fetchOffsets(t, c, g.name)
		for _, m := range g.members {
			lostBefore[m] = m.lost.Load()
		}
	}

	// Lose the coordinator (both groups live in the same offsets
	// partition). Its partitions' data groups elect new leaders; the new
	// coordinator replays the partition and the members carry on.
	coord := coordinatorOf(t, addrs[0], gSticky)
	if other := coordinatorOf(t, addrs[0], gRange); other != coord {
		t.Fatalf("groups %s and %s have coordinators %d and %d", gSticky, gRange, coord, other)
	}
	t.Logf("stopping node %d, the coordinator", coord)
	c.Stop(int(coord - 1))
	live := addrs[coord%3]
	err := clustertest.WaitFor(30*time.Second, func() error {
		if now := coordinatorOf(t, live, gSticky); now == coord {
			return fmt.Errorf("coordinator still %d", now)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		offs := fetchOffsets(t, c, g.name)
		before[g.name].Each(func(o kadm.OffsetResponse) {
			now, ok := offs.Lookup(o.Topic, o.Partition)
			if !ok || now.At < o.At {
				t.Errorf("group %s: %s/%d committed %d before the coordinator stopped, %d after", g.name, o.Topic, o.Partition, o.At, now.At)
			}
		})
	}
	sent = append(sent, produceValues(t, prod, "c", topics, 600)...)
	for _, g := range gs {
		g.got.waitFor(t, len(sent), 90*time.Second)
		committedEqualsEnd(t, c, g.name, topics)
	}
	for _, g := range gs {
		for _, m := range g.members {
			m.stop()
		}
		g.got.check(t, sent)
		var lost int32
		for _, m := range g.members {
			lost += m.lost.Load() - lostBefore[m]
		}
		if lost > 0 {
			t.Errorf("group %s: members lost partitions %d times (a coordinator change must not cost the members their assignment)", g.name, lost)
		}
	}
}

// kgoLogWriter puts a member's kgo log (info level, without heartbeats and
// fetches) into the test log, shown when a test fails. Members are closed
// by t.Cleanup, before the test ends.
type kgoLogWriter struct {
	t    *testing.T
	name string
}

func (w kgoLogWriter) Write(p []byte) (int, error) {
	if line := strings.TrimSpace(string(p)); !strings.Contains(line, "heartbeat") && !strings.Contains(line, "Fetch") {
		w.t.Log("KGO " + w.name + " " + line)
	}
	return len(p), nil
}

// describeGroup describes one classic group through a live node.
func describeGroup(t *testing.T, c *clustertest.Cluster, group string) kadm.DescribedGroup {
	t.Helper()
	var d kadm.DescribedGroup
	err := clustertest.WaitFor(30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		adm, done := liveAdmin(c)
		defer done()
		dg, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		d = dg[group]
		return d.Err
	})
	if err != nil {
		t.Fatalf("describe %s: %v", group, err)
	}
	return d
}

// waitStable waits until group is Stable with n members that all have
// partitions.
func waitStable(t *testing.T, c *clustertest.Cluster, group string, n int) kadm.DescribedGroup {
	t.Helper()
	var d kadm.DescribedGroup
	err := clustertest.WaitFor(60*time.Second, func() error {
		d = describeGroup(t, c, group)
		if d.State != "Stable" || len(d.Members) != n {
			return fmt.Errorf("group %s: %s with %d members", group, d.State, len(d.Members))
		}
		for _, m := range d.Members {
			if a, ok := m.Assigned.AsConsumer(); !ok || len(a.Topics) == 0 {
				return fmt.Errorf("group %s: member %s has no partitions", group, m.MemberID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func assignedOf(d kadm.DescribedGroup, instance string) (string, string) {
	for _, m := range d.Members {
		if m.InstanceID != nil && *m.InstanceID == instance {
			a, _ := m.Assigned.AsConsumer()
			var parts []string
			for _, t := range a.Topics {
				parts = append(parts, fmt.Sprint(t.Topic, t.Partitions))
			}
			sort.Strings(parts)
			return m.MemberID, strings.Join(parts, " ")
		}
	}
	return "", ""
}

// A static member (group.instance.id) that restarts within its session
// timeout gets its partitions back under a new member ID, and the group
// does not rebalance: the other member keeps its generation and never
// gives anything up. Nothing is processed twice.
func TestClusterGroupStaticMemberRestartNoRebalance(t *testing.T) {
	c := groupCluster(t)
	addrs := c.KafkaAddrs()
	topics := []string{"static-12"}
	createTopic(t, c, topics[0], 12, 3, nil)
	settleLeaders(t, c, topics...)
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100))
	const group = "static-group"
	got := newConsumed()
	static := func(addr, id string) *member {
		return startMember(t, addr, group, topics, got, kgo.InstanceID(id), kgo.SessionTimeout(20*time.Second))
	}
	a := static(addrs[0], "a")
	waitStable(t, c, group, 1) // a joins first, so a leads the group
	b := static(addrs[1], "b")
	sent := produceValues(t, prod, "s1", topics, 300)
	got.waitFor(t, len(sent), 60*time.Second)
	d := waitStable(t, c, group, 2)
	oldB, assignedB := assignedOf(d, "b")
	if assignedB == "" {
		t.Fatalf("b has no partitions: %+v", d)
	}
	_, genA := a.cl.GroupMetadata()
	revokedA := a.revoked.Load()

	b.stop() // a static member leaves no LeaveGroup behind
	sent = append(sent, produceValues(t, prod, "s2", topics, 300)...)
	b2 := static(addrs[2], "b")
	got.waitFor(t, len(sent), 60*time.Second)
	d = waitStable(t, c, group, 2)
	newB, assignedB2 := assignedOf(d, "b")
	switch {
	case newB == oldB:
		t.Errorf("the restarted static member kept member ID %s", oldB)
	case assignedB2 != assignedB:
		t.Errorf("the restarted static member has %q, had %q", assignedB2, assignedB)
	}
	if _, gen := a.cl.GroupMetadata(); gen != genA {
		t.Errorf("the other member moved from generation %d to %d: the group rebalanced", genA, gen)
	}
	if _, gen := b2.cl.GroupMetadata(); gen != genA {
		t.Errorf("the restarted member is in generation %d, the group in %d", gen, genA)
	}
	if r := a.revoked.Load(); r != revokedA {
		t.Errorf("the other member gave up partitions %d times during the restart", r-revokedA)
	}
	a.stop()
	b2.stop()
	got.check(t, sent)
}

// KIP-848 consumer groups: franz-go members with server-side assignment
// (uniform through the sticky balancer, range through the range balancer)
// on three nodes; every record processed once across a member joining.
func TestClusterGroupConsumerProtocol(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{Groups: func(gc *consumergroup.Config) {
		gc.OffsetsTopicPartitions = groupOffsetsPartitions
		gc.ConsumerHeartbeatInterval = 250 * time.Millisecond
		gc.ConsumerSessionTimeout = 10 * time.Second
	}})
	addrs := c.KafkaAddrs()
	topics := []string{"kip848-7", "kip848-11"}
	createTopic(t, c, topics[0], 7, 3, nil)
	createTopic(t, c, topics[1], 11, 3, nil)
	settleLeaders(t, c, topics...)
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100))

	av := requestTo(t, addrs[1], kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	advertised := map[int16]int16{}
	for _, k := range av.ApiKeys {
		advertised[k.ApiKey] = k.MaxVersion
	}
	if advertised[kmsg.ConsumerGroupHeartbeat.Int16()] < 1 || advertised[kmsg.ConsumerGroupDescribe.Int16()] < 1 {
		t.Fatalf("ConsumerGroupHeartbeat/Describe not advertised: %v", advertised)
	}

	type grp struct {
		name, assignor string
		balancer       kgo.GroupBalancer
		got            *consumed
		members        []*member
	}
	gs := []*grp{
		{name: "kip848-uniform", assignor: "uniform", balancer: kgo.StickyBalancer(), got: newConsumed()},
		{name: "kip848-range", assignor: "range", balancer: kgo.RangeBalancer(), got: newConsumed()},
	}
	start := func(g *grp, addr string) {
		g.members = append(g.members, startMember(t, addr, g.name, topics, g.got,
			kgo.ServerSideBalancer(), kgo.Balancers(g.balancer)))
	}
	for _, g := range gs {
		start(g, addrs[0])
		start(g, addrs[1])
	}
	sent := produceValues(t, prod, "k1", topics, 400)
	for _, g := range gs {
		g.got.waitFor(t, len(sent), 60*time.Second)
		start(g, addrs[2])
	}
	sent = append(sent, produceValues(t, prod, "k2", topics, 400)...)
	for _, g := range gs {
		g.got.waitFor(t, len(sent), 60*time.Second)
		var desc kmsg.ConsumerGroupDescribeResponseGroup
		err := clustertest.WaitFor(60*time.Second, func() error {
			coord := coordinatorOf(t, addrs[0], g.name)
			req := kmsg.NewPtrConsumerGroupDescribeRequest()
			req.Groups = []string{g.name}
			resp, err := tryRequest(addrs[coord-1], req)
			if err != nil {
				return err
			}
			desc = resp.(*kmsg.ConsumerGroupDescribeResponse).Groups[0]
			if err := kerr.ErrorForCode(desc.ErrorCode); err != nil {
				return err
			}
			if desc.State != "Stable" || len(desc.Members) != 3 {
				return fmt.Errorf("group %s: %s with %d members", g.name, desc.State, len(desc.Members))
			}
			owned := map[string]bool{}
			for _, m := range desc.Members {
				if m.MemberEpoch != desc.Epoch || len(m.Assignment.TopicPartitions) == 0 {
					return fmt.Errorf("member %s at epoch %d (group %d) with %d topics", m.MemberID, m.MemberEpoch, desc.Epoch, len(m.Assignment.TopicPartitions))
				}
				for _, tp := range m.Assignment.TopicPartitions {
					for _, p := range tp.Partitions {
						k := fmt.Sprintf("%x/%d", tp.TopicID, p)
						if owned[k] {
							return fmt.Errorf("%s owned twice", k)
						}
						owned[k] = true
					}
				}
			}
			if len(owned) != 18 {
				return fmt.Errorf("%d partitions owned, want 18", len(owned))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if desc.AssignorName != g.assignor {
			t.Errorf("group %s uses assignor %q, want %q", g.name, desc.AssignorName, g.assignor)
		}
		committedEqualsEnd(t, c, g.name, topics)
	}
	adm, done := liveAdmin(c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if l, ok := listed[g.name]; !ok || l.State != "Stable" || l.ProtocolType != "consumer" {
			t.Errorf("ListGroups: %s is %+v", g.name, l)
		}
		for _, m := range g.members {
			m.stop()
		}
		g.got.check(t, sent)
	}
}

// The classic protocol's answers, with raw requests: NOT_COORDINATOR from
// other nodes for every group API, the MEMBER_ID_REQUIRED round trip,
// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS,
// FENCED_INSTANCE_ID, INVALID_SESSION_TIMEOUT, batched LeaveGroup,
// multi-group OffsetFetch, DescribeGroups, ListGroups filters,
// DeleteGroups and OffsetDelete. __consumer_offsets is an internal topic.
func TestClusterGroupProtocolAnswers(t *testing.T) {
	c := groupCluster(t)
	addrs := c.KafkaAddrs()
	const topic = "proto-3"
	createTopic(t, c, topic, 3, 3, nil)
	settleLeaders(t, c, topic)
	group, other := sameOffsetsPartition("proto", "proto-unused")
	coord := readyCoordinator(t, c, group)
	at := addrs[coord-1]
	not := addrs[coord%3]
	code := func(want *kerr.Error, got int16, what string) {
		t.Helper()
		if e := kerr.ErrorForCode(got); e != want && !(want == nil && e == nil) {
			t.Errorf("%s: got %v, want %v", what, e, want)
		}
	}

	md := metadataFrom(t, addrs[2], consumergroup.OffsetsTopic)
	if len(md.Topics) != 1 || !md.Topics[0].IsInternal || len(md.Topics[0].Partitions) != groupOffsetsPartitions {
		t.Errorf("__consumer_offsets in Metadata: %+v", md.Topics)
	}
	// kgo sends the newest versions, which name topics by ID in
	// OffsetCommit and OffsetFetch (v10): give both.
	topicID := metadataFrom(t, addrs[0], topic).Topics[0].TopicID

	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	protos := []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	join := func(memberID string, instance *string, session int32) *kmsg.JoinGroupRequest {
		r := kmsg.NewPtrJoinGroupRequest()
		r.Group, r.MemberID, r.InstanceID, r.ProtocolType, r.Protocols = group, memberID, instance, "consumer", protos
		r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = session, 10000
		return r
	}
	heartbeat := func(memberID string, instance *string, gen int32) int16 {
		r := kmsg.NewPtrHeartbeatRequest()
		r.Group, r.MemberID, r.InstanceID, r.Generation = group, memberID, instance, gen
		return requestTo(t, at, r).(*kmsg.HeartbeatResponse).ErrorCode
	}
	syncReq := func(memberID string, instance *string, gen int32, assign map[string][]int32) *kmsg.SyncGroupRequest {
		r := kmsg.NewPtrSyncGroupRequest()
		r.Group, r.MemberID, r.InstanceID, r.Generation = group, memberID, instance, gen
		for id, ps := range assign {
			a := kmsg.NewConsumerMemberAssignment()
			a.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: topic, Partitions: ps}}
			r.GroupAssignment = append(r.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a.AppendTo(nil)})
		}
		return r
	}
	sync := func(memberID string, instance *string, gen int32, assign map[string][]int32) *kmsg.SyncGroupResponse {
		return requestTo(t, at, syncReq(memberID, instance, gen, assign)).(*kmsg.SyncGroupResponse)
	}
	commit := func(memberID string, gen int32, offset int64) int16 {
		r := kmsg.NewPtrOffsetCommitRequest()
		r.Group, r.MemberID, r.Generation = group, memberID, gen
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 1, offset
		rt.Partitions = append(rt.Partitions, rp)
		r.Topics = append(r.Topics, rt)
		return requestTo(t, at, r).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	}

	// Every group API on a node that is not the coordinator.
	{
		j := requestTo(t, not, join("", nil, 6000)).(*kmsg.JoinGroupResponse)
		code(kerr.NotCoordinator, j.ErrorCode, "JoinGroup elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.SyncGroupRequest{Version: 5, Group: group, MemberID: "m"}).(*kmsg.SyncGroupResponse).ErrorCode, "SyncGroup elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.HeartbeatRequest{Version: 4, Group: group, MemberID: "m"}).(*kmsg.HeartbeatResponse).ErrorCode, "Heartbeat elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.LeaveGroupRequest{Version: 5, Group: group, Members: []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}}).(*kmsg.LeaveGroupResponse).ErrorCode, "LeaveGroup elsewhere")
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Group = group
		oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, TopicID: topicID, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
		code(kerr.NotCoordinator, requestTo(t, not, oc).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode, "OffsetCommit elsewhere")
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group}}
		code(kerr.NotCoordinator, requestTo(t, not, of).(*kmsg.OffsetFetchResponse).Groups[0].ErrorCode, "OffsetFetch elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.DescribeGroupsRequest{Version: 6, Groups: []string{group}}).(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode, "DescribeGroups elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.DeleteGroupsRequest{Version: 3, Groups: []string{group}}).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, "DeleteGroups elsewhere")
		code(kerr.NotCoordinator, requestTo(t, not, &kmsg.OffsetDeleteRequest{Group: group}).(*kmsg.OffsetDeleteResponse).ErrorCode, "OffsetDelete elsewhere")
		ch := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		ch.Version, ch.Group, ch.MemberID, ch.RebalanceTimeoutMillis = 1, "proto-848", "x", 1000
		ch.SubscribedTopicNames, ch.Topics = []string{topic}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		ccoord := coordinatorOf(t, addrs[0], "proto-848")
		code(kerr.NotCoordinator, requestTo(t, addrs[ccoord%3], ch).(*kmsg.ConsumerGroupHeartbeatResponse).ErrorCode, "ConsumerGroupHeartbeat elsewhere")
		code(kerr.NotCoordinator, requestTo(t, addrs[ccoord%3], &kmsg.ConsumerGroupDescribeRequest{Version: 1, Groups: []string{"proto-848"}}).(*kmsg.ConsumerGroupDescribeResponse).Groups[0].ErrorCode, "ConsumerGroupDescribe elsewhere")
	}

	// Validation.
	code(kerr.InvalidSessionTimeout, requestTo(t, at, join("", nil, 100)).(*kmsg.JoinGroupResponse).ErrorCode, "JoinGroup with a 100 ms session")
	bad := join("", nil, 6000)
	bad.Group = ""
	code(kerr.InvalidGroupID, requestTo(t, at, bad).(*kmsg.JoinGroupResponse).ErrorCode, "JoinGroup without a group")

	// MEMBER_ID_REQUIRED, then a generation of one.
	j1 := requestTo(t, at, join("", nil, 6000)).(*kmsg.JoinGroupResponse)
	code(kerr.MemberIDRequired, j1.ErrorCode, "first JoinGroup v9")
	m1 := j1.MemberID
	if m1 == "" || j1.Generation != -1 {
		t.Fatalf("MEMBER_ID_REQUIRED answer: %+v", j1)
	}
	j1 = requestTo(t, at, join(m1, nil, 6000)).(*kmsg.JoinGroupResponse)
	code(nil, j1.ErrorCode, "JoinGroup with the member ID")
	if j1.Generation != 1 || j1.LeaderID != m1 || len(j1.Members) != 1 || *j1.Protocol != "range" {
		t.Fatalf("JoinGroup: %+v", j1)
	}
	code(kerr.UnknownMemberID, heartbeat("nobody", nil, 1), "Heartbeat of an unknown member")
	code(kerr.IllegalGeneration, heartbeat(m1, nil, 0), "Heartbeat of an old generation")
	code(kerr.UnknownMemberID, requestTo(t, at, join("nobody", nil, 6000)).(*kmsg.JoinGroupResponse).ErrorCode, "JoinGroup of an unknown member")
	s1 := sync(m1, nil, 1, map[string][]int32{m1: {0, 1, 2}})
	code(nil, s1.ErrorCode, "leader SyncGroup")
	var got kmsg.ConsumerMemberAssignment
	if err := got.ReadFrom(s1.MemberAssignment); err != nil || len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 3 {
		t.Fatalf("assignment %+v, %v", got, err)
	}
	code(nil, heartbeat(m1, nil, 1), "Heartbeat")
	code(nil, commit(m1, 1, 17), "OffsetCommit by the member")
	code(kerr.IllegalGeneration, commit(m1, 2, 18), "OffsetCommit of a future generation")
	code(kerr.UnknownMemberID, commit("nobody", 1, 18), "OffsetCommit of an unknown member")
	code(kerr.UnknownMemberID, commit("", -1, 18), "OffsetCommit from outside a group with members")

	of := kmsg.NewPtrOffsetFetchRequest()
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group}, {Group: other, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, TopicID: topicID, Partitions: []int32{1}}}}}
	ofr := requestTo(t, at, of).(*kmsg.OffsetFetchResponse)
	if len(ofr.Groups) != 2 || ofr.Groups[0].ErrorCode != 0 || len(ofr.Groups[0].Topics) != 1 || ofr.Groups[0].Topics[0].Partitions[0].Offset != 17 ||
		ofr.Groups[1].ErrorCode != 0 || ofr.Groups[1].Topics[0].Partitions[0].Offset != -1 {
		t.Errorf("multi-group OffsetFetch: %+v", ofr.Groups)
	}
	dg := requestTo(t, at, &kmsg.DescribeGroupsRequest{Version: 6, Groups: []string{group, other}}).(*kmsg.DescribeGroupsResponse)
	if g := dg.Groups[0]; g.ErrorCode != 0 || g.State != "Stable" || g.Protocol != "range" || len(g.Members) != 1 || g.Members[0].ClientHost == "" {
		t.Errorf("DescribeGroups: %+v", g)
	}
	if g := dg.Groups[1]; g.ErrorCode != kerr.GroupIDNotFound.Code || g.State != "Dead" {
		t.Errorf("DescribeGroups of an unknown group: %+v", g)
	}
	listed := func(states ...string) bool {
		r := requestTo(t, at, &kmsg.ListGroupsRequest{Version: 5, StatesFilter: states}).(*kmsg.ListGroupsResponse)
		for _, g := range r.Groups {
			if g.Group == group {
				return g.GroupType == "classic" && g.ProtocolType == "consumer"
			}
		}
		return false
	}
	if !listed() || !listed("stable") || listed("Empty", "Dead") {
		t.Errorf("ListGroups filters: all %v, stable %v, empty %v", listed(), listed("stable"), listed("Empty", "Dead"))
	}
	code(kerr.NonEmptyGroup, requestTo(t, at, &kmsg.DeleteGroupsRequest{Version: 3, Groups: []string{group}}).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, "DeleteGroups of a group with members")
	odr := requestTo(t, at, &kmsg.OffsetDeleteRequest{Group: group, Topics: []kmsg.OffsetDeleteRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}}).(*kmsg.OffsetDeleteResponse)
	if odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code {
		t.Errorf("OffsetDelete of a subscribed topic: %+v", odr)
	}

	// A static member joins: the group rebalances, the first member gets
	// REBALANCE_IN_PROGRESS on its heartbeat and rejoins.
	inst := kmsg.StringPtr("static-1")
	type joined struct {
		resp *kmsg.JoinGroupResponse
		err  error
	}
	sj := make(chan joined, 1)
	go func() {
		r, err := tryRequest(at, join("", inst, 6000))
		jr, _ := r.(*kmsg.JoinGroupResponse)
		sj <- joined{jr, err}
	}()
	err := clustertest.WaitFor(10*time.Second, func() error {
		if c := heartbeat(m1, nil, 1); c != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat: %v", kerr.ErrorForCode(c))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	j1 = requestTo(t, at, join(m1, nil, 6000)).(*kmsg.JoinGroupResponse)
	s := <-sj
	if s.err != nil || j1.ErrorCode != 0 || s.resp.ErrorCode != 0 || j1.Generation != 2 || s.resp.Generation != 2 || j1.LeaderID != m1 {
		t.Fatalf("rejoin: %+v / static %+v %v", j1, s.resp, s.err)
	}
	sm := s.resp.MemberID
	type synced struct {
		resp kmsg.Response
		err  error
	}
	ss := make(chan synced, 1)
	go func() { // tryRequest, not sync: no t.Fatal off the test goroutine
		r, err := tryRequest(at, syncReq(sm, inst, 2, nil))
		ss <- synced{r, err}
	}()
	code(nil, sync(m1, nil, 2, map[string][]int32{m1: {0, 1}, sm: {2}}).ErrorCode, "leader SyncGroup, generation 2")
	s2 := <-ss
	if s2.err != nil {
		t.Fatalf("static member SyncGroup: %v", s2.err)
	}
	code(nil, s2.resp.(*kmsg.SyncGroupResponse).ErrorCode, "static member SyncGroup")
	code(kerr.FencedInstanceID, heartbeat("someone-else", inst, 2), "Heartbeat with another member's instance ID")
	code(nil, heartbeat(sm, inst, 2), "static member Heartbeat")

	lr := requestTo(t, at, &kmsg.LeaveGroupRequest{Version: 5, Group: group, Members: []kmsg.LeaveGroupRequestMember{
		{MemberID: m1}, {InstanceID: inst}, {MemberID: "nobody"}}}).(*kmsg.LeaveGroupResponse)
	if lr.ErrorCode != 0 || len(lr.Members) != 3 || lr.Members[0].ErrorCode != 0 || lr.Members[1].ErrorCode != 0 ||
		lr.Members[1].MemberID != sm || lr.Members[2].ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("batched LeaveGroup: %+v", lr)
	}
	err = clustertest.WaitFor(10*time.Second, func() error {
		if g := requestTo(t, at, &kmsg.DescribeGroupsRequest{Version: 6, Groups: []string{group}}).(*kmsg.DescribeGroupsResponse).Groups[0]; g.State != "Empty" {
			return fmt.Errorf("group is %s", g.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code(nil, commit("", -1, 20), "OffsetCommit from outside an empty group")
	code(nil, requestTo(t, at, &kmsg.DeleteGroupsRequest{Version: 3, Groups: []string{group}}).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, "DeleteGroups of an empty group")
	code(kerr.GroupIDNotFound, requestTo(t, at, &kmsg.DeleteGroupsRequest{Version: 3, Groups: []string{group}}).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, "DeleteGroups again")
	of = kmsg.NewPtrOffsetFetchRequest()
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: group, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, TopicID: topicID, Partitions: []int32{1}}}}}
	if o := requestTo(t, at, of).(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0].Offset; o != -1 {
		t.Errorf("offset after DeleteGroups: %d", o)
	}

	// Timeouts: a member that does not rejoin within the rebalance
	// timeout is removed from the generation; one that stops
	// heartbeating is removed after its session timeout.
	group = other
	join1500 := func(memberID string) *kmsg.JoinGroupRequest {
		r := join(memberID, nil, 1000)
		r.RebalanceTimeoutMillis = 1500
		return r
	}
	a := requestTo(t, at, join1500("")).(*kmsg.JoinGroupResponse).MemberID
	ja := requestTo(t, at, join1500(a)).(*kmsg.JoinGroupResponse)
	code(nil, sync(a, nil, ja.Generation, map[string][]int32{a: {0, 1, 2}}).ErrorCode, "SyncGroup of the first member")
	b := requestTo(t, at, join1500("")).(*kmsg.JoinGroupResponse).MemberID
	// a keeps its session alive (REBALANCE_IN_PROGRESS) but never rejoins.
	stopA := make(chan struct{})
	aDone := make(chan int16, 1)
	go func() {
		last := int16(0)
		for {
			select {
			case <-stopA:
				aDone <- last
				return
			case <-time.After(200 * time.Millisecond): // a's heartbeat interval
			}
			r, err := tryRequest(at, &kmsg.HeartbeatRequest{Version: 4, Group: group, MemberID: a, Generation: ja.Generation})
			if err == nil {
				last = r.(*kmsg.HeartbeatResponse).ErrorCode
			}
		}
	}()
	start := time.Now()
	jb := requestTo(t, at, join1500(b)).(*kmsg.JoinGroupResponse)
	close(stopA)
	if jb.ErrorCode != 0 || jb.Generation != ja.Generation+1 || jb.LeaderID != b || len(jb.Members) != 1 {
		t.Fatalf("join after the rebalance timeout: %+v", jb)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("the join phase ended after %v, before the rebalance timeout", d)
	}
	code(kerr.RebalanceInProgress, <-aDone, "the heartbeats of the member that does not rejoin")
	code(kerr.UnknownMemberID, heartbeat(a, nil, ja.Generation), "Heartbeat of the member that did not rejoin")
	code(nil, sync(b, nil, jb.Generation, map[string][]int32{b: {0, 1, 2}}).ErrorCode, "SyncGroup of the second member")
	err = clustertest.WaitFor(10*time.Second, func() error { // b stops heartbeating
		if g := requestTo(t, at, &kmsg.DescribeGroupsRequest{Version: 6, Groups: []string{group}}).(*kmsg.DescribeGroupsResponse).Groups[0]; g.State != "Empty" || len(g.Members) != 0 {
			return fmt.Errorf("group is %s with %d members", g.State, len(g.Members))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code(kerr.UnknownMemberID, heartbeat(b, nil, jb.Generation), "Heartbeat after the session timeout")
}

// saramaHandler records what a sarama group member consumes and commits
// what it processed whenever it has caught up with what was fetched (and
// when the claim ends). Sarama sends commits on the connection it fetches
// on, where they wait behind a fetch's long poll (Kafka serves a
// connection's requests in order too), so it does not commit per message.
type saramaHandler struct{ got *consumed }

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		h.got.add([]*kgo.Record{{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Value: msg.Value}})
		sess.MarkMessage(msg, "")
		if len(claim.Messages()) == 0 {
			sess.Commit()
		}
	}
	sess.Commit()
	return nil
}

// Two sarama ConsumerGroup members (IBM/sarama, the range strategy) share
// a topic: every record once, and the commits reach the end offsets.
func TestClusterGroupSaramaConsumerGroup(t *testing.T) {
	c := groupCluster(t)
	addrs := c.KafkaAddrs()
	topics := []string{"sarama-5"}
	createTopic(t, c, topics[0], 5, 3, nil)
	settleLeaders(t, c, topics...)
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100))
	sent := produceValues(t, prod, "sarama", topics, 300)

	const group = "sarama-group"
	got := newConsumed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		cfg := sarama.NewConfig()
		cfg.Version = sarama.V3_6_0_0
		cfg.ClientID = fmt.Sprintf("sarama-%d", i)
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cfg.Consumer.Offsets.AutoCommit.Enable = false
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
		cfg.Consumer.Group.Session.Timeout = 10 * time.Second
		cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
		cg, err := sarama.NewConsumerGroup([]string{addrs[i]}, group, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, topics, saramaHandler{got}); err != nil && ctx.Err() == nil {
					t.Logf("sarama member %d: %v", i, err)
				}
			}
		}()
		t.Cleanup(func() { _ = cg.Close() })
	}
	got.waitFor(t, len(sent), 60*time.Second)
	committedEqualsEnd(t, c, group, topics)
	if d := waitStable(t, c, group, 2); d.Protocol != "range" {
		t.Errorf("sarama group uses protocol %q", d.Protocol)
	}
	sent = append(sent, produceValues(t, prod, "sarama2", topics, 300)...)
	got.waitFor(t, len(sent), 60*time.Second)
	committedEqualsEnd(t, c, group, topics)
	cancel()
	wg.Wait()
	got.check(t, sent)
}

// kcat -G (librdkafka's balanced consumer) consumes a topic through a
// group and commits what it consumed.
func TestClusterGroupKcatBalancedConsumer(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (.ci/run installs it)")
		}
		t.Skip("kcat not on PATH")
	}
	c := groupCluster(t)
	addrs := c.KafkaAddrs()
	// A Metadata request that may auto-create __consumer_offsets creates
	// the internal topic, with the coordinator's settings.
	err = clustertest.WaitFor(30*time.Second, func() error {
		req := metadataReq([]string{consumergroup.OffsetsTopic})
		req.AllowAutoTopicCreation = true
		md := requestTo(t, addrs[1], req).(*kmsg.MetadataResponse)
		if mt := md.Topics[0]; mt.ErrorCode != 0 || !mt.IsInternal || len(mt.Partitions) != groupOffsetsPartitions {
			return fmt.Errorf("%s: %v, internal %v, %d partitions", consumergroup.OffsetsTopic, kerr.ErrorForCode(mt.ErrorCode), mt.IsInternal, len(mt.Partitions))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	topics := []string{"kcat-g-4"}
	createTopic(t, c, topics[0], 4, 3, nil)
	settleLeaders(t, c, topics...)
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100))
	sent := produceValues(t, prod, "kcat", topics, 200)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", strings.Join(addrs, ","), "-G", "kcat-group", "-c", fmt.Sprint(len(sent)),
		"-f", "%s\n", "-q", "-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", topics[0])
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -G: %v\n%s", err, out)
	}
	got := newConsumed()
	for _, v := range strings.Fields(string(out)) {
		got.add([]*kgo.Record{{Value: []byte(v)}})
	}
	got.check(t, sent)
	// kcat commits on close (and every auto.commit.interval.ms).
	committedEqualsEnd(t, c, "kcat-group", topics)
}

// The offsets log is compacted (the live state rewritten at its end, the
// records before deleted), and a coordinator that takes over afterwards
// replays the compacted log: every group's last commit is there.
func TestClusterGroupOffsetsLogCompaction(t *testing.T) {
	c := groupCluster(t) // compacts above 50 records
	const topic = "compact-4"
	createTopic(t, c, topic, 4, 3, nil)
	settleLeaders(t, c, topic)
	g1, g2 := sameOffsetsPartition("compact-a", "compact-b")
	coord := readyCoordinator(t, c, g1)
	adm, done := liveAdmin(c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 200 {
		offs := kadm.Offsets{}
		offs.AddOffset(topic, int32(i%4), int64(i), -1)
		for _, g := range []string{g1, g2} {
			if r, err := adm.CommitOffsets(ctx, g, offs); err != nil || r.Error() != nil {
				t.Fatalf("commit %d to %s: %v %v", i, g, err, r.Error())
			}
		}
	}
	part := consumergroup.PartitionFor(g1, groupOffsetsPartitions)
	err := clustertest.WaitFor(30*time.Second, func() error {
		starts, err := adm.ListStartOffsets(ctx, consumergroup.OffsetsTopic)
		if err != nil {
			return err
		}
		if o, _ := starts.Lookup(consumergroup.OffsetsTopic, part); o.Err != nil || o.Offset < 300 {
			return fmt.Errorf("offsets partition %d starts at %d (%v)", part, o.Offset, o.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopping node %d, the coordinator", coord)
	c.Stop(int(coord - 1))
	for _, g := range []string{g1, g2} {
		offs := fetchOffsets(t, c, g)
		for p := int32(0); p < 4; p++ {
			if o, ok := offs.Lookup(topic, p); !ok || o.At != int64(196+p) {
				t.Errorf("group %s: %s/%d committed %d after the failover, want %d", g, topic, p, o.At, 196+p)
			}
		}
	}

	// Deleting the topic deletes its commits (as Kafka does).
	adm2, done2 := liveAdmin(c)
	defer done2()
	if r, err := adm2.DeleteTopics(ctx, topic); err != nil || r.Error() != nil {
		t.Fatalf("delete %s: %v %v", topic, err, r.Error())
	}
	err = clustertest.WaitFor(30*time.Second, func() error {
		for _, g := range []string{g1, g2} {
			if offs := fetchOffsets(t, c, g); len(offs) > 0 {
				return fmt.Errorf("group %s still has commits for %v", g, offs.Sorted())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
