package kafka

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sessionFetcher sends raw Fetch requests of one session.
type sessionFetcher struct {
	t  *testing.T
	rc *rawConn
}

func (f sessionFetcher) fetch(version int16, id, epoch int32, forget []kmsg.FetchRequestForgottenTopic, rts ...kmsg.FetchRequestTopic) *kmsg.FetchResponse {
	f.t.Helper()
	return f.rc.roundTrip(&kmsg.FetchRequest{Version: version, ReplicaID: -1, MaxWaitMillis: 20, MinBytes: 1,
		MaxBytes: 1 << 20, SessionID: id, SessionEpoch: epoch, Topics: rts, ForgottenTopics: forget}).(*kmsg.FetchResponse)
}

// sessionTopic asks for parts of a topic, each at the offset from offsets
// (default 0).
func sessionTopic(name string, id [16]byte, offsets map[int32]int64, parts ...int32) kmsg.FetchRequestTopic {
	rt := kmsg.FetchRequestTopic{Topic: name, TopicID: id}
	for _, p := range parts {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes, fp.FetchOffset = p, 1<<20, offsets[p]
		rt.Partitions = append(rt.Partitions, fp)
	}
	return rt
}

// answered lists the partitions of a response as topic/partition strings.
func answered(resp *kmsg.FetchResponse) []string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s%x/%d", t.Topic, t.TopicID[:1], p.Partition))
		}
	}
	return out
}

