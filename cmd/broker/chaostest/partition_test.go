package chaostest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Network partitions: a node (the metadata leader first) is cut off from
// the others by the Raft proxies while a producer writes. The isolated node
// never acknowledges a write it cannot commit and never answers a read
// from stale state; the majority elects a new leader and goes on; after
// healing, all nodes converge. The long version isolates random nodes
// several times.
func TestChaosPartitionIsolatedNode(t *testing.T) {
	rounds := pick("PARTITIONS", 2, 9)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("rounds %d, seed %d", rounds, seed)

	c := Start(t, skiffBin, Options{})
	const topic, partitions = "part-data", 6
	createTopic(t, c, 0, topic, partitions, 3, nil)
	allowed := []string{topic}
	prod, err := NewProducer(c.KafkaAddrs(), partitionsOf(topic, partitions))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	prod.Start(10 * time.Millisecond)
	stopped := false
	defer func() {
		if !stopped {
			prod.Stop(time.Minute)
		}
	}()
	progress := func(what string, n int64) {
		t.Helper()
		if err := prod.WaitProgress(n, time.Minute); err != nil {
			t.Fatalf("%s: producer stalled: %v (errors: %s)", what, err, prod.Errors())
		}
	}
	progress("start", 300)

	var refusedWrites, failedReads int
	for r := range rounds {
		victim, err := c.MetadataLeader(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		leaders, err := c.PartitionLeaders(ctx, victim, topic)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		role := "metadata leader"
		switch r % 3 {
		case 1:
			p := int32(rng.IntN(partitions))
			if l := leaders[p]; l > 0 {
				victim, role = int(l)-1, fmt.Sprintf("leader of partition %d", p)
			}
		case 2:
			victim, role = rng.IntN(c.Len()), "random node"
		}
		var led []int32 // partitions the victim led before the cut
		for p, l := range leaders {
			if l == c.Nodes[victim].ID {
				led = append(led, p)
			}
		}
		slices.Sort(led)
		t.Logf("round %d: isolating node %d (%s), leader of partitions %v", r+1, victim+1, role, led)
		c.Net.Isolate(victim)
		cut := time.Now()
		var majority []int
		for i := range c.Len() {
			if i != victim {
				majority = append(majority, i)
			}
		}

		// The majority elects a metadata leader among itself and goes on.
		newLeader := -1
		err = WaitFor(30*time.Second, func() error {
			for _, i := range majority {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				id, err := c.ControllerOf(ctx, i)
				cancel()
				if err == nil && id == c.Nodes[i].ID {
					newLeader = i
					return nil
				}
			}
			return fmt.Errorf("no metadata leader on the majority side")
		})
		if err != nil {
			t.Fatalf("round %d: %v", r+1, err)
		}
		t.Logf("round %d: node %d leads the majority %s after the cut", r+1, newLeader+1, time.Since(cut).Round(time.Millisecond))
		majorityTopic := fmt.Sprintf("majority-%d", r)
		createTopic(t, c, majority[rng.IntN(len(majority))], majorityTopic, 2, 3, nil)
		allowed = append(allowed, majorityTopic)
		progress("majority side", 300)

		// The isolated node: no write succeeds, no read answers.
		minorityTopic := fmt.Sprintf("minority-%d", r)
		if code, err := isolatedCreate(c, victim, minorityTopic); err == nil && code == 0 {
			t.Errorf("round %d: CreateTopics %s on the isolated node %d succeeded", r+1, minorityTopic, victim+1)
		} else {
			refusedWrites++
			t.Logf("round %d: isolated CreateTopics: %s", r+1, describe(err, code))
		}
		if resp, err := isolatedMetadata(c, victim, majorityTopic); err == nil {
			t.Errorf("round %d: Metadata from the isolated node %d answered from stale state: %s", r+1, victim+1, metadataSummary(resp))
		} else {
			failedReads++
			t.Logf("round %d: isolated Metadata: %v", r+1, err)
		}
		for _, p := range led {
			code, err := isolatedProduce(c, victim, topic, p)
			if err == nil && code == 0 {
				t.Errorf("round %d: Produce to partition %d on the isolated node %d was acknowledged", r+1, p, victim+1)
			} else {
				refusedWrites++
			}
			t.Logf("round %d: isolated Produce to partition %d: %s", r+1, p, describe(err, code))
		}

		// Heal: everyone converges, the majority's topic is everywhere,
		// the minority's nowhere.
		c.Net.Heal()
		healed := time.Now()
		if _, err := c.WaitConverged(time.Minute); err != nil {
			t.Fatalf("round %d: after healing: %v", r+1, err)
		}
		err = WaitFor(time.Minute, func() error {
			for i := range c.Len() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				names, err := c.TopicNames(ctx, i)
				cancel()
				if err != nil {
					return fmt.Errorf("node %d: %w", i+1, err)
				}
				if _, ok := names[majorityTopic]; !ok {
					return fmt.Errorf("node %d does not list %s", i+1, majorityTopic)
				}
				if _, ok := names[minorityTopic]; ok {
					return Permanent(fmt.Errorf("node %d lists %s, created on the isolated side", i+1, minorityTopic))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", r+1, err)
		}
		// The isolated node may have been fenced (no heartbeat for the
		// session timeout); it is alive again once its heartbeats commit.
		if err := c.WaitBrokers([]int{0, 1, 2}, c.Len(), time.Minute); err != nil {
			t.Fatalf("round %d: after healing: %v", r+1, err)
		}
		t.Logf("round %d: converged, every broker alive, %s after healing", r+1, time.Since(healed).Round(time.Millisecond))
		progress("after healing", 300)
	}
	stopped = true
	if err := prod.Stop(2 * time.Minute); err != nil {
		t.Errorf("producer did not drain: %v", err)
	}
	d, err := c.WaitConverged(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := NewTopics(c, "none", 0)
	problems, _, err := w.CheckEverywhere(time.Minute, allowed...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("topics: %s", p)
	}
	rep := checkRecords(t, c, prod)
	t.Logf("FIGURES partitions: %d rounds; isolated side refused %d writes and %d reads; records: %s; produce errors: %s; digest %.12s on every node; proxies: %s",
		rounds, refusedWrites, failedReads, rep, prod.Errors(), d.Digest, c.Net.Stats())
}

func isolatedCreate(c *Cluster, i int, name string) (int16, error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 2000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 3
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, i, req)
	if err != nil {
		return 0, err
	}
	return resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode, nil
}

// isolatedMetadata asks node i for topic without auto-creation. Any answer
// is a read the node could not have made linearizably.
func isolatedMetadata(c *Cluster, i int, topic string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = false
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, i, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

func metadataSummary(m *kmsg.MetadataResponse) string {
	s := fmt.Sprintf("controller %d, %d brokers;", m.ControllerID, len(m.Brokers))
	for _, t := range m.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		s += fmt.Sprintf(" topic %s: %v, %d partitions", name, kerr.ErrorForCode(t.ErrorCode), len(t.Partitions))
	}
	return s
}

// isolatedProduce sends one record, acks=all, straight to node i for a
// partition it led before it was cut off.
func isolatedProduce(c *Cluster, i int, topic string, partition int32) (int16, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	id, err := topicID(ctx, c, (i+1)%c.Len(), topic)
	if err != nil {
		return 0, err
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 2000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, recordBatch(-1, -1, -1, "isolated")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := c.Request(ctx, i, req)
	if err != nil {
		return 0, err
	}
	return resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode, nil
}

// topicID asks node i for topic's ID.
func topicID(ctx context.Context, c *Cluster, i int, topic string) ([16]byte, error) {
	names, err := c.TopicNames(ctx, i)
	if err != nil {
		return [16]byte{}, err
	}
	id, ok := names[topic]
	if !ok {
		return id, fmt.Errorf("node %d does not list %s", i+1, topic)
	}
	return id, nil
}
