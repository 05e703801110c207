package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

// produceReq is a Produce of one batch to partition p of t, by name before
// v13 and by ID after.
func produceReq(version, acks int16, name string, id [16]byte, p int32, batch []byte) *kmsg.ProduceRequest {
	rt := kmsg.ProduceRequestTopic{Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: p, Records: batch}}}
	if version >= 13 {
		rt.TopicID = id
	} else {
		rt.Topic = name
	}
	return &kmsg.ProduceRequest{Version: version, Acks: acks, TimeoutMillis: 5000, Topics: []kmsg.ProduceRequestTopic{rt}}
}

// A real idempotent kgo producer writes to the fake through Produce, and a
// real kgo consumer reads everything back through ListOffsets and Fetch.
func TestKafkaProduceConsume(t *testing.T) {
	ts, fr := newDataTestServer(t)
	tp := ts.fake.put("data", false, testNode, testNode, testNode)
	ctx := testCtx(t)

	prod, _ := ts.clients(t, kgo.DefaultProduceTopic("data"), kgo.RequiredAcks(kgo.AllISRAcks()))
	const n = 60
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%5), Value: fmt.Appendf(nil, "v%03d", i)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := map[int32][]string{}
	for _, r := range recs {
		want[r.Partition] = append(want[r.Partition], string(r.Value))
		if r.Offset != int64(len(want[r.Partition])-1) {
			t.Errorf("record %s: partition %d offset %d, want %d", r.Value, r.Partition, r.Offset, len(want[r.Partition])-1)
		}
	}
	if len(want) < 2 {
		t.Errorf("all records went to one partition: %v", want)
	}
	if fr.callCount("InitProducerID") == 0 {
		t.Error("the idempotent producer never asked for a producer ID")
	}
	for p, vals := range want { // kgo compresses: the values are checked by consuming
		offs, _ := fr.stored(t, "data", p)
		if len(offs) != len(vals) {
			t.Errorf("partition %d stored %d records, want %d", p, len(offs), len(vals))
		}
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d stored offsets %v", p, offs)
			}
		}
	}

	cons, _ := ts.clients(t, kgo.ConsumeTopics("data"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(300*time.Millisecond))
	got := map[int32][]string{}
	consume := func(total int) {
		t.Helper()
		for seen := 0; seen < total; {
			fs := cons.PollFetches(ctx)
			if errs := fs.Errors(); len(errs) > 0 {
				t.Fatalf("poll: %v", errs)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if r.Offset != int64(len(got[r.Partition])) {
					t.Errorf("consumed %s at partition %d offset %d, want offset %d", r.Value, r.Partition, r.Offset, len(got[r.Partition]))
				}
				got[r.Partition] = append(got[r.Partition], string(r.Value))
				seen++
			})
		}
	}
	consume(n)
	for p := range want {
		if !slices.Equal(got[p], want[p]) {
			t.Errorf("partition %d consumed %v, want %v", p, got[p], want[p])
		}
	}

	// A record produced while the consumer long-polls wakes its fetch.
	late := &kgo.Record{Value: []byte("late"), Partition: 0}
	done := make(chan error, 1)
	go func() { done <- prod.ProduceSync(ctx, late).FirstErr() }()
	consume(1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// kgo fetched by topic ID (v13+) with our MaxWait.
	var last kmsgFetchSeen
	fr.with(func() {
		req := fr.fetches[len(fr.fetches)-1]
		last = kmsgFetchSeen{name: req.Topics[0].Name, id: req.Topics[0].TopicID, wait: req.MaxWait}
	})
	if last.name != "" || last.id != tp.ID || last.wait != 300*time.Millisecond {
		t.Errorf("last fetch asked for %+v, want topic ID %x and MaxWait 300ms", last, tp.ID)
	}

	var out bytes.Buffer
	ts.metrics.WritePrometheus(&out)
	for _, want := range []string{
		`skiff_kafka_produce_bytes_total{node="1"} `,
		`skiff_kafka_fetch_bytes_total{node="1"} `,
		`skiff_kafka_requests_total{api="Produce",node="1"} `,
		`skiff_kafka_requests_total{api="Fetch",node="1"} `,
	} {
		i := strings.Index(out.String(), want)
		if i < 0 || strings.HasPrefix(out.String()[i+len(want):], "0\n") {
			t.Errorf("metric %s missing or zero", want)
		}
	}
}

