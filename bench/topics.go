package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/bench/seed"
	"github.com/skiff-broker/skiff/topics"
)

// TopicsConfig is a topic-creation workload: Topics topics (or as many as
// fit in Duration) of Partitions partitions each, TopicsPerRequest per
// CreateTopics request, Concurrency requests in flight.
type TopicsConfig struct {
	Options
	Topics            int           `json:"topics"`                // topics to create; ignored when Duration is set
	Duration          time.Duration `json:"duration_ns,omitempty"` // run for this long instead of a count
	Partitions        int32         `json:"partitions"`
	ReplicationFactor int16         `json:"replication_factor"`
	TopicsPerRequest  int           `json:"topics_per_request"`
	Concurrency       int           `json:"concurrency"`
	Timeout           time.Duration `json:"timeout_ns"`       // CreateTopics TimeoutMillis and per-request deadline
	ReadyTimeout      time.Duration `json:"ready_timeout_ns"` // bound of the readiness check
	SkipReady         bool          `json:"skip_ready,omitempty"`
}

func (c *TopicsConfig) defaults() {
	c.Options.defaults()
	if c.Topics <= 0 && c.Duration <= 0 {
		c.Topics = 1000
	}
	if c.Partitions <= 0 {
		c.Partitions = 3
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 3
	}
	if c.TopicsPerRequest <= 0 {
		c.TopicsPerRequest = 1
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 2 * time.Minute
	}
}

// TopicsResult is one target's outcome of a topics workload.
type TopicsResult struct {
	Target     string  `json:"target"`
	Cluster    string  `json:"cluster"`
	Requests   int64   `json:"requests"`
	Topics     int64   `json:"topics"`     // created
	Partitions int64   `json:"partitions"` // created
	Errors     int64   `json:"errors"`     // topics that failed
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"` // first request sent to last answer
	// TopicsPerSec and PartitionsPerSec count created topics over Seconds.
	TopicsPerSec     float64 `json:"topics_per_sec"`
	PartitionsPerSec float64 `json:"partitions_per_sec"`
	Latency          Latency `json:"latency"` // one CreateTopics request (or seed call)
	// ProposalsPerRequest is the metadata proposals of the create kind
	// (create_topics, or seed_baseline for the seed path) summed over the
	// nodes, per request; nil when they cannot be counted (kfake, or
	// --brokers without --metrics-addrs).
	ProposalsPerRequest *float64 `json:"proposals_per_request"`
	// ReadySeconds runs from the first request until every broker's
	// Metadata listed every new topic with a leader for each partition and
	// a produce to each partition (acks=all) succeeded. ReadyTailMs is the
	// part after the last answer: the metadata checks (ReadyMetadataMs) and
	// the produce (ReadyProduceMs).
	ReadySeconds          float64 `json:"ready_seconds,omitempty"`
	ReadyTailMs           float64 `json:"ready_tail_ms,omitempty"`
	ReadyMetadataMs       float64 `json:"ready_metadata_ms,omitempty"`
	ReadyProduceMs        float64 `json:"ready_produce_ms,omitempty"`
	ReadyPartitionsPerSec float64 `json:"ready_partitions_per_sec,omitempty"` // Partitions / ReadySeconds
}

// creator runs CreateTopics requests for one worker.
type creator interface {
	// create creates names with partitions partitions each; it returns how many failed, the first
	// failure, and an error for a failed request as a whole.
	create(ctx context.Context, names []string, partitions int32) (failed int, firstErr error, err error)
	close()
}

// kafkaCreator sends CreateTopics through a franz-go client (to the
// controller, as clients do).
type kafkaCreator struct {
	cl      *kgo.Client
	rf      int16
	timeout time.Duration
}

func newKafkaCreator(ctx context.Context, brokers []string, cfg *TopicsConfig) (*kafkaCreator, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(5))
	if err != nil {
		return nil, err
	}
	k := &kafkaCreator{cl: cl, rf: cfg.ReplicationFactor, timeout: cfg.Timeout}
	// Warm up: learn the controller and connect to it (validate only:
	// nothing is written).
	req := k.request([]string{"bench-warmup-validate"}, cfg.Partitions)
	req.ValidateOnly = true
	if _, err := cl.Request(ctx, req); err != nil {
		cl.Close()
		return nil, fmt.Errorf("warm-up CreateTopics: %w", err)
	}
	return k, nil
}

func (k *kafkaCreator) request(names []string, partitions int32) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(k.timeout / time.Millisecond)
	req.Topics = make([]kmsg.CreateTopicsRequestTopic, len(names))
	for i, n := range names {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, partitions, k.rf
		req.Topics[i] = rt
	}
	return req
}

