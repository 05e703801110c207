package broker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// librdkafka compresses only when the broker advertises Produce v0, which
// Kafka 4 still advertises for that reason (KAFKA-18659) though it serves
// v3+ only: kcat -z snappy must store snappy batches, not silently fall
// back to uncompressed ones.
func TestClusterKcatCompressedProduce(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (.ci/run installs it)")
		}
		t.Skip("kcat not on PATH")
	}
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "kcat-snappy", 1, 3, nil)
	settleLeaders(t, c, "kcat-snappy")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "value-%03d\n", i)
	}
	p := exec.CommandContext(ctx, kcat, "-P", "-b", c.KafkaAddrs()[0], "-t", "kcat-snappy", "-z", "snappy", "-X", "acks=all")
	p.Stdin = strings.NewReader(in.String())
	if out, err := p.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	md := metadataFrom(t, c.KafkaAddrs()[0], "kcat-snappy").Topics[0]
	leader := md.Partitions[0].Leader
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes = 100, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = "kcat-snappy", md.TopicID // kgo sends v13+: by ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := requestTo(t, c.KafkaAddrs()[leader-1], req).(*kmsg.FetchResponse)
	rp0 := resp.Topics[0].Partitions[0]
	if rp0.ErrorCode != 0 {
		t.Fatalf("fetch: error code %d", rp0.ErrorCode)
	}
	data := rp0.RecordBatches
	batches, records := 0, int32(0)
	for len(data) > 0 {
		var b kmsg.RecordBatch
		if err := b.ReadFrom(data); err != nil {
			t.Fatal(err)
		}
		if codec := b.Attributes & 0x7; codec != 2 {
			t.Errorf("batch at %d has codec %d, want 2 (snappy)", b.FirstOffset, codec)
		}
		batches++
		records += b.NumRecords
		data = data[12+b.Length:]
	}
	if batches == 0 || records != 100 {
		t.Errorf("fetched %d batches with %d records, want 100 records", batches, records)
	}
}