type kmsgFetchSeen struct {
	name string
	id   [16]byte
	wait time.Duration
}

// acks=0 gets no response at all; the connection goes on serving, and
// closes after a failed acks=0 produce (as Kafka does).
func TestKafkaProduceAcksZero(t *testing.T) {
	ts, fr := newDataTestServer(t)
	tp := ts.fake.put("z", false, testNode)

	rc := dialRaw(t, ts.addr)
	rc.send(produceReq(13, 0, "", tp.ID, 0, testBatch(0, "a", "b")))
	// The next response on the wire is Metadata's: roundTrip checks the
	// correlation ID.
	if meta := rc.roundTrip(&kmsg.MetadataRequest{Version: 12}).(*kmsg.MetadataResponse); len(meta.Brokers) != 1 {
		t.Fatalf("metadata after acks=0: %+v", meta)
	}
	if _, vals := fr.stored(t, "z", 0); !slices.Equal(vals, []string{"a", "b"}) {
		t.Fatalf("acks=0 stored %v", vals)
	}
	resp := rc.roundTrip(produceReq(13, -1, "", tp.ID, 0, testBatch(0, "c"))).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].TopicID != tp.ID || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce v13 response: %+v", resp)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 2 || p.LogStartOffset != 0 || p.LogAppendTime != -1 {
		t.Fatalf("produce after acks=0: %+v", p)
	}

	// kgo knows acks=0 has no response, and keeps using the connection.
	cl, _ := ts.clients(t)
	ctx := testCtx(t)
	br := cl.Broker(int(testNode))
	req := produceReq(12, 0, "z", tp.ID, 0, testBatch(0, "d"))
	req.Topics[0].TopicID = tp.ID
	if _, err := br.Request(ctx, req); err != nil {
		t.Fatalf("kgo acks=0: %v", err)
	}
	req = produceReq(12, -1, "z", tp.ID, 0, testBatch(0, "e"))
	req.Topics[0].TopicID = tp.ID
	kresp, err := br.Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if p := kresp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 4 {
		t.Fatalf("kgo produce after acks=0: %+v", p)
	}
	if _, vals := fr.stored(t, "z", 0); !slices.Equal(vals, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("stored %v", vals)
	}

	// A failed acks=0 produce closes the connection so the client learns.
	bad := dialRaw(t, ts.addr)
	bad.send(produceReq(9, 0, "nope", [16]byte{}, 0, testBatch(0, "x")))
	bad.expectClosed()
}

// A node low on disk answers KAFKA_STORAGE_ERROR from Produce v4 on, and
// NOT_LEADER_OR_FOLLOWER to older clients, which predate the code (Kafka
// does the same); both are retriable.
func TestKafkaProduceLowDiskByVersion(t *testing.T) {
	ts, fr := newDataTestServer(t)
	ts.fake.put("full", false, testNode)
	fr.with(func() { fr.inject["full"] = fmt.Errorf("%w: 1 byte free", datapath.ErrLowDiskSpace) })
	rc := dialRaw(t, ts.addr)
	for _, c := range []struct {
		version int16
		want    *kerr.Error
	}{{3, kerr.NotLeaderForPartition}, {4, kerr.KafkaStorageError}, {12, kerr.KafkaStorageError}} {
		resp := rc.roundTrip(produceReq(c.version, -1, "full", [16]byte{}, 0, testBatch(0, "x"))).(*kmsg.ProduceResponse)
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != c.want.Code || !c.want.Retriable {
			t.Errorf("produce v%d: code %d, want %s", c.version, p.ErrorCode, c.want.Message)
		}
	}
}