func (k *kafkaCreator) create(ctx context.Context, names []string, partitions int32) (int, error, error) {
	kresp, err := k.cl.Request(ctx, k.request(names, partitions))
	if err != nil {
		return len(names), nil, err
	}
	resp := kresp.(*kmsg.CreateTopicsResponse)
	failed := len(names) - len(resp.Topics)
	var first error
	if failed > 0 {
		first = fmt.Errorf("CreateTopics answered %d of %d topics", len(resp.Topics), len(names))
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			failed++
			if first == nil {
				msg := ""
				if t.ErrorMessage != nil {
					msg = ": " + *t.ErrorMessage
				}
				first = fmt.Errorf("%s: %w%s", t.Topic, err, msg)
			}
		}
	}
	return failed, first, nil
}

func (k *kafkaCreator) close() { k.cl.Close() }

// seedCreator runs the seed baseline (bench/seed) on the metadata
// leader's broker directly: that path is not reachable over Kafka.
type seedCreator struct {
	svc     *topics.Service
	store   seed.Proposer
	rf      int16
	timeout time.Duration
}

func newSeedCreator(t *target, cfg *TopicsConfig) (*seedCreator, error) {
	i := t.cluster.Leader()
	if i < 0 {
		i = 0
	}
	b := t.cluster.Broker(i)
	if b == nil {
		return nil, errors.New("seed: no running broker")
	}
	return &seedCreator{svc: b.Topics(), store: b.Node(), rf: cfg.ReplicationFactor, timeout: cfg.Timeout}, nil
}

