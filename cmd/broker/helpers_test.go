package broker_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kerr"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// nodeClient returns a franz-go client seeded with one node's address only.
func nodeClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// requestTo sends req to the node at addr itself (not to whichever broker
// the client would route it to).
func requestTo(t testing.TB, addr string, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := requestErr(addr, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// requestErr is requestTo for goroutines other than the test's: it returns
// the error instead of failing the test.
func requestErr(addr string, req kmsg.Request) (kmsg.Response, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("request %T to %s: %w", req, addr, err)
	}
	return resp, nil
}

func metadataFrom(t testing.TB, addr string, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		for _, name := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
	}
	return requestTo(t, addr, req).(*kmsg.MetadataResponse)
}

func createTopicsReq(names []string, partitions int32, rf int16) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	for _, n := range names {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = n
		rt.NumPartitions = partitions
		rt.ReplicationFactor = rf
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func topicNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// proposals sums skiff_metadata_proposals_total{kind} over the cluster.
func proposals(c *clustertest.Cluster, kind string) float64 {
	var sum float64
	for i := range c.Len() {
		sum += counterValue(c.Metrics(i), fmt.Sprintf(`kind=%q`, kind), "skiff_metadata_proposals_total{")
	}
	return sum
}

func counterValue(set *metrics.Set, label, prefix string) float64 {
	var sb strings.Builder
	set.WritePrometheus(&sb)
	var sum float64
	for _, line := range strings.Split(sb.String(), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, label) {
			var v float64
			if _, err := fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// checkTopicEverywhere asserts that every running node's Metadata lists
// every topic with n partitions, each with rf replicas, a full ISR, a live
// leader among the replicas and a leader epoch, with the same topic ID on
// every node. It returns the topic IDs.
func checkTopicEverywhere(t *testing.T, c *clustertest.Cluster, names []string, n int, rf int) map[string][16]byte {
	t.Helper()
	ids := map[string][16]byte{}
	for i, addr := range c.KafkaAddrs() {
		if c.Broker(i) == nil {
			continue
		}
		md := metadataFrom(t, addr, names...)
		if len(md.Topics) != len(names) {
			t.Fatalf("node %d: %d topics in metadata, want %d", i+1, len(md.Topics), len(names))
		}
		for _, mt := range md.Topics {
			name := *mt.Topic
			if mt.ErrorCode != 0 {
				t.Fatalf("node %d: topic %s error code %d", i+1, name, mt.ErrorCode)
			}
			if len(mt.Partitions) != n {
				t.Fatalf("node %d: topic %s has %d partitions, want %d", i+1, name, len(mt.Partitions), n)
			}
			if mt.TopicID == ([16]byte{}) {
				t.Fatalf("node %d: topic %s has no topic ID", i+1, name)
			}
			if prev, ok := ids[name]; ok && prev != mt.TopicID {
				t.Fatalf("node %d: topic %s has ID %x, another node says %x", i+1, name, mt.TopicID, prev)
			}
			ids[name] = mt.TopicID
			for _, p := range mt.Partitions {
				if p.ErrorCode != 0 || len(p.Replicas) != rf || len(p.ISR) != rf || p.Leader < 0 || p.LeaderEpoch < 0 {
					t.Fatalf("node %d: topic %s partition %d: err %d replicas %v isr %v leader %d epoch %d",
						i+1, name, p.Partition, p.ErrorCode, p.Replicas, p.ISR, p.Leader, p.LeaderEpoch)
				}
				found := false
				for _, r := range p.Replicas {
					found = found || r == p.Leader
				}
				if !found {
					t.Fatalf("node %d: topic %s partition %d: leader %d not among replicas %v", i+1, name, p.Partition, p.Leader, p.Replicas)
				}
			}
		}
	}
	return ids
}

// retryOn sends req to the node at addr until every topic in the answer has
// a non-retriable outcome, and fails the test on any error code. On a retry
// (the previous attempt's outcome is unknown) TOPIC_ALREADY_EXISTS and
// UNKNOWN_TOPIC_OR_PARTITION count as the earlier attempt having worked.
func retryOn(t testing.TB, addr string, req kmsg.Request) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		err := sendOnce(addr, req, attempt > 0)
		if err == nil {
			return
		}
		var final finalError
		if errors.As(err, &final) || time.Now().After(deadline) {
			t.Errorf("%T to %s (attempt %d): %v", req, addr, attempt+1, err)
			return
		}
		time.Sleep(50 * time.Millisecond) // back-off between retries of a request
	}
}

type finalError struct{ err error }

func (f finalError) Error() string { return f.err.Error() }

func sendOnce(addr string, req kmsg.Request, retry bool) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
	if err != nil {
		return finalError{err}
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return err // connection trouble: retriable
	}
	var codes []int16
	switch r := resp.(type) {
	case *kmsg.CreateTopicsResponse:
		for _, x := range r.Topics {
			codes = append(codes, x.ErrorCode)
		}
	case *kmsg.CreatePartitionsResponse:
		for _, x := range r.Topics {
			// A retry after an unknown outcome (the first attempt timed
			// out but committed) finds the count already reached.
			if retry && x.ErrorCode == kerr.InvalidPartitions.Code && x.ErrorMessage != nil &&
				strings.HasPrefix(*x.ErrorMessage, "Topic already has ") {
				continue
			}
			codes = append(codes, x.ErrorCode)
		}
	case *kmsg.DeleteTopicsResponse:
		for _, x := range r.Topics {
			codes = append(codes, x.ErrorCode)
		}
	}
	for _, code := range codes {
		e := kerr.ErrorForCode(code)
		switch {
		case e == nil:
		case retry && (e == kerr.TopicAlreadyExists || e == kerr.UnknownTopicOrPartition):
		case kerr.IsRetriable(e) || e == kerr.NotController:
			return e
		default:
			return finalError{e}
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