// Every records sentinel reaches the client as its Kafka code with the
// service's message; Kafka-level refusals never call the service.
func TestKafkaProduceErrors(t *testing.T) {
	ts, fr := newDataTestServer(t)
	req := &kmsg.ProduceRequest{Version: 12, Acks: -1, TimeoutMillis: 5000}
	for i, c := range recordErrorCases {
		name := fmt.Sprintf("e%02d", i)
		ts.fake.put(name, false, testNode)
		err := fmt.Errorf("message %d: %w", i, c.err)
		fr.with(func() { fr.inject[name] = err })
		req.Topics = append(req.Topics, kmsg.ProduceRequestTopic{Topic: name,
			Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: testBatch(0, "x")}}})
	}
	ts.fake.put("ok", false, testNode)
	req.Topics = append(req.Topics, kmsg.ProduceRequestTopic{Topic: "ok", Partitions: []kmsg.ProduceRequestTopicPartition{
		{Partition: 7, Records: testBatch(0, "x")}, {Partition: 0, Records: testBatch(0, "y")}}})

	rc := dialRaw(t, ts.addr)
	resp := rc.roundTrip(req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != len(req.Topics) {
		t.Fatalf("%d topics answered, %d asked", len(resp.Topics), len(req.Topics))
	}
	for i, c := range recordErrorCases {
		rt := resp.Topics[i]
		if rt.Topic != req.Topics[i].Topic || len(rt.Partitions) != 1 {
			t.Fatalf("topic %d: %+v", i, rt)
		}
		p := rt.Partitions[0]
		if p.ErrorCode != c.want.Code || p.BaseOffset != -1 || p.ErrorMessage == nil ||
			!strings.HasPrefix(*p.ErrorMessage, fmt.Sprintf("message %d: ", i)) {
			t.Errorf("%v: got code %d offset %d message %v, want %s", c.err, p.ErrorCode, p.BaseOffset, p.ErrorMessage, c.want.Message)
		}
	}
	ok := resp.Topics[len(resp.Topics)-1]
	if ok.Partitions[0].Partition != 7 || ok.Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code ||
		ok.Partitions[1].Partition != 0 || ok.Partitions[1].ErrorCode != 0 || ok.Partitions[1].BaseOffset != 0 {
		t.Errorf("topic ok: %+v", ok.Partitions)
	}

	// Acks are the data path's rule (datapath.ValidateAcks, which the fake
	// applies too): the request reaches the service, whose error maps to
	// INVALID_REQUIRED_ACKS with its message. A transactional ID is refused
	// by the Kafka layer without calling the service.
	for _, c := range []struct {
		mod     func(*kmsg.ProduceRequest)
		want    *kerr.Error
		service bool
		msg     string
	}{
		{func(r *kmsg.ProduceRequest) { r.Acks = 2 }, kerr.InvalidRequiredAcks, true, "Invalid required acks 2: must be -1, 0 or 1."},
		{func(r *kmsg.ProduceRequest) { r.Acks = -2 }, kerr.InvalidRequiredAcks, true, "Invalid required acks -2: must be -1, 0 or 1."},
		{func(r *kmsg.ProduceRequest) { r.TransactionID = kmsg.StringPtr("tx") }, kerr.TransactionalIDAuthorizationFailed, false, "Transactions are not supported"},
	} {
		calls := fr.callCount("Produce")
		r := produceReq(12, -1, "ok", [16]byte{}, 0, testBatch(0, "z"))
		r.Topics = append(r.Topics, r.Topics[0])
		c.mod(r)
		resp := rc.roundTrip(r).(*kmsg.ProduceResponse)
		for _, rt := range resp.Topics {
			if len(rt.Partitions) != 1 || rt.Partitions[0].ErrorCode != c.want.Code ||
				rt.Partitions[0].ErrorMessage == nil || !strings.HasPrefix(*rt.Partitions[0].ErrorMessage, c.msg) {
				t.Errorf("want %s %q: %+v", c.want.Message, c.msg, rt.Partitions)
			}
		}
		if len(resp.Topics) != 2 {
			t.Errorf("want %s: %d topics", c.want.Message, len(resp.Topics))
		}
		if called := fr.callCount("Produce") != calls; called != c.service {
			t.Errorf("want %s: service called %v, want %v", c.want.Message, called, c.service)
		}
	}

	// InitProducerID: transactions are refused, idempotence works.
	ip := rc.roundTrip(&kmsg.InitProducerIDRequest{Version: 4, TransactionalID: kmsg.StringPtr("tx"), ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if ip.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code || ip.ProducerID != -1 || ip.ProducerEpoch != -1 {
		t.Errorf("transactional InitProducerID: %+v", ip)
	}
	ip = rc.roundTrip(&kmsg.InitProducerIDRequest{Version: 4, ProducerID: -1, ProducerEpoch: -1}).(*kmsg.InitProducerIDResponse)
	if ip.ErrorCode != 0 || ip.ProducerID < 0 || ip.ProducerEpoch != 0 {
		t.Errorf("idempotent InitProducerID: %+v", ip)
	}
	bumped := rc.roundTrip(&kmsg.InitProducerIDRequest{Version: 4, ProducerID: ip.ProducerID, ProducerEpoch: 0}).(*kmsg.InitProducerIDResponse)
	if bumped.ErrorCode != 0 || bumped.ProducerID != ip.ProducerID || bumped.ProducerEpoch != 1 {
		t.Errorf("epoch bump: %+v", bumped)
	}

	var out bytes.Buffer
	ts.metrics.WritePrometheus(&out)
	if !strings.Contains(out.String(), `skiff_kafka_error_codes_total{api="Produce",code="INVALID_REQUIRED_ACKS",node="1"} 5`) { // 1 injected + 2 requests x 2 partitions
		t.Error("INVALID_REQUIRED_ACKS not counted")
	}
}

// A service that answers fewer results than asked gives those partitions
// UNKNOWN_SERVER_ERROR instead of crashing the handler or dropping them.
func TestKafkaRecordServiceShortResults(t *testing.T) {
	ts, fr := newDataTestServer(t)
	ts.fake.put("s", false, testNode)
	fr.with(func() { fr.short = true })
	rc := dialRaw(t, ts.addr)
	code := kerr.UnknownServerError.Code

	pr := rc.roundTrip(produceReq(12, -1, "s", [16]byte{}, 0, testBatch(0, "x"))).(*kmsg.ProduceResponse)
	if p := pr.Topics[0].Partitions[0]; p.ErrorCode != code || p.Partition != 0 {
		t.Errorf("produce: %+v", p)
	}
	fe := rc.roundTrip(&kmsg.FetchRequest{Version: 12, ReplicaID: -1, MaxBytes: 1 << 20, SessionEpoch: -1,
		Topics: []kmsg.FetchRequestTopic{{Topic: "s", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}}).(*kmsg.FetchResponse)
	if p := fe.Topics[0].Partitions[0]; p.ErrorCode != code || p.HighWatermark != -1 || p.RecordBatches == nil {
		t.Errorf("fetch: %+v", p)
	}
	lo := rc.roundTrip(&kmsg.ListOffsetsRequest{Version: 7, ReplicaID: -1,
		Topics: []kmsg.ListOffsetsRequestTopic{{Topic: "s", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1}}}}}).(*kmsg.ListOffsetsResponse)
	if p := lo.Topics[0].Partitions[0]; p.ErrorCode != code || p.Offset != -1 {
		t.Errorf("list offsets: %+v", p)
	}
	dr := rc.roundTrip(&kmsg.DeleteRecordsRequest{Version: 2, TimeoutMillis: 1000,
		Topics: []kmsg.DeleteRecordsRequestTopic{{Topic: "s", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 0}}}}}).(*kmsg.DeleteRecordsResponse)
	if p := dr.Topics[0].Partitions[0]; p.ErrorCode != code || p.LowWatermark != -1 {
		t.Errorf("delete records: %+v", p)
	}
	oe := rc.roundTrip(&kmsg.OffsetForLeaderEpochRequest{Version: 4, ReplicaID: -1,
		Topics: []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: "s", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: -1}}}}}).(*kmsg.OffsetForLeaderEpochResponse)
	if p := oe.Topics[0].Partitions[0]; p.ErrorCode != code || p.EndOffset != -1 {
		t.Errorf("offset for leader epoch: %+v", p)
	}
}

