package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RecordsConfig is a produce (or produce-then-consume) workload with
// franz-go clients.
type RecordsConfig struct {
	Options
	Partitions        int32         `json:"partitions"`
	ReplicationFactor int16         `json:"replication_factor"`
	RecordSize        int           `json:"record_size"`            // value bytes; no key
	Acks              string        `json:"acks"`                   // all, 1 or 0
	Compression       string        `json:"compression"`            // none, gzip, snappy, lz4, zstd
	Linger            time.Duration `json:"linger_ns"`              // franz-go ProducerLinger
	MaxBuffered       int           `json:"max_buffered,omitempty"` // franz-go MaxBufferedRecords per producer; 0: its default (50,000)
	Producers         int           `json:"producers"`              // clients producing concurrently
	// Rate, if set, is the target of value bytes per second over all
	// producers (each paces its share); without it they produce as fast
	// as the client's buffer allows. Latency is then measured at the
	// target load rather than at saturation.
	Rate            float64       `json:"rate_bytes_per_sec,omitempty"`
	Consumers       int           `json:"consumers"`                   // consume: clients splitting the partitions
	NoFetchSessions bool          `json:"no_fetch_sessions,omitempty"` // consume: full fetches only (kgo.DisableFetchSessions)
	Tail            time.Duration `json:"tail_ns,omitempty"`           // consume: keep polling this long after reading everything
	// Records to produce (consume: to preload, then read back). 0: produce
	// for Duration.
	Records  int64         `json:"records"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Timeout  time.Duration `json:"timeout_ns"` // bound of the whole run per target
}

func (c *RecordsConfig) defaults() {
	c.Options.defaults()
	if c.Partitions <= 0 {
		c.Partitions = 6
	}
	if c.ReplicationFactor <= 0 {
		c.ReplicationFactor = 3
	}
	if c.RecordSize <= 0 {
		c.RecordSize = 1024
	}
	if c.Acks == "" {
		c.Acks = "all"
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Linger < 0 {
		c.Linger = 0
	}
	if c.Producers <= 0 {
		c.Producers = 1
	}
	if c.Consumers <= 0 {
		c.Consumers = 1
	}
	if c.Records <= 0 && c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
}

func (c *RecordsConfig) producerOpts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	switch c.Acks {
	case "all", "-1":
		c.Acks = "all"
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("--acks must be all, 1 or 0, got %q", c.Acks)
	}
	var codec kgo.CompressionCodec
	switch c.Compression {
	case "none":
		codec = kgo.NoCompression()
	case "gzip":
		codec = kgo.GzipCompression()
	case "snappy":
		codec = kgo.SnappyCompression()
	case "lz4":
		codec = kgo.Lz4Compression()
	case "zstd":
		codec = kgo.ZstdCompression()
	default:
		return nil, fmt.Errorf("--compression must be none, gzip, snappy, lz4 or zstd, got %q", c.Compression)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(c.Linger))
	if c.MaxBuffered > 0 {
		opts = append(opts, kgo.MaxBufferedRecords(c.MaxBuffered))
	}
	return opts, nil
}

// RecordsResult is one target's outcome of one phase (produce or consume).
type RecordsResult struct {
	Target        string   `json:"target"`
	Cluster       string   `json:"cluster"`
	Phase         string   `json:"phase"` // produce, or consume
	Records       int64    `json:"records"`
	Bytes         int64    `json:"bytes"` // value bytes
	Errors        int64    `json:"errors"`
	FirstError    string   `json:"first_error,omitempty"`
	Seconds       float64  `json:"seconds"`
	RecordsPerSec float64  `json:"records_per_sec"`
	MiBPerSec     float64  `json:"mib_per_sec"`       // value bytes, 2^20 per MiB
	Latency       *Latency `json:"latency,omitempty"` // produce: Produce call to acknowledgement
	FirstRecordMs float64  `json:"first_record_ms,omitempty"`
	// Consume: the consumers' Fetch requests and their wire bytes (request
	// and response frames), to see what KIP-227 sessions save.
	FetchRequests      int64 `json:"fetch_requests,omitempty"`
	FetchRequestBytes  int64 `json:"fetch_request_bytes,omitempty"`
	FetchResponseBytes int64 `json:"fetch_response_bytes,omitempty"`
	// Consume with a tail: the same, while the caught-up consumers poll
	// for RecordsConfig.Tail with nothing new to read.
	TailFetchRequests      int64 `json:"tail_fetch_requests,omitempty"`
	TailFetchRequestBytes  int64 `json:"tail_fetch_request_bytes,omitempty"`
	TailFetchResponseBytes int64 `json:"tail_fetch_response_bytes,omitempty"`
}

// fetchBytes counts a client's Fetch requests and their wire bytes.
type fetchBytes struct {
	requests, written, read atomic.Int64
}

func (f *fetchBytes) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == kmsg.Fetch.Int16() && err == nil {
		f.requests.Add(1)
		f.written.Add(int64(n))
	}
}

func (f *fetchBytes) OnBrokerRead(_ kgo.BrokerMetadata, key int16, n int, _, _ time.Duration, err error) {
	if key == kmsg.Fetch.Int16() && err == nil {
		f.read.Add(int64(n))
	}
}

// RunProduce runs the produce workload against Skiff and every --compare
// target.
func RunProduce(ctx context.Context, cfg RecordsConfig) (*Report, error) {
	return runRecords(ctx, cfg, false)
}

// RunConsume produces the workload's records (reported as the produce
// phase), then reads them all back from the start with Consumers clients.
func RunConsume(ctx context.Context, cfg RecordsConfig) (*Report, error) {
	return runRecords(ctx, cfg, true)
}

func runRecords(ctx context.Context, cfg RecordsConfig, consume bool) (*Report, error) {
	cfg.defaults()
	if _, err := cfg.producerOpts(); err != nil {
		return nil, err
	}
	if consume && cfg.Acks == "0" {
		return nil, errors.New("bench consume needs acks 1 or all: the preload must know what was written")
	}
	names, err := cfg.targets(false)
	if err != nil {
		return nil, err
	}
	bench := "produce"
	if consume {
		bench = "consume"
	}
	rep := &Report{Bench: bench, Machine: ThisMachine(), Config: cfg}
	for _, name := range names {
		rs, err := runRecordsOn(ctx, &cfg, name, consume)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		rep.Records = append(rep.Records, rs...)
	}
	// Ratios compare like phases: the last (consume) phase of each target.
	if consume {
		var last []RecordsResult
		for _, r := range rep.Records {
			if r.Phase == "consume" {
				last = append(last, r)
			}
		}
		saved := rep.Records
		rep.Records = last
		rep.ratios()
		rep.Records = saved
	} else {
		rep.ratios()
	}
	return rep, nil
}

func runRecordsOn(ctx context.Context, cfg *RecordsConfig, name string, consume bool) ([]RecordsResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	prog := newProgress(cfg.Progress)
	defer prog.end()
	prog.start(name, func(time.Duration) string { return "starting the cluster" })
	t, err := cfg.open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer t.close()

	topic := "bench-" + bench(consume) + "-" + randHex(4)
	prog.start(name, func(time.Duration) string { return "creating " + topic })
	if err := createAndWait(ctx, t.brokers, topic, cfg.Partitions, cfg.ReplicationFactor); err != nil {
		return nil, err
	}
	if name != TargetKfake {
		prog.start(name, func(time.Duration) string { return "waiting for preferred leaders" })
		if _, err := waitPreferred(ctx, t.brokers[0], topic, 15*time.Second); err != nil {
			return nil, err
		}
	}
	p, err := produce(ctx, cfg, t, topic, prog)
	if err != nil {
		return nil, err
	}
	out := []RecordsResult{*p}
	if !consume {
		return out, nil
	}
	c, err := consumeAll(ctx, cfg, t, topic, prog)
	if err != nil {
		return nil, err
	}
	return append(out, *c), nil
}

func bench(consume bool) string {
	if consume {
		return "consume"
	}
	return "produce"
}

// createAndWait creates topic and waits until it is ready (leaders on every
// broker, one record produced to each partition).
func createAndWait(ctx context.Context, brokers []string, topic string, partitions int32, rf int16) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	_, err = waitReady(ctx, brokers, []string{topic}, partitions, func(string) {})
	return err
}

func payloads(size int) [][]byte {
	const n = 64
	out := make([][]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range out {
		b := make([]byte, size)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		out[i] = b
	}
	return out
}

// produce runs cfg.Producers clients producing to topic until cfg.Records
// were sent or cfg.Duration passed, and waits for every acknowledgement.
func produce(ctx context.Context, cfg *RecordsConfig, t *target, topic string, prog *progress) (*RecordsResult, error) {
	popts, err := cfg.producerOpts()
	if err != nil {
		return nil, err
	}
	vals := payloads(cfg.RecordSize)
	var (
		issued, acked, failed, bytes atomic.Int64
		h                            hist
		mu                           sync.Mutex
		firstErr                     error
	)
	clients := make([]*kgo.Client, cfg.Producers)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range clients {
		opts := append([]kgo.Opt{kgo.SeedBrokers(t.brokers...), kgo.DefaultProduceTopic(topic)}, popts...)
		if clients[i], err = kgo.NewClient(opts...); err != nil {
			return nil, err
		}
		// Before the clock starts: learn the topic's partitions, get a
		// producer ID, connect to the leaders (one record, not counted).
		if err := clients[i].ProduceSync(ctx, &kgo.Record{Value: []byte("warm-up")}).FirstErr(); err != nil {
			return nil, fmt.Errorf("warm-up produce: %w", err)
		}
	}
	start := time.Now()
	end := start.Add(cfg.Duration)
	prog.start(t.name+" produce", func(el time.Duration) string {
		a := acked.Load()
		return fmt.Sprintf("%d records acknowledged, %.0f records/s, %.1f MiB/s, %d errors",
			a, float64(a)/el.Seconds(), float64(bytes.Load())/el.Seconds()/(1<<20), failed.Load())
	})
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := pacer{start: start, bytesPerSec: cfg.Rate / float64(len(clients))}
			for n := 0; ctx.Err() == nil; n++ {
				if cfg.Records > 0 {
					if issued.Add(1) > cfg.Records {
						break
					}
				} else if n%64 == 0 && time.Now().After(end) {
					break
				}
				v := vals[(i+n)%len(vals)]
				pace.wait(len(v))
				t0 := time.Now()
				cl.Produce(ctx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) {
					h.Record(time.Since(t0))
					if err != nil {
						failed.Add(1)
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					acked.Add(1)
					bytes.Add(int64(len(r.Value)))
				})
			}
			if err := cl.Flush(ctx); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.end()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("produce: %w", ctx.Err())
	}
	lat := h.Summary()
	r := &RecordsResult{
		Target: t.name, Cluster: t.desc, Phase: "produce",
		Records: acked.Load(), Bytes: bytes.Load(), Errors: failed.Load(),
		Seconds: elapsed.Seconds(), Latency: &lat,
	}
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	r.RecordsPerSec = float64(r.Records) / r.Seconds
	r.MiBPerSec = float64(r.Bytes) / r.Seconds / (1 << 20)
	return r, nil
}

// consumeAll reads every record of topic from the start (the end offsets
// say how many there are) with cfg.Consumers clients, each assigned a
// share of the partitions.
func consumeAll(ctx context.Context, cfg *RecordsConfig, t *target, topic string, prog *progress) (*RecordsResult, error) {
	admCl, err := kgo.NewClient(kgo.SeedBrokers(t.brokers...))
	if err != nil {
		return nil, err
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topic)
	admCl.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })

	nc := min(cfg.Consumers, int(cfg.Partitions))
	assign := make([]map[int32]kgo.Offset, nc)
	for p := range cfg.Partitions {
		i := int(p) % nc
		if assign[i] == nil {
			assign[i] = map[int32]kgo.Offset{}
		}
		assign[i][p] = kgo.NewOffset().AtStart()
	}
	var (
		got, bytes, firstNs atomic.Int64
		mu                  sync.Mutex
		firstErr            error
	)
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	caught := make(chan struct{})
	var caughtOnce sync.Once
	start := time.Now()
	prog.start(t.name+" consume", func(el time.Duration) string {
		g := got.Load()
		return fmt.Sprintf("%d of %d records, %.0f records/s, %.1f MiB/s", g, want, float64(g)/el.Seconds(), float64(bytes.Load())/el.Seconds()/(1<<20))
	})
	var wg sync.WaitGroup
	fb := &fetchBytes{}
	for i := range nc {
		opts := []kgo.Opt{kgo.SeedBrokers(t.brokers...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign[i]}),
			kgo.FetchMaxWait(100 * time.Millisecond), kgo.WithHooks(fb)}
		if cfg.NoFetchSessions {
			opts = append(opts, kgo.DisableFetchSessions())
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for cctx.Err() == nil {
				fs := cl.PollFetches(cctx)
				fs.EachError(func(_ string, _ int32, err error) {
					if errors.Is(err, context.Canceled) || kerr.IsRetriable(err) {
						return
					}
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				})
				var n, b int64
				fs.EachRecord(func(r *kgo.Record) { n++; b += int64(len(r.Value)) })
				if n > 0 {
					firstNs.CompareAndSwap(0, int64(time.Since(start)))
				}
				bytes.Add(b)
				if got.Add(n) >= want {
					caughtOnce.Do(func() { close(caught) })
				}
			}
		}()
	}
	select {
	case <-caught:
	case <-ctx.Done():
	}
	elapsed := time.Since(start)
	prog.end()
	fetches, written, read := fb.requests.Load(), fb.written.Load(), fb.read.Load()
	if cfg.Tail > 0 && ctx.Err() == nil {
		select {
		case <-time.After(cfg.Tail):
		case <-ctx.Done():
		}
	}
	stop()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("consume: read %d of %d records: %w", got.Load(), want, ctx.Err())
	}
	r := &RecordsResult{
		Target: t.name, Cluster: t.desc, Phase: "consume",
		Records: got.Load(), Bytes: bytes.Load(), Seconds: elapsed.Seconds(),
		FirstRecordMs: float64(firstNs.Load()) / float64(time.Millisecond),
		FetchRequests: fetches, FetchRequestBytes: written, FetchResponseBytes: read,
	}
	if cfg.Tail > 0 {
		r.TailFetchRequests = fb.requests.Load() - fetches
		r.TailFetchRequestBytes = fb.written.Load() - written
		r.TailFetchResponseBytes = fb.read.Load() - read
	}
	if firstErr != nil {
		r.Errors = 1
		r.FirstError = firstErr.Error()
	}
	r.RecordsPerSec = float64(r.Records) / r.Seconds
	r.MiBPerSec = float64(r.Bytes) / r.Seconds / (1 << 20)
	return r, nil
}
