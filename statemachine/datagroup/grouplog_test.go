package datagroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// manyKeys returns n partition keys over n/100+1 topics.
func manyKeys(n int) []PartitionKey {
	ks := make([]PartitionKey, n)
	for i := range ks {
		var k PartitionKey
		k.Topic[0], k.Topic[1] = byte(i/100>>8), byte(i/100)
		k.Partition = int32(i % 100)
		ks[i] = k
	}
	return ks
}

// produceOneEach produces one one-record batch to each key, in commands of
// at most 1,000 parts.
func produceOneEach(h *harness, ks []PartitionKey) {
	for i := 0; i < len(ks); i += 1000 {
		var parts []ProducePart
		for _, k := range ks[i:min(i+1000, len(ks))] {
			parts = append(parts, part(k, plain(1)))
		}
		h.apply(produce(1, parts...))
	}
}

// TestDatagroupFDsIndependentOfPartitions: a replica's open files do not
// grow with its partitions (the old per-partition layout kept one per
// partition: 10,143 for 10,000).
func TestDatagroupFDsIndependentOfPartitions(t *testing.T) {
	measure := func(n int) (int, int) {
		before := openFDs(t)
		h := newHarness(t)
		produceOneEach(h, manyKeys(n))
		if err := h.sm.Sync(); err != nil {
			t.Fatal(err)
		}
		if got := len(h.sm.Partitions()); got != n {
			t.Fatalf("%d partitions, want %d", got, n)
		}
		fds := openFDs(t) - before
		segs := h.sm.Stats().Segments
		h.sm.Close()
		return fds, segs
	}
	small, smallSegs := measure(200)
	large, largeSegs := measure(20000)
	t.Logf("open fds: %d with 200 partitions, %d with 20,000; group segments %d, %d", small, large, smallSegs, largeSegs)
	if large > small+50 {
		t.Fatalf("open fds grew from %d to %d with the partition count", small, large)
	}
}

// TestDatagroupUpdateCreatesNoFile: Update rolls to the segment prepared
// ahead and never creates a file itself; with no spare ready it keeps
// appending to the active segment past SegmentBytes. The preparer is held
// back (holdPrepare) so the Update has one spare at most.
func TestDatagroupUpdateCreatesNoFile(t *testing.T) {
	h := openHarnessConfig(t, t.TempDir(), grouplog.Config{SegmentBytes: 4096})
	h.one(produce(1, part(k1, plain(1)))) // the first segment is active
	waitSpare(t, h)
	release := h.sm.gl.HoldPrepare()
	before := len(segFiles(t, h))
	var parts []ProducePart
	for _, k := range manyKeys(50) {
		parts = append(parts, part(k, mkBatch(batchSpec{n: 5, valueSize: 200, ts: 1})))
	}
	h.apply(produce(1, parts...))
	st := h.sm.Stats()
	if st.Bytes < 10*4096 {
		t.Fatalf("only %d bytes appended", st.Bytes)
	}
	if after := len(segFiles(t, h)); after != before {
		t.Fatalf("segment files %d -> %d across an Update with the preparer held", before, after)
	}
	release()
	for _, k := range manyKeys(50) {
		if hs := h.readAll(k, 0); len(hs) != 1 || hs[0].RecordCount != 5 {
			t.Fatalf("%v: %+v", k, hs)
		}
	}
	if n := h.sm.Stats().Segments; n != 2 {
		t.Fatalf("%d segments after rolling to the one spare", n)
	}
	// Released, the preparer creates the next spare and later Updates
	// roll again.
	waitSpare(t, h)
	h.apply(produce(1, parts...))
	if n := h.sm.Stats().Segments; n < 3 {
		t.Fatalf("%d segments after the preparer resumed", n)
	}
}