// Fetch: no sessions, full responses with SessionID 0; the session epochs
// Kafka treats as full fetches are served, others get
// FETCH_SESSION_ID_NOT_FOUND; topic IDs; isolation levels; errors.
func TestKafkaFetch(t *testing.T) {
	ts, fr := newDataTestServer(t)
	tp := ts.fake.put("f", false, testNode, testNode)
	rc := dialRaw(t, ts.addr)
	rc.roundTrip(produceReq(12, -1, "f", [16]byte{}, 0, testBatch(0, "a", "b", "c")))
	rc.roundTrip(produceReq(12, -1, "f", [16]byte{}, 0, testBatch(0, "d")))

	fetch := func(version int16, sessionID, epoch int32, isolation int8, rts ...kmsg.FetchRequestTopic) *kmsg.FetchResponse {
		t.Helper()
		return rc.roundTrip(&kmsg.FetchRequest{Version: version, ReplicaID: -1, MaxWaitMillis: 50, MinBytes: 1,
			MaxBytes: 1 << 20, IsolationLevel: isolation, SessionID: sessionID, SessionEpoch: epoch, Topics: rts}).(*kmsg.FetchResponse)
	}
	part := func(p int32, off int64) kmsg.FetchRequestTopicPartition {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = p, off, 1<<20
		return fp
	}
	byName := kmsg.FetchRequestTopic{Topic: "f", Partitions: []kmsg.FetchRequestTopicPartition{part(0, 1), part(1, 0), part(0, 99)}}

	for _, epoch := range []int32{0, -1} {
		resp := fetch(12, 77, epoch, 0, byName)
		// Epoch 0 opens a session (fetch_sessions_test.go); -1 does not.
		if resp.ErrorCode != 0 || (resp.SessionID != 0) != (epoch == 0) || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 3 {
			t.Fatalf("epoch %d: %+v", epoch, resp)
		}
		ps := resp.Topics[0].Partitions
		p0, p1, oor := ps[0], ps[1], ps[2]
		if p0.ErrorCode != 0 || p0.HighWatermark != 4 || p0.LastStableOffset != 4 || p0.LogStartOffset != 0 ||
			p0.PreferredReadReplica != -1 || p0.AbortedTransactions != nil {
			t.Errorf("epoch %d: partition 0: %+v", epoch, p0)
		}
		var offs []int64
		for b := p0.RecordBatches; len(b) > 0; {
			var batch kmsg.RecordBatch
			if err := batch.ReadFrom(b); err != nil {
				t.Fatal(err)
			}
			offs = append(offs, batch.FirstOffset)
			b = b[12+batch.Length:]
		}
		if !slices.Equal(offs, []int64{0, 3}) { // offset 1 is inside the first batch
			t.Errorf("epoch %d: batches at %v", epoch, offs)
		}
		if p1.ErrorCode != 0 || p1.HighWatermark != 0 || p1.RecordBatches == nil || len(p1.RecordBatches) != 0 {
			t.Errorf("epoch %d: empty partition 1: %+v", epoch, p1)
		}
		if oor.ErrorCode != kerr.OffsetOutOfRange.Code || oor.HighWatermark != -1 || oor.LogStartOffset != -1 {
			t.Errorf("epoch %d: out of range: %+v", epoch, oor)
		}
	}

	calls := fr.callCount("Fetch")
	for _, s := range [][2]int32{{77, 1}, {0, 5}, {9, -2}} {
		resp := fetch(12, s[0], s[1], 0, byName)
		if resp.ErrorCode != kerr.FetchSessionIDNotFound.Code || len(resp.Topics) != 0 || resp.SessionID != 0 {
			t.Errorf("session %d epoch %d: %+v", s[0], s[1], resp)
		}
	}
	if fr.callCount("Fetch") != calls {
		t.Error("a session fetch reached the service")
	}

	// read_committed: an empty (not null) AbortedTransactions list.
	if p := fetch(12, 0, -1, 1, byName).Topics[0].Partitions[0]; p.AbortedTransactions == nil || len(p.AbortedTransactions) != 0 {
		t.Errorf("read_committed: aborted transactions %#v", p.AbortedTransactions)
	}

	// v13+: by topic ID, echoed back; an unknown ID is UNKNOWN_TOPIC_ID.
	resp := fetch(13, 0, -1, 0,
		kmsg.FetchRequestTopic{TopicID: tp.ID, Partitions: []kmsg.FetchRequestTopicPartition{part(0, 3)}},
		kmsg.FetchRequestTopic{TopicID: [16]byte{9, 9}, Partitions: []kmsg.FetchRequestTopicPartition{part(0, 0)}})
	if len(resp.Topics) != 2 || resp.Topics[0].TopicID != tp.ID || resp.Topics[1].TopicID != [16]byte{9, 9} {
		t.Fatalf("v13 topics: %+v", resp.Topics)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Errorf("v13 by ID: %+v", p)
	}
	if p := resp.Topics[1].Partitions[0]; p.ErrorCode != kerr.UnknownTopicID.Code {
		t.Errorf("v13 unknown ID: %+v", p)
	}

	// The oldest served version, without sessions.
	old := rc.roundTrip(&kmsg.FetchRequest{Version: 4, ReplicaID: -1, MaxBytes: 1 << 20,
		Topics: []kmsg.FetchRequestTopic{{Topic: "f", Partitions: []kmsg.FetchRequestTopicPartition{part(0, 0)}}}}).(*kmsg.FetchResponse)
	if p := old.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 4 || len(p.RecordBatches) == 0 {
		t.Errorf("v4: %+v", p)
	}
}

