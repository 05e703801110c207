package datagroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// segFiles lists the replica's group segment files.
func segFiles(t testing.TB, h *harness) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(h.sm.segsDir(), "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDatagroupRestart(t *testing.T) {
	h := newHarness(t)
	h.apply(
		produce(3, part(k1, cat(plain(2), idem(5, 1, 0, 3)))),
		produce(3, part(k2, plain(4))),
	)
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	h.apply(produce(3, part(k1, idem(5, 1, 3, 1)))) // after the last Sync: still kept
	d := h.digest()
	before := h.readAll(k1, 0)

	h.reopen()
	if h.index != 3 {
		t.Fatalf("applied index %d after reopen", h.index)
	}
	if h.digest() != d {
		t.Fatal("digest changed across restart")
	}
	if got := h.readAll(k1, 0); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("data changed:\n%v\n%v", got, before)
	}
	// Producer state survived: a retry is a duplicate, the next sequence
	// is accepted.
	if r := h.one(produce(3, part(k1, idem(5, 1, 0, 3))))[0]; r.Code != CodeOK || r.BaseOffset != 2 {
		t.Fatalf("duplicate after restart: %+v", r)
	}
	if r := h.one(produce(3, part(k1, idem(5, 1, 4, 1))))[0]; r.Code != CodeOK || r.BaseOffset != 6 {
		t.Fatalf("next sequence after restart: %+v", r)
	}
}

func TestDatagroupRestartTruncatesUnpersistedAppends(t *testing.T) {
	h := newHarness(t)
	h.apply(produce(1, part(k1, plain(3))))
	d := h.digest()
	st := h.sm.Stats()
	h.sm.Close()
	// Simulate an Update whose appends reached the segment but whose pebble
	// batch did not: bytes beyond what the index covers, and a stray file
	// (a spare, or a segment whose first append was lost).
	files := segFiles(t, h)
	var active string
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() == st.Bytes {
			active = f
		}
	}
	if active == "" {
		t.Fatalf("no segment of %d bytes in %v", st.Bytes, files)
	}
	f, err := os.OpenFile(active, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(plain(2))
	f.Write([]byte("torn"))
	f.Close()
	stray := filepath.Join(h.sm.segsDir(), "00000000000000ff.seg")
	os.WriteFile(stray, []byte("junk"), 0o644)
	h.open()
	if _, hwm := h.sm.Offsets(k1); hwm != 3 {
		t.Fatalf("hwm %d after reopen, want 3", hwm)
	}
	if fi, _ := os.Stat(active); fi.Size() != st.Bytes {
		t.Fatalf("segment not cut back: %d bytes, want %d", fi.Size(), st.Bytes)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray segment kept: %v", err)
	}
	if h.digest() != d {
		t.Fatal("digest changed")
	}
	// Re-applying gives offsets from 3 again.
	if r := h.one(produce(1, part(k1, plain(1))))[0]; r.BaseOffset != 3 {
		t.Fatalf("base %d", r.BaseOffset)
	}
}

