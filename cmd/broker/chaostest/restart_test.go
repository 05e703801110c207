package chaostest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Full-cluster restart: all three nodes stop at once (gracefully, then with
// SIGKILL) and start again. Topics (with their IDs and configs), partition
// data and producer state come back: the same idempotent producer keeps
// writing without a new producer ID or epoch, a replayed batch is
// recognized as a duplicate, and a sequence gap is refused. Offsets
// committed for a group before each restart are fetched unchanged after it.
func TestChaosFullClusterRestart(t *testing.T) {
	rounds := pick("RESTARTS", 2, 6)
	perRound := pick("RESTART_RECORDS", 100, 1500) // per partition and round
	c := Start(t, skiffBin, Options{Args: groupArgs})
	const topic, partitions = "restart-data", 6
	createTopic(t, c, 0, topic, partitions, 3, nil)
	createTopic(t, c, 1, "restart-config", 2, 3, map[string]string{"retention.ms": "3600000"})
	createTopic(t, c, 2, "restart-raw", 1, 3, nil)
	for i := range c.Len() {
		createTopic(t, c, i, fmt.Sprintf("restart-via-%d", i+1), int32(i+1), 3, nil)
	}
	prod, err := NewProducer(c.KafkaAddrs(), partitionsOf(topic, partitions))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prod.ProduceSync(ctx, 2*perRound)
	if f := prod.Errors(); f != "" {
		t.Fatalf("produce before the restart: %s", f)
	}
	pid0, epoch0, err := prod.Client.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A hand-made idempotent producer on restart-raw/0.
	raw := &rawProducer{c: c, topic: "restart-raw"}
	raw.init(t, ctx)
	for range 3 {
		raw.send(t, ctx, 3)
	}
	// Creates __consumer_offsets too, before the topic list is taken.
	const group = "restart-group"
	committed := commitGroupOffsets(t, c, group, topic, partitions, 0)
	topicsBefore, err := c.TopicNames(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	for r := range rounds {
		graceful := r%2 == 0
		if r > 0 {
			committed = commitGroupOffsets(t, c, group, topic, partitions, r)
		}
		var wg sync.WaitGroup
		for i := range c.Len() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if !graceful {
					if !c.kill(i) { // not c.Kill: no t.Fatal off the test goroutine
						t.Errorf("node %d: not running", i+1)
					}
					return
				}
				if err := c.Stop(i, 40*time.Second); err != nil {
					t.Errorf("graceful stop of node %d: %v", i+1, err)
				}
			}()
		}
		wg.Wait()
		start := time.Now()
		for i := range c.Len() {
			c.StartNode(i)
		}
		for i := range c.Len() {
			c.WaitReady(i, 90*time.Second)
		}
		d, err := c.WaitConverged(time.Minute)
		if err != nil {
			t.Fatalf("round %d: %v", r+1, err)
		}
		t.Logf("round %d (%s): ready and converged %s after the start; digest %.12s, %d topics",
			r+1, map[bool]string{true: "SIGTERM", false: "SIGKILL"}[graceful], time.Since(start).Round(time.Millisecond), d.Digest, d.Topics)

		for i := range c.Len() {
			got, err := c.TopicNames(ctx, i)
			if err != nil {
				t.Fatalf("round %d: node %d: %v", r+1, i+1, err)
			}
			if d := diffTopics(topicsBefore, got); d != "" {
				t.Errorf("round %d: node %d topics differ from before the restart: %s", r+1, i+1, d)
			}
		}
		checkConfig(t, c, r%c.Len(), "restart-config", "retention.ms", "3600000")
		checkGroupOffsets(t, c, group, committed, r+1)

		prod.ProduceSync(ctx, perRound)
		if f := prod.Errors(); f != "" {
			t.Fatalf("round %d: produce after the restart: %s", r+1, f)
		}
		pid, epoch, err := prod.Client.ProducerID(ctx)
		if err != nil || pid != pid0 || epoch != epoch0 {
			t.Errorf("round %d: producer ID/epoch %d/%d (%v) after the restart, was %d/%d", r+1, pid, epoch, err, pid0, epoch0)
		}
		raw.afterRestart(t, ctx, r+1)
	}
	rep := checkRecords(t, c, prod)
	t.Logf("FIGURES full restart: %d rounds; records: %s; raw producer: %d batches, %d duplicates recognized; group offsets: %d partitions checked after each restart",
		rounds, rep, raw.batches, raw.dups, partitions)
}