// A long-polling Fetch waits MaxWait for data, and a closing server
// cancels it.
func TestKafkaFetchWaits(t *testing.T) {
	ts, fr := newDataTestServer(t)
	ts.fake.put("w", false, testNode)
	rc := dialRaw(t, ts.addr)
	req := &kmsg.FetchRequest{Version: 12, ReplicaID: -1, MaxWaitMillis: 300, MinBytes: 1, MaxBytes: 1 << 20, SessionEpoch: -1,
		Topics: []kmsg.FetchRequestTopic{{Topic: "w", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}}}}
	start := time.Now()
	resp := rc.roundTrip(req).(*kmsg.FetchResponse)
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("empty fetch returned after %v, before MaxWait", took)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
		t.Errorf("empty fetch: %+v", p)
	}

	req.MaxWaitMillis = 60_000
	rc.send(req)
	// Close while the fetch waits in the record service, not before it
	// gets there.
	for deadline := time.Now().Add(10 * time.Second); fr.callCount("Fetch") < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second fetch never reached the record service")
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- ts.s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a fetch was waiting")
	}
	rc.expectClosed()
}

// ListOffsets through kadm (earliest, latest), DeleteRecords through kadm,
// and the special timestamps and v0 answers on the wire.
func TestKafkaListOffsetsDeleteRecords(t *testing.T) {
	ts, fr := newDataTestServer(t)
	ts.fake.put("l", false, testNode, testNode)
	rc := dialRaw(t, ts.addr)
	rc.roundTrip(produceReq(12, -1, "l", [16]byte{}, 0, testBatch(0, "a", "b", "c")))
	rc.roundTrip(produceReq(12, -1, "l", [16]byte{}, 0, testBatch(0, "d", "e")))
	_, adm := ts.clients(t)
	ctx := testCtx(t)

	check := func(what string, lo kadm.ListedOffsets, err error, want map[int32]int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for p, off := range want {
			o, ok := lo.Lookup("l", p)
			if !ok || o.Err != nil || o.Offset != off {
				t.Errorf("%s: partition %d: %+v, want offset %d", what, p, o, off)
			}
		}
	}
	starts, err := adm.ListStartOffsets(ctx, "l")
	check("start", starts, err, map[int32]int64{0: 0, 1: 0})
	ends, err := adm.ListEndOffsets(ctx, "l")
	check("end", ends, err, map[int32]int64{0: 5, 1: 0})

	var del kadm.Offsets
	del.Add(kadm.Offset{Topic: "l", Partition: 0, At: 3})
	del.Add(kadm.Offset{Topic: "l", Partition: 1, At: 9})
	dr, err := adm.DeleteRecords(ctx, del)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := dr.Lookup("l", 0); !ok || r.Err != nil || r.LowWatermark != 3 {
		t.Errorf("delete partition 0: %+v", r)
	}
	if r, ok := dr.Lookup("l", 1); !ok || !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Errorf("delete beyond the end: %+v", r)
	}
	starts, err = adm.ListStartOffsets(ctx, "l")
	check("start after delete", starts, err, map[int32]int64{0: 3, 1: 0})

	// Special timestamps: -4 is earliest, -5 and -6 are answered without
	// the service.
	lo := func(version int16, ps ...kmsg.ListOffsetsRequestTopicPartition) []kmsg.ListOffsetsResponseTopicPartition {
		t.Helper()
		resp := rc.roundTrip(&kmsg.ListOffsetsRequest{Version: version, ReplicaID: -1, TimeoutMillis: 5000,
			Topics: []kmsg.ListOffsetsRequestTopic{{Topic: "l", Partitions: ps}}}).(*kmsg.ListOffsetsResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != len(ps) {
			t.Fatalf("ListOffsets v%d: %+v", version, resp)
		}
		return resp.Topics[0].Partitions
	}
	calls := fr.callCount("ListOffsets")
	if ps := lo(11, kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -5, CurrentLeaderEpoch: -1},
		kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -6, CurrentLeaderEpoch: -1}); ps[0].Offset != -1 || ps[0].Timestamp != -1 ||
		ps[0].ErrorCode != 0 || ps[1].Offset != -1 {
		t.Errorf("-5/-6: %+v", ps)
	}
	if fr.callCount("ListOffsets") != calls {
		t.Error("-5/-6 alone reached the service")
	}
	ps := lo(9, kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -4, CurrentLeaderEpoch: -1},
		kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -5, CurrentLeaderEpoch: -1},
		kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -1, CurrentLeaderEpoch: -1},
		kmsg.ListOffsetsRequestTopicPartition{Partition: 5, Timestamp: -1, CurrentLeaderEpoch: -1})
	if ps[0].Offset != 3 || ps[1].Offset != -1 || ps[2].Offset != 5 || ps[2].LeaderEpoch != 0 ||
		ps[3].ErrorCode != kerr.UnknownTopicOrPartition.Code || ps[3].Offset != -1 || ps[3].Partition != 5 {
		t.Errorf("-4/-5/-1/unknown: %+v", ps)
	}
	// v1, the oldest served version: one offset per partition.
	ps = lo(1, kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -1},
		kmsg.ListOffsetsRequestTopicPartition{Partition: 0, Timestamp: -2})
	if ps[0].Offset != 5 || ps[1].Offset != 3 {
		t.Errorf("v1: %+v", ps)
	}
}

