package broker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/node/diskspace"
)

// A node whose data dir runs low refuses Produce with KAFKA_STORAGE_ERROR
// before proposing; a retrying producer waits; when space returns every
// acknowledged record is there exactly once, in order. The free space is
// injected, so the test is fast and exact.
func TestClusterProduceRefusedWhileDiskLow(t *testing.T) {
	const total, minFree = 100 << 30, 1 << 30
	var free [3]atomic.Uint64
	for i := range free {
		free[i].Store(10 << 30)
	}
	c := clustertest.New(t, 3, clustertest.Options{
		Storage: func(i int, sc *diskspace.Config) {
			sc.MinFreeBytes = minFree
			sc.Interval = 20 * time.Millisecond
			sc.Usage = func(string) (diskspace.Usage, error) {
				return diskspace.Usage{Free: free[i].Load(), Total: total}, nil
			}
		},
		Groups: lowDiskGroups,
	})
	setFree := func(v uint64) {
		for i := range free {
			free[i].Store(v)
		}
	}
	lowDiskScenario(t, c, func() { setFree(minFree / 2) }, func() { setFree(10 << 30) })
}

// The same on a real file system: the cluster's data lives on a small
// tmpfs, a ballast file takes it below the threshold, and deleting the
// ballast brings writes back. Needs root (mount); skipped otherwise.
func TestClusterProduceRefusedOnFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): skipping the real-disk variant", err, strings.TrimSpace(string(out)))
	}
	// Registered before the cluster's own cleanup, so it runs after the
	// brokers have closed their files.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	// Each node's Dragonboat LogDB preallocates an 18 MiB WAL per LogDB
	// shard it writes to (about 72 MiB per node at start, more as data
	// groups come): the threshold and what the ballast leaves must cover
	// that growth, or a follower would hit ENOSPC inside apply, which is
	// exactly the headroom the README asks operators to keep.
	const minFree = 192 << 20
	c := clustertest.New(t, 3, clustertest.Options{
		Dir: mnt,
		Storage: func(i int, sc *diskspace.Config) {
			sc.MinFreeBytes = minFree
			sc.Interval = 50 * time.Millisecond
		},
		Groups: lowDiskGroups,
	})
	ballast := filepath.Join(mnt, "ballast")
	fill := func() {
		u, err := diskspace.Statfs(mnt)
		if err != nil {
			t.Fatal(err)
		}
		if u.Free < minFree {
			t.Fatalf("the cluster alone left only %d bytes free on the %d-byte tmpfs", u.Free, u.Total)
		}
		// Leave 3/4 of the threshold: the brokers keep writing meanwhile
		// (heartbeats, new WAL files), which must still fit.
		writeBallast(t, ballast, int64(u.Free-minFree*3/4))
		t.Logf("tmpfs: %d bytes, %d free before the ballast", u.Total, u.Free)
	}
	lowDiskScenario(t, c, fill, func() {
		if err := os.Remove(ballast); err != nil {
			t.Fatal(err)
		}
	})
}

func lowDiskGroups(gc *consumergroup.Config) {
	gc.OffsetsTopicPartitions = 3
	gc.InitialRebalanceDelay = -1
}

func writeBallast(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i) | 1 // tmpfs stores every page written, zeros or not
	}
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := f.Write(chunk[:k]); err != nil {
			t.Fatalf("ballast: %v", err)
		}
		n -= k
	}
}

