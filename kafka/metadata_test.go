package kafka

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

func metadataTopicByName(t *testing.T, resp *kmsg.MetadataResponse, name string) kmsg.MetadataResponseTopic {
	t.Helper()
	for _, mt := range resp.Topics {
		if mt.Topic != nil && *mt.Topic == name {
			return mt
		}
	}
	t.Fatalf("topic %q not in response", name)
	return kmsg.MetadataResponseTopic{}
}

func TestKafkaMetadata(t *testing.T) {
	ts := newTestServer(t, nil)
	a := ts.fake.put("a", false, 1, 2, -1) // led by us, by fenced broker 2, by nobody
	ts.fake.put("__internal", true, 1)
	cl, _ := ts.clients(t)

	req := kmsg.NewPtrMetadataRequest() // null topics: all
	kresp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp
	if len(resp.Brokers) != 1 {
		t.Fatalf("brokers %+v, want only alive broker 1", resp.Brokers)
	}
	b := resp.Brokers[0]
	if b.NodeID != testNode || b.Host != "127.0.0.1" || b.Rack == nil || *b.Rack != "rack-a" {
		t.Errorf("broker %+v", b)
	}
	if resp.ClusterID == nil || *resp.ClusterID != "skiff-test" || resp.ControllerID != testNode {
		t.Errorf("cluster %v controller %d", resp.ClusterID, resp.ControllerID)
	}
	if len(resp.Topics) != 2 {
		t.Fatalf("%d topics, want 2", len(resp.Topics))
	}
	if in := metadataTopicByName(t, resp, "__internal"); !in.IsInternal {
		t.Error("__internal not flagged internal")
	}
	ma := metadataTopicByName(t, resp, "a")
	if ma.ErrorCode != 0 || ma.TopicID != a.ID || ma.IsInternal || len(ma.Partitions) != 3 {
		t.Fatalf("topic a: %+v", ma)
	}
	want := []struct {
		code          int16
		leader, epoch int32
	}{
		{0, 1, 1},                              // epoch = the data group's term
		{kerr.LeaderNotAvailable.Code, -1, -1}, // leader 2 is fenced: not a guess, -1 and -1
		{kerr.LeaderNotAvailable.Code, -1, -1},
	}
	for i, p := range ma.Partitions {
		w := want[i]
		if p.Partition != int32(i) || p.ErrorCode != w.code || p.Leader != w.leader || p.LeaderEpoch != w.epoch {
			t.Errorf("partition %d: %+v, want %+v", i, p, w)
		}
		if !slices.Equal(p.Replicas, []int32{1, 2}) || !slices.Equal(p.OfflineReplicas, []int32{2}) {
			t.Errorf("partition %d replicas %v offline %v", i, p.Replicas, p.OfflineReplicas)
		}
	}
	if !slices.Equal(ma.Partitions[0].ISR, []int32{1}) {
		t.Errorf("ISR %v", ma.Partitions[0].ISR)
	}

	// Named, by ID, duplicates, a missing name and a missing ID, in request
	// order, without auto-creation.
	missingID := [16]byte{9}
	req = kmsg.NewPtrMetadataRequest()
	for _, rt := range []kmsg.MetadataRequestTopic{
		{Topic: kmsg.StringPtr("a")}, {TopicID: a.ID}, {Topic: kmsg.StringPtr("nope")},
		{TopicID: missingID}, {Topic: kmsg.StringPtr("a")},
	} {
		req.Topics = append(req.Topics, rt)
	}
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 4 {
		t.Fatalf("%d topics, want 4 (duplicates once)", len(resp.Topics))
	}
	if resp.Topics[0].TopicID != a.ID || resp.Topics[1].TopicID != a.ID || *resp.Topics[1].Topic != "a" {
		t.Errorf("by name / by ID: %+v / %+v", resp.Topics[0], resp.Topics[1])
	}
	if resp.Topics[2].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("missing name: %s", kerr.ErrorForCode(resp.Topics[2].ErrorCode))
	}
	if resp.Topics[3].ErrorCode != kerr.UnknownTopicID.Code || resp.Topics[3].TopicID != missingID {
		t.Errorf("missing ID: %+v", resp.Topics[3])
	}
	if ts.fake.get("nope") != nil || ts.fake.callCount("AutoCreate") != 0 {
		t.Error("auto-created although the request did not allow it")
	}

	// The Java client's describeTopics by ID: the ID and an empty (not
	// null) name. The ID wins, as in Kafka.
	req = kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr(""), TopicID: a.ID}, {Topic: kmsg.StringPtr(""), TopicID: missingID}}
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 2 {
		t.Fatalf("by ID with an empty name: %d topics, want 2", len(resp.Topics))
	}
	if r := resp.Topics[0]; r.ErrorCode != 0 || r.TopicID != a.ID || r.Topic == nil || *r.Topic != "a" || len(r.Partitions) != 3 {
		t.Errorf("by ID with an empty name: %+v", r)
	}
	if r := resp.Topics[1]; r.ErrorCode != kerr.UnknownTopicID.Code || r.TopicID != missingID {
		t.Errorf("missing ID with an empty name: %+v", r)
	}
}