// KIP-227 on the wire: epoch 0 opens a session, later epochs send only
// changes and get only partitions with news; wrong IDs and epochs get
// Kafka's session errors; forgotten partitions are no longer fetched;
// epoch -1 closes the session.
func TestKafkaFetchSessions(t *testing.T) {
	ts, fr := newDataTestServer(t)
	tp := ts.fake.put("s", false, testNode, testNode, testNode)
	rc := dialRaw(t, ts.addr)
	rc.roundTrip(produceReq(12, -1, "s", [16]byte{}, 0, testBatch(0, "a")))
	f := sessionFetcher{t, rc}

	full := f.fetch(12, 0, 0, nil, sessionTopic("s", [16]byte{}, map[int32]int64{0: 1}, 0, 1, 2))
	id := full.SessionID
	if full.ErrorCode != 0 || id == 0 || len(answered(full)) != 3 {
		t.Fatalf("epoch 0: session %d, %v (code %d)", id, answered(full), full.ErrorCode)
	}
	// Nothing changed: an empty answer, the service still asked for all 3.
	inc := f.fetch(12, id, 1, nil)
	if inc.ErrorCode != 0 || inc.SessionID != id || len(inc.Topics) != 0 {
		t.Errorf("epoch 1 without news: %+v", inc)
	}
	fr.with(func() {
		last := fr.fetches[len(fr.fetches)-1]
		if len(last.Topics) != 1 || len(last.Topics[0].Partitions) != 3 || last.Topics[0].Partitions[0].FetchOffset != 1 {
			t.Errorf("epoch 1 fetched %+v, want the session's 3 partitions", last.Topics)
		}
	})
	// New records on partition 1: only it comes back.
	rc.roundTrip(produceReq(12, -1, "s", [16]byte{}, 1, testBatch(0, "b")))
	inc = f.fetch(12, id, 2, nil)
	if got := answered(inc); len(got) != 1 || got[0] != "s00/1" || len(inc.Topics[0].Partitions[0].RecordBatches) == 0 ||
		inc.Topics[0].Partitions[0].HighWatermark != 1 {
		t.Errorf("epoch 2: %v %+v", got, inc.Topics)
	}
	// The client moves partition 1's offset; the same epoch again is refused.
	p1 := sessionTopic("s", [16]byte{}, nil, 1)
	p1.Partitions[0].FetchOffset = 1
	if inc = f.fetch(12, id, 2, nil, p1); inc.ErrorCode != kerr.InvalidFetchSessionEpoch.Code || len(inc.Topics) != 0 {
		t.Errorf("epoch 2 again: %+v", inc)
	}
	if inc = f.fetch(12, id, 3, nil, p1); inc.ErrorCode != 0 || len(inc.Topics) != 0 {
		t.Errorf("epoch 3 (partition 1 at its end): %v", answered(inc))
	}
	// Forget partition 2: new records there are not fetched.
	inc = f.fetch(12, id, 4, []kmsg.FetchRequestForgottenTopic{{Topic: "s", Partitions: []int32{2}}})
	rc.roundTrip(produceReq(12, -1, "s", [16]byte{}, 2, testBatch(0, "c")))
	if inc = f.fetch(12, id, 5, nil); inc.ErrorCode != 0 || len(inc.Topics) != 0 {
		t.Errorf("forgotten partition answered: %v", answered(inc))
	}
	fr.with(func() {
		last := fr.fetches[len(fr.fetches)-1]
		if len(last.Topics[0].Partitions) != 2 {
			t.Errorf("after forgetting, fetched %+v", last.Topics)
		}
	})
	// A session by name cannot go on by ID; an unknown session; a close.
	if inc = f.fetch(13, id, 6, nil); inc.ErrorCode != kerr.FetchSessionTopicIDError.Code {
		t.Errorf("v13 in a v12 session: code %d", inc.ErrorCode)
	}
	if inc = f.fetch(12, id+1, 6, nil); inc.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Errorf("unknown session: code %d", inc.ErrorCode)
	}
	if inc = f.fetch(12, id, -1, nil, sessionTopic("s", [16]byte{}, nil, 0)); inc.ErrorCode != 0 || inc.SessionID != 0 || len(answered(inc)) != 1 {
		t.Errorf("epoch -1: %+v", inc)
	}
	if inc = f.fetch(12, id, 6, nil); inc.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Errorf("closed session: code %d", inc.ErrorCode)
	}

	// v13: a session by topic ID answers with IDs.
	full = f.fetch(13, 0, 0, nil, sessionTopic("", tp.ID, map[int32]int64{0: 1, 2: 1}, 0, 2))
	if full.SessionID == 0 || len(answered(full)) != 2 || full.Topics[0].TopicID != tp.ID {
		t.Fatalf("v13 epoch 0: %+v", full)
	}
	rc.roundTrip(produceReq(12, -1, "s", [16]byte{}, 2, testBatch(0, "d")))
	inc = f.fetch(13, full.SessionID, 1, nil)
	if got := answered(inc); len(got) != 1 || inc.Topics[0].TopicID != tp.ID || inc.Topics[0].Partitions[0].Partition != 2 {
		t.Errorf("v13 epoch 1: %v", got)
	}
}

// The cache holds max.incremental.fetch.session.cache.slots sessions: a
// new one takes the place of a smaller one, never of a larger or equal one
// that is in use (it then gets no session).
func TestKafkaFetchSessionCacheLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Records = newFakeRecords(c.Topics.(*fakeTopics))
		c.FetchSessionCacheSlots = 1
	})
	ts.fake.put("l", false, testNode, testNode, testNode)
	f := sessionFetcher{t, dialRaw(t, ts.addr)}
	a := f.fetch(12, 0, 0, nil, sessionTopic("l", [16]byte{}, nil, 0, 1))
	if a.SessionID == 0 {
		t.Fatal("no session with an empty cache")
	}
	if b := f.fetch(12, 0, 0, nil, sessionTopic("l", [16]byte{}, nil, 0, 1)); b.ErrorCode != 0 || b.SessionID != 0 || len(answered(b)) != 2 {
		t.Errorf("second session of the same size: %+v", b)
	}
	if r := f.fetch(12, a.SessionID, 1, nil); r.ErrorCode != 0 {
		t.Errorf("first session after a refused one: code %d", r.ErrorCode)
	}
	c := f.fetch(12, 0, 0, nil, sessionTopic("l", [16]byte{}, nil, 0, 1, 2))
	if c.SessionID == 0 || c.SessionID == a.SessionID {
		t.Errorf("larger session: id %d", c.SessionID)
	}
	if r := f.fetch(12, a.SessionID, 2, nil); r.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Errorf("evicted session: code %d", r.ErrorCode)
	}
	if n := ts.s.sessions.evictions(); n != 1 {
		t.Errorf("%d evictions, want 1", n)
	}

	// Sessions disabled: every fetch is full, SessionID 0.
	off := newTestServer(t, func(c *Config) {
		c.Records = newFakeRecords(c.Topics.(*fakeTopics))
		c.FetchSessionCacheSlots = NoFetchSessions
	})
	off.fake.put("l", false, testNode)
	if r := (sessionFetcher{t, dialRaw(t, off.addr)}).fetch(12, 0, 0, nil, sessionTopic("l", [16]byte{}, nil, 0)); r.SessionID != 0 || r.ErrorCode != 0 {
		t.Errorf("sessions disabled: %+v", r)
	}
}

