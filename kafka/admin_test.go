package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

// Every per-topic sentinel reaches the client as its Kafka code, with the
// service's message.
func TestKafkaCreateTopicsErrors(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adm := ts.clients(t)
	cases := []struct {
		sentinel error
		want     *kerr.Error
	}{
		{topics.ErrTopicExists, kerr.TopicAlreadyExists},
		{topics.ErrInvalidPartitions, kerr.InvalidPartitions},
		{topics.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
		{topics.ErrInvalidTopic, kerr.InvalidTopicException},
		{topics.ErrDuplicateTopic, kerr.InvalidRequest},
		{topics.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
		{topics.ErrInvalidConfig, kerr.InvalidConfig},
		{topics.ErrPolicyViolation, kerr.PolicyViolation},
		{topics.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
		{topics.ErrAutoCreateDisabled, kerr.UnknownTopicOrPartition},
		{topics.ErrInvalidRequest, kerr.InvalidRequest},
		{errors.New("disk on fire"), kerr.UnknownServerError},
	}
	var names []string
	for i, c := range cases {
		name := fmt.Sprintf("t%02d", i)
		names = append(names, name)
		err := fmt.Errorf("message %d: %w", i, c.sentinel)
		ts.fake.with(func() { ts.fake.inject[name] = err })
	}
	names = append(names, "ok")
	resps, err := adm.CreateTopics(testCtx(t), 3, 1, nil, names...)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r := resps[names[i]]
		if !errors.Is(r.Err, c.want) {
			t.Errorf("%v: got %v, want %s", c.sentinel, r.Err, c.want.Message)
		}
		if !strings.HasPrefix(r.ErrMessage, fmt.Sprintf("message %d: ", i)) {
			t.Errorf("%v: message %q", c.sentinel, r.ErrMessage)
		}
	}
	ok := resps["ok"]
	created := ts.fake.get("ok")
	if ok.Err != nil || created == nil || topics.TopicID(ok.ID) != created.ID || ok.NumPartitions != 3 || ok.ReplicationFactor != 1 {
		t.Fatalf("ok: %+v", ok)
	}
	if c, found := ok.Configs["retention.ms"]; !found || c.Value == nil || *c.Value != "604800000" {
		t.Errorf("configs %+v", ok.Configs)
	}
	if c := ok.Configs["sasl.secret"]; !c.Sensitive || c.Value != nil {
		t.Errorf("sensitive config leaked: %+v", c)
	}
}

// Whole-request failures: NOT_CONTROLLER (nothing written) is retried by
// franz-go; REQUEST_TIMED_OUT (outcome unknown) reaches every topic.
func TestKafkaCreateTopicsWholeRequestErrors(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adm := ts.clients(t)

	ts.fake.with(func() { ts.fake.wholeErrs = []error{fmt.Errorf("create: %w", topics.ErrNotReady)} })
	resps, err := adm.CreateTopics(testCtx(t), 1, 1, nil, "x", "y")
	if err != nil {
		t.Fatal(err)
	}
	if err := resps.Error(); err != nil {
		t.Fatalf("not ready was not retried: %v", err)
	}
	if n := ts.fake.callCount("Create"); n != 2 {
		t.Errorf("Create called %d times, want 2 (one retry)", n)
	}

	for _, whole := range []error{topics.ErrTimeout, topics.ErrClosed} {
		ts.fake.with(func() { ts.fake.wholeErrs = []error{fmt.Errorf("create: %w", whole)} })
		rc := dialRaw(t, ts.addr)
		resp := rc.roundTrip(&kmsg.CreateTopicsRequest{Version: 7, TimeoutMillis: 5000, Topics: []kmsg.CreateTopicsRequestTopic{
			{Topic: "p", NumPartitions: 1, ReplicationFactor: 1}, {Topic: "q", NumPartitions: 1, ReplicationFactor: 1},
		}}).(*kmsg.CreateTopicsResponse)
		want := map[error]*kerr.Error{topics.ErrTimeout: kerr.RequestTimedOut, topics.ErrClosed: kerr.NotController}[whole]
		for _, rt := range resp.Topics {
			if rt.ErrorCode != want.Code || rt.ErrorMessage == nil {
				t.Errorf("%v: topic %s code %s", whole, rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
			}
		}
	}
}

func TestKafkaCreateTopicsValidateOnly(t *testing.T) {
	ts := newTestServer(t, nil)
	_, adm := ts.clients(t)
	resps, err := adm.ValidateCreateTopics(testCtx(t), 4, 1, map[string]*string{"retention.ms": kmsg.StringPtr("1000")}, "v")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["v"]; r.Err != nil || r.NumPartitions != 4 {
		t.Fatalf("validate: %+v", r)
	}
	var validateOnly bool
	ts.fake.with(func() { validateOnly = ts.fake.lastCreate.ValidateOnly })
	if !validateOnly || ts.fake.get("v") != nil {
		t.Fatal("validate_only did not pass through")
	}
}

// A manual assignment reaches the service as sent: entries in request
// order with their partition indexes, NumPartitions and ReplicationFactor
// untouched. topics checks and orders it (its tests cover gaps, duplicate
// partitions and -1 next to an assignment); the Kafka layer has no rules of
// its own here, so every topic of the request reaches the one Create call.
func TestKafkaCreateTopicsManualAssignment(t *testing.T) {
	ts := newTestServer(t, nil)
	rc := dialRaw(t, ts.addr)
	assign := func(parts ...int32) []kmsg.CreateTopicsRequestTopicReplicaAssignment {
		var out []kmsg.CreateTopicsRequestTopicReplicaAssignment
		for _, p := range parts {
			out = append(out, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: []int32{1, p + 10}})
		}
		return out
	}
	reqTopics := []kmsg.CreateTopicsRequestTopic{
		{Topic: "ordered", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(2, 0, 1)},
		{Topic: "gap", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(0, 2)},
		{Topic: "dup", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(0, 0)},
		{Topic: "both", NumPartitions: 2, ReplicationFactor: -1, ReplicaAssignment: assign(0, 1)},
		{Topic: "auto", NumPartitions: 3, ReplicationFactor: 1},
	}
	ts.fake.with(func() {
		ts.fake.inject["gap"] = fmt.Errorf("%w: gap", topics.ErrInvalidReplicaAssignment)
		ts.fake.inject["both"] = fmt.Errorf("%w: both", topics.ErrInvalidRequest)
	})
	resp := rc.roundTrip(&kmsg.CreateTopicsRequest{Version: 7, TimeoutMillis: 5000, Topics: reqTopics}).(*kmsg.CreateTopicsResponse)
	want := []int16{0, kerr.InvalidReplicaAssignment.Code, 0, kerr.InvalidRequest.Code, 0}
	for i, rt := range resp.Topics {
		if rt.ErrorCode != want[i] {
			t.Errorf("%s: %s", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
	var specs []topics.CreateSpec
	ts.fake.with(func() { specs = ts.fake.lastSpecs })
	if len(specs) != len(reqTopics) {
		t.Fatalf("service got %d specs, want %d", len(specs), len(reqTopics))
	}
	for i, rt := range reqTopics {
		sp := specs[i]
		if sp.Name != rt.Topic || sp.NumPartitions != rt.NumPartitions || sp.ReplicationFactor != rt.ReplicationFactor {
			t.Errorf("%s: spec %+v", rt.Topic, sp)
		}
		if len(sp.Assignment) != len(rt.ReplicaAssignment) || len(sp.PartitionIndexes) != len(rt.ReplicaAssignment) {
			t.Errorf("%s: %d assignments, %d indexes, want %d", rt.Topic, len(sp.Assignment), len(sp.PartitionIndexes), len(rt.ReplicaAssignment))
			continue
		}
		if len(rt.ReplicaAssignment) == 0 && (sp.Assignment != nil || sp.PartitionIndexes != nil) {
			t.Errorf("%s: automatic placement got an assignment %v", rt.Topic, sp.Assignment)
		}
		for j, a := range rt.ReplicaAssignment {
			if sp.PartitionIndexes[j] != a.Partition || !slices.Equal(sp.Assignment[j], a.Replicas) {
				t.Errorf("%s entry %d: partition %d replicas %v, want %d %v", rt.Topic, j, sp.PartitionIndexes[j], sp.Assignment[j], a.Partition, a.Replicas)
			}
		}
	}
	if n := ts.fake.callCount("Create"); n != 1 {
		t.Errorf("Create called %d times, want 1 for the whole request", n)
	}
}

func TestKafkaDeleteTopics(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.fake.put("byname", false, 1)
	byID := ts.fake.put("byid", false, 1)
	_, adm := ts.clients(t)

	resps, err := adm.DeleteTopics(testCtx(t), "byname", "ghost")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["byname"]; r.Err != nil || ts.fake.get("byname") != nil {
		t.Errorf("delete by name: %+v", r)
	}
	if r := resps["ghost"]; !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("delete unknown name: %v", r.Err)
	}

	rc := dialRaw(t, ts.addr)
	resp := rc.roundTrip(&kmsg.DeleteTopicsRequest{Version: 6, TimeoutMillis: 5000, Topics: []kmsg.DeleteTopicsRequestTopic{
		{TopicID: byID.ID}, {TopicID: [16]byte{7}}, {}, {Topic: kmsg.StringPtr("x"), TopicID: [16]byte{7}},
	}}).(*kmsg.DeleteTopicsResponse)
	if len(resp.Topics) != 4 {
		t.Fatalf("%d results", len(resp.Topics))
	}
	if r := resp.Topics[0]; r.ErrorCode != 0 || r.TopicID != byID.ID || r.Topic == nil || *r.Topic != "byid" || ts.fake.get("byid") != nil {
		t.Errorf("delete by ID: %+v", r)
	}
	for i, want := range []*kerr.Error{kerr.UnknownTopicID, kerr.UnknownTopicID, kerr.InvalidRequest} {
		if r := resp.Topics[i+1]; r.ErrorCode != want.Code || r.ErrorMessage == nil {
			t.Errorf("entry %d: %s, want %s", i+1, kerr.ErrorForCode(r.ErrorCode), want.Message)
		}
	}

	// v0-5 use the TopicNames list.
	ts.fake.put("old", false, 1)
	r0 := rc.roundTrip(&kmsg.DeleteTopicsRequest{Version: 1, TimeoutMillis: 5000, TopicNames: []string{"old"}}).(*kmsg.DeleteTopicsResponse)
	if len(r0.Topics) != 1 || r0.Topics[0].ErrorCode != 0 || ts.fake.get("old") != nil {
		t.Errorf("delete v1: %+v", r0.Topics)
	}
}

func TestKafkaCreatePartitions(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.fake.put("grow", false, 1)
	_, adm := ts.clients(t)
	resps, err := adm.UpdatePartitions(testCtx(t), 3, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["grow"]; r.Err != nil || len(ts.fake.get("grow").Partitions) != 3 {
		t.Fatalf("grow: %+v", r)
	}
	resps, err = adm.ValidateUpdatePartitions(testCtx(t), 2, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["grow"]; !errors.Is(r.Err, kerr.InvalidPartitions) || r.ErrMessage == "" {
		t.Errorf("shrink: %+v", r)
	}
}
