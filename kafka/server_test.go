package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// The APIs that must not be registered until they are implemented.
var notYet = []kmsg.Key{kmsg.AddPartitionsToTxn, kmsg.EndTxn, kmsg.ShareGroupHeartbeat}

// The data APIs: registered, but served only with a RecordService.
var dataAPIs = map[kmsg.Key][2]int16{
	kmsg.Produce: {3, 13}, kmsg.Fetch: {4, 18}, kmsg.ListOffsets: {1, 11}, kmsg.DeleteRecords: {0, 2},
	kmsg.InitProducerID: {0, 5}, kmsg.OffsetForLeaderEpoch: {2, 4},
}

// The group APIs: served only with a GroupService.
var groupAPIs = map[kmsg.Key][2]int16{
	kmsg.FindCoordinator: {0, 6}, kmsg.JoinGroup: {0, 9}, kmsg.SyncGroup: {0, 5}, kmsg.Heartbeat: {0, 4},
	kmsg.LeaveGroup: {0, 5}, kmsg.OffsetCommit: {2, 10}, kmsg.OffsetFetch: {1, 10},
	kmsg.DescribeGroups: {0, 6}, kmsg.ListGroups: {0, 5}, kmsg.DeleteGroups: {0, 3}, kmsg.OffsetDelete: {0, 0},
}

// The KIP-848 APIs: served only with a GroupService whose ConsumerProtocol
// is true.
var consumerAPIs = map[kmsg.Key][2]int16{
	kmsg.ConsumerGroupHeartbeat: {0, 1}, kmsg.ConsumerGroupDescribe: {0, 1},
}

func TestKafkaRegistry(t *testing.T) {
	want := map[kmsg.Key][2]int16{
		kmsg.ApiVersions: {0, 4}, kmsg.Metadata: {0, 13}, kmsg.CreateTopics: {2, 7},
		kmsg.DeleteTopics: {1, 6}, kmsg.CreatePartitions: {0, 3}, kmsg.DescribeCluster: {0, 2},
		kmsg.DescribeConfigs: {1, 4}, kmsg.AlterConfigs: {0, 2}, kmsg.IncrementalAlterConfigs: {0, 1},
		kmsg.DescribeTopicPartitions: {0, 0},
	}
	if len(registry) != len(want)+len(dataAPIs)+len(groupAPIs)+len(consumerAPIs) {
		t.Errorf("registry has %d APIs, want %d", len(registry), len(want)+len(dataAPIs)+len(groupAPIs)+len(consumerAPIs))
	}
	for have, n := range map[feature]int{
		0:                         len(want),
		featRecords:               len(want) + len(dataAPIs),
		featGroups:                len(want) + len(groupAPIs),
		featRecords | featGroups:  len(want) + len(dataAPIs) + len(groupAPIs),
		featConsumer:              len(want),
		featGroups | featConsumer: len(want) + len(groupAPIs) + len(consumerAPIs),
		allFeatures:               len(registry),
	} {
		if got := len(registeredAPIs(have)); got != n {
			t.Errorf("%d APIs with features %b, want %d", got, have, n)
		}
	}
	check := func(apis map[kmsg.Key][2]int16, needs feature) {
		for k, v := range apis {
			for have := feature(0); have <= allFeatures; have++ {
				e := lookupAPI(k.Int16(), have)
				served := needs&^have == 0
				if served != (e != nil) {
					t.Errorf("%s with features %b: served %v, want %v", k.Name(), have, e != nil, served)
				}
				if e != nil && (e.minV != v[0] || e.maxV != v[1] || e.needs != needs) {
					t.Errorf("%s: registered %+v, want v%d-v%d needing %b", k.Name(), e, v[0], v[1], needs)
				}
			}
		}
	}
	check(want, 0)
	check(dataAPIs, featRecords)
	check(groupAPIs, featGroups)
	check(consumerAPIs, featGroups|featConsumer)
	for _, k := range notYet {
		if lookupAPI(k.Int16(), allFeatures) != nil {
			t.Errorf("%s registered before it is implemented", k.Name())
		}
	}
	for _, bad := range []func(){
		func() { register(kmsg.Metadata, 0, 1, (*Server).handleMetadata) },               // duplicate
		func() { registerData(kmsg.Produce, 0, 1, (*Server).handleMetadata) },            // duplicate
		func() { registerGroup(kmsg.JoinGroup, 0, 1, (*Server).handleMetadata) },         // duplicate
		func() { register(kmsg.AddPartitionsToTxn, 0, 99, (*Server).handleMetadata) },    // beyond kmsg
		func() { registerData(kmsg.AddPartitionsToTxn, 3, 2, (*Server).handleMetadata) }, // empty range
		func() { register(kmsg.Key(-7), 0, 0, (*Server).handleMetadata) },                // unknown key
		func() { register(kmsg.AddPartitionsToTxn, 0, 1, nil) },                          // nil handler
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("register did not panic")
				}
			}()
			bad()
		}()
	}
	if lookupAPI(kmsg.AddPartitionsToTxn.Int16(), allFeatures) != nil {
		t.Error("a panicking register left an entry behind")
	}
}

