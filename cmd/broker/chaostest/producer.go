package chaostest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TP is a topic partition.
type TP struct {
	Topic     string
	Partition int32
}

func (tp TP) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// Producer is an idempotent acks=all franz-go producer that writes numbered
// records to a fixed set of partitions (record n of partition p has value
// "topic/p/n") and remembers which were acknowledged.
type Producer struct {
	Client *kgo.Client
	tps    []TP

	mu     sync.Mutex
	next   map[TP]int64
	acked  map[TP][]int64 // sequence numbers, in acknowledgement order
	failed map[TP][]int64
	errs   map[string]int

	sent     atomic.Int64
	nAcked   atomic.Int64
	inflight sync.WaitGroup
	cancel   context.CancelFunc
	loop     sync.WaitGroup
}

// NewProducer creates the producer's client, seeded with every address.
func NewProducer(addrs []string, tps []TP, opts ...kgo.Opt) (*Producer, error) {
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // the default; idempotence is on by default too
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.MaxBufferedRecords(2000),
		kgo.MetadataMinAge(200 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.DialTimeout(2 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Producer{
		Client: cl, tps: tps,
		next: map[TP]int64{}, acked: map[TP][]int64{}, failed: map[TP][]int64{}, errs: map[string]int{},
	}, nil
}

// Value is the value of record seq of tp.
func Value(tp TP, seq int64) string { return tp.String() + "/" + strconv.FormatInt(seq, 10) }

// Produce sends the next record of tp asynchronously.
func (p *Producer) Produce(ctx context.Context, tp TP) {
	p.mu.Lock()
	seq := p.next[tp]
	p.next[tp]++
	p.mu.Unlock()
	p.sent.Add(1)
	p.inflight.Add(1)
	p.Client.Produce(ctx, &kgo.Record{Topic: tp.Topic, Partition: tp.Partition, Value: []byte(Value(tp, seq))},
		func(r *kgo.Record, err error) {
			defer p.inflight.Done()
			p.mu.Lock()
			defer p.mu.Unlock()
			if err == nil {
				p.acked[tp] = append(p.acked[tp], seq)
				p.nAcked.Add(1)
				return
			}
			p.failed[tp] = append(p.failed[tp], seq)
			p.errs[errName(err)]++
		})
}

// ProduceSync writes n records to every partition and waits for the acks.
func (p *Producer) ProduceSync(ctx context.Context, n int) {
	for range n {
		for _, tp := range p.tps {
			p.Produce(ctx, tp)
		}
	}
	p.inflight.Wait()
}

// Start produces one record to every partition each interval until Stop.
func (p *Producer) Start(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.loop.Add(1)
	go func() {
		defer p.loop.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, tp := range p.tps {
				if ctx.Err() != nil {
					return
				}
				// Not ctx: a record is canceled only by a failure.
				p.Produce(context.Background(), tp)
			}
		}
	}()
}

// Stop ends the Start loop and waits up to timeout for every record to be
// acknowledged or failed; records still buffered then are failed by
// closing the client.
func (p *Producer) Stop(timeout time.Duration) error {
	if p.cancel != nil {
		p.cancel()
	}
	p.loop.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := p.Client.Flush(ctx)
	if err != nil {
		p.Client.Close()
	}
	p.inflight.Wait()
	return err
}

// Close closes the client.
func (p *Producer) Close() { p.Client.Close() }

// Acked is the number of acknowledged records so far.
func (p *Producer) Acked() int64 { return p.nAcked.Load() }

// WaitAcked waits until at least n more records than now are acknowledged.
func (p *Producer) WaitProgress(n int64, timeout time.Duration) error {
	target := p.Acked() + n
	return WaitFor(timeout, func() error {
		if a := p.Acked(); a < target {
			return fmt.Errorf("%d of %d records acknowledged", a, target)
		}
		return nil
	})
}

// Errors summarizes the produce errors seen, by name.
func (p *Producer) Errors() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	for _, k := range SortedKeys(p.errs) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, p.errs[k]))
	}
	return strings.Join(parts, " ")
}

func errName(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, kgo.ErrClientClosed):
		return "client_closed"
	}
	s := err.Error()
	if k := strings.IndexByte(s, ':'); k > 0 {
		s = s[:k]
	}
	return s
}

// Report is what a Verify found.
type Report struct {
	Sent, Acked, Failed int64
	Read                int64
	Lost                int64 // acknowledged, never read
	Duplicates          int64 // reads beyond the first of a record
	OutOfOrder          int64 // reads whose number is not above the previous one's in the partition
	Foreign             int64 // values that were never sent to that partition
	OffsetGaps          int64 // records whose offset is not the previous one's plus one
	UnackedPresent      int64 // not acknowledged (failed or unknown), but written
	Problems            []string
}

func (r Report) String() string {
	return fmt.Sprintf("sent %d, acked %d, failed %d, read %d, lost %d, duplicates %d, out of order %d, foreign %d, offset gaps %d, unacked but present %d",
		r.Sent, r.Acked, r.Failed, r.Read, r.Lost, r.Duplicates, r.OutOfOrder, r.Foreign, r.OffsetGaps, r.UnackedPresent)
}

// OK reports whether no acknowledged record was lost and nothing was
// duplicated, reordered, foreign or at a skipped offset.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Duplicates == 0 && r.OutOfOrder == 0 && r.Foreign == 0 && r.OffsetGaps == 0
}

