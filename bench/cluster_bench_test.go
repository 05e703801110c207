package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// End-to-end benchmarks against real in-process clusters (real NodeHosts on
// loopback). The unit-level ones live next to their code:
// statemachine.BenchmarkSM* (command encoding, decoding, apply of a
// 1,000-partition create) and topics.BenchmarkTopicsPlace (placement).

var benchTopicSeq atomic.Int64

func quietCluster(b *testing.B, n int) *clustertest.Cluster {
	nop := zerolog.Nop()
	return clustertest.New(b, n, clustertest.Options{Logger: &nop})
}

func createTopicsReq(names []string, partitions int32, rf int16) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	for _, n := range names {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, partitions, rf
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func mustCreate(b *testing.B, ctx context.Context, cl *kgo.Client, names []string, partitions int32, rf int16) {
	kresp, err := cl.Request(ctx, createTopicsReq(names, partitions, rf))
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range kresp.(*kmsg.CreateTopicsResponse).Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			b.Fatalf("create %s: %v", t.Topic, err)
		}
	}
}

func uniqueNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("bench-%09d", benchTopicSeq.Add(1))
	}
	return out
}

// BenchmarkCreateTopics measures one CreateTopics request, end to end from a
// franz-go client to a 3-node cluster (the answer comes after the commit,
// with every leader known): one topic of 3 partitions, and 100 topics of 10.
func BenchmarkCreateTopics(b *testing.B) {
	c := quietCluster(b, 3)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.KafkaAddrs()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	// Warm up: the data groups exist, are led by their preferred leaders.
	warm := uniqueNames(1)
	mustCreate(b, ctx, cl, warm, 3, 3)
	if _, err := waitPreferred(ctx, c.KafkaAddrs()[0], warm[0], 15*time.Second); err != nil {
		b.Fatal(err)
	}
	for _, shape := range []struct {
		topics     int
		partitions int32
	}{{1, 3}, {100, 10}} {
		b.Run(fmt.Sprintf("%dx%d", shape.topics, shape.partitions), func(b *testing.B) {
			n := 0
			for b.Loop() {
				mustCreate(b, ctx, cl, uniqueNames(shape.topics), shape.partitions, 3)
				n++
			}
			b.ReportMetric(float64(n*shape.topics*int(shape.partitions))/b.Elapsed().Seconds(), "partitions/s")
		})
	}
}

// BenchmarkMetadataResponse measures a Metadata request for 1,000 topics of
// 10 partitions from a one-node cluster, as a client receives it: the
// broker's linearizable read and response building, the wire, and kmsg
// decoding of the response. "named" asks for the 1,000 topics by name,
// "all" for every topic (the same 1,000).
func BenchmarkMetadataResponse(b *testing.B) {
	c := quietCluster(b, 1)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.KafkaAddrs()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var names []string
	for range 10 {
		batch := uniqueNames(100)
		mustCreate(b, ctx, cl, batch, 10, 1)
		names = append(names, batch...)
	}
	p, err := newPinned(c.KafkaAddrs()[0])
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	named := kmsg.NewPtrMetadataRequest()
	for _, n := range names {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		named.Topics = append(named.Topics, rt)
	}
	all := kmsg.NewPtrMetadataRequest() // nil Topics: every topic
	for _, req := range []struct {
		name string
		req  *kmsg.MetadataRequest
	}{{"named", named}, {"all", all}} {
		b.Run(req.name, func(b *testing.B) {
			for b.Loop() {
				kresp, err := p.request(ctx, req.req)
				if err != nil {
					b.Fatal(err)
				}
				resp := kresp.(*kmsg.MetadataResponse)
				parts := 0
				for _, t := range resp.Topics {
					parts += len(t.Partitions)
				}
				if parts != 10000 {
					b.Fatalf("metadata lists %d partitions, want 10000", parts)
				}
			}
		})
	}
}
