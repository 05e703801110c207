package broker_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

// A KIP-848 regex consumer (franz-go ConsumeRegex, resolved by the
// coordinator as Kafka resolves SubscribedTopicRegex: RE2, whole names,
// internal topics included) that names __consumer_offsets is assigned its
// partitions along with the matching topics, including a topic created
// after it joined; a topic the pattern does not match is never assigned.
func TestClusterGroupConsumerRegexSubscription(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{Groups: func(gc *consumergroup.Config) {
		gc.OffsetsTopicPartitions = groupOffsetsPartitions
		gc.ConsumerHeartbeatInterval = 250 * time.Millisecond
		gc.ConsumerSessionTimeout = 10 * time.Second
	}})
	addrs := c.KafkaAddrs()
	createTopic(t, c, "rx-orders", 3, 3, nil)
	createTopic(t, c, "rx-other", 2, 3, nil)
	settleLeaders(t, c, "rx-orders", "rx-other")
	const group = "rx-group"
	got := newConsumed()
	startMember(t, addrs[0], group, []string{"rx-orders", regexp.QuoteMeta(consumergroup.OffsetsTopic)}, got,
		kgo.ConsumeRegex(), kgo.ServerSideBalancer())

	// assigned lists the group's assignment as topic -> partition count.
	assigned := func() (map[string]int, error) {
		coord := coordinatorOf(t, addrs[0], group)
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Groups = []string{group}
		resp, err := tryRequest(addrs[coord-1], req)
		if err != nil {
			return nil, err
		}
		desc := resp.(*kmsg.ConsumerGroupDescribeResponse).Groups[0]
		if err := kerr.ErrorForCode(desc.ErrorCode); err != nil {
			return nil, err
		}
		md, err := tryRequest(addrs[0], kmsg.NewPtrMetadataRequest())
		if err != nil {
			return nil, err
		}
		names := map[[16]byte]string{}
		for _, mt := range md.(*kmsg.MetadataResponse).Topics {
			names[mt.TopicID] = *mt.Topic
		}
		out := map[string]int{}
		for _, m := range desc.Members {
			for _, tp := range m.Assignment.TopicPartitions {
				out[names[tp.TopicID]] += len(tp.Partitions)
			}
		}
		return out, nil
	}
	waitAssigned := func(want map[string]int) {
		t.Helper()
		err := clustertest.WaitFor(60*time.Second, func() error {
			a, err := assigned()
			if err != nil {
				return err
			}
			if fmt.Sprint(a) != fmt.Sprint(want) {
				return fmt.Errorf("assigned %v, want %v", a, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitAssigned(map[string]int{"rx-orders": 3, consumergroup.OffsetsTopic: groupOffsetsPartitions})

	// A matching topic created after the subscription joins it; records
	// of both topics are consumed.
	createTopic(t, c, "rx-orders-late", 2, 3, nil)
	settleLeaders(t, c, "rx-orders-late")
	waitAssigned(map[string]int{"rx-orders": 3, "rx-orders-late": 2, consumergroup.OffsetsTopic: groupOffsetsPartitions})
	prod := nodeClient(t, addrs[1], kgo.SeedBrokers(addrs...), kgo.RequestRetries(100))
	sent := produceValues(t, prod, "rx", []string{"rx-orders", "rx-orders-late", "rx-other"}, 90)
	var want []string
	for i, v := range sent {
		if i%3 != 2 { // rx-other is not subscribed
			want = append(want, v)
		}
	}
	got.waitFor(t, len(want), 60*time.Second)
	// The member also reads __consumer_offsets: its own commits are there.
	err := clustertest.WaitFor(30*time.Second, func() error {
		got.mu.Lock()
		defer got.mu.Unlock()
		for v := range got.byValue {
			if !strings.HasPrefix(v, "rx-") {
				return nil
			}
		}
		return fmt.Errorf("no record of %s consumed", consumergroup.OffsetsTopic)
	})
	if err != nil {
		t.Error(err)
	}
	got.mu.Lock()
	var stray []string
	for v := range got.byValue {
		i := sort.SearchStrings(want, v)
		if strings.HasPrefix(v, "rx-") && (i == len(want) || want[i] != v) {
			stray = append(stray, v)
		}
	}
	got.mu.Unlock()
	if len(stray) > 0 {
		t.Errorf("consumed %d records of rx-other (not subscribed), e.g. %v", len(stray), stray[:1])
	}
}