func checkConfig(t *testing.T, c *Cluster, i int, topic, key, want string) {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{key}
	req.Resources = append(req.Resources, rr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Read(ctx, i, req)
	if err != nil {
		t.Fatalf("describe configs via node %d: %v", i+1, err)
	}
	res := resp.(*kmsg.DescribeConfigsResponse).Resources[0]
	if res.ErrorCode != 0 || len(res.Configs) != 1 || res.Configs[0].Value == nil || *res.Configs[0].Value != want {
		t.Errorf("%s %s via node %d: %+v, want %s", topic, key, i+1, res, want)
	}
}

// rawProducer is an idempotent producer written by hand, to replay
// batches exactly.
type rawProducer struct {
	c       *Cluster
	topic   string
	id      [16]byte
	pid     int64
	epoch   int16
	seq     int32
	n       int
	last    []byte // the last batch sent
	lastOff int64  // its base offset
	batches int
	dups    int
}

func (p *rawProducer) init(t *testing.T, ctx context.Context) {
	t.Helper()
	err := WaitFor(30*time.Second, func() error {
		resp, err := p.c.Request(ctx, 0, kmsg.NewPtrInitProducerIDRequest())
		if err != nil {
			return err
		}
		r := resp.(*kmsg.InitProducerIDResponse)
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return err
		}
		p.pid, p.epoch = r.ProducerID, r.ProducerEpoch
		p.id, err = topicID(ctx, p.c, 0, p.topic)
		return err
	})
	if err != nil {
		t.Fatalf("InitProducerID: %v", err)
	}
}

// produce sends batch to the partition's leader, retrying while there is
// none, and returns the error code and base offset.
func (p *rawProducer) produce(t *testing.T, ctx context.Context, batch []byte) (int16, int64) {
	t.Helper()
	var code int16
	var base int64
	err := WaitFor(30*time.Second, func() error {
		leaders, err := p.c.PartitionLeaders(ctx, 0, p.topic)
		if err != nil {
			return err
		}
		l := int(leaders[0]) - 1
		if l < 0 {
			return fmt.Errorf("no leader for %s/0", p.topic)
		}
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = p.topic, p.id
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = 0, batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := p.c.Request(ctx, l, req)
		if err != nil {
			return err
		}
		pr := resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		if e := kerr.ErrorForCode(pr.ErrorCode); e != nil && kerr.IsRetriable(e) && e != kerr.OutOfOrderSequenceNumber {
			return e
		}
		code, base = pr.ErrorCode, pr.BaseOffset
		return nil
	})
	if err != nil {
		t.Fatalf("produce to %s/0: %v", p.topic, err)
	}
	return code, base
}

// send writes the next batch of n records; it must succeed, right after
// the previous batch.
func (p *rawProducer) send(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	var vals []string
	for range n {
		vals = append(vals, fmt.Sprintf("raw-%d", p.n))
		p.n++
	}
	batch := recordBatch(p.pid, p.epoch, p.seq, vals...)
	code, base := p.produce(t, ctx, batch)
	if code != 0 {
		t.Fatalf("raw batch seq %d: %v", p.seq, kerr.ErrorForCode(code))
	}
	if p.last != nil && base != p.lastOff+int64(n) {
		t.Errorf("raw batch seq %d at offset %d, want %d", p.seq, base, p.lastOff+int64(n))
	}
	p.seq += int32(n)
	p.last, p.lastOff = batch, base
	p.batches++
}

