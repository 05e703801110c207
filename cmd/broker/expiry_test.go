package broker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

// sameOffsetsPartitionN returns n group names, with the given prefix, that
// live in one __consumer_offsets partition: an expiry pass covers them all
// at once, so one group's expiry shows that the others were looked at.
func sameOffsetsPartitionN(prefix string, n int) []string {
	byPart := map[int32][]string{}
	for i := 0; ; i++ {
		g := fmt.Sprintf("%s-%d", prefix, i)
		p := consumergroup.PartitionFor(g, groupOffsetsPartitions)
		byPart[p] = append(byPart[p], g)
		if len(byPart[p]) == n {
			return byPart[p]
		}
	}
}

// Committed offsets expire as Kafka expires them (offsets.retention.minutes,
// here 1 hour on a clock the test moves): a standalone consumer's commits
// an hour after the commit; a Stable group's commits of the topics it
// consumes never, and an Empty group's an hour after it became empty (the
// group is then deleted); an OffsetCommit v2 retention time overrides the
// broker's. Expiry writes tombstones: the offsets are gone on every node.
func TestClusterGroupOffsetsExpire(t *testing.T) {
	var skew atomic.Int64
	c := clustertest.New(t, 3, clustertest.Options{Groups: func(gc *consumergroup.Config) {
		gc.OffsetsTopicPartitions = groupOffsetsPartitions
		gc.InitialRebalanceDelay = 300 * time.Millisecond
		gc.MinSessionTimeout = time.Second
		gc.OffsetsRetention = time.Hour
		gc.OffsetsRetentionCheckInterval = 100 * time.Millisecond
		gc.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	const topic = "expire-4"
	createTopic(t, c, topic, 4, 3, nil)
	settleLeaders(t, c, topic)
	names := sameOffsetsPartitionN("expire", 4)
	standalone, active, retained, marker := names[0], names[1], names[2], names[3]
	coord := readyCoordinator(t, c, active)
	coordAddr := c.KafkaAddrs()[coord-1]

	producer := nodeClient(t, c.KafkaAddrs()[0])
	sent := produceValues(t, producer, "expire", []string{topic}, 40)
	got := newConsumed()
	m := startMember(t, c.KafkaAddrs()[1], active, []string{topic}, got)
	got.waitFor(t, len(sent), 60*time.Second)
	committedEqualsEnd(t, c, active, []string{topic})

	adm, done := liveAdmin(c)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 7, -1)
	if r, err := adm.CommitOffsets(ctx, standalone, offs); err != nil || r.Error() != nil {
		t.Fatalf("commit %s: %v %v", standalone, err, r.Error())
	}
	commitV2 := func(group string, retention time.Duration) {
		t.Helper()
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation, req.RetentionTimeMillis = 2, group, -1, retention.Milliseconds()
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 1, 3
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		v2 := kversion.Stable()
		v2.SetMaxKeyVersion(kmsg.OffsetCommit.Int16(), 2) // kgo sends the highest version allowed
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		kresp, err := nodeClient(t, coordAddr, kgo.MaxVersions(v2)).SeedBrokers()[0].Request(rctx, req)
		if err != nil {
			t.Fatalf("OffsetCommit v2 to %s: %v", group, err)
		}
		resp := kresp.(*kmsg.OffsetCommitResponse)
		if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
			t.Fatalf("OffsetCommit v2 to %s: %v", group, err)
		}
	}
	commitV2(retained, 10*24*time.Hour)
	count := func(group string) int { return len(fetchOffsets(t, c, group).Sorted()) }
	gone := func(group string) {
		t.Helper()
		err := clustertest.WaitFor(30*time.Second, func() error {
			if n := count(group); n > 0 {
				return fmt.Errorf("%s still has %d commits", group, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if count(standalone) != 1 || count(retained) != 1 {
		t.Fatalf("before expiry: %s has %d commits, %s %d", standalone, count(standalone), retained, count(retained))
	}

	// Two hours on: the standalone commit expires; the Stable group and
	// the 10-day commit keep theirs.
	skew.Add(int64(2 * time.Hour))
	gone(standalone)
	if n := count(active); n != 4 {
		t.Errorf("Stable group %s has %d commits after 2 h, want 4", active, n)
	}
	if n := count(retained); n != 1 {
		t.Errorf("%s (10-day retention) has %d commits after 2 h, want 1", retained, n)
	}

	// The member leaves: the group is Empty, and its commits count from
	// now. A 1 ms commit in the same partition shows a pass ran since.
	m.stop()
	waitEmpty := func() error {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		if l, ok := listed[active]; !ok || l.State != "Empty" {
			return fmt.Errorf("%s listed %v as %+v", active, ok, l)
		}
		return nil
	}
	if err := clustertest.WaitFor(30*time.Second, waitEmpty); err != nil {
		t.Fatal(err)
	}
	commitV2(marker, time.Millisecond)
	gone(marker)
	if n := count(active); n != 4 {
		t.Errorf("group %s, Empty for less than the retention, has %d commits, want 4", active, n)
	}

	// Two more hours: the Empty group's commits expire and the group is
	// deleted; the 10-day commit stays.
	skew.Add(int64(2 * time.Hour))
	gone(active)
	err := clustertest.WaitFor(30*time.Second, func() error {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		if l, ok := listed[active]; ok {
			return fmt.Errorf("expired group %s still listed as %+v", active, l)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if n := count(retained); n != 1 {
		t.Errorf("%s (10-day retention) has %d commits after 4 h, want 1", retained, n)
	}
	got.check(t, sent)
}