// Verify reads every partition from its start to its end offset through a
// client seeded with addrs and compares it with what was acknowledged.
// Call it after Stop.
func (p *Producer) Verify(addrs []string, timeout time.Duration) (Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RetryTimeout(timeout), kgo.DialTimeout(2*time.Second))
	if err != nil {
		return Report{}, err
	}
	defer adm.Close()
	topicSet := map[string]bool{}
	for _, tp := range p.tps {
		topicSet[tp.Topic] = true
	}
	topics := SortedKeys(topicSet)
	var ends, starts kadm.ListedOffsets
	err = WaitFor(timeout, func() error {
		var err error
		if ends, err = kadm.NewClient(adm).ListEndOffsets(ctx, topics...); err == nil {
			err = ends.Error()
		}
		if err == nil {
			if starts, err = kadm.NewClient(adm).ListStartOffsets(ctx, topics...); err == nil {
				err = starts.Error()
			}
		}
		if ctx.Err() != nil {
			return Permanent(err)
		}
		return err
	})
	if err != nil {
		return Report{}, fmt.Errorf("list offsets: %w", err)
	}
	assign := map[string]map[int32]kgo.Offset{}
	want := map[TP]int64{} // end offset
	for _, tp := range p.tps {
		s, _ := starts.Lookup(tp.Topic, tp.Partition)
		e, _ := ends.Lookup(tp.Topic, tp.Partition)
		if s.Offset != 0 {
			return Report{}, fmt.Errorf("%s starts at offset %d, want 0", tp, s.Offset)
		}
		if e.Offset == 0 {
			continue
		}
		if assign[tp.Topic] == nil {
			assign[tp.Topic] = map[int32]kgo.Offset{}
		}
		assign[tp.Topic][tp.Partition] = kgo.NewOffset().At(0)
		want[tp] = e.Offset
	}
	got := map[TP][]string{}
	if len(assign) > 0 {
		cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(assign),
			kgo.FetchMaxWait(200*time.Millisecond), kgo.DialTimeout(2*time.Second), kgo.MetadataMinAge(200*time.Millisecond))
		if err != nil {
			return Report{}, err
		}
		defer cons.Close()
		next := map[TP]int64{}
		remaining := len(want)
		for remaining > 0 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				var short []string
				for tp, end := range want {
					if next[tp] < end {
						short = append(short, fmt.Sprintf("%s at %d of %d", tp, next[tp], end))
					}
				}
				sort.Strings(short)
				return Report{}, fmt.Errorf("reading back: deadline with %s", strings.Join(short, ", "))
			}
			var ferr error
			fs.EachError(func(topic string, part int32, err error) {
				if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && kgoFatal(err) {
					ferr = fmt.Errorf("fetch %s/%d: %w", topic, part, err)
				}
			})
			if ferr != nil {
				return Report{}, ferr
			}
			fs.EachRecord(func(r *kgo.Record) {
				tp := TP{r.Topic, r.Partition}
				if r.Offset != next[tp] {
					// a gap or a repeat in offsets: note it, keep reading
					got[tp] = append(got[tp], fmt.Sprintf("!offset %d after %d", r.Offset, next[tp]-1))
				}
				if r.Offset >= want[tp] {
					return
				}
				got[tp] = append(got[tp], string(r.Value))
				next[tp] = r.Offset + 1
				if next[tp] == want[tp] {
					remaining--
				}
			})
		}
	}
	return p.compare(got), nil
}

func kgoFatal(err error) bool {
	var ke interface{ IsRetriable() bool }
	if errors.As(err, &ke) {
		return !ke.IsRetriable()
	}
	return false // connection trouble: the client retries
}

func (p *Producer) compare(got map[TP][]string) Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Report{Sent: p.sent.Load()}
	for _, tp := range p.tps {
		acked := p.acked[tp]
		r.Acked += int64(len(acked))
		r.Failed += int64(len(p.failed[tp]))
		ackedSet := make(map[int64]bool, len(acked))
		for _, s := range acked {
			ackedSet[s] = true
		}
		seen := map[int64]int{}
		prev := int64(-1)
		prefix := tp.String() + "/"
		for _, v := range got[tp] {
			if strings.HasPrefix(v, "!") {
				r.OffsetGaps++
				if len(r.Problems) < 50 {
					r.Problems = append(r.Problems, tp.String()+": "+v[1:])
				}
				continue
			}
			r.Read++
			seq, err := strconv.ParseInt(strings.TrimPrefix(v, prefix), 10, 64)
			if !strings.HasPrefix(v, prefix) || err != nil || seq < 0 || seq >= p.next[tp] {
				r.Foreign++
				if len(r.Problems) < 50 {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: foreign value %q", tp, v))
				}
				continue
			}
			seen[seq]++
			if seen[seq] > 1 {
				r.Duplicates++
				if len(r.Problems) < 50 {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: record %d read %d times", tp, seq, seen[seq]))
				}
			} else if seq <= prev {
				r.OutOfOrder++
				if len(r.Problems) < 50 {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: record %d after %d", tp, seq, prev))
				}
			}
			prev = max(prev, seq)
			if !ackedSet[seq] && seen[seq] == 1 {
				r.UnackedPresent++
			}
		}
		for _, s := range acked {
			if seen[s] == 0 {
				r.Lost++
				if len(r.Problems) < 50 {
					r.Problems = append(r.Problems, fmt.Sprintf("%s: acknowledged record %d lost", tp, s))
				}
			}
		}
	}
	return r
}