func (p *rawProducer) endOffset(t *testing.T, ctx context.Context) int64 {
	t.Helper()
	var end int64
	err := WaitFor(30*time.Second, func() error {
		leaders, err := p.c.PartitionLeaders(ctx, 0, p.topic)
		if err != nil {
			return err
		}
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = p.topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = 0, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := p.c.Request(ctx, max(int(leaders[0])-1, 0), req)
		if err != nil {
			return err
		}
		lp := resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(lp.ErrorCode); err != nil {
			return err
		}
		end = lp.Offset
		return nil
	})
	if err != nil {
		t.Fatalf("end offset of %s/0: %v", p.topic, err)
	}
	return end
}

// afterRestart replays the last batch (a duplicate: same base offset, the
// log does not grow), sends a batch with a sequence gap (refused), then the
// next batch (accepted right after the last).
func (p *rawProducer) afterRestart(t *testing.T, ctx context.Context, round int) {
	t.Helper()
	end := p.endOffset(t, ctx)
	code, base := p.produce(t, ctx, p.last)
	switch {
	case code == kerr.DuplicateSequenceNumber.Code, code == 0 && base == p.lastOff:
		p.dups++
	default:
		t.Errorf("round %d: replayed batch (pid %d seq %d): %v at offset %d, want a duplicate of offset %d (producer state lost?)",
			round, p.pid, p.seq-3, kerr.ErrorForCode(code), base, p.lastOff)
	}
	if e := p.endOffset(t, ctx); e != end {
		t.Errorf("round %d: the replayed batch moved the end offset from %d to %d", round, end, e)
	}
	gap := recordBatch(p.pid, p.epoch, p.seq+10, "gap")
	if code, _ := p.produce(t, ctx, gap); code != kerr.OutOfOrderSequenceNumber.Code {
		t.Errorf("round %d: batch with a sequence gap: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", round, kerr.ErrorForCode(code))
	}
	p.send(t, ctx, 3)
}

// commitGroupOffsets commits offsets for every partition of topic for group
// (an admin commit, outside group management), different in each round,
// retrying until it is acknowledged, and returns them.
func commitGroupOffsets(t *testing.T, c *Cluster, group, topic string, partitions int32, round int) map[TP]kadm.Offset {
	t.Helper()
	want := map[TP]kadm.Offset{}
	var offs kadm.Offsets
	for p := range partitions {
		o := kadm.Offset{Topic: topic, Partition: p, At: int64(10*round + int(p) + 1), LeaderEpoch: -1,
			Metadata: fmt.Sprintf("round %d", round)}
		offs.Add(o)
		want[TP{topic, p}] = o
	}
	err := WaitFor(time.Minute, func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.KafkaAddrs()...), kgo.DialTimeout(2*time.Second), kgo.RetryTimeout(10*time.Second))
		if err != nil {
			return Permanent(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		resps, err := kadm.NewClient(cl).CommitOffsets(ctx, group, offs)
		if err == nil {
			err = resps.Error()
		}
		return err
	})
	if err != nil {
		t.Fatalf("commit offsets for %s: %v", group, err)
	}
	return want
}

// checkGroupOffsets fails the test unless group's committed offsets are
// exactly want.
func checkGroupOffsets(t *testing.T, c *Cluster, group string, want map[TP]kadm.Offset, round int) {
	t.Helper()
	got, err := fetchOffsets(c.KafkaAddrs(), group, time.Minute)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	if len(got) != len(want) {
		t.Errorf("round %d: group %s has offsets for %d partitions after the restart, want %d", round, group, len(got), len(want))
	}
	for tp, w := range want {
		g, ok := got[tp]
		if !ok || g.At != w.At || g.Metadata != w.Metadata {
			t.Errorf("round %d: group %s %s after the restart: offset %d metadata %q (present %v), want %d %q",
				round, group, tp, g.At, g.Metadata, ok, w.At, w.Metadata)
		}
	}
}
