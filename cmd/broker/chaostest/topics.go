package chaostest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Outcome is what a client learned from a CreateTopics or DeleteTopics.
type Outcome int

const (
	NotTried  Outcome = iota
	Done              // success
	Failed            // a non-retriable error code: nothing was done
	Ambiguous         // a retriable code, a timeout or a broken connection: it may or may not have happened
)

func (o Outcome) String() string {
	return [...]string{"not tried", "done", "failed", "ambiguous"}[o]
}

// Classify maps a request's transport error and error code to an Outcome.
func Classify(err error, code int16) Outcome {
	if err != nil {
		return Ambiguous
	}
	e := kerr.ErrorForCode(code)
	switch {
	case e == nil:
		return Done
	case kerr.IsRetriable(e), e == kerr.NotController, e == kerr.RequestTimedOut, e == kerr.UnknownServerError:
		return Ambiguous
	default:
		return Failed
	}
}

type topicRecord struct {
	create, del       Outcome
	createErr, delErr string
	createdVia        int
}

// Topics creates and deletes topics through random running nodes and
// remembers the outcomes, so that the topics the cluster must hold (and
// must not hold) are known.
type Topics struct {
	c      *Cluster
	prefix string
	rng    *rand.Rand

	mu      sync.Mutex
	topics  map[string]*topicRecord
	order   []string
	n       int
	codes   map[string]int
	cancel  context.CancelFunc
	done    chan struct{}
	Timeout time.Duration // TimeoutMillis of each request; default 5s
}

// NewTopics returns a workload whose topic names start with prefix.
func NewTopics(c *Cluster, prefix string, seed uint64) *Topics {
	return &Topics{c: c, prefix: prefix, rng: rand.New(rand.NewPCG(seed, 7)),
		topics: map[string]*topicRecord{}, codes: map[string]int{}, Timeout: 5 * time.Second}
}

// Start runs the workload every interval until Stop.
func (w *Topics) Start(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			w.Step(ctx)
		}
	}()
}

// Stop ends the workload and waits for its last request.
func (w *Topics) Stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// Step creates a topic or deletes one created before, through a random
// running node.
func (w *Topics) Step(ctx context.Context) {
	var running []int
	for i := range w.c.Len() {
		if w.c.Running(i) {
			running = append(running, i)
		}
	}
	if len(running) == 0 {
		return
	}
	w.mu.Lock()
	node := running[w.rng.IntN(len(running))]
	var victim string
	if w.rng.IntN(10) < 4 {
		var candidates []string
		for _, name := range w.order {
			if r := w.topics[name]; r.create == Done && r.del == NotTried {
				candidates = append(candidates, name)
			}
		}
		if len(candidates) > 0 {
			victim = candidates[w.rng.IntN(len(candidates))]
		}
	}
	partitions := int32(1 + w.rng.IntN(2))
	rf := int16(3)
	if w.rng.IntN(2) == 0 {
		rf = -1 // the broker's default: min(3, live brokers)
	}
	w.mu.Unlock()
	if victim != "" {
		w.Delete(ctx, node, victim)
	} else {
		w.Create(ctx, node, partitions, rf)
	}
}

// Create creates a new topic through node i and records the outcome.
func (w *Topics) Create(ctx context.Context, i int, partitions int32, rf int16) (string, Outcome) {
	w.mu.Lock()
	name := fmt.Sprintf("%s-%05d", w.prefix, w.n)
	w.n++
	rec := &topicRecord{createdVia: i}
	w.topics[name] = rec
	w.order = append(w.order, name)
	w.mu.Unlock()

	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(w.Timeout / time.Millisecond)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	req.Topics = append(req.Topics, rt)
	rctx, cancel := context.WithTimeout(ctx, w.Timeout+3*time.Second)
	resp, err := w.c.Request(rctx, i, req)
	cancel()
	var code int16
	if err == nil {
		code = resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
	}
	out := Classify(err, code)
	w.mu.Lock()
	rec.create, rec.createErr = out, describe(err, code)
	w.codes["create "+out.String()+" "+rec.createErr]++
	w.mu.Unlock()
	return name, out
}