func TestDatagroupInterruptedRecovery(t *testing.T) {
	h := newHarness(t)
	h.apply(produce(1, part(k1, plain(3))))
	if err := h.sm.db.Set(keyRecovering, nil, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if h.index != 0 || len(h.sm.Partitions()) != 0 {
		t.Fatalf("index %d, partitions %v", h.index, h.sm.Partitions())
	}
	h.apply(produce(1, part(k1, plain(1))))
	if _, hwm := h.sm.Offsets(k1); hwm != 1 {
		t.Fatalf("hwm %d", hwm)
	}
}

// workload is a deterministic mix of every command.
func workload() []Command {
	var cmds []Command
	for i := 0; i < 30; i++ {
		k := []PartitionKey{k1, k2, k3}[i%3]
		cmds = append(cmds, Produce{TimestampMs: int64(1000 * i), LeaderEpoch: int32(i / 10), Parts: []ProducePart{
			{Key: k, SegmentBytes: 600, LogAppendTime: i%2 == 0, Records: cat(plain(1+i%4), idem(int64(i%3), 0, int32(i/3*2), 2))},
			{Key: key(3, int32(i%2)), SegmentBytes: 1 << 20, Records: plain(2)},
		}})
		switch i {
		case 10:
			cmds = append(cmds, DeleteRecords{Parts: []DeleteRecordsPart{{Key: k1, Offset: 5}, {Key: key(8, 8), Offset: 0}}})
		case 20:
			cmds = append(cmds, Retention{NowMs: 100000, Parts: []RetentionPart{{Key: k2, RetentionMs: -1, RetentionBytes: 1000}}})
		case 25:
			cmds = append(cmds, DeletePartitions{Keys: []PartitionKey{key(3, 1)}})
		}
	}
	return cmds
}

func TestDatagroupReplicasAgree(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	cmds := workload()
	a.apply(cmds...)
	// b gets the same entries in different Update batches.
	for i := 0; i < len(cmds); i += 7 {
		b.apply(cmds[i:min(i+7, len(cmds))]...)
	}
	if a.digest() != b.digest() {
		t.Fatal("replicas fed the same entries differ")
	}
	if len(a.sm.gl.LogicalSegments(k1)) < 2 {
		t.Fatal("workload did not roll logical segments")
	}
	// And differ after one more entry on one side.
	a.apply(produce(1, part(k1, plain(1))))
	if a.digest() == b.digest() {
		t.Fatal("digest insensitive to an append")
	}
}

func TestDatagroupSnapshot(t *testing.T) {
	src := newHarness(t)
	src.apply(workload()...)
	ctx, err := src.sm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := src.digest()
	wantData := src.readAll(k1, 5)
	// Writes after PrepareSnapshot are not in the snapshot.
	src.apply(produce(1, part(k1, plain(3))), DeletePartitions{Keys: []PartitionKey{k3}})
	var buf bytes.Buffer
	if err := src.sm.SaveSnapshot(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()

	dst := newHarness(t)
	dst.apply(produce(1, part(key(5, 5), plain(1))), produce(1, part(k1, plain(9)))) // replaced
	if err := dst.sm.RecoverFromSnapshot(bytes.NewReader(append(snap, "trailing framing"...)), nil); err != nil {
		t.Fatal(err)
	}
	if got := dst.digest(); got != want {
		t.Fatal("recovered digest differs")
	}
	if got := dst.readAll(k1, 5); fmt.Sprint(got) != fmt.Sprint(wantData) {
		t.Fatalf("recovered data differs:\n%v\n%v", got, wantData)
	}
	if _, hwm := dst.sm.Offsets(key(5, 5)); hwm != 0 {
		t.Fatal("old partition survived recovery")
	}
	// The recovered replica continues like the source would have.
	dst.reopen()
	if dst.index != uint64(len(workload())) || dst.digest() != want {
		t.Fatalf("reopen after recovery: index %d", dst.index)
	}
	ref := newHarness(t)
	ref.apply(workload()...)
	next := []Command{produce(9, part(k1, idem(0, 0, 20, 2))), produce(9, part(k2, plain(2)))}
	ref.apply(next...)
	dst.index = ref.index - uint64(len(next))
	dst.apply(next...)
	if dst.digest() != ref.digest() {
		t.Fatal("recovered replica diverged on later entries")
	}

	// Garbage and damaged streams are rejected, the state is unchanged;
	// so is a stopped recovery.
	before := dst.digest()
	stopc := make(chan struct{})
	close(stopc)
	if err := dst.sm.RecoverFromSnapshot(bytes.NewReader(snap), stopc); !errors.Is(err, sm.ErrSnapshotStopped) {
		t.Fatalf("stopped recovery: %v", err)
	}
	ctx, err = dst.sm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.sm.SaveSnapshot(ctx, &bytes.Buffer{}, stopc); !errors.Is(err, sm.ErrSnapshotStopped) {
		t.Fatalf("stopped save: %v", err)
	}
	bad := [][]byte{
		nil,
		[]byte("not a snapshot at all"),
		snap[:len(snap)/2],
		snap[:len(snap)-1],
	}
	flipped := bytes.Clone(snap)
	flipped[len(flipped)/2] ^= 1
	bad = append(bad, flipped)
	flipped2 := bytes.Clone(snap)
	flipped2[len(flipped2)-5] ^= 1
	bad = append(bad, flipped2)
	for i, b := range bad {
		if err := dst.sm.RecoverFromSnapshot(bytes.NewReader(b), nil); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("bad stream %d: %v", i, err)
		}
		if dst.digest() != before {
			t.Fatalf("bad stream %d changed the state", i)
		}
	}
}

func TestDatagroupDeleteRecords(t *testing.T) {
	h := newHarness(t)
	h.one(produce(1, part(k1, cat(plain(3), plain(3), plain(3)))))
	rs := h.one(DeleteRecords{Parts: []DeleteRecordsPart{
		{Key: k1, Offset: 4},
		{Key: k2, Offset: 0},
		{Key: k1, Offset: 10},
		{Key: k1, Offset: 2}, // below the start: no change
	}})
	if rs[0] != (PartResult{Code: CodeOK, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: 4}) {
		t.Fatalf("delete: %+v", rs[0])
	}
	wantCode(t, rs[1], CodeUnknownPartition)
	wantCode(t, rs[2], CodeOffsetOutOfRange)
	if rs[2].LogStartOffset != 4 || rs[3].LogStartOffset != 4 {
		t.Fatalf("results %+v", rs)
	}
	if _, _, _, err := h.sm.Read(k1, 3, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below start: %v", err)
	}
	if hs := h.readAll(k1, 4); len(hs) != 2 || hs[0].BaseOffset != 3 {
		t.Fatalf("read from 4: %+v", hs)
	}
	// -1 = high watermark.
	if r := h.one(DeleteRecords{Parts: []DeleteRecordsPart{{Key: k1, Offset: -1}}})[0]; r.LogStartOffset != 9 {
		t.Fatalf("delete to hwm: %+v", r)
	}
	if r := h.one(produce(1, part(k1, plain(1))))[0]; r.BaseOffset != 9 || r.LogStartOffset != 9 {
		t.Fatalf("produce after delete: %+v", r)
	}
	h.reopen()
	if start, hwm := h.sm.Offsets(k1); start != 9 || hwm != 10 {
		t.Fatalf("after reopen: %d %d", start, hwm)
	}
}

func TestDatagroupRetention(t *testing.T) {
	h := newHarness(t)
	// Small segments: each 5-record batch of 10-byte values (~200 bytes)
	// gets its own segment.
	for i := 0; i < 6; i++ {
		b := mkBatch(batchSpec{n: 5, valueSize: 10, ts: int64(1000 * (i + 1))})
		h.one(produce(1, ProducePart{Key: k1, SegmentBytes: 250, Records: b}))
	}
	if n := len(h.sm.gl.LogicalSegments(k1)); n != 6 {
		t.Fatalf("%d logical segments", n)
	}
	rs := h.one(Retention{NowMs: 10000, Parts: []RetentionPart{
		{Key: k1, RetentionMs: 7500, RetentionBytes: -1}, // maxTs < 2500: the first two segments
		{Key: k2, RetentionMs: 1},
	}})
	if rs[0] != (PartResult{Code: CodeOK, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: 10}) {
		t.Fatalf("retention: %+v", rs[0])
	}
	wantCode(t, rs[1], CodeUnknownPartition)
	// By size: 4 segments of one ~146-byte batch remain; deleting one
	// still leaves 300 bytes, deleting two would not.
	r := h.one(Retention{NowMs: 10000, Parts: []RetentionPart{{Key: k1, RetentionMs: -1, RetentionBytes: 300}}})[0]
	if r.LogStartOffset != 15 {
		t.Fatalf("size retention: %+v", r)
	}
	d := h.digest()
	h.reopen()
	if start, hwm := h.sm.Offsets(k1); start != 15 || hwm != 30 || h.digest() != d {
		t.Fatalf("after reopen: %d %d", start, hwm)
	}
}

func TestDatagroupProducerExpiry(t *testing.T) {
	h := newHarness(t)
	c := produce(1, part(k1, idem(4, 0, 0, 1)))
	c.TimestampMs = 1000
	h.one(c)
	h.one(Retention{NowMs: 1000 + ProducerExpirationMs, Parts: []RetentionPart{{Key: k1, RetentionMs: -1, RetentionBytes: -1}}})
	if r := h.one(c)[0]; r.BaseOffset != 0 {
		t.Fatalf("kept state is a duplicate: %+v", r)
	}
	h.one(Retention{NowMs: 1001 + ProducerExpirationMs, Parts: []RetentionPart{{Key: k1, RetentionMs: -1, RetentionBytes: -1}}})
	h.reopen()
	// Forgotten: the retry is appended as a new producer's batch.
	if r := h.one(c)[0]; r.BaseOffset != 1 {
		t.Fatalf("after expiry: %+v", r)
	}
}

func TestDatagroupDeletePartitions(t *testing.T) {
	h := newHarness(t)
	h.one(produce(1, part(k1, idem(1, 0, 0, 2)), part(k2, plain(2))))
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	live := h.sm.Stats().LiveBytes
	rs := h.one(DeletePartitions{Keys: []PartitionKey{k1, k3}})
	wantCode(t, rs[0], CodeOK)
	wantCode(t, rs[1], CodeUnknownPartition)
	if st := h.sm.Stats(); st.LiveBytes >= live || st.LiveBytes <= 0 {
		t.Fatalf("live bytes %d after deleting k1, %d before", st.LiveBytes, live)
	}
	if ps := h.sm.Partitions(); len(ps) != 1 || ps[0] != k2 {
		t.Fatalf("partitions %v", ps)
	}
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if ps := h.sm.Partitions(); len(ps) != 1 || ps[0] != k2 {
		t.Fatalf("partitions after reopen %v", ps)
	}
	// Produced to again, it starts from scratch, producer state included.
	if r := h.one(produce(1, part(k1, idem(1, 0, 0, 2))))[0]; r.BaseOffset != 0 || r.Code != CodeOK {
		t.Fatalf("recreated: %+v", r)
	}
	if _, hwm := h.sm.Offsets(k1); hwm != 2 {
		t.Fatalf("hwm %d", hwm)
	}
}

// TestDatagroupConcurrentReads runs readers, lookups and snapshots against
// Updates (for -race).
func TestDatagroupConcurrentReads(t *testing.T) {
	h := newHarness(t)
	h.one(produce(1, part(k1, plain(1))))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, k := range h.sm.Partitions() {
					_, hwm, start, err := h.sm.Read(k, 0, 1<<16)
					if err != nil && !errors.Is(err, ErrOffsetOutOfRange) {
						t.Errorf("Read: %v", err)
						return
					}
					_ = hwm + start
					h.sm.EpochEndOffset(k, 1)
					h.sm.OffsetForTimestamp(k, 0)
					h.sm.Lookup(QueryOffsets{Key: k})
				}
				select {
				case <-h.sm.Changed():
				case <-stop:
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := h.sm.Lookup(QueryDigest{}); err != nil {
				t.Errorf("digest: %v", err)
			}
		}
	}()
	for i, c := range workload() {
		h.apply(c)
		if i%10 == 0 {
			ctx, err := h.sm.PrepareSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.sm.SaveSnapshot(ctx, &bytes.Buffer{}, nil); err != nil {
					t.Errorf("SaveSnapshot: %v", err)
				}
			}()
		}
	}
	close(stop)
	wg.Wait()
}
