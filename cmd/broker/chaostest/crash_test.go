package chaostest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// The crash workload: while topics are created and deleted through every
// node and an idempotent acks=all producer writes numbered records to many
// partitions, a node is SIGKILLed (the metadata leader, a data-group
// leader or any node) and restarted, again and again. Afterwards every
// acknowledged record is read back exactly once and in order, every topic
// whose creation was acknowledged exists on every node and no topic whose
// creation failed does, every node's metadata digest is the same, and a
// group consumer's committed offsets never went below an acknowledged
// commit.
func TestChaosCrashWorkload(t *testing.T) {
	kills := pick("KILLS", 4, 40)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("kills %d, seed %d", kills, seed)

	c := Start(t, skiffBin, Options{Args: groupArgs})
	const dataTopics, perTopic = 2, 8
	var tps []TP
	var allowed []string
	for k := range dataTopics {
		name := []string{"crash-data-a", "crash-data-b"}[k]
		createTopic(t, c, k%c.Len(), name, perTopic, 3, nil)
		tps = append(tps, partitionsOf(name, perTopic)...)
		allowed = append(allowed, name)
	}
	allowed = append(allowed, "__consumer_offsets") // created with the first group
	prod, err := NewProducer(c.KafkaAddrs(), tps)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	prod.Start(10 * time.Millisecond)
	// A group member consumes crash-data-a and commits every 200 ms.
	cons, err := StartGroupConsumer(c.KafkaAddrs(), "crash-group", []string{"crash-data-a"}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	consStopped := false
	stopCons := func() {
		if !consStopped {
			consStopped = true
			cons.Stop()
		}
	}
	defer stopCons()
	admin := NewTopics(c, "crash-meta", seed)
	admin.Start(100 * time.Millisecond)
	stopped := false
	stopWork := func() {
		if stopped {
			return
		}
		stopped = true
		admin.Stop()
		if err := prod.Stop(2 * time.Minute); err != nil {
			t.Errorf("producer did not drain: %v", err)
		}
	}
	defer stopWork()

	progress := func(what string, n int64) {
		t.Helper()
		if err := prod.WaitProgress(n, time.Minute); err != nil {
			t.Fatalf("%s: producer stalled: %v (errors: %s)", what, err, prod.Errors())
		}
	}
	progress("start", 500)
	roles := map[string]int{}
	start := time.Now()
	for k := range kills {
		victims, role := chooseVictims(t, c, rng, k, tps)
		roles[role]++
		t.Logf("kill %d/%d: node(s) %v (%s), %d acked so far", k+1, kills, plus1(victims), role, prod.Acked())
		for _, v := range victims {
			c.Kill(v)
		}
		if len(victims) == 1 {
			// The other two keep a quorum: writes go on.
			progress("one node down", 300)
			if long() && k%10 == 8 {
				// Down while so much is written that the leaders snapshot
				// and compact their logs past it: it catches up from a
				// streamed snapshot.
				roles["down long"]++
				progress("down long", 40000)
			}
			if long() && k%5 == 4 {
				// Down long enough to be fenced: Metadata lists two
				// brokers, and new topics get two replicas (rf -1) or fail
				// (rf 3) until it is back.
				waitBrokers(t, c, victims[0], c.Len()-1)
				roles["fenced"]++
				progress("fenced", 300)
			}
		} else {
			// No quorum: nothing can commit. Down for a while on purpose.
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
		}
		for _, v := range victims {
			c.StartNode(v)
		}
		for _, v := range victims {
			c.WaitReady(v, 90*time.Second)
		}
		if rng.IntN(4) != 0 { // sometimes kill again right after a restart
			progress("after restart", 300)
		}
	}
	progress("end", 300)
	// The group recovers after the last restart: commits are acknowledged.
	if err := cons.WaitCommits(3, time.Minute); err != nil {
		t.Errorf("group consumer after the kills: %v", err)
	}
	stopCons()
	stopWork()
	elapsed := time.Since(start)

	d, err := c.WaitConverged(time.Minute)
	if err != nil {
		t.Fatalf("metadata digests: %v", err)
	}
	problems, ambiguous, err := admin.CheckEverywhere(time.Minute, allowed...)
	if err != nil {
		t.Fatalf("topic lists: %v", err)
	}
	for _, p := range problems {
		t.Errorf("topics: %s", p)
	}
	commitsAcked := cons.Acked()
	checked := checkCommitted(t, c.KafkaAddrs(), cons)
	if checked == 0 {
		t.Errorf("group consumer: no commit acknowledged (errors: %s)", cons.Errors())
	}
	r := checkRecords(t, c, prod)
	if long() {
		// Read everything again with each node down in turn, so that other
		// replicas lead and serve: they must hold the same records.
		for k := range c.Len() {
			c.Kill(k)
			again := checkRecords(t, c, prod)
			if again.Read != r.Read || again.UnackedPresent != r.UnackedPresent {
				t.Errorf("with node %d down: %s; with all up: %s", k+1, again, r)
			}
			c.Restart(k)
		}
	}
	t.Logf("FIGURES crash workload: %d kills in %s (%v); records: %s; produce errors: %s",
		kills, elapsed.Round(time.Second), roles, r, prod.Errors())
	t.Logf("FIGURES crash workload: topics: %s; ambiguous creates that exist: %d; digest %.12s at index %d on every node (%d topics); proxies: %s",
		admin.Counts(), ambiguous, d.Digest, d.Index, d.Topics, c.Net.Stats())
	t.Logf("FIGURES crash workload: group: %d commits acked, %d partitions checked (committed >= acked), %d records consumed; commit errors: %s",
		commitsAcked, checked, cons.consumed.Load(), cons.Errors())
	t.Logf("FIGURES crash workload: state recovered from snapshots (log lines): %d data group, %d metadata",
		c.CountLog("data group state recovered from snapshot"), c.CountLog("recovered from snapshot")-c.CountLog("data group state recovered from snapshot"))
}

// chooseVictims picks the node(s) to kill in round k: in turn the metadata
// leader, the leader of a random data partition and a random node; in the
// long version every seventh round kills two nodes at once (quorum lost).
func chooseVictims(t *testing.T, c *Cluster, rng *rand.Rand, k int, tps []TP) ([]int, string) {
	t.Helper()
	if long() && k%7 == 6 {
		a := rng.IntN(c.Len())
		return []int{a, (a + 1 + rng.IntN(c.Len()-1)) % c.Len()}, "two nodes"
	}
	switch k % 3 {
	case 0:
		if l, err := c.MetadataLeader(10 * time.Second); err == nil {
			return []int{l}, "metadata leader"
		}
	case 1:
		tp := tps[rng.IntN(len(tps))]
		for i := range c.Len() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			leaders, err := c.PartitionLeaders(ctx, i, tp.Topic)
			cancel()
			if err == nil && leaders[tp.Partition] > 0 {
				t.Logf("node %d leads %s", leaders[tp.Partition], tp)
				return []int{int(leaders[tp.Partition]) - 1}, "data-group leader"
			}
		}
	}
	return []int{rng.IntN(c.Len())}, "random node"
}

// waitBrokers waits until a node other than down lists n live brokers.
func waitBrokers(t *testing.T, c *Cluster, down, n int) {
	t.Helper()
	if err := c.WaitBrokers([]int{(down + 1) % c.Len()}, n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

func plus1(ids []int) []int {
	out := make([]int, len(ids))
	for i, v := range ids {
		out[i] = v + 1
	}
	return out
}
