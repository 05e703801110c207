package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/lni/dragonboat/v4/raftio"
	"github.com/rs/zerolog"
)

func newTestQueue() (*eventQueue, *nodeMetrics) {
	m := newNodeMetrics(metrics.NewSet())
	m.init(1)
	return newEventQueue(zerolog.Nop(), m), m
}

// LeaderUpdated runs on Dragonboat's listener goroutine and must never
// block: with nobody consuming, events beyond the queue's capacity are
// dropped and counted.
func TestNodeEventQueueDropsWhenFull(t *testing.T) {
	q, m := newTestQueue()
	capacity := cap(q.ch)
	const extra = 10
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range capacity + extra {
			q.LeaderUpdated(raftio.LeaderInfo{ShardID: 7, LeaderID: 1, Term: uint64(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("LeaderUpdated blocked on a full queue")
	}
	if got := m.eventsDropped.Get(); got != extra {
		t.Fatalf("dropped %d events, want %d", got, extra)
	}
	if len(q.ch) != capacity {
		t.Fatalf("queue holds %d events, want %d", len(q.ch), capacity)
	}
}

// Every subscriber gets every event in order; a subscriber whose channel
// is full misses events without holding up the others; only metadata-shard
// events count as metadata leader changes.
func TestNodeEventQueueSubscribers(t *testing.T) {
	q, m := newTestQueue()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	fast := make(chan raftio.LeaderInfo, 100)
	full := make(chan raftio.LeaderInfo) // never read: always full
	q.subscribe(full)
	q.subscribe(fast)
	q.start(&wg, ctx)

	var sent []raftio.LeaderInfo
	for i := range 20 {
		info := raftio.LeaderInfo{ShardID: 5, LeaderID: 2, Term: uint64(i + 1)}
		if i%4 == 0 {
			info.ShardID = MetadataShardID
		}
		sent = append(sent, info)
		q.LeaderUpdated(info)
	}
	for i, want := range sent {
		select {
		case got := <-fast:
			if got != want {
				t.Fatalf("event %d = %+v, want %+v", i, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("subscriber got %d of %d events", i, len(sent))
		}
	}
	if got := m.leaderChanges.Get(); got != 5 {
		t.Fatalf("counted %d metadata leader changes, want 5", got)
	}
	if m.eventsDropped.Get() != 0 {
		t.Fatalf("dropped %d events with a consumer running", m.eventsDropped.Get())
	}
}