func (s *seedCreator) create(ctx context.Context, names []string, partitions int32) (int, error, error) {
	specs := make([]topics.CreateSpec, len(names))
	for i, n := range names {
		specs[i] = topics.CreateSpec{Name: n, NumPartitions: partitions, ReplicationFactor: s.rf}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := seed.Create(ctx, s.svc, s.store, specs)
	if err != nil {
		return len(names), nil, err
	}
	failed := 0
	var first error
	for _, r := range res {
		if r.Err != nil {
			failed++
			if first == nil {
				first = fmt.Errorf("%s: %w", r.Name, r.Err)
			}
		}
	}
	return failed, first, nil
}

func (s *seedCreator) close() {}

func newCreator(ctx context.Context, t *target, cfg *TopicsConfig) (creator, error) {
	if t.name == TargetSeed {
		return newSeedCreator(t, cfg)
	}
	return newKafkaCreator(ctx, t.brokers, cfg)
}

// proposalKind is the proposal metric label of a target's creates.
func proposalKind(target string) string {
	if target == TargetSeed {
		return seed.Kind
	}
	return "create_topics"
}

// RunTopics runs the topics workload against Skiff and every --compare
// target, one after the other (each on its own fresh cluster when the
// bench starts it).
func RunTopics(ctx context.Context, cfg TopicsConfig) (*Report, error) {
	cfg.defaults()
	names, err := cfg.targets(true)
	if err != nil {
		return nil, err
	}
	rep := &Report{Bench: "topics", Machine: ThisMachine(), Config: cfg}
	for _, name := range names {
		r, err := runTopicsOn(ctx, &cfg, name)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		rep.Topics = append(rep.Topics, *r)
	}
	rep.ratios()
	return rep, nil
}

func runTopicsOn(ctx context.Context, cfg *TopicsConfig, name string) (*TopicsResult, error) {
	prog := newProgress(cfg.Progress)
	defer prog.end()
	prog.start(name, func(time.Duration) string { return "starting the cluster" })
	t, err := cfg.open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer t.close()
	return runTopicsOnTarget(ctx, cfg, t, prog)
}

// runTopicsOnTarget runs the workload on a started target.
func runTopicsOnTarget(ctx context.Context, cfg *TopicsConfig, t *target, prog *progress) (*TopicsResult, error) {
	name := t.name
	res := &TopicsResult{Target: name, Cluster: t.desc}
	prefix := "bench-" + name + "-" + randHex(4)

	// Warm-up, not measured: one client per worker that knows and is
	// connected to the controller, and one topic with a partition on each
	// placement slot (on Skiff this creates every data group the run will
	// use), whose leaders are then left to settle on the preferred ones.
	prog.start(name, func(time.Duration) string { return "warming up" })
	workers := make([]creator, cfg.Concurrency)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.close()
			}
		}
	}()
	for i := range workers {
		var err error
		if workers[i], err = newCreator(ctx, t, cfg); err != nil {
			return nil, err
		}
	}
	warm := prefix + "-warmup"
	if failed, first, err := workers[0].create(ctx, []string{warm}, max(cfg.Partitions, int32(cfg.Nodes))); err != nil || failed > 0 {
		return nil, fmt.Errorf("warm-up create: %v", errors.Join(err, first))
	}
	if name != TargetKfake {
		if _, err := waitPreferred(ctx, t.brokers[0], warm, 15*time.Second); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	kind := proposalKind(name)
	before, counted := t.proposals(ctx, kind)

	// The measured run.
	perReq := cfg.TopicsPerRequest
	nreq := int64(-1)
	if cfg.Duration <= 0 {
		nreq = int64((cfg.Topics + perReq - 1) / perReq)
	}
	var (
		next, reqs, created, failedN atomic.Int64
		h                            hist
		mu                           sync.Mutex
		firstErr                     error
		ok                           = make([][]string, cfg.Concurrency)
	)
	start := time.Now()
	end := start.Add(cfg.Duration)
	prog.start(name, func(el time.Duration) string {
		c := created.Load()
		return fmt.Sprintf("%d requests, %d topics, %d partitions, %.0f partitions/s, %d errors",
			reqs.Load(), c, c*int64(cfg.Partitions), float64(c*int64(cfg.Partitions))/el.Seconds(), failedN.Load())
	})
	var wg sync.WaitGroup
	var lastAnswer atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if nreq >= 0 && i >= nreq || nreq < 0 && time.Now().After(end) {
					return
				}
				n := perReq
				if nreq >= 0 && i == nreq-1 && cfg.Topics%perReq != 0 {
					n = cfg.Topics % perReq
				}
				batch := make([]string, n)
				for j := range batch {
					batch[j] = fmt.Sprintf("%s-%08d", prefix, i*int64(perReq)+int64(j))
				}
				t0 := time.Now()
				failed, first, err := workers[w].create(ctx, batch, cfg.Partitions)
				h.Record(time.Since(t0))
				for at := int64(time.Since(start)); ; {
					if last := lastAnswer.Load(); at <= last || lastAnswer.CompareAndSwap(last, at) {
						break
					}
				}
				reqs.Add(1)
				if err != nil {
					first = err
				}
				if failed > 0 {
					failedN.Add(int64(failed))
					mu.Lock()
					if firstErr == nil {
						firstErr = first
					}
					mu.Unlock()
				}
				if failed == 0 {
					created.Add(int64(n))
					ok[w] = append(ok[w], batch...)
				} else {
					created.Add(int64(n - failed)) // which ones is not tracked: none is checked for readiness
				}
			}
		}()
	}
	wg.Wait()
	prog.end()
	elapsed := time.Duration(lastAnswer.Load())
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	res.Requests = reqs.Load()
	res.Topics = created.Load()
	res.Partitions = res.Topics * int64(cfg.Partitions)
	res.Errors = failedN.Load()
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	res.Seconds = elapsed.Seconds()
	if elapsed > 0 {
		res.TopicsPerSec = float64(res.Topics) / res.Seconds
		res.PartitionsPerSec = float64(res.Partitions) / res.Seconds
	}
	res.Latency = h.Summary()
	if after, ok := t.proposals(ctx, kind); counted && ok && res.Requests > 0 {
		v := (after - before) / float64(res.Requests)
		res.ProposalsPerRequest = &v
	}

	if !cfg.SkipReady {
		var all []string
		for _, o := range ok {
			all = append(all, o...)
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
		var status sync.Mutex
		var phase string
		prog.start(name+" ready", func(time.Duration) string { status.Lock(); defer status.Unlock(); return phase })
		rt, err := waitReady(rctx, t.brokers, all, cfg.Partitions, func(s string) { status.Lock(); phase = s; status.Unlock() })
		cancel()
		prog.end()
		if err != nil {
			return nil, fmt.Errorf("readiness: %w", err)
		}
		ready := time.Since(start)
		res.ReadySeconds = ready.Seconds()
		res.ReadyTailMs = float64(ready-elapsed) / float64(time.Millisecond)
		res.ReadyMetadataMs = float64(rt.metadata) / float64(time.Millisecond)
		res.ReadyProduceMs = float64(rt.produce) / float64(time.Millisecond)
		res.ReadyPartitionsPerSec = float64(int64(len(all))*int64(cfg.Partitions)) / ready.Seconds()
	}
	return res, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