// lowDiskScenario: records acknowledged before, a producer without retries
// refused with KAFKA_STORAGE_ERROR and an OffsetCommit refused with
// COORDINATOR_NOT_AVAILABLE while low, a retrying producer blocked until
// recovery, then every acknowledged record read back exactly once, in
// order, and nothing else.
func lowDiskScenario(t *testing.T, c *clustertest.Cluster, makeLow, makeOK func()) {
	const topic, partitions, perPhase = "lowdisk", 3, 30
	createTopic(t, c, topic, partitions, 3, nil)
	addrs := c.KafkaAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	acked := map[int32][]string{}
	var errs []error
	var inFlight sync.WaitGroup
	var ackedLate atomic.Int64
	prod := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequestRetries(20), kgo.ProducerLinger(time.Millisecond))
	produce := func(phase string, late bool) {
		for i := range perPhase {
			p := int32(i % partitions)
			inFlight.Add(1)
			prod.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "%s-p%d-%03d", phase, p, i)},
				func(r *kgo.Record, err error) {
					defer inFlight.Done()
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", r.Value, err))
						return
					}
					acked[r.Partition] = append(acked[r.Partition], string(r.Value))
					if late {
						ackedLate.Add(1)
					}
				})
		}
	}
	produce("before", false)
	inFlight.Wait()
	adm := kadm.NewClient(nodeClient(t, addrs[1], kgo.SeedBrokers(addrs...), kgo.RequestRetries(20)))
	commit := func(offset int64) (kadm.OffsetResponses, error) {
		offs := kadm.Offsets{}
		offs.AddOffset(topic, 0, offset, -1)
		return adm.CommitOffsets(ctx, "lowdisk-group", offs)
	}
	if r, err := commit(1); err != nil || r.Error() != nil {
		t.Fatalf("commit before the disk filled: %v %v", err, r.Error())
	}

	makeLow()
	if err := clustertest.WaitFor(30*time.Second, func() error {
		for i := range c.Len() {
			if !c.Broker(i).Disk().Low() {
				return fmt.Errorf("node %d does not see its disk low (%+v)", i+1, c.Broker(i).Disk().Usage())
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Without retries the error reaches the client, as the retriable
	// KAFKA_STORAGE_ERROR.
	// (Attempts that meet a leader or coordinator move are made again.)
	noRetry := nodeClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(0), kgo.MetadataMinAge(50*time.Millisecond))
	var err error
	moveDeadline := time.Now().Add(30 * time.Second)
	for {
		err = noRetry.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("refused")}).FirstErr()
		if (!errors.Is(err, kerr.NotLeaderForPartition) && !errors.Is(err, kerr.LeaderNotAvailable)) || time.Now().After(moveDeadline) {
			break
		}
		noRetry.ForceMetadataRefresh() // the leader moved (balancing): learn where to
	}
	if !errors.Is(err, kerr.KafkaStorageError) || !kerr.IsRetriable(err) {
		t.Fatalf("produce while the disk is low: %v, want the retriable KAFKA_STORAGE_ERROR", err)
	}
	// An offset commit is refused too (its answer tells the client to find
	// the coordinator again and retry).
	lowCommit := kadm.NewClient(nodeClient(t, addrs[1], kgo.SeedBrokers(addrs...)))
	offs := kadm.Offsets{}
	offs.AddOffset(topic, 0, 2, -1)
	for range 20 {
		var r kadm.OffsetResponses
		if r, err = lowCommit.CommitOffsets(ctx, "lowdisk-group", offs); err == nil {
			err = r.Error()
		}
		if !errors.Is(err, kerr.NotCoordinator) && !errors.Is(err, kerr.CoordinatorLoadInProgress) {
			break
		}
	}
	if !errors.Is(err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("offset commit while the disk is low: %v, want COORDINATOR_NOT_AVAILABLE", err)
	}

	// A retrying producer keeps being refused and acknowledges nothing.
	refused := func() float64 {
		var sum float64
		for i := range c.Len() {
			sum += counterValue(c.Metrics(i), `api="Produce"`, "skiff_writes_refused_low_disk_total{")
		}
		return sum
	}
	base := refused()
	produce("during", true)
	if err := clustertest.WaitFor(30*time.Second, func() error {
		if n := refused() - base; n < 2*partitions {
			return fmt.Errorf("%v produce refusals since the retrying producer started", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := ackedLate.Load(); n != 0 {
		t.Fatalf("%d records acknowledged while every disk was low", n)
	}

	makeOK()
	done := make(chan struct{})
	go func() { inFlight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("records still unacknowledged after space returned (%d acknowledged)", ackedLate.Load())
	}
	if len(errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(errs), errs[0])
	}
	if r, err := commit(3); err != nil || r.Error() != nil {
		t.Fatalf("commit after space returned: %v %v", err, r.Error())
	}
	fetched, err := adm.FetchOffsets(ctx, "lowdisk-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup(topic, 0); o.At != 3 {
		t.Fatalf("committed offset %d, want 3", o.At)
	}

	got := map[int32][]string{}
	for _, rec := range consumeAll(t, addrs[2], topic, 2*perPhase, time.Minute) {
		got[rec.Partition] = append(got[rec.Partition], string(rec.Value))
	}
	for p := range int32(partitions) {
		if strings.Join(got[p], ",") != strings.Join(acked[p], ",") {
			t.Errorf("partition %d holds %v, acknowledged %v", p, got[p], acked[p])
		}
	}
	// Nothing beyond what was acknowledged (the refused record included).
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	if n != 2*perPhase {
		t.Fatalf("end offsets sum to %d, want %d", n, 2*perPhase)
	}
}
