package topics

import (
	"context"
	"time"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
)

// Group commit of CreateTopics (issue #11). At most maxCreatesInFlight
// create proposals are in flight at a time per node; requests that arrive
// while that many are queue up and go together in the next one, as one statemachine.Batch that is their batches one after
// the other. Apply gates partition commands per topic, so every topic stays
// all-or-nothing with its own code whoever shares its proposal; two requests
// creating one name in the same proposal get OK and CodeTopicExists in
// order, as they would in two proposals. The proposal metric counts merged
// proposals (kind="create_topics") and skiff_topics_create_requests_total
// counts requests, so the ratio is visible.

// commitJob is one request's batch waiting for its proposal.
type commitJob struct {
	ctx   context.Context
	batch statemachine.Batch
	done  chan struct{}
	res   statemachine.Result
	err   error
}

// maxCreatesInFlight bounds the create proposals in flight per node. One
// would make every request wait for the proposal before it; a few overlap
// (Dragonboat batches them into one Raft append anyway) while the queue
// still merges requests under load.
const maxCreatesInFlight = 3

// maxMergedCmds bounds the commands of one merged proposal; a request is
// never split, so a single larger request still goes alone.
const maxMergedCmds = 200_000

// commit proposes batch, alone or merged with other requests' batches, and
// returns its part of the result. It returns when the proposal was applied
// (the result is final) or when ctx ends (ErrTimeout: the outcome is
// unknown, as with any proposal).
func (s *Service) commit(ctx context.Context, batch statemachine.Batch) (statemachine.Result, error) {
	j := &commitJob{ctx: ctx, batch: batch, done: make(chan struct{})}
	s.gc.Lock()
	s.gc.queue = append(s.gc.queue, j)
	start := s.gc.inflight < s.maxInFlight
	if start {
		s.gc.inflight++
	}
	s.gc.Unlock()
	if start {
		go s.commitLoop()
	}
	select {
	case <-j.done:
		return j.res, j.err
	case <-ctx.Done():
		return statemachine.Result{}, wrapStoreError("create_topics", node.ErrTimeout)
	}
}

// commitLoop proposes the queued jobs, merged, until the queue is empty.
// Up to maxCreatesInFlight loops run at once.
func (s *Service) commitLoop() {
	for {
		s.gc.Lock()
		n, cmds := 0, 0
		for n < len(s.gc.queue) && (n == 0 || cmds+len(s.gc.queue[n].batch.Cmds) <= maxMergedCmds) {
			cmds += len(s.gc.queue[n].batch.Cmds)
			n++
		}
		jobs := s.gc.queue[:n:n]
		s.gc.queue = s.gc.queue[n:]
		if len(jobs) == 0 {
			s.gc.inflight--
			s.gc.queue = nil
			s.gc.Unlock()
			return
		}
		s.gc.Unlock()
		s.proposeMerged(jobs)
	}
}

// proposeMerged proposes the jobs whose requests still wait as one batch,
// with the latest of their deadlines, and hands each its slice of the
// result.
func (s *Service) proposeMerged(jobs []*commitJob) {
	live := jobs[:0]
	for _, j := range jobs {
		if j.ctx.Err() != nil {
			j.err = wrapStoreError("create_topics", node.ErrTimeout)
			close(j.done) // its caller has gone: propose nothing for it
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	var deadline time.Time
	total := 0
	for _, j := range live {
		d, ok := j.ctx.Deadline()
		if !ok {
			d = time.Now().Add(time.Minute)
		}
		if d.After(deadline) {
			deadline = d
		}
		total += len(j.batch.Cmds)
	}
	batch := live[0].batch
	if len(live) > 1 {
		batch = statemachine.Batch{Cmds: make([]statemachine.Command, 0, total)}
		for _, j := range live {
			batch.Cmds = append(batch.Cmds, j.batch.Cmds...)
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	res, err := s.propose(ctx, "create_topics", batch, true)
	cancel()
	off := 0
	for _, j := range live {
		n := len(j.batch.Cmds)
		if err != nil {
			j.err = err
		} else {
			j.res.Codes = res.Codes[off : off+n]
			if res.Values != nil {
				j.res.Values = res.Values[off : off+n]
			}
		}
		off += n
		close(j.done)
	}
}
