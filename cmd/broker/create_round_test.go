package broker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/topics"
)

// TestClusterFirstCreateFast: the data groups of the live brokers are formed
// and elected when the cluster starts (by the metadata leader), not by the
// first CreateTopics, so the first create on a fresh cluster is a metadata
// write only: it forms no group, so it waits for no election (clustertest.New
// returns once the groups are led); its duration is logged (about 3 ms on an
// idle machine). Before this, the first 50-topic create took 1.2-1.4 s
// (elections on that request).
func TestClusterFirstCreateFast(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	leader := c.Leader()
	groups := func() int {
		gs, err := c.Broker(leader).Node().LocalDataGroupTable()
		if err != nil {
			t.Fatal(err)
		}
		return len(gs)
	}
	before := groups()
	if before == 0 {
		t.Fatal("no data group formed at start")
	}
	cl := nodeClient(t, c.KafkaAddrs()[leader])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	br := cl.SeedBrokers()[0]
	// Open the connection first: the bound is about the create, not a dial.
	if _, err := br.Request(ctx, kmsg.NewPtrApiVersionsRequest()); err != nil {
		t.Fatal(err)
	}
	names := topicNames("first", 50)
	start := time.Now()
	resp, err := br.Request(ctx, createTopicsReq(names, 3, 3))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if rt.ErrorCode != 0 {
			t.Fatalf("%s: %v", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
	// The figure (issue target: under 50 ms) is logged, not asserted: speed
	// belongs to benchmarks, and -race on a loaded 2-core machine has
	// measured 180 ms. What makes it fast is asserted: this create forms no
	// data group, so it waits for no election.
	t.Logf("first CreateTopics (50 topics x 3 partitions) on a fresh cluster: %v", took)
	if after := groups(); after != before {
		t.Fatalf("the first create formed data groups: %d -> %d", before, after)
	}
	checkTopicEverywhere(t, c, names, 3, 3)
}

// countingStore wraps the real node and counts proposals and linearizable
// reads.
type countingStore struct {
	*node.Node
	proposals, reads atomic.Int64
}

func (s *countingStore) Propose(ctx context.Context, kind string, cmd statemachine.Command) (statemachine.Result, error) {
	s.proposals.Add(1)
	return s.Node.Propose(ctx, kind, cmd)
}

func (s *countingStore) ReadTopics(ctx context.Context, q statemachine.QueryTopics) (*statemachine.View, error) {
	s.reads.Add(1)
	return s.Node.ReadTopics(ctx, q)
}

// TestClusterCreateOneRound: a create is one consensus round, counted
// through a Store wrapper around the real node, on the metadata leader and
// on a follower: one proposal and no linearizable read. Concurrent creates
// through one node share proposals, each keeping its own results.
func TestClusterCreateOneRound(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	leader := c.Leader()
	for _, i := range []int{leader, (leader + 1) % 3} {
		st := &countingStore{Node: c.Broker(i).Node()}
		cfg := topics.DefaultConfig()
		cfg.Store = st
		s, err := topics.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		names := topicNames("round-"+string(rune('a'+i)), 3)
		res, err := s.Create(ctx, []topics.CreateSpec{
			{Name: names[0], NumPartitions: 3, ReplicationFactor: 3},
			{Name: names[1], NumPartitions: 1, ReplicationFactor: -1},
			{Name: names[2], NumPartitions: 6, ReplicationFactor: 3},
		}, topics.CreateOptions{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Name, r.Err)
			}
		}
		if p, r := st.proposals.Load(), st.reads.Load(); p != 1 || r != 0 {
			t.Fatalf("node %d: create took %d proposals and %d linearizable reads, want 1 and 0", i+1, p, r)
		}

		// Concurrent requests through the same service.
		const k = 32
		st.proposals.Store(0)
		var wg sync.WaitGroup
		errs := make(chan error, k)
		for j := range k {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				name := topicNames("conc-"+string(rune('a'+i)), k)[j]
				res, err := s.Create(ctx, []topics.CreateSpec{{Name: name, NumPartitions: 3, ReplicationFactor: 3}}, topics.CreateOptions{})
				if err == nil {
					err = res[0].Err
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		p := st.proposals.Load()
		t.Logf("node %d: %d concurrent creates took %d proposals", i+1, k, p)
		if p < 1 || p >= k {
			t.Fatalf("node %d: %d concurrent creates took %d proposals: not coalesced", i+1, k, p)
		}
		if r := st.reads.Load(); r != 0 {
			t.Fatalf("node %d: %d linearizable reads", i+1, r)
		}
	}
}
