package broker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// logCounter counts log lines with a given message.
func logCounter(t *testing.T, msgs ...string) (*zerolog.Logger, []*atomic.Int64) {
	counts := make([]*atomic.Int64, len(msgs))
	for i := range counts {
		counts[i] = &atomic.Int64{}
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).Hook(zerolog.HookFunc(
		func(_ *zerolog.Event, _ zerolog.Level, msg string) {
			for i, m := range msgs {
				if msg == m {
					counts[i].Add(1)
				}
			}
		}))
	return &log, counts
}

// produceEach produces n records to partition 0 of topic, one request
// (one Raft entry) each.
func produceEach(t *testing.T, c *clustertest.Cluster, topic string, n int) {
	t.Helper()
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(50), kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range n {
		r := &kgo.Record{Topic: topic, Partition: 0, Value: []byte(fmt.Sprintf("%05d", i))}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

func removeGroupDirs(t *testing.T, dataDir string) {
	t.Helper()
	groups, err := filepath.Glob(filepath.Join(dataDir, "datagroups", "group-*"))
	if err != nil || len(groups) == 0 {
		t.Fatalf("no data-group directories in %s: %v %v", dataDir, groups, err)
	}
	for _, g := range groups {
		if err := os.RemoveAll(g); err != nil {
			t.Fatal(err)
		}
	}
}

func checkRecords(t *testing.T, c *clustertest.Cluster, node int, topic string, n int) {
	t.Helper()
	got := consumeAll(t, c.KafkaAddrs()[node], topic, n, time.Minute)
	if len(got) != n {
		t.Fatalf("consumed %d, want %d", len(got), n)
	}
	for i, r := range got {
		if string(r.Value) != fmt.Sprintf("%05d", i) || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d value %s", i, r.Offset, r.Value)
		}
	}
}

// TestClusterDataGroupDirDeletedRebuildsFromLog: a node whose data-group
// directories were deleted while it was stopped, before the groups' Raft
// logs were compacted, rebuilds its replicas by replaying the log at
// restart, with no operator step.
func TestClusterDataGroupDirDeletedRebuildsFromLog(t *testing.T) {
	log, counts := logCounter(t, "rebuilding the data-group replica from its raft log: discarding its local data")
	dir := t.TempDir()
	c := clustertest.New(t, 3, clustertest.Options{Logger: log, Dir: dir})
	createTopic(t, c, "rebuild", 1, 3, nil)
	const n = 300
	produceEach(t, c, "rebuild", n)
	c.Stop(2)
	removeGroupDirs(t, filepath.Join(dir, "node3"))
	c.Restart(2)
	if err := clustertest.WaitFor(90*time.Second, func() error { return sameGroupDigests(c) }); err != nil {
		t.Fatal(err)
	}
	if counts[0].Load() == 0 {
		t.Fatal("no replica was rebuilt")
	}
	checkRecords(t, c, 2, "rebuild", n)
}

// TestClusterDataGroupLostAfterCompactionDoesNotCrash: once the log was
// compacted behind a local snapshot, a replica whose data is gone cannot
// be rebuilt from its own log, and Dragonboat would panic if Open reported
// less than that snapshot (the old ErrDataLost trap). The node must stay
// up, say why once, and the group serve from its other replicas.
func TestClusterDataGroupLostAfterCompactionDoesNotCrash(t *testing.T) {
	log, counts := logCounter(t, "data-group replica not started")
	dir := t.TempDir()
	c := clustertest.New(t, 3, clustertest.Options{Logger: log, Dir: dir})
	createTopic(t, c, "lost", 1, 3, nil)
	const n = 2200 // past the snapshot interval (2,000 entries)
	produceEach(t, c, "lost", n)
	c.Stop(2)
	removeGroupDirs(t, filepath.Join(dir, "node3"))
	c.Restart(2)
	if err := clustertest.WaitFor(60*time.Second, func() error {
		if counts[0].Load() == 0 {
			return fmt.Errorf("no 'not started' log line yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.WaitAlive(3, time.Minute)
	checkRecords(t, c, 0, "lost", n)
}