func TestKafkaOffsetForLeaderEpoch(t *testing.T) {
	ts, _ := newDataTestServer(t)
	ts.fake.put("o", false, testNode)
	rc := dialRaw(t, ts.addr)
	rc.roundTrip(produceReq(12, -1, "o", [16]byte{}, 0, testBatch(0, "a", "b")))
	for v := int16(2); v <= 4; v++ {
		resp := rc.roundTrip(&kmsg.OffsetForLeaderEpochRequest{Version: v, ReplicaID: -1, Topics: []kmsg.OffsetForLeaderEpochRequestTopic{
			{Topic: "o", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{
				{Partition: 0, CurrentLeaderEpoch: -1, LeaderEpoch: 0},
				{Partition: 3, CurrentLeaderEpoch: -1, LeaderEpoch: 0},
			}},
			{Topic: "missing", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: -1}}},
		}}).(*kmsg.OffsetForLeaderEpochResponse)
		if len(resp.Topics) != 2 || resp.Topics[0].Topic != "o" || resp.Topics[1].Topic != "missing" {
			t.Fatalf("v%d: %+v", v, resp)
		}
		ok, unknownPart, missing := resp.Topics[0].Partitions[0], resp.Topics[0].Partitions[1], resp.Topics[1].Partitions[0]
		wantEpoch := int32(0)
		if v == 0 {
			wantEpoch = -1 // not on the wire before v1
		}
		if ok.ErrorCode != 0 || ok.EndOffset != 2 || ok.LeaderEpoch != wantEpoch {
			t.Errorf("v%d: %+v", v, ok)
		}
		if unknownPart.Partition != 3 || unknownPart.ErrorCode != kerr.UnknownTopicOrPartition.Code || unknownPart.EndOffset != -1 {
			t.Errorf("v%d unknown partition: %+v", v, unknownPart)
		}
		if missing.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("v%d missing topic: %+v", v, missing)
		}
	}
	// CurrentLeaderEpoch (v2+) is the service's to check.
	resp := rc.roundTrip(&kmsg.OffsetForLeaderEpochRequest{Version: 4, ReplicaID: -1, Topics: []kmsg.OffsetForLeaderEpochRequestTopic{
		{Topic: "o", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{{Partition: 0, CurrentLeaderEpoch: 7, LeaderEpoch: 0}}},
	}}).(*kmsg.OffsetForLeaderEpochResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Errorf("future current epoch: %+v", p)
	}
}

