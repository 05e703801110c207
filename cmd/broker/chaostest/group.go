package chaostest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupArgs make groups quick to form and keep __consumer_offsets small.
var groupArgs = []string{"--offsets.topic.num.partitions", "10", "--group.initial.rebalance.delay.ms", "300"}

// GroupConsumer is a franz-go group member (autocommit off) that consumes
// topics and commits what it consumed every commitEvery; it remembers, per
// partition, the largest offset whose commit the coordinator acknowledged.
type GroupConsumer struct {
	Client *kgo.Client
	Group  string

	mu       sync.Mutex
	acked    map[TP]int64 // largest acknowledged committed offset
	errs     map[string]int
	nAcked   atomic.Int64 // acknowledged commit requests
	consumed atomic.Int64
	cancel   context.CancelFunc
	done     chan struct{}
}

// StartGroupConsumer joins group and starts the poll-commit loop.
func StartGroupConsumer(addrs []string, group string, topics []string, commitEvery time.Duration) (*GroupConsumer, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addrs...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.SessionTimeout(8*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RebalanceTimeout(20*time.Second),
		kgo.RequestRetries(1000),
		kgo.RetryTimeout(90*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.DialTimeout(2*time.Second),
		kgo.MetadataMinAge(200*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	g := &GroupConsumer{Client: cl, Group: group, acked: map[TP]int64{}, errs: map[string]int{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go g.loop(ctx, commitEvery)
	return g, nil
}

func (g *GroupConsumer) loop(ctx context.Context, every time.Duration) {
	defer close(g.done)
	last := time.Now()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, every)
		fs := g.Client.PollFetches(pctx)
		pcancel()
		g.consumed.Add(int64(fs.NumRecords()))
		if ctx.Err() != nil || time.Since(last) < every {
			continue
		}
		last = time.Now()
		unc := g.Client.UncommittedOffsets()
		if len(unc) == 0 {
			continue
		}
		cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
		g.Client.CommitOffsetsSync(cctx, unc, g.onCommit)
		ccancel()
	}
}

// onCommit records the partitions whose commit was acknowledged.
func (g *GroupConsumer) onCommit(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.errs[errName(err)]++
		return
	}
	sent := map[TP]int64{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			sent[TP{t.Topic, p.Partition}] = p.Offset
		}
	}
	ok := false
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			tp := TP{t.Topic, p.Partition}
			off, in := sent[tp]
			if !in {
				continue
			}
			if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
				g.errs[errName(e)]++
				continue
			}
			ok = true
			if cur, seen := g.acked[tp]; !seen || off > cur {
				g.acked[tp] = off
			}
		}
	}
	if ok {
		g.nAcked.Add(1)
	}
}

// Acked is the number of commit requests acknowledged (for some partition).
func (g *GroupConsumer) Acked() int64 { return g.nAcked.Load() }

// WaitCommits waits until n more commits than now are acknowledged.
func (g *GroupConsumer) WaitCommits(n int64, timeout time.Duration) error {
	target := g.Acked() + n
	return WaitFor(timeout, func() error {
		if a := g.Acked(); a < target {
			return fmt.Errorf("%d of %d commits acknowledged (errors: %s)", a, target, g.Errors())
		}
		return nil
	})
}

// Stop ends the loop and closes the client (leaving the group; nothing
// more is committed).
func (g *GroupConsumer) Stop() {
	g.cancel()
	<-g.done
	g.Client.Close()
}

// Errors summarizes the commit errors seen, by name.
func (g *GroupConsumer) Errors() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var parts []string
	for _, k := range SortedKeys(g.errs) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, g.errs[k]))
	}
	return strings.Join(parts, " ")
}

// AckedOffsets is a copy of the largest acknowledged offset per partition.
func (g *GroupConsumer) AckedOffsets() map[TP]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[TP]int64, len(g.acked))
	for tp, o := range g.acked {
		out[tp] = o
	}
	return out
}

// fetchOffsets asks the group's coordinator for its committed offsets,
// through a fresh client per attempt (coordinators move after kills),
// until it works or timeout passes.
func fetchOffsets(addrs []string, group string, timeout time.Duration) (map[TP]kadm.OffsetResponse, error) {
	var out map[TP]kadm.OffsetResponse
	err := WaitFor(timeout, func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DialTimeout(2*time.Second),
			kgo.RetryTimeout(10*time.Second), kgo.MetadataMinAge(200*time.Millisecond))
		if err != nil {
			return Permanent(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		resps, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
		if err == nil {
			err = resps.Error()
		}
		if err != nil {
			return fmt.Errorf("fetch offsets of %s: %w", group, err)
		}
		out = map[TP]kadm.OffsetResponse{}
		resps.Each(func(o kadm.OffsetResponse) { out[TP{o.Topic, o.Partition}] = o })
		return nil
	})
	return out, err
}

// checkCommitted fails the test if a partition's committed offset (now) is
// below the largest offset whose commit was acknowledged; it returns the
// number of partitions checked.
func checkCommitted(t *testing.T, addrs []string, g *GroupConsumer) int {
	t.Helper()
	acked := g.AckedOffsets()
	got, err := fetchOffsets(addrs, g.Group, 2*time.Minute)
	if err != nil {
		t.Fatalf("group %s: %v", g.Group, err)
	}
	tps := make([]TP, 0, len(acked))
	for tp := range acked {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].String() < tps[j].String() })
	for _, tp := range tps {
		o, ok := got[tp]
		switch {
		case !ok:
			t.Errorf("group %s: %s: no committed offset, but offset %d was acknowledged", g.Group, tp, acked[tp])
		case o.At < acked[tp]:
			t.Errorf("group %s: %s: committed offset %d (leader epoch %d) is below acknowledged %d: went backwards",
				g.Group, tp, o.At, o.LeaderEpoch, acked[tp])
		}
	}
	return len(tps)
}
