package node

import (
	"context"
	"sync"

	"github.com/lni/dragonboat/v4/raftio"
	"github.com/rs/zerolog"
)

// eventQueue receives Dragonboat's leader events. LeaderUpdated runs on
// Dragonboat's single listener goroutine, so it only enqueues (never calls
// Dragonboat); a loop of ours consumes the queue.
type eventQueue struct {
	log zerolog.Logger
	m   *nodeMetrics
	ch  chan raftio.LeaderInfo

	mu   sync.Mutex
	subs []chan<- raftio.LeaderInfo
}

func newEventQueue(log zerolog.Logger, m *nodeMetrics) *eventQueue {
	return &eventQueue{log: log, m: m, ch: make(chan raftio.LeaderInfo, 4096)}
}

// LeaderUpdated implements raftio.IRaftEventListener.
func (q *eventQueue) LeaderUpdated(info raftio.LeaderInfo) {
	select {
	case q.ch <- info:
	default:
		q.m.eventsDropped.Inc() // the loops re-read state every pass; a lost event only delays them
	}
}

// subscribe registers a channel that gets every leader event; sends never
// block (a full subscriber misses events and must re-read state).
func (q *eventQueue) subscribe(ch chan<- raftio.LeaderInfo) {
	q.mu.Lock()
	q.subs = append(q.subs, ch)
	q.mu.Unlock()
}

func (q *eventQueue) start(wg *sync.WaitGroup, ctx context.Context) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case info := <-q.ch:
				if info.ShardID == MetadataShardID {
					q.m.leaderChanges.Inc()
					q.log.Info().Uint64("leader", info.LeaderID).Uint64("term", info.Term).Msg("metadata leader changed")
				}
				q.mu.Lock()
				subs := q.subs
				q.mu.Unlock()
				for _, s := range subs {
					select {
					case s <- info:
					default:
					}
				}
			}
		}
	}()
}