// ApiVersions lists the data APIs exactly when the server has a
// RecordService; without one their requests close the connection.
func TestKafkaApiVersionsDataAPIs(t *testing.T) {
	for _, withRecords := range []bool{false, true} {
		var ts *testServer
		if withRecords {
			ts, _ = newDataTestServer(t)
		} else {
			ts = newTestServer(t, nil)
		}
		_, adm := ts.clients(t)
		vs, err := adm.ApiVersions(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		bv := vs[testNode]
		for k, v := range dataAPIs {
			minV, maxV, ok := bv.KeyVersions(k.Int16())
			wantMin := v[0]
			if k == kmsg.Produce {
				wantMin = 0 // advertised from v0, served from v3 (KAFKA-18659)
			}
			switch {
			case withRecords && (!ok || minV != wantMin || maxV != v[1]):
				t.Errorf("with records: %s advertised %v v%d-v%d, want v%d-v%d", k.Name(), ok, minV, maxV, wantMin, v[1])
			case !withRecords && ok:
				t.Errorf("without records: %s advertised", k.Name())
			}
		}
		if !withRecords {
			rc := dialRaw(t, ts.addr)
			rc.send(produceReq(9, -1, "t", [16]byte{}, 0, testBatch(0, "x")))
			rc.expectClosed()
		}
	}
}

// Only a Produce with acks=0 may go unanswered; conn.go closes the
// connection if any other handler returns no response.
func TestKafkaNoResponseOnlyForAcksZero(t *testing.T) {
	for _, c := range []struct {
		req  kmsg.Request
		want bool
	}{
		{&kmsg.ProduceRequest{Acks: 0}, true},
		{&kmsg.ProduceRequest{Acks: 1}, false},
		{&kmsg.ProduceRequest{Acks: -1}, false},
		{&kmsg.FetchRequest{}, false},
		{&kmsg.MetadataRequest{}, false},
	} {
		if got := noResponse(c.req); got != c.want {
			t.Errorf("%s %+v: noResponse %v, want %v", kmsg.NameForKey(c.req.Key()), c.req, got, c.want)
		}
	}
}
