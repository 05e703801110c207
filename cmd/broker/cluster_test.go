package broker_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// TestCreateTopicsGoesThroughRaft is the regression test for the bug this
// project exists to never have: topics created through the CreateTopics API
// that exist on one node only. A 50-topic request is sent to the metadata
// leader and to a follower; right after each answer, every node's Metadata
// (a client seeded with that node alone) lists every topic fully, and the
// whole request was exactly one metadata proposal.
func TestClusterCreateTopicsGoesThroughRaft(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	leader := c.Leader()
	if leader < 0 {
		t.Fatal("no metadata leader")
	}
	follower := (leader + 1) % 3
	for _, tc := range []struct {
		name   string
		target int
	}{{"leader", leader}, {"follower", follower}} {
		t.Run(tc.name, func(t *testing.T) {
			names := topicNames("via-"+tc.name, 50)
			before := proposals(c, "create_topics")
			resp := requestTo(t, c.KafkaAddrs()[tc.target], createTopicsReq(names, 3, 3)).(*kmsg.CreateTopicsResponse)
			if len(resp.Topics) != 50 {
				t.Fatalf("%d topics in response", len(resp.Topics))
			}
			for _, rt := range resp.Topics {
				if rt.ErrorCode != 0 {
					t.Fatalf("topic %s: %v", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
				}
			}
			if got := proposals(c, "create_topics") - before; got != 1 {
				t.Fatalf("a 50-topic x 3-partition CreateTopics took %v metadata proposals, want 1", got)
			}
			ids := checkTopicEverywhere(t, c, names, 3, 3)
			for _, rt := range resp.Topics {
				if ids[rt.Topic] != rt.TopicID {
					t.Fatalf("topic %s: CreateTopics returned ID %x, Metadata %x", rt.Topic, rt.TopicID, ids[rt.Topic])
				}
			}
		})
	}
}

// Creating the same topic concurrently on two nodes: exactly one succeeds.
func TestClusterConcurrentCreateSameTopic(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	addrs := c.KafkaAddrs()
	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		codes := make([]int16, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() { // no t.Fatal here: errors are reported below
				defer wg.Done()
				resp, err := requestErr(addrs[i], createTopicsReq([]string{name}, 2, 3))
				switch {
				case err != nil:
					errs[i] = err
				case len(resp.(*kmsg.CreateTopicsResponse).Topics) != 1:
					errs[i] = fmt.Errorf("node %d answered %d topics", i+1, len(resp.(*kmsg.CreateTopicsResponse).Topics))
				default:
					codes[i] = resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		ok, exists := 0, 0
		for _, code := range codes {
			switch code {
			case 0:
				ok++
			case kerr.TopicAlreadyExists.Code:
				exists++
			}
		}
		if ok != 1 || exists != 1 {
			t.Fatalf("round %d: codes %v, want one success and one TOPIC_ALREADY_EXISTS", round, codes)
		}
		checkTopicEverywhere(t, c, []string{name}, 2, 3)
	}
}

// Auto-creation from a Metadata request goes through the same service and
// the same single proposal.
func TestClusterAutoCreateThroughMetadata(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	before := proposals(c, "create_topics")
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	for _, n := range []string{"auto-a", "auto-b"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, rt)
	}
	resp := requestTo(t, c.KafkaAddrs()[2], req).(*kmsg.MetadataResponse)
	for _, mt := range resp.Topics {
		if mt.ErrorCode != 0 || len(mt.Partitions) != 1 {
			t.Fatalf("auto-created %s: code %d, %d partitions", *mt.Topic, mt.ErrorCode, len(mt.Partitions))
		}
	}
	if got := proposals(c, "create_topics") - before; got != 1 {
		t.Fatalf("auto-creating two topics took %v proposals, want 1", got)
	}
	// default.replication.factor = min(3, live brokers) = 3; num.partitions = 1
	checkTopicEverywhere(t, c, []string{"auto-a", "auto-b"}, 1, 3)

	// A Metadata request that does not allow auto-creation gets
	// UNKNOWN_TOPIC_OR_PARTITION and creates nothing.
	req.AllowAutoTopicCreation = false
	req.Topics[0].Topic = kmsg.StringPtr("not-auto")
	req.Topics = req.Topics[:1]
	resp = requestTo(t, c.KafkaAddrs()[0], req).(*kmsg.MetadataResponse)
	if resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("code %d, want UNKNOWN_TOPIC_OR_PARTITION", resp.Topics[0].ErrorCode)
	}
}

// CreatePartitions and DeleteTopics (by name and by ID) from followers, each
// one proposal, visible on every node.
func TestClusterPartitionsAndDeletes(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	addrs := c.KafkaAddrs()
	follower := (c.Leader() + 1) % 3
	names := topicNames("pd", 4)
	requestTo(t, addrs[follower], createTopicsReq(names, 2, 3))
	ids := checkTopicEverywhere(t, c, names, 2, 3)

	before := proposals(c, "create_partitions")
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.TimeoutMillis = 30000
	for _, n := range names[:2] {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic = n
		rt.Count = 5
		cp.Topics = append(cp.Topics, rt)
	}
	cpr := requestTo(t, addrs[follower], cp).(*kmsg.CreatePartitionsResponse)
	for _, rt := range cpr.Topics {
		if rt.ErrorCode != 0 {
			t.Fatalf("CreatePartitions %s: %v", rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
	if got := proposals(c, "create_partitions") - before; got != 1 {
		t.Fatalf("CreatePartitions took %v proposals, want 1", got)
	}
	checkTopicEverywhere(t, c, names[:2], 5, 3)

	// Shrinking is INVALID_PARTITIONS.
	cp.Topics = cp.Topics[:1]
	cp.Topics[0].Count = 3
	cpr = requestTo(t, addrs[0], cp).(*kmsg.CreatePartitionsResponse)
	if cpr.Topics[0].ErrorCode != kerr.InvalidPartitions.Code {
		t.Fatalf("shrink: code %d, want INVALID_PARTITIONS", cpr.Topics[0].ErrorCode)
	}

	before = proposals(c, "delete_topics")
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version = 6
	del.TimeoutMillis = 30000
	byName := kmsg.NewDeleteTopicsRequestTopic()
	byName.Topic = kmsg.StringPtr(names[0])
	byID := kmsg.NewDeleteTopicsRequestTopic()
	byID.TopicID = ids[names[1]]
	missing := kmsg.NewDeleteTopicsRequestTopic()
	missing.Topic = kmsg.StringPtr("no-such-topic")
	del.Topics = []kmsg.DeleteTopicsRequestTopic{byName, byID, missing}
	dr := requestTo(t, addrs[follower], del).(*kmsg.DeleteTopicsResponse)
	if len(dr.Topics) != 3 || dr.Topics[0].ErrorCode != 0 || dr.Topics[1].ErrorCode != 0 ||
		dr.Topics[2].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("DeleteTopics response: %+v", dr.Topics)
	}
	if got := proposals(c, "delete_topics") - before; got != 1 {
		t.Fatalf("DeleteTopics took %v proposals, want 1", got)
	}
	for i, addr := range addrs {
		md := metadataFrom(t, addr, names[0], names[1])
		for _, mt := range md.Topics {
			if mt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
				t.Fatalf("node %d still lists deleted topic %s (code %d)", i+1, *mt.Topic, mt.ErrorCode)
			}
		}
	}
	checkTopicEverywhere(t, c, names[2:], 2, 3)
}

// Per-topic errors from a real cluster, as the Java broker returns them.
func TestClusterCreateTopicsErrors(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	addr := c.KafkaAddrs()[1]
	requestTo(t, addr, createTopicsReq([]string{"exists"}, 1, 1))
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	type topic struct {
		name string
		np   int32
		rf   int16
	}
	cases := []struct {
		topic topic
		want  *kerr.Error
	}{
		{topic{"exists", 1, 1}, kerr.TopicAlreadyExists},
		{topic{"zero-parts", 0, 1}, kerr.InvalidPartitions},
		{topic{"neg-parts", -2, 1}, kerr.InvalidPartitions},
		{topic{"zero-rf", 1, 0}, kerr.InvalidReplicationFactor},
		{topic{"big-rf", 1, 4}, kerr.InvalidReplicationFactor},
		{topic{"", 1, 1}, kerr.InvalidTopicException},
		{topic{"..", 1, 1}, kerr.InvalidTopicException},
		{topic{"bad/name", 1, 1}, kerr.InvalidTopicException},
		{topic{string(long), 1, 1}, kerr.InvalidTopicException},
		{topic{"fine", -1, -1}, nil},
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	for _, tc := range cases {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = tc.topic.name, tc.topic.np, tc.topic.rf
		req.Topics = append(req.Topics, rt)
	}
	// the same topic twice in one request: INVALID_REQUEST for both
	for range 2 {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "twice", 1, 1
		req.Topics = append(req.Topics, rt)
	}
	resp := requestTo(t, addr, req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != len(cases)+2 {
		t.Fatalf("%d results for %d topics", len(resp.Topics), len(cases)+2)
	}
	for i, tc := range cases {
		got := resp.Topics[i]
		wantCode := int16(0)
		if tc.want != nil {
			wantCode = tc.want.Code
		}
		if got.ErrorCode != wantCode {
			t.Errorf("topic %.20q: code %v, want %v", tc.topic.name, kerr.ErrorForCode(got.ErrorCode), tc.want)
		}
	}
	for _, got := range resp.Topics[len(cases):] {
		if got.ErrorCode != kerr.InvalidRequest.Code {
			t.Errorf("duplicate topic in request: code %v, want INVALID_REQUEST", kerr.ErrorForCode(got.ErrorCode))
		}
	}
	checkTopicEverywhere(t, c, []string{"fine"}, 1, 3)

	// Manual assignments: topics/ alone checks and orders them; the codes
	// and Kafka's messages reach the client.
	assign := func(parts ...int32) []kmsg.CreateTopicsRequestTopicReplicaAssignment {
		var out []kmsg.CreateTopicsRequestTopicReplicaAssignment
		for _, p := range parts {
			out = append(out, kmsg.CreateTopicsRequestTopicReplicaAssignment{Partition: p, Replicas: []int32{1 + p%3, 1 + (p+1)%3}})
		}
		return out
	}
	manual := []struct {
		rt   kmsg.CreateTopicsRequestTopic
		want *kerr.Error
		msg  string
	}{
		{kmsg.CreateTopicsRequestTopic{Topic: "m-ordered", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(2, 0, 1)}, nil, ""},
		{kmsg.CreateTopicsRequestTopic{Topic: "m-gap", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(0, 2)},
			kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence, found partition 2 of 2."},
		{kmsg.CreateTopicsRequestTopic{Topic: "m-dup", NumPartitions: -1, ReplicationFactor: -1, ReplicaAssignment: assign(0, 0)},
			kerr.InvalidReplicaAssignment, "Found multiple manual partition assignments for partition 0."},
		{kmsg.CreateTopicsRequestTopic{Topic: "m-both", NumPartitions: 2, ReplicationFactor: -1, ReplicaAssignment: assign(0, 1)},
			kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."},
		{kmsg.CreateTopicsRequestTopic{Topic: "m-broker", NumPartitions: -1, ReplicationFactor: -1,
			ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{9}}}},
			kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker 9, but no such broker is registered."},
	}
	mreq := kmsg.NewPtrCreateTopicsRequest()
	mreq.TimeoutMillis = 30000
	for _, m := range manual {
		mreq.Topics = append(mreq.Topics, m.rt)
	}
	mresp := requestTo(t, addr, mreq).(*kmsg.CreateTopicsResponse)
	for i, m := range manual {
		got := mresp.Topics[i]
		if m.want == nil {
			if got.ErrorCode != 0 {
				t.Errorf("%s: %v", m.rt.Topic, kerr.ErrorForCode(got.ErrorCode))
			}
			continue
		}
		if got.ErrorCode != m.want.Code || got.ErrorMessage == nil || *got.ErrorMessage != m.msg {
			t.Errorf("%s: code %v message %v, want %s %q", m.rt.Topic, kerr.ErrorForCode(got.ErrorCode), got.ErrorMessage, m.want.Message, m.msg)
		}
	}
	md := metadataFrom(t, c.KafkaAddrs()[2], "m-ordered")
	for _, p := range md.Topics[0].Partitions {
		if want := []int32{1 + p.Partition%3, 1 + (p.Partition+1)%3}; !slices.Equal(p.Replicas, want) {
			t.Errorf("m-ordered partition %d: replicas %v, want %v", p.Partition, p.Replicas, want)
		}
	}
	if n := len(md.Topics[0].Partitions); n != 3 {
		t.Errorf("m-ordered has %d partitions, want 3", n)
	}

	// validate_only runs everything and writes nothing.
	vreq := createTopicsReq([]string{"validated"}, 3, 3)
	vreq.ValidateOnly = true
	vresp := requestTo(t, addr, vreq).(*kmsg.CreateTopicsResponse)
	if vresp.Topics[0].ErrorCode != 0 || vresp.Topics[0].NumPartitions != 3 {
		t.Fatalf("validate_only: %+v", vresp.Topics[0])
	}
	md = metadataFrom(t, c.KafkaAddrs()[0], "validated")
	if md.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("validate_only created the topic")
	}
}

// A mixed workload from every node, a node restart in the middle: every
// node ends with the same metadata digest.
func TestClusterDigestsConvergeAfterMixedWorkloadAndRestart(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	addrs := c.KafkaAddrs()
	work := func(round int, nodes []int) {
		var wg sync.WaitGroup
		for _, i := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prefix := fmt.Sprintf("mix-r%d-n%d", round, i)
				names := topicNames(prefix, 5)
				// Each request goes to node i itself, retried while the
				// answer is retriable (a new metadata leader is elected
				// after a stop).
				retryOn(t, addrs[i], createTopicsReq(names, 2, 2)) // RF 2: one node is down in round 1
				cp := kmsg.NewPtrCreatePartitionsRequest()
				cp.TimeoutMillis = 30000
				ct := kmsg.NewCreatePartitionsRequestTopic()
				ct.Topic, ct.Count = names[0], 3
				cp.Topics = append(cp.Topics, ct)
				retryOn(t, addrs[i], cp)
				del := kmsg.NewPtrDeleteTopicsRequest()
				del.TimeoutMillis = 30000
				del.TopicNames = []string{names[1]}
				dt := kmsg.NewDeleteTopicsRequestTopic()
				dt.Topic = kmsg.StringPtr(names[1])
				del.Topics = append(del.Topics, dt)
				retryOn(t, addrs[i], del)
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	step := func(what string) { t.Logf("%s done at %s", what, time.Since(start).Round(time.Millisecond)) }
	work(0, []int{0, 1, 2})
	step("round 0")
	c.Stop(2)
	step("stop node 3")
	work(1, []int{0, 1})
	step("round 1")
	c.Restart(2)
	step("restart node 3")
	work(2, []int{0, 1, 2})
	step("round 2")
	err := clustertest.WaitFor(30*time.Second, func() error {
		var first string
		for i := range 3 {
			d, err := c.Digest(i)
			if err != nil {
				return err
			}
			if d.Topics != (3+2+3)*4 {
				return fmt.Errorf("node %d has %d topics", i+1, d.Topics)
			}
			if i == 0 {
				first = d.Digest
			} else if d.Digest != first {
				return fmt.Errorf("node %d digest %s differs from node 1's %s", i+1, d.Digest, first)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A stopped broker stops being listed within about 10 s (with the default
// 1 s heartbeats and 6 s session timeout) and comes back when restarted.
func TestClusterBrokerLiveness(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{HeartbeatInterval: time.Second, SessionTimeout: 6 * time.Second})
	victim := (c.Leader() + 1) % 3
	other := (victim + 1) % 3
	listed := func(id int32) (bool, error) {
		md := metadataFrom(t, c.KafkaAddrs()[other])
		for _, b := range md.Brokers {
			if b.NodeID == id {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, _ := listed(int32(victim + 1)); !ok {
		t.Fatal("victim not listed before the stop")
	}
	stopped := time.Now()
	c.Stop(victim)
	err := clustertest.WaitFor(12*time.Second, func() error {
		if ok, _ := listed(int32(victim + 1)); ok {
			return errors.New("stopped broker still listed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped broker unlisted after %s", time.Since(stopped).Round(100*time.Millisecond))
	c.Restart(victim)
	err = clustertest.WaitFor(15*time.Second, func() error {
		if ok, _ := listed(int32(victim + 1)); !ok {
			return errors.New("restarted broker not listed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every node stops; with the same flags every node comes back with its data.
func TestClusterFullRestartKeepsTopics(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	names := topicNames("durable", 10)
	requestTo(t, c.KafkaAddrs()[0], createTopicsReq(names, 4, 3))
	ids := checkTopicEverywhere(t, c, names, 4, 3)
	for i := range 3 {
		c.Stop(i)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.RestartErr(i) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("restart: %v", err)
	}
	c.WaitAlive(3, 30*time.Second)
	after := checkTopicEverywhere(t, c, names, 4, 3)
	for n, id := range ids {
		if after[n] != id {
			t.Fatalf("topic %s changed ID across the restart", n)
		}
	}
}