// Delete deletes topic name through node i and records the outcome.
func (w *Topics) Delete(ctx context.Context, i int, name string) Outcome {
	w.mu.Lock()
	rec := w.topics[name]
	w.mu.Unlock()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = int32(w.Timeout / time.Millisecond)
	req.TopicNames = []string{name} // v0-5
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(name) // v6+
	req.Topics = append(req.Topics, rt)
	rctx, cancel := context.WithTimeout(ctx, w.Timeout+3*time.Second)
	resp, err := w.c.Request(rctx, i, req)
	cancel()
	var code int16
	if err == nil {
		code = resp.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode
	}
	out := Classify(err, code)
	w.mu.Lock()
	rec.del, rec.delErr = out, describe(err, code)
	w.codes["delete "+out.String()+" "+rec.delErr]++
	w.mu.Unlock()
	return out
}

func describe(err error, code int16) string {
	if err != nil {
		s := err.Error()
		switch {
		case strings.Contains(s, "deadline"):
			return "client timeout"
		case strings.Contains(s, "EOF"), strings.Contains(s, "reset"), strings.Contains(s, "refused"), strings.Contains(s, "closed"):
			return "connection lost"
		}
		return "transport error"
	}
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	if code != 0 {
		return fmt.Sprintf("code %d", code)
	}
	return "OK"
}

// Counts summarizes the outcomes.
func (w *Topics) Counts() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for _, k := range SortedKeys(w.codes) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, w.codes[k]))
	}
	return strings.Join(parts, "; ")
}

// Check compares the topics with this workload's prefix in got (a node's
// full topic list) with the outcomes: a topic whose creation was
// acknowledged exists unless its deletion was acknowledged or is
// ambiguous; a topic whose creation failed, or whose deletion was
// acknowledged, does not exist; no other topic with the prefix exists. It
// returns the problems found and how many ambiguous creations exist.
func (w *Topics) Check(got map[string][16]byte) (problems []string, ambiguousPresent int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range w.order {
		r := w.topics[name]
		_, exists := got[name]
		var must, mustNot bool
		switch {
		case r.create == Done && r.del == Done:
			mustNot = true
		case r.create == Done && r.del == Ambiguous:
		case r.create == Done:
			must = true
		case r.create == Failed:
			mustNot = true
		case r.create == Ambiguous && exists && r.del == NotTried:
			ambiguousPresent++
		}
		switch {
		case must && !exists:
			problems = append(problems, fmt.Sprintf("%s missing: created (via node %d), delete %s (%s)", name, r.createdVia+1, r.del, r.delErr))
		case mustNot && exists:
			problems = append(problems, fmt.Sprintf("%s exists: create %s (%s, via node %d), delete %s (%s)", name, r.create, r.createErr, r.createdVia+1, r.del, r.delErr))
		}
	}
	for name := range got {
		if strings.HasPrefix(name, w.prefix+"-") && w.topics[name] == nil {
			problems = append(problems, fmt.Sprintf("%s exists but was never created", name))
		}
	}
	return problems, ambiguousPresent
}

// CheckEverywhere waits until every running node lists the same topics
// (names and IDs) and checks them with Check. allowed are other topics
// that may exist.
func (w *Topics) CheckEverywhere(timeout time.Duration, allowed ...string) ([]string, int, error) {
	var lists []map[string][16]byte
	err := WaitFor(timeout, func() error {
		lists = lists[:0]
		for i := range w.c.Len() {
			if !w.c.Running(i) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			got, err := w.c.TopicNames(ctx, i)
			cancel()
			if err != nil {
				return fmt.Errorf("node %d: %w", i+1, err)
			}
			lists = append(lists, got)
		}
		for k, l := range lists[1:] {
			if d := diffTopics(lists[0], l); d != "" {
				return fmt.Errorf("nodes disagree on topics (first running node vs running node %d): %s", k+2, d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	problems, amb := w.Check(lists[0])
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for name := range lists[0] {
		if !ok[name] && !strings.HasPrefix(name, w.prefix+"-") {
			problems = append(problems, fmt.Sprintf("unexpected topic %s", name))
		}
	}
	return problems, amb, nil
}

func diffTopics(a, b map[string][16]byte) string {
	var d []string
	for n, id := range a {
		if id2, ok := b[n]; !ok {
			d = append(d, "-"+n)
		} else if id2 != id {
			d = append(d, "~"+n)
		}
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			d = append(d, "+"+n)
		}
	}
	if len(d) > 20 {
		d = append(d[:20], "...")
	}
	return strings.Join(d, " ")
}