func TestKafkaMetadataOldVersions(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AutoCreate = false })
	ts.fake.put("a", false, 1)
	rc := dialRaw(t, ts.addr)

	// v0: an empty list means all topics.
	r0 := rc.roundTrip(&kmsg.MetadataRequest{Version: 0}).(*kmsg.MetadataResponse)
	if len(r0.Topics) != 1 || *r0.Topics[0].Topic != "a" || len(r0.Brokers) != 1 {
		t.Fatalf("v0 all: %+v", r0)
	}
	// v1+: an empty list means none.
	r1 := rc.roundTrip(&kmsg.MetadataRequest{Version: 1, Topics: []kmsg.MetadataRequestTopic{}}).(*kmsg.MetadataResponse)
	if len(r1.Topics) != 0 || r1.ControllerID != testNode {
		t.Fatalf("v1 none: %+v", r1)
	}
	// v3 implies auto-creation, but the broker config forbids it.
	r3 := rc.roundTrip(&kmsg.MetadataRequest{Version: 3, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("b")}}}).(*kmsg.MetadataResponse)
	if len(r3.Topics) != 1 || r3.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v3 missing: %+v", r3.Topics)
	}
}

func TestKafkaMetadataAutoCreate(t *testing.T) {
	ts := newTestServer(t, nil)
	cl, _ := ts.clients(t)

	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	for _, n := range []string{"fresh", "bad/name"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	created := ts.fake.get("fresh")
	if created == nil {
		t.Fatal("topic not auto-created")
	}
	fresh := metadataTopicByName(t, resp, "fresh")
	if fresh.ErrorCode != 0 || fresh.TopicID != created.ID || len(fresh.Partitions) != 1 || fresh.Partitions[0].Leader != testNode {
		t.Errorf("auto-created topic: %+v", fresh)
	}
	if bad := metadataTopicByName(t, resp, "bad/name"); bad.ErrorCode != kerr.InvalidTopicException.Code {
		t.Errorf("invalid name: %s", kerr.ErrorForCode(bad.ErrorCode))
	}

	// The service refusing (auto.create.topics.enable=false on its side).
	ts.fake.with(func() { ts.fake.disabled = true })
	req.Topics = req.Topics[:1]
	req.Topics[0].Topic = kmsg.StringPtr("other")
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if o := metadataTopicByName(t, resp, "other"); o.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("disabled auto-create: %s", kerr.ErrorForCode(o.ErrorCode))
	}

	// Not ready: a retriable code, never a made-up topic.
	ts.fake.with(func() { ts.fake.disabled, ts.fake.wholeErrs = false, []error{topics.ErrNotReady} })
	resp, err = req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if o := metadataTopicByName(t, resp, "other"); o.ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Errorf("auto-create not ready: %s", kerr.ErrorForCode(o.ErrorCode))
	}
}
