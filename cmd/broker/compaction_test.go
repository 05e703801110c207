package broker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// Retention (here retention.ms=1 and segment.ms=1, a pass every 100 ms)
// empties a delete topic but never touches a compact-only one: issue #12,
// a compacted topic lost its keys after retention.ms. Both topics have a
// partition at every ring position, so each data group holding a compact
// partition also holds a delete partition: once every delete partition
// is empty, a Retention command of every group has left the compact
// partitions out.
func TestClusterRetentionSparesCompactedTopics(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{MaintenanceInterval: 100 * time.Millisecond})
	const parts = 6
	tiny := map[string]*string{"retention.ms": kmsg.StringPtr("1"), "segment.ms": kmsg.StringPtr("1")}
	compact := map[string]*string{"retention.ms": kmsg.StringPtr("1"), "segment.ms": kmsg.StringPtr("1"),
		"cleanup.policy": kmsg.StringPtr("compact")}
	createTopic(t, c, "retain-delete", parts, 3, tiny)
	createTopic(t, c, "retain-compact", parts, 3, compact)
	settleLeaders(t, c, "retain-delete", "retain-compact")

	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const perPart = 5
	var recs []*kgo.Record
	for _, topic := range []string{"retain-delete", "retain-compact"} {
		for p := range int32(parts) {
			for i := range perPart {
				k := fmt.Sprintf("k-%d-%d", p, i)
				recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Key: []byte(k), Value: []byte(k)})
			}
		}
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	adm, done := liveAdmin(c)
	defer done()
	err := clustertest.WaitFor(90*time.Second, func() error {
		starts, err := adm.ListStartOffsets(ctx, "retain-delete")
		if err != nil {
			return err
		}
		var left []string
		starts.Each(func(o kadm.ListedOffset) {
			if o.Err != nil || o.Offset != perPart {
				left = append(left, fmt.Sprintf("%d: start %d (%v)", o.Partition, o.Offset, o.Err))
			}
		})
		if len(starts["retain-delete"]) != parts || len(left) > 0 {
			return fmt.Errorf("delete topic not emptied by retention: %v", left)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	starts, err := adm.ListStartOffsets(ctx, "retain-compact")
	if err != nil {
		t.Fatal(err)
	}
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 0 {
			t.Errorf("compact topic partition %d: start offset %d (%v), want 0: retention deleted from it", o.Partition, o.Offset, o.Err)
		}
	})
	got := consumeAll(t, c.KafkaAddrs()[1], "retain-compact", parts*perPart, time.Minute)
	if len(got) != parts*perPart {
		t.Fatalf("consumed %d records of the compact topic, want %d", len(got), parts*perPart)
	}
	for _, r := range got {
		if string(r.Key) != fmt.Sprintf("k-%d-%d", r.Partition, r.Offset) {
			t.Errorf("compact topic %d@%d: key %s", r.Partition, r.Offset, r.Key)
		}
	}
}

// A compacted topic refuses a keyless record with INVALID_RECORD, as
// Kafka's LogValidator does; a keyed one is appended, and a delete topic
// takes keyless records.
func TestClusterCompactedTopicNeedsKeys(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	createTopic(t, c, "keys-compact", 1, 3, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")})
	createTopic(t, c, "keys-delete", 1, 3, nil)
	settleLeaders(t, c, "keys-compact", "keys-delete")
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := prod.ProduceSync(ctx, &kgo.Record{Topic: "keys-compact", Value: []byte("no key")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Errorf("keyless record to a compacted topic: %v, want INVALID_RECORD", err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "keys-compact", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Errorf("keyed record to a compacted topic: %v", err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "keys-delete", Value: []byte("no key")}).FirstErr(); err != nil {
		t.Errorf("keyless record to a delete topic: %v", err)
	}
	got := consumeAll(t, c.KafkaAddrs()[1], "keys-compact", 1, time.Minute)
	if len(got) != 1 || string(got[0].Key) != "k" || got[0].Offset != 0 {
		t.Fatalf("compacted topic holds %d records (first key %q), want only the keyed one at offset 0", len(got), got[0].Key)
	}
}