func waitSpare(t testing.TB, h *harness) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.sm.gl.SpareReady() {
		if time.Now().After(deadline) {
			t.Fatal("no spare segment prepared")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDatagroupSegmentMs: segment.ms rolls a partition's logical segment by
// the proposer's time, on append and in Retention, so a partition that
// stopped receiving data expires by retention.ms.
func TestDatagroupSegmentMs(t *testing.T) {
	h := newHarness(t)
	at := func(ms int64, k PartitionKey, n int) PartResult {
		c := produce(1, ProducePart{Key: k, MaxMessageBytes: 1 << 20, SegmentMs: 1000,
			Records: mkBatch(batchSpec{n: n, valueSize: 10, ts: ms})})
		c.TimestampMs = ms
		return h.one(c)[0]
	}
	at(0, k1, 1)
	at(500, k1, 1)
	if n := len(h.sm.gl.LogicalSegments(k1)); n != 1 {
		t.Fatalf("%d logical segments before segment.ms elapsed", n)
	}
	at(1500, k1, 1) // 1,500 ms after the segment was created: roll
	if got := h.sm.gl.LogicalSegments(k1); len(got) != 2 || got[1] != 2 {
		t.Fatalf("logical segments %v after segment.ms", got)
	}
	// k2 gets one batch and nothing after: Retention closes its active
	// segment once segment.ms old, and then retention.ms deletes it.
	at(100, k2, 3)
	ret := func(now int64) []PartResult {
		return h.one(Retention{NowMs: now, Parts: []RetentionPart{
			{Key: k1, RetentionMs: 2000, RetentionBytes: -1, SegmentMs: 1000},
			{Key: k2, RetentionMs: 2000, RetentionBytes: -1, SegmentMs: 1000},
		}})
	}
	rs := ret(1000) // k2's segment is 900 ms old: kept, still active
	if rs[1].LogStartOffset != 0 {
		t.Fatalf("k2 expired early: %+v", rs[1])
	}
	rs = ret(2600) // k1's first segment (max ts 500) and k2's (closed at 2600? no: max ts 102 < 600)
	if rs[0].LogStartOffset != 2 || rs[1].LogStartOffset != 3 {
		t.Fatalf("retention: %+v", rs)
	}
	if start, hwm := h.sm.Offsets(k2); start != 3 || hwm != 3 {
		t.Fatalf("k2 offsets %d %d", start, hwm)
	}
	// k2 continues at offset 3 in a new logical segment.
	if r := at(2700, k2, 1); r.BaseOffset != 3 {
		t.Fatalf("produce after expiry: %+v", r)
	}
	d := h.digest()
	h.reopen()
	if h.digest() != d {
		t.Fatal("digest changed across reopen")
	}
}

// TestDatagroupRetentionPerPartition: partitions interleaved in the same
// group segments keep their own retention.
func TestDatagroupRetentionPerPartition(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 6; i++ {
		c := produce(1,
			ProducePart{Key: k1, SegmentBytes: 250, Records: mkBatch(batchSpec{n: 5, valueSize: 10, ts: int64(1000 * (i + 1))})},
			ProducePart{Key: k2, SegmentBytes: 250, Records: mkBatch(batchSpec{n: 5, valueSize: 10, ts: int64(1000 * (i + 1))})})
		h.one(c)
	}
	wantK2 := h.readAll(k2, 0)
	rs := h.one(Retention{NowMs: 10000, Parts: []RetentionPart{{Key: k1, RetentionMs: -1, RetentionBytes: 300}}})
	if rs[0].LogStartOffset != 15 { // 6 logical segments of ~146 bytes: 3 go, 438 bytes stay
		t.Fatalf("k1 size retention: %+v", rs[0])
	}
	if got := h.readAll(k2, 0); fmt.Sprint(got) != fmt.Sprint(wantK2) {
		t.Fatal("k2 changed by k1's retention")
	}
	if hs := h.readAll(k1, 15); len(hs) != 3 || hs[0].BaseOffset != 15 {
		t.Fatalf("k1 after retention: %+v", hs)
	}
}

// TestDatagroupReclaim: deleted topics and retention free group segments;
// live batches of partly dead segments are rewritten, the index follows
// atomically, and reads, digests and restarts see the same data. It logs
// the write amplification of reclaim.
func TestDatagroupReclaim(t *testing.T) {
	h := openHarnessConfig(t, t.TempDir(), grouplog.Config{SegmentBytes: 16 << 10, ReclaimLiveShare: 0.5})
	h.sm.stopReclaimer() // reclaim when the test says
	keys := manyKeys(40)
	for round := 0; round < 20; round++ {
		var parts []ProducePart
		for _, k := range keys {
			parts = append(parts, part(k, plain(3)))
		}
		h.apply(produce(1, parts...))
	}
	before := h.sm.Stats()
	// Delete three quarters of the partitions: most segments keep a
	// quarter of their bytes live.
	var gone []PartitionKey
	for i, k := range keys {
		if i%4 != 0 {
			gone = append(gone, k)
		}
	}
	h.one(DeletePartitions{Keys: gone})
	d := h.digest()
	var want [][]grouplog.BatchHeader
	for i := 0; i < len(keys); i += 4 {
		want = append(want, h.readAll(keys[i], 0))
	}
	freed, copied, err := h.sm.Reclaim()
	if err != nil {
		t.Fatal(err)
	}
	after := h.sm.Stats()
	t.Logf("before: %d segments, %d bytes, %d live; after: %d segments, %d bytes, %d live; freed %d, copied %d; "+
		"write amplification of reclaim: %.2f (copied/appended)",
		before.Segments, before.Bytes, before.LiveBytes, after.Segments, after.Bytes, after.LiveBytes,
		freed, copied, float64(copied)/float64(before.AppendedBytes))
	if freed == 0 || copied == 0 || after.Bytes >= before.Bytes/2 || after.LiveBytes > after.Bytes {
		t.Fatalf("reclaim freed %d, copied %d; bytes %d -> %d", freed, copied, before.Bytes, after.Bytes)
	}
	if after.RewrittenBytes != copied || after.ReclaimedBytes != freed {
		t.Fatalf("stats %+v, freed %d copied %d", after, freed, copied)
	}
	var disk int64
	for _, f := range segFiles(t, h) {
		fi, _ := os.Stat(f)
		disk += fi.Size()
	}
	if disk > after.Bytes {
		t.Fatalf("segment files hold %d bytes, stats say %d", disk, after.Bytes)
	}
	check := func(when string) {
		t.Helper()
		if h.digest() != d {
			t.Fatalf("%s: digest changed", when)
		}
		for j, i := 0, 0; i < len(keys); i, j = i+4, j+1 {
			if got := h.readAll(keys[i], 0); fmt.Sprint(got) != fmt.Sprint(want[j]) {
				t.Fatalf("%s: %v changed", when, keys[i])
			}
		}
	}
	check("after reclaim")
	h.reopen()
	h.sm.stopReclaimer()
	check("after reopen")
	// DeleteTopics of everything: the disk space goes back.
	var rest []PartitionKey
	for i := 0; i < len(keys); i += 4 {
		rest = append(rest, keys[i])
	}
	h.one(DeletePartitions{Keys: rest})
	if _, _, err := h.sm.Reclaim(); err != nil {
		t.Fatal(err)
	}
	if st := h.sm.Stats(); st.LiveBytes != 0 || st.Segments > 1 {
		t.Fatalf("after deleting every partition: %+v", st)
	}
}

// TestDatagroupPowerLossRebuild throws away every segment write not
// fsynced by Sync while pebble keeps its batches (the worst case: the index
// outlived the bytes). Open refuses to serve the hole and marks the replica
// failed; the rebuild the node then does (discard the directory, replay the
// Raft log or a snapshot) gives the state of a replica that never crashed.
func TestDatagroupPowerLossRebuild(t *testing.T) {
	h := newHarness(t)
	cmds := workload()
	half := len(cmds) / 2
	h.apply(cmds[:half]...)
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	synced := map[string]int64{}
	for _, f := range segFiles(t, h) {
		fi, _ := os.Stat(f)
		synced[f] = fi.Size()
	}
	h.apply(cmds[half:]...)
	h.sm.Close()
	for _, f := range segFiles(t, h) {
		if err := os.Truncate(f, synced[f]); err != nil { // files created since: 0
			t.Fatal(err)
		}
	}
	h.sm = NewFactory(h.dir, h.sm.log, nil)(7, 1).(*StateMachine)
	if _, err := h.sm.Open(nil); !errors.Is(err, grouplog.ErrDataLost) {
		t.Fatalf("Open after losing unsynced segment bytes: %v", err)
	}
	dir := ReplicaDir(h.dir, 7, 1)
	if _, err := os.Stat(FailedMarker(dir)); err != nil {
		t.Fatalf("no failure marker: %v", err)
	}
	if _, err := h.sm.Open(nil); err == nil || !strings.Contains(err.Error(), "rebuild") {
		t.Fatalf("Open with the marker: %v", err)
	}
	// The node's rebuild: discard the directory, replay from index 1.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	h.open()
	if h.index != 0 {
		t.Fatalf("rebuilt replica opened at %d", h.index)
	}
	h.apply(cmds...)
	ref := newHarness(t)
	ref.apply(cmds...)
	if h.digest() != ref.digest() {
		t.Fatal("rebuilt replica differs")
	}
}

// TestDatagroupPowerLossPebbleRollback: pebble loses its unsynced batches
// too (it rolls back to the last Sync) while the segments kept bytes
// beyond it: Open cuts the segments back to the index and the replayed
// entries give the same state.
func TestDatagroupPowerLossPebbleRollback(t *testing.T) {
	h := newHarness(t)
	cmds := workload()
	half := len(cmds) / 2
	h.apply(cmds[:half]...)
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	h.sm.Close()
	saved := t.TempDir()
	copyDir(t, filepath.Join(ReplicaDir(h.dir, 7, 1), "state"), saved)
	h.open()
	h.apply(cmds[half:]...)
	h.sm.Close()
	state := filepath.Join(ReplicaDir(h.dir, 7, 1), "state")
	os.RemoveAll(state)
	copyDir(t, saved, state)
	h.open()
	if h.index != uint64(half) {
		t.Fatalf("reopened at %d, want %d", h.index, half)
	}
	h.apply(cmds[half:]...)
	ref := newHarness(t)
	ref.apply(cmds...)
	if h.digest() != ref.digest() {
		t.Fatal("replayed replica differs")
	}
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDatagroupSnapshotManyPartitions: a lagging replica of a group with
// 10,000 partitions catches up from one snapshot of the group log.
func TestDatagroupSnapshotManyPartitions(t *testing.T) {
	src := newHarness(t)
	keys := manyKeys(10000)
	produceOneEach(src, keys)
	produceOneEach(src, keys[:500])
	ctx, err := src.sm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.sm.SaveSnapshot(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot of 10,000 partitions: %d bytes", buf.Len())
	dst := newHarness(t)
	if err := dst.sm.RecoverFromSnapshot(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if dst.digest() != src.digest() {
		t.Fatal("digests differ after recovery")
	}
	if start, hwm := dst.sm.Offsets(keys[42]); start != 0 || hwm != 2 {
		t.Fatalf("offsets %d %d", start, hwm)
	}
	// Both go on identically.
	dst.index = src.index
	next := produce(2, part(keys[7], plain(2)), part(keys[9999], plain(1)))
	src.apply(next)
	dst.apply(next)
	if dst.digest() != src.digest() {
		t.Fatal("digests differ after the next entry")
	}
}

func TestDatagroupCheckFormat(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "datagroups")
	if err := CheckFormat(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "FORMAT")); !strings.Contains(string(b), "2") {
		t.Fatalf("FORMAT %q", b)
	}
	if err := CheckFormat(dir); err != nil {
		t.Fatalf("second check: %v", err)
	}
	// The per-partition layout of format version 1: no FORMAT file.
	old := t.TempDir()
	os.MkdirAll(filepath.Join(old, "group-3-1", "logs", "0102-0"), 0o755)
	err := CheckFormat(old)
	if !errors.Is(err, ErrDataFormat) || !strings.Contains(err.Error(), "format version 1") {
		t.Fatalf("old layout: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "FORMAT"), []byte("skiff data groups format 3\n"), 0o644)
	if err := CheckFormat(dir); !errors.Is(err, ErrDataFormat) {
		t.Fatalf("newer format: %v", err)
	}
}