func TestKafkaApiVersions(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adm := ts.clients(t)
	vs, err := adm.ApiVersions(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	bv, ok := vs[testNode]
	if !ok || bv.Err != nil {
		t.Fatalf("ApiVersions from node %d: %+v", testNode, bv)
	}
	n := 0
	bv.EachKeySorted(func(key, minV, maxV int16) {
		n++
		e := lookupAPI(key, 0)
		if e == nil || e.minV != minV || e.maxV != maxV {
			t.Errorf("advertised %s v%d-v%d, registered %+v", kmsg.NameForKey(key), minV, maxV, e)
		}
	})
	served := len(registeredAPIs(0))
	if n != served {
		t.Errorf("advertised %d APIs, serving %d", n, served)
	}

	// A version above ours: v0 answer with UNSUPPORTED_VERSION and the list.
	rc := dialRaw(t, ts.addr)
	frame := encodeRequest(7, nil, &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"})
	binary.BigEndian.PutUint16(frame[6:], 99) // version field
	frame = append(frame, 0xde, 0xad)         // and a body we cannot know
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	rc.write(frame)
	resp := &kmsg.ApiVersionsResponse{Version: 0}
	rc.recv(7, resp)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != served {
		t.Fatalf("ApiVersions v99: code %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
	// The connection stays usable.
	resp3 := rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse)
	if resp3.ErrorCode != 0 || len(resp3.ApiKeys) != served {
		t.Fatalf("ApiVersions v3 after v99: %+v", resp3)
	}
}

// Every served API answers every registered version with a response
// encoded at that version, with and without a RecordService. The wire does
// not carry the response version, so the test decodes the body at the
// version it asked for and requires that re-encoding it at that version
// gives back exactly the bytes the server sent: a response encoded at
// another version (fields added, removed, or flexible encoding switched)
// either fails to decode, leaves bytes over, or re-encodes differently.
func TestKafkaAllVersionsAnswer(t *testing.T) {
	for _, withRecords := range []bool{false, true} {
		var ts *testServer
		if withRecords {
			ts, _ = newDataTestServer(t)
		} else {
			ts = newTestServer(t, nil)
		}
		ts.fake.put("a", false, 1)
		rc := dialRaw(t, ts.addr)
		have := feature(0)
		if withRecords {
			have = featRecords
		}
		for _, k := range registeredAPIs(have) {
			for v := lookupAPI(k.ApiKey, have).minV; v <= k.MaxVersion; v++ { // served, not advertised (Produce)
				req := kmsg.RequestForKey(k.ApiKey)
				if d, ok := req.(interface{ Default() }); ok {
					d.Default()
				}
				if p, ok := req.(*kmsg.ProduceRequest); ok {
					p.Acks = -1 // acks=0 has no response
				}
				req.SetVersion(v)
				name := fmt.Sprintf("%s v%d", kmsg.NameForKey(k.ApiKey), v)
				resp := kmsg.ResponseForKey(k.ApiKey)
				resp.SetVersion(v) // what the test asked for, not copied from anything the server did
				body := rc.recvBody(rc.send(req), resp)
				if err := resp.ReadFrom(body); err != nil {
					t.Errorf("%s: the answer does not decode at v%d: %v", name, v, err)
					continue
				}
				if again := resp.AppendTo(nil); !bytes.Equal(again, body) {
					t.Errorf("%s: the answer is not a v%d encoding (%d bytes, v%d re-encodes to %d)", name, v, len(body), v, len(again))
				}
			}
		}
	}
}

// Responses on one connection come back in request order, even when
// requests are pipelined.
func TestKafkaPipelinedOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	rc := dialRaw(t, ts.addr)
	var buf bytes.Buffer
	for i := int32(1); i <= 20; i++ {
		var req kmsg.Request = &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"}
		if i%2 == 0 {
			req = &kmsg.MetadataRequest{Version: 12}
		}
		buf.Write(encodeRequest(i, nil, req))
	}
	rc.write(buf.Bytes())
	for i := int32(1); i <= 20; i++ {
		var resp kmsg.Response = &kmsg.ApiVersionsResponse{Version: 3}
		if i%2 == 0 {
			resp = &kmsg.MetadataResponse{Version: 12}
		}
		rc.recv(i, resp)
	}
}

// Protocol violations close that connection only; the server keeps
// serving others.
func TestKafkaBadFramesCloseConnection(t *testing.T) {
	var small int32 = 1 << 10
	ts := newTestServer(t, func(c *Config) { c.MaxRequestBytes = small })
	meta := encodeRequest(1, nil, &kmsg.MetadataRequest{Version: 12})
	sized := func(n int32, body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(n)), body...)
	}
	unknownKey := bytes.Clone(meta)
	binary.BigEndian.PutUint16(unknownKey[4:], 9999)
	produce := bytes.Clone(meta)
	binary.BigEndian.PutUint16(produce[4:], uint16(kmsg.Produce))
	badVersion := bytes.Clone(meta)
	binary.BigEndian.PutUint16(badVersion[6:], 99)
	truncBody := encodeRequest(1, nil, &kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "abc"}}})
	truncBody = truncBody[:len(truncBody)-6]
	binary.BigEndian.PutUint32(truncBody, uint32(len(truncBody)-4))

	cases := map[string][]byte{
		"oversize":            sized(small+1, nil),
		"huge":                sized(0x7fffffff, nil),
		"negative size":       sized(-1, nil),
		"empty frame":         sized(0, nil),
		"short header":        sized(5, []byte{0, 3, 0, 12, 0}),
		"unknown key":         unknownKey,
		"unregistered key":    produce,
		"unsupported version": badVersion,
		"truncated body":      truncBody,
		"garbage":             sized(12, []byte{0, 19, 0, 7, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			rc := dialRaw(t, ts.addr)
			rc.write(frame)
			rc.expectClosed()
			// Another connection still works.
			ok := dialRaw(t, ts.addr)
			if resp := ok.roundTrip(&kmsg.MetadataRequest{Version: 12}).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
				t.Fatalf("metadata after %s: %d brokers", name, len(resp.Brokers))
			}
		})
	}
	// A frame cut off by the peer closing is not an error worth more than
	// a debug line, and does not disturb the server either.
	rc := dialRaw(t, ts.addr)
	rc.write(meta[:len(meta)-3])
	_ = rc.nc.Close()

	var out bytes.Buffer
	ts.metrics.WritePrometheus(&out)
	for _, reason := range []string{"frame_size", "unknown_api", "unsupported_version", "truncated", "decode"} {
		if !strings.Contains(out.String(), `skiff_kafka_protocol_errors_total{reason="`+reason+`",node="1"}`) {
			t.Errorf("no protocol error counter for %s", reason)
		}
	}
}