// franz-go uses sessions by default: a consumer of many partitions sends
// incremental fetches that list only the partitions whose offset moved, and
// still receives every record, including those produced after it caught up.
func TestKafkaFetchSessionsFranzGo(t *testing.T) {
	const parts = 200
	ts, _ := newDataTestServer(t)
	leaders := make([]int32, parts)
	for i := range leaders {
		leaders[i] = testNode
	}
	ts.fake.put("many", false, leaders...)
	producer, _ := ts.clients(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(round int) {
		var recs []*kgo.Record
		for p := range int32(parts) {
			recs = append(recs, &kgo.Record{Topic: "many", Partition: p, Value: []byte(fmt.Sprintf("%d-%d", round, p))})
		}
		if err := producer.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0)

	consumer, _ := ts.clients(t, kgo.ConsumeTopics("many"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	var mu sync.Mutex
	seen := map[string]bool{}
	consume := func(want int) {
		t.Helper()
		ctx := testCtx(t)
		for {
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if n >= want {
				return
			}
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records", n, want)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Errorf("fetch %s/%d: %v", topic, p, err) })
			mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			mu.Unlock()
		}
	}
	consume(parts)
	m := ts.s.m
	waitMetric := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// Wait until the consumer is quiet: two incremental requests in a row
	// list no partition (every offset it holds is at the end).
	var listed0 uint64
	for quiet := false; !quiet; {
		inc, listed := m.fetchIncremental.Get(), m.fetchIncrementalReqParts.Get()
		waitMetric("incremental fetches", func() bool { return m.fetchIncremental.Get() >= inc+2 })
		listed0 = m.fetchIncrementalReqParts.Get()
		quiet = listed0 == listed
	}
	full0 := m.fetchFull.Get()
	// A few records on a few partitions: incremental fetches carry them.
	var recs []*kgo.Record
	for _, p := range []int32{3, 77, 150} {
		recs = append(recs, &kgo.Record{Topic: "many", Partition: p, Value: []byte(fmt.Sprintf("late-%d", p))})
	}
	if err := producer.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consume(parts + 3)
	// The next request lists only the 3 partitions whose offset moved
	// (requests without news list none), yet fetches all 200.
	waitMetric("the request after the late records", func() bool { return m.fetchIncrementalReqParts.Get() > listed0 })
	if listed := m.fetchIncrementalReqParts.Get() - listed0; listed != 3 {
		t.Errorf("requests after the late records listed %d partitions, want 3", listed)
	}
	produce(1)
	consume(2*parts + 3)

	full, inc := m.fetchFull.Get(), m.fetchIncremental.Get()
	t.Logf("fetches: %d full (%d partitions), %d incremental listing %d partitions and fetching %d",
		full, m.fetchFullParts.Get(), inc, m.fetchIncrementalReqParts.Get(), m.fetchIncrementalParts.Get())
	if full != full0 || full != 1 {
		t.Errorf("%d full fetches (%d after catching up): the session was reset", full, full0)
	}
	if n := ts.s.sessions.len(); n != 1 {
		t.Errorf("%d sessions cached, want 1", n)
	}
}
