package broker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

func createTopic(t *testing.T, c *clustertest.Cluster, name string, partitions int32, rf int16, configs map[string]*string) {
	t.Helper()
	req := createTopicsReq([]string{name}, partitions, rf)
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, v
		req.Topics[0].Configs = append(req.Topics[0].Configs, cfg)
	}
	resp := requestTo(t, c.KafkaAddrs()[0], req).(*kmsg.CreateTopicsResponse)
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func consumeAll(t *testing.T, addr, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := nodeClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond), kgo.RequestRetries(20))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records from %s before the deadline", len(out), want, topic)
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !kerr.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("fetch %s/%d: %v", topic, p, err)
			}
		})
		out = append(out, fs.Records()...)
	}
	return out
}

// Any client produces through one node and consumes through another.
func TestClusterProduceConsumeThroughAnyNode(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "events", 6, 3, nil)
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20), kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 1000
	sent := map[string]string{}
	var recs []*kgo.Record
	for i := range n {
		k, v := fmt.Sprintf("key-%04d", i), fmt.Sprintf("value-%04d-%s", i, strings.Repeat("x", i%50))
		sent[k] = v
		recs = append(recs, &kgo.Record{Topic: "events", Key: []byte(k), Value: []byte(v)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	got := consumeAll(t, c.KafkaAddrs()[1], "events", n, time.Minute)
	if len(got) != n {
		t.Fatalf("consumed %d records, want %d", len(got), n)
	}
	lastOffset := map[int32]int64{}
	for _, r := range got {
		if sent[string(r.Key)] != string(r.Value) {
			t.Fatalf("record %s = %q, produced %q", r.Key, r.Value, sent[string(r.Key)])
		}
		delete(sent, string(r.Key))
		if prev, ok := lastOffset[r.Partition]; ok && r.Offset != prev+1 {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
		}
		lastOffset[r.Partition] = r.Offset
	}
	if len(sent) != 0 {
		t.Fatalf("%d records never consumed", len(sent))
	}

	// ListOffsets and DeleteRecords through kadm.
	adm := kadm.NewClient(nodeClient(t, c.KafkaAddrs()[2], kgo.RequestRetries(20)))
	// A partition whose leadership moves (the balancer hands groups to
	// their preferred leaders) answers NOT_LEADER_OR_FOLLOWER, which kadm
	// reports per partition without retrying: ask again until none does.
	var ends kadm.ListedOffsets
	if err := clustertest.WaitFor(30*time.Second, func() error {
		var err error
		if ends, err = adm.ListEndOffsets(ctx, "events"); err != nil {
			return err
		}
		return ends.Error()
	}); err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != n {
		t.Fatalf("end offsets sum to %d, want %d", total, n)
	}
	end0, _ := ends.Lookup("events", 0)
	offs := kadm.Offsets{}
	offs.AddOffset("events", 0, end0.Offset/2, -1)
	del, err := adm.DeleteRecords(ctx, offs)
	if err != nil || del.Error() != nil {
		t.Fatalf("delete records: %v %v", err, del.Error())
	}
	starts, err := adm.ListStartOffsets(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if s0, _ := starts.Lookup("events", 0); s0.Offset != end0.Offset/2 {
		t.Fatalf("start offset after DeleteRecords: %d, want %d", s0.Offset, end0.Offset/2)
	}
}

// Produce to a node that does not lead the partition: NOT_LEADER_OR_FOLLOWER;
// to an unknown topic: UNKNOWN_TOPIC_OR_PARTITION.
func TestClusterProduceLeaderChecks(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "checked", 3, 3, nil)
	md := metadataFrom(t, c.KafkaAddrs()[0], "checked")
	p := md.Topics[0].Partitions[0]
	leader := p.Leader
	var other int
	for i := range 3 {
		if int32(i+1) != leader {
			other = i
			break
		}
	}
	batch := rawBatch(t, "v")
	produce := func(addr, topic string) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic // Produce v13 addresses topics by ID
		if topic == "checked" {
			rt.TopicID = md.Topics[0].TopicID
		} else {
			rt.TopicID = [16]byte{1, 2, 3}
		}
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = 0, batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return requestTo(t, addr, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(c.KafkaAddrs()[other], "checked"); code != kerr.NotLeaderForPartition.Code {
		t.Fatalf("produce to non-leader node %d: %v", other+1, kerr.ErrorForCode(code))
	}
	if code := produce(c.KafkaAddrs()[leader-1], "checked"); code != 0 {
		t.Fatalf("produce to the leader: %v", kerr.ErrorForCode(code))
	}
	if code := produce(c.KafkaAddrs()[0], "no-such-topic"); code != kerr.UnknownTopicOrPartition.Code && code != kerr.UnknownTopicID.Code {
		t.Fatalf("produce to an unknown topic: %v", kerr.ErrorForCode(code))
	}
}

// rawBatch encodes one record batch (v2, uncompressed, not idempotent).
func rawBatch(t testing.TB, values ...string) []byte {
	t.Helper()
	var recs []byte
	for i, v := range values {
		r := kmsg.NewRecord()
		r.OffsetDelta = int32(i)
		r.Value = []byte(v)
		r.Length = int32(len(r.AppendTo(nil)) - 1) // AppendTo writes Length first
		recs = r.AppendTo(recs)
	}
	b := kmsg.NewRecordBatch()
	b.Magic = 2
	b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
	b.LastOffsetDelta = int32(len(values) - 1)
	b.NumRecords = int32(len(values))
	b.Records = recs
	now := time.Now().UnixMilli()
	b.FirstTimestamp, b.MaxTimestamp = now, now
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	// CRC-32C over attributes..end
	b.CRC = int32(crc32c(raw[21:]))
	return b.AppendTo(nil)
}

// Each broker leads about the same number of data groups, and leadership is
// rebalanced when a stopped broker returns.
func TestClusterGroupLeadershipBalanced(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "balanced", 9, 3, nil)
	leaders := func(from int) map[int32]int {
		md := metadataFrom(t, c.KafkaAddrs()[from], "balanced")
		count := map[int32]int{}
		for _, p := range md.Topics[0].Partitions {
			count[p.Leader]++
		}
		return count
	}
	balanced := func() error {
		count := leaders(0)
		for id := int32(1); id <= 3; id++ {
			if count[id] != 3 {
				return fmt.Errorf("partition leaders per broker: %v", count)
			}
		}
		return nil
	}
	if err := clustertest.WaitFor(30*time.Second, balanced); err != nil {
		t.Fatal(err)
	}
	// Node 3 goes away: its groups elect leaders among nodes 1 and 2.
	c.Stop(2)
	err := clustertest.WaitFor(30*time.Second, func() error {
		count := leaders(0)
		if count[1]+count[2] != 9 {
			return fmt.Errorf("partition leaders per broker with node 3 down: %v", count)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Restart(2)
	if err := clustertest.WaitFor(60*time.Second, balanced); err != nil {
		t.Fatalf("after node 3 returned: %v", err)
	}
}

// The durability test (issue: data plane): an idempotent acks=all producer
// writes numbered records to several partitions while the node leading a
// data group is stopped and later restarted. Every acknowledged record is
// read back exactly once, in order per partition, and every replica of
// every group ends with the same contents.
func TestClusterAckedWritesSurviveLeaderLoss(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	const topic, partitions = "durable-data", 6
	createTopic(t, c, topic, partitions, 3, nil)
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(1000), kgo.RetryTimeout(time.Minute),
		kgo.SeedBrokers(c.KafkaAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	acked := map[int32][]string{} // per partition, in ack order
	var inFlight sync.WaitGroup
	var produced atomic.Int64
	stop := make(chan struct{})
	var loop sync.WaitGroup
	loop.Add(1)
	go func() {
		defer loop.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := int32(i % partitions)
			v := fmt.Sprintf("p%d-%06d", p, i/partitions)
			inFlight.Add(1)
			produced.Add(1)
			prod.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)}, func(r *kgo.Record, err error) {
				defer inFlight.Done()
				if err == nil {
					mu.Lock()
					acked[r.Partition] = append(acked[r.Partition], string(r.Value))
					mu.Unlock()
				}
			})
			if i%200 == 199 {
				prod.Flush(ctx)
			}
		}
	}()
	waitAcked := func(n int) {
		if err := clustertest.WaitFor(time.Minute, func() error {
			mu.Lock()
			defer mu.Unlock()
			total := 0
			for _, v := range acked {
				total += len(v)
			}
			if total < n {
				return fmt.Errorf("%d acked", total)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitAcked(2000)
	md := metadataFrom(t, c.KafkaAddrs()[0], topic)
	victim := int(md.Topics[0].Partitions[0].Leader) - 1
	t.Logf("stopping node %d, leader of partition 0's data group", victim+1)
	c.Stop(victim)
	waitAcked(5000)
	c.Restart(victim)
	waitAcked(8000)
	close(stop)
	loop.Wait()
	prod.Flush(ctx)
	inFlight.Wait()

	mu.Lock()
	total := 0
	for _, v := range acked {
		total += len(v)
	}
	mu.Unlock()
	t.Logf("produced %d, acknowledged %d", produced.Load(), total)

	got := consumeAll(t, c.KafkaAddrs()[(victim+1)%3], topic, total, time.Minute)
	per := map[int32][]string{}
	for _, r := range got {
		per[r.Partition] = append(per[r.Partition], string(r.Value))
	}
	for p := int32(0); p < partitions; p++ {
		seen := map[string]int{}
		for _, v := range per[p] {
			seen[v]++
		}
		for _, v := range acked[p] {
			if seen[v] != 1 {
				t.Fatalf("partition %d: acknowledged record %s read %d times", p, v, seen[v])
			}
		}
		if !sort.StringsAreSorted(per[p]) {
			t.Fatalf("partition %d: records out of order", p)
		}
	}
	// Every replica of every group converges to the same contents.
	err := clustertest.WaitFor(30*time.Second, func() error {
		return sameGroupDigests(c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameGroupDigests checks that every data group has a replica open on
// every node (all groups here have every node as a member) and that the
// replicas' contents are equal.
func sameGroupDigests(c *clustertest.Cluster) error {
	digests := map[uint64]map[string][]int{}
	for i := range c.Len() {
		b := c.Broker(i)
		if b == nil {
			return fmt.Errorf("node %d stopped", i+1)
		}
		for _, shard := range b.Node().LocalDataGroups() {
			sm, ok := b.Node().DataGroupReplica(shard)
			if !ok {
				continue
			}
			v, err := sm.Lookup(datagroup.QueryDigest{})
			if err != nil {
				return err
			}
			if digests[shard] == nil {
				digests[shard] = map[string][]int{}
			}
			d := fmt.Sprint(v)
			digests[shard][d] = append(digests[shard][d], i+1)
		}
	}
	for shard, ds := range digests {
		if len(ds) != 1 {
			return fmt.Errorf("group %d: replicas differ: %v", shard, ds)
		}
		for _, nodes := range ds {
			if len(nodes) != c.Len() {
				return fmt.Errorf("group %d: open on nodes %v only", shard, nodes)
			}
		}
	}
	return nil
}

// kcat (librdkafka) produces 1,000 keyed messages to one node and consumes
// them back from another. CI installs kcat; elsewhere the test needs it on
// PATH.
func TestClusterKcatProduceConsume(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (.ci/run installs it)")
		}
		t.Skip("kcat not on PATH")
	}
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "kcat", 3, 3, nil)
	var in strings.Builder
	want := map[string]string{}
	for i := range 1000 {
		k, v := fmt.Sprintf("k%04d", i), fmt.Sprintf("v%04d", i)
		want[k] = v
		fmt.Fprintf(&in, "%s:%s\n", k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := exec.CommandContext(ctx, kcat, "-P", "-b", c.KafkaAddrs()[0], "-t", "kcat", "-K:", "-X", "acks=all")
	p.Stdin = strings.NewReader(in.String())
	if out, err := p.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	cons := exec.CommandContext(ctx, kcat, "-C", "-b", c.KafkaAddrs()[1], "-t", "kcat", "-o", "beginning", "-e", "-f", "%k:%s\n", "-q")
	out, err := cons.Output()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1000 {
		t.Fatalf("kcat consumed %d messages, want 1000", len(lines))
	}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		if want[k] != v {
			t.Fatalf("kcat consumed %q, want %s:%s", l, k, want[k])
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Fatalf("%d messages missing", len(want))
	}
}

// A replica that was down while its data group compacted its Raft log
// catches up from a snapshot of the group, and ends with the same data.
func TestClusterLaggingReplicaCatchesUpFromSnapshot(t *testing.T) {
	var recovered atomic.Int64
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).Hook(zerolog.HookFunc(
		func(_ *zerolog.Event, _ zerolog.Level, msg string) {
			if msg == "data group state recovered from snapshot" {
				recovered.Add(1)
			}
		}))
	c := clustertest.New(t, 3, clustertest.Options{Logger: &log})
	createTopic(t, c, "lagging", 1, 3, nil)
	c.Stop(2)
	// One produce request per record and partition, synchronously: each is
	// its own Raft entry, so the group's log passes the snapshot interval
	// (2,000 entries) and is compacted behind the stopped replica.
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(50), kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 3000
	for i := range n {
		r := &kgo.Record{Topic: "lagging", Partition: 0, Value: []byte(fmt.Sprintf("%05d", i))}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	c.Restart(2)
	err := clustertest.WaitFor(60*time.Second, func() error { return sameGroupDigests(c) })
	if err != nil {
		t.Fatal(err)
	}
	if recovered.Load() == 0 {
		t.Fatal("the restarted replica caught up without a snapshot: the test did not exercise snapshots")
	}
	got := consumeAll(t, c.KafkaAddrs()[2], "lagging", n, time.Minute)
	if len(got) != n {
		t.Fatalf("consumed %d, want %d", len(got), n)
	}
	for i, r := range got {
		if string(r.Value) != fmt.Sprintf("%05d", i) || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d value %s", i, r.Offset, r.Value)
		}
	}
}

// Topic configs on the data path: LogAppendTime, max.message.bytes; and
// every compression codec stored as sent and readable by clients.
func TestClusterProduceConfigsAndCompression(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "appendtime", 1, 3, map[string]*string{
		"message.timestamp.type": kmsg.StringPtr("LogAppendTime"),
		"max.message.bytes":      kmsg.StringPtr("2000"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerBatchMaxBytes(1<<20))
	before := time.Now()
	old := time.Now().Add(-time.Hour)
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "appendtime", Value: []byte("small"), Timestamp: old}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	err := prod.ProduceSync(ctx, &kgo.Record{Topic: "appendtime", Value: make([]byte, 5000)}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("5,000-byte record with max.message.bytes=2000: %v, want MESSAGE_TOO_LARGE", err)
	}
	got := consumeAll(t, c.KafkaAddrs()[1], "appendtime", 1, time.Minute)
	r := got[0]
	if r.Attrs.TimestampType() != 1 || r.Timestamp.Before(before.Add(-time.Second)) {
		t.Fatalf("timestamp %v type %d, want the broker's append time (type 1)", r.Timestamp, r.Attrs.TimestampType())
	}

	for _, codec := range []struct {
		name string
		c    kgo.CompressionCodec
	}{{"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}} {
		topic := "codec-" + codec.name
		createTopic(t, c, topic, 2, 3, nil)
		p := nodeClient(t, c.KafkaAddrs()[2], kgo.RequestRetries(20), kgo.ProducerBatchCompression(codec.c))
		var recs []*kgo.Record
		for i := range 200 {
			recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("%s-%03d-%s", codec.name, i, strings.Repeat("z", 100)))})
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("%s: %v", codec.name, err)
		}
		got := consumeAll(t, c.KafkaAddrs()[0], topic, 200, time.Minute)
		seen := map[string]bool{}
		for _, r := range got {
			seen[string(r.Value)] = true
		}
		for _, r := range recs {
			if !seen[string(r.Value)] {
				t.Fatalf("%s: record %.12s... not consumed", codec.name, r.Value)
			}
		}
	}
}

// One Produce request becomes at most one proposal per data group it
// touches: on one node every partition of an RF-1 topic is in one group.
func TestClusterProduceOneProposalPerGroup(t *testing.T) {
	c := clustertest.New(t, 1, clustertest.Options{})
	createTopic(t, c, "fanout", 5, 1, nil)
	md := metadataFrom(t, c.KafkaAddrs()[0], "fanout")
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = "fanout", md.Topics[0].TopicID
	for p := range int32(5) {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, rawBatch(t, "a", "b")
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	before := counterValue(c.Metrics(0), `node="1"`, "skiff_datagroup_proposals_total{")
	resp := requestTo(t, c.KafkaAddrs()[0], req).(*kmsg.ProduceResponse)
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 || p.BaseOffset != 0 {
			t.Fatalf("partition %d: code %d base offset %d", p.Partition, p.ErrorCode, p.BaseOffset)
		}
	}
	if got := counterValue(c.Metrics(0), `node="1"`, "skiff_datagroup_proposals_total{") - before; got != 1 {
		t.Fatalf("a 5-partition Produce took %v data-group proposals, want 1", got)
	}
}