// Close cancels handlers that wait on the topic service and returns.
func TestKafkaCloseCancelsHandlers(t *testing.T) {
	ts := newTestServer(t, nil)
	blocked := make(chan struct{})
	ts.fake.with(func() { ts.fake.block, ts.fake.blocked = true, blocked })

	rc := dialRaw(t, ts.addr)
	rc.send(&kmsg.CreateTopicsRequest{Version: 7, TimeoutMillis: 60_000,
		Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "slow", NumPartitions: 1, ReplicationFactor: 1}}})
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("CreateTopics never reached the topic service")
	}
	closed := make(chan error, 1)
	go func() { closed <- ts.s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a handler was blocked")
	}
	rc.expectClosed()
}

func TestKafkaMetrics(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adm := ts.clients(t)
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, "m"); err == nil {
		t.Fatal("second create succeeded")
	}
	var out bytes.Buffer
	ts.metrics.WritePrometheus(&out)
	for _, want := range []string{
		`skiff_kafka_requests_total{api="CreateTopics",node="1"} 2`,
		`skiff_kafka_error_codes_total{api="CreateTopics",code="TOPIC_ALREADY_EXISTS",node="1"} 1`,
		`skiff_kafka_request_duration_seconds_bucket{api="CreateTopics",node="1",vmrange=`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Versions Kafka 4 removed (KIP-896) are neither advertised nor served: a
// request at one closes the connection, and a client that cannot speak a
// served version fails at once instead of talking past the broker.
func TestKafkaOldVersionsRefused(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Records = newFakeRecords(c.Topics.(*fakeTopics))
		c.Groups = newFakeGroups()
	})
	refused := 0
	for _, e := range registry {
		if e.minV == 0 {
			continue
		}
		refused++
		rc := dialRaw(t, ts.addr)
		req := kmsg.RequestForKey(e.key)
		req.SetVersion(e.minV - 1)
		rc.send(req)
		rc.expectClosed()
	}
	if refused < 9 {
		t.Errorf("%d APIs have a floor above v0, want at least 9 (KIP-896)", refused)
	}

	// A client pinned to Kafka 0.10.2 cannot fetch (Fetch v0-3 only): kgo
	// sees the advertised floor and fails the request without sending it.
	cl, _ := ts.clients(t, kgo.MaxVersions(kversion.V0_10_2()))
	_, err := cl.Request(testCtx(t), kmsg.NewPtrFetchRequest())
	if err == nil || !strings.Contains(err.Error(), "too old") {
		t.Errorf("fetch from a 0.10.2 client: %v, want broker-too-old", err)
	}
	// Produce v0-2 are advertised (Kafka 4 does, for librdkafka's
	// compression check) but not served.
	rc := dialRaw(t, ts.addr)
	av := rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse)
	for _, k := range av.ApiKeys {
		if k.ApiKey == kmsg.Produce.Int16() && (k.MinVersion != 0 || k.MaxVersion != 13) {
			t.Errorf("Produce advertised v%d-v%d, want v0-v13", k.MinVersion, k.MaxVersion)
		}
		if k.ApiKey == kmsg.Fetch.Int16() && k.MinVersion != 4 {
			t.Errorf("Fetch advertised from v%d, want v4", k.MinVersion)
		}
	}
	rc.send(produceReq(2, -1, "t", [16]byte{}, 0, testBatch(0, "x")))
	rc.expectClosed()
}
