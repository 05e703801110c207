package broker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// fetchCounter sums a fetch-session counter of every node.
func fetchCounter(c *clustertest.Cluster, name, kind string) float64 {
	var sum float64
	for i := range c.Len() {
		sum += counterValue(c.Metrics(i), fmt.Sprintf(`kind=%q`, kind), name+"{")
	}
	return sum
}

// A franz-go consumer of 60 partitions led by three brokers opens one
// KIP-227 session per broker and then sends incremental fetches, which list
// far fewer partitions than the full ones, and receives every record.
func TestClusterFetchSessions(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	const topic = "sessions-60"
	createTopic(t, c, topic, 60, 3, nil)
	settleLeaders(t, c, topic)
	addrs := c.KafkaAddrs()
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RequestRetries(20))
	sent := produceValues(t, prod, "s1", []string{topic}, 600)

	cl := nodeClient(t, addrs[1], kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond), kgo.RequestRetries(20))
	seen := map[string]bool{}
	consume := func(want int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for len(seen) < want {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records", len(seen), want)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
	}
	consume(len(sent))
	sent = append(sent, produceValues(t, prod, "s2", []string{topic}, 60)...)
	consume(len(sent))

	const reqs, parts = "skiff_kafka_fetch_requests_total", "skiff_kafka_fetch_request_partitions_total"
	err := clustertest.WaitFor(30*time.Second, func() error {
		if n := fetchCounter(c, reqs, "incremental"); n < 20 {
			return fmt.Errorf("%v incremental fetches", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	full, inc := fetchCounter(c, reqs, "full"), fetchCounter(c, reqs, "incremental")
	fullParts, incParts := fetchCounter(c, parts, "full"), fetchCounter(c, parts, "incremental")
	t.Logf("%v full fetches listing %v partitions, %v incremental listing %v", full, fullParts, inc, incParts)
	// One session per broker; a leader move may reset one.
	if full > 6 {
		t.Errorf("%v full fetches: sessions are not kept", full)
	}
	if incParts/inc >= fullParts/full/2 {
		t.Errorf("incremental fetches list %.1f partitions on average, full ones %.1f", incParts/inc, fullParts/full)
	}
	if len(seen) != len(sent) {
		t.Errorf("consumed %d distinct records, produced %d", len(seen), len(sent))
	}
}
