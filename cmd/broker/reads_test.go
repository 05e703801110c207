package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// A Produce that arrives after DeleteTopics has answered writes nothing, on
// any node: not by the old topic ID (Produce v13, UNKNOWN_TOPIC_ID) and not
// by the old name (v12, UNKNOWN_TOPIC_OR_PARTITION). The produces go out
// right after the answer on connections opened before, first to the nodes
// that did not propose the delete (whose metadata replicas may not have
// applied it yet), and every partition's log keeps the one record it had.
func TestClusterProduceAfterDeleteWritesNothing(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	addrs := c.KafkaAddrs()
	const parts = 3
	createTopic(t, c, "doomed", parts, 3, nil)
	md := metadataFrom(t, addrs[0], "doomed")
	id := md.Topics[0].TopicID
	batch := rawBatch(t, "before")

	produceReq := func(name string, id [16]byte) *kmsg.ProduceRequest {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = name, id
		for p := range int32(parts) {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition, rp.Records = p, batch
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		return req
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One record in every partition, each through its leader.
	for _, mp := range md.Topics[0].Partitions {
		req := produceReq("doomed", id)
		req.Topics[0].Partitions = req.Topics[0].Partitions[mp.Partition : mp.Partition+1]
		resp := requestTo(t, addrs[mp.Leader-1], req).(*kmsg.ProduceResponse)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("produce to partition %d before the delete: %v", mp.Partition, kerr.ErrorForCode(code))
		}
	}

	// Connections to every node, opened (and version-negotiated) now.
	v12 := kversion.Stable()
	v12.SetMaxKeyVersion(kmsg.Produce.Int16(), 12)
	byID := make([]*kgo.Broker, len(addrs))
	byName := make([]*kgo.Broker, len(addrs))
	for i, addr := range addrs {
		byID[i] = nodeClient(t, addr).SeedBrokers()[0]
		byName[i] = nodeClient(t, addr, kgo.MaxVersions(v12)).SeedBrokers()[0]
		for _, b := range []*kgo.Broker{byID[i], byName[i]} {
			if _, err := b.Request(ctx, kmsg.NewPtrMetadataRequest()); err != nil {
				t.Fatal(err)
			}
		}
	}

	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 30000
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("doomed")
	del.Topics = append(del.Topics, dt)
	del.TopicNames = []string{"doomed"}
	dr := requestTo(t, addrs[0], del).(*kmsg.DeleteTopicsResponse)
	if code := dr.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(code))
	}
	for _, i := range []int{1, 2, 0} {
		check := func(b *kgo.Broker, req *kmsg.ProduceRequest, want error, how string) {
			resp, err := b.Request(ctx, req)
			if err != nil {
				t.Fatalf("node %d, produce %s: %v", i+1, how, err)
			}
			for _, rp := range resp.(*kmsg.ProduceResponse).Topics[0].Partitions {
				if got := kerr.ErrorForCode(rp.ErrorCode); got != want {
					t.Errorf("node %d, produce %s to partition %d of a deleted topic: %v, want %v", i+1, how, rp.Partition, got, want)
				}
			}
		}
		check(byID[i], produceReq("", id), kerr.UnknownTopicID, "by ID")
		check(byName[i], produceReq("doomed", [16]byte{}), kerr.UnknownTopicOrPartition, "by name")
	}

	// Every replica of every partition holds the one record from before
	// (or nothing, once a group leader has dropped the deleted logs).
	checked := 0
	for i := range c.Len() {
		n := c.Broker(i).Node()
		for _, shard := range n.LocalDataGroups() {
			sm, ok := n.DataGroupReplica(shard)
			if !ok {
				continue
			}
			checked++
			for p := range int32(parts + 1) {
				if _, hwm := sm.Offsets(datagroup.PartitionKey{Topic: id, Partition: p}); hwm > 1 || (p == parts && hwm != 0) {
					t.Errorf("node %d, group %d: partition %d of the deleted topic has end offset %d", i+1, shard, p, hwm)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no data-group replica checked")
	}
}
