package datagroup

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

func TestDatagroupProduceOffsets(t *testing.T) {
	h := newHarness(t)
	if h.index != 0 || h.reg.opened != 1 {
		t.Fatalf("fresh open: index %d, registry %+v", h.index, h.reg)
	}
	res := h.apply(
		produce(4, part(k1, cat(plain(3), plain(2))), part(k2, plain(1))),
		produce(4, part(k1, plain(5)), part(k3, cat(plain(1), plain(1)))),
	)
	want := [][]int64{{0, 0}, {5, 0}}
	for i, r := range res {
		for j, p := range r.Parts {
			wantCode(t, p, CodeOK)
			if p.BaseOffset != want[i][j] || p.LogAppendTime != -1 || p.LogStartOffset != 0 {
				t.Fatalf("entry %d part %d: %+v, want base %d", i, j, p, want[i][j])
			}
		}
	}
	for k, wantNext := range map[PartitionKey]int64{k1: 10, k2: 1, k3: 2} {
		if start, hwm := h.sm.Offsets(k); start != 0 || hwm != wantNext {
			t.Fatalf("%v offsets %d %d, want 0 %d", k, start, hwm, wantNext)
		}
	}
	hs := h.readAll(k1, 0)
	if len(hs) != 3 {
		t.Fatalf("%d batches", len(hs))
	}
	for i, base := range []int64{0, 3, 5} {
		if hs[i].BaseOffset != base || hs[i].PartitionLeaderEpoch != 4 || hs[i].IsLogAppendTime() {
			t.Fatalf("batch %d: %+v", i, hs[i])
		}
	}
	// Reading from the middle of a batch returns that batch.
	data, hwm, start, err := h.sm.Read(k1, 4, 1)
	if err != nil || hwm != 10 || start != 0 {
		t.Fatalf("Read(4): %v hwm %d start %d", err, hwm, start)
	}
	if got := mustParse(t, data); len(got) != 1 || got[0].BaseOffset != 3 {
		t.Fatalf("Read(4) gave %+v", got)
	}
	// At the high watermark: nothing, no error. Beyond: out of range.
	if data, _, _, err := h.sm.Read(k1, 10, 100); err != nil || len(data) != 0 {
		t.Fatalf("Read(hwm): %d bytes, %v", len(data), err)
	}
	if _, hwm, _, err := h.sm.Read(k1, 11, 100); !errors.Is(err, ErrOffsetOutOfRange) || hwm != 10 {
		t.Fatalf("Read(hwm+1): %v, hwm %d", err, hwm)
	}
	// Unknown partitions read as empty logs at 0.
	unknown := key(9, 9)
	if data, hwm, start, err := h.sm.Read(unknown, 0, 100); err != nil || data != nil || hwm != 0 || start != 0 {
		t.Fatalf("unknown Read(0): %v", err)
	}
	if _, _, _, err := h.sm.Read(unknown, 1, 100); !errors.Is(err, ErrOffsetOutOfRange) || !errors.Is(err, ErrUnknownPartition) {
		t.Fatalf("unknown Read(1): %v", err)
	}
	if ps := h.sm.Partitions(); len(ps) != 3 || ps[0] != k1 || ps[1] != k2 || ps[2] != k3 {
		t.Fatalf("Partitions = %v", ps)
	}
	r, err := h.sm.Lookup(QueryOffsets{Key: k1})
	if err != nil || r.(OffsetsResult) != (OffsetsResult{LogStart: 0, HWM: 10}) {
		t.Fatalf("QueryOffsets: %v %v", r, err)
	}
	if _, err := h.sm.Lookup(42); !errors.Is(err, ErrUnknownQuery) {
		t.Fatalf("unknown query: %v", err)
	}
	// Timestamps: plain batches have timestamps 1000..1000+n-1.
	if off, ts, ok := h.sm.OffsetForTimestamp(k1, 1003); !ok || off != 5 || ts != 1004 {
		t.Fatalf("OffsetForTimestamp: %d %d %v", off, ts, ok)
	}
	if off, ts := h.sm.MaxTimestamp(k1); off != 5 || ts != 1004 {
		t.Fatalf("MaxTimestamp: %d %d", off, ts)
	}
}

func mustParse(t testing.TB, data []byte) []grouplog.BatchHeader {
	t.Helper()
	hs, err := grouplog.ParseBatches(data)
	if err != nil {
		t.Fatalf("ParseBatches: %v", err)
	}
	return hs
}

func TestDatagroupCommandBytesNotModified(t *testing.T) {
	h := newHarness(t)
	cmd := Encode(produce(2, ProducePart{Key: k1, LogAppendTime: true, Records: cat(plain(2), plain(1))}))
	orig := bytes.Clone(cmd)
	h.index++
	h.applyRaw(sliceEntry(h.index, cmd))
	if !bytes.Equal(cmd, orig) {
		t.Fatal("Update modified the entry's bytes")
	}
}

func TestDatagroupLogAppendTime(t *testing.T) {
	h := newHarness(t)
	c := produce(1, ProducePart{Key: k1, LogAppendTime: true, Records: cat(plain(2), plain(3))})
	c.TimestampMs = 777777
	r := h.one(c)[0]
	wantCode(t, r, CodeOK)
	if r.LogAppendTime != 777777 || r.BaseOffset != 0 {
		t.Fatalf("result %+v", r)
	}
	for _, b := range h.readAll(k1, 0) { // ParseBatches checked the new CRC
		if !b.IsLogAppendTime() || b.MaxTimestamp != 777777 {
			t.Fatalf("batch %+v", b)
		}
	}
}

func TestDatagroupProduceRejects(t *testing.T) {
	h := newHarness(t)
	big := mkBatch(batchSpec{n: 4, valueSize: 300, ts: 1})
	bad := plain(2)
	bad[len(bad)-1] ^= 0xff // CRC no longer matches
	magic := plain(1)
	magic[16] = 1
	empty := plain(0)
	txn := mkBatch(batchSpec{n: 1, ts: 1, attrs: grouplog.AttrTransactional, idem: true, pid: 5, epoch: 0, seq: 0})
	ctrl := mkBatch(batchSpec{n: 1, ts: 1, attrs: grouplog.AttrControl})
	cases := []struct {
		name string
		recs []byte
		max  int32
		want Code
	}{
		{"too large", big, 1000, CodeMessageTooLarge},
		{"too large after a good batch", cat(plain(1), big), 1000, CodeMessageTooLarge},
		{"corrupt crc", bad, 0, CodeCorruptMessage},
		{"good then corrupt", cat(plain(1), bad), 0, CodeCorruptMessage},
		{"trailing partial batch", cat(plain(1), plain(1)[:30]), 0, CodeCorruptMessage},
		{"magic", magic, 0, CodeUnsupportedMagic},
		{"empty batch", empty, 0, CodeInvalidRecord},
		{"no records field", nil, 0, CodeInvalidRecord},
		{"transactional", txn, 0, CodeInvalidRecord},
		{"control", ctrl, 0, CodeInvalidRecord},
	}
	for _, tc := range cases {
		r := h.one(produce(1, ProducePart{Key: k1, MaxMessageBytes: tc.max, Records: tc.recs}, part(k2, plain(1))))
		wantCode(t, r[0], tc.want)
		if r[0].BaseOffset != -1 || r[0].LogStartOffset != -1 {
			t.Fatalf("%s: %+v", tc.name, r[0])
		}
		wantCode(t, r[1], CodeOK) // other parts are independent
	}
	// Nothing was appended to k1 (all or nothing), not even its log made.
	if _, hwm := h.sm.Offsets(k1); hwm != 0 {
		t.Fatalf("k1 hwm %d", hwm)
	}
	if ps := h.sm.Partitions(); len(ps) != 1 || ps[0] != k2 {
		t.Fatalf("partitions %v", ps)
	}
	// The limit is per batch: two batches under it pass.
	small := mkBatch(batchSpec{n: 1, valueSize: 300, ts: 1})
	wantCode(t, h.one(produce(1, ProducePart{Key: k1, MaxMessageBytes: int32(len(small)), Records: cat(small, small)}))[0], CodeOK)
}

func TestDatagroupIdempotentDedupe(t *testing.T) {
	h := newHarness(t)
	const pid = 77
	// An unknown producer may start at any sequence.
	r := h.one(produce(1, part(k1, idem(pid, 0, 100, 3))))[0]
	wantCode(t, r, CodeOK)
	r = h.one(produce(1, part(k1, cat(plain(2), idem(pid, 0, 103, 2)))))[0]
	wantCode(t, r, CodeOK)
	if r.BaseOffset != 3 {
		t.Fatalf("base %d", r.BaseOffset)
	}
	// A retry of the first batch: not appended, original offset.
	r = h.one(produce(1, part(k1, idem(pid, 0, 100, 3))))[0]
	wantCode(t, r, CodeOK)
	if r.BaseOffset != 0 {
		t.Fatalf("duplicate base %d, want 0", r.BaseOffset)
	}
	if _, hwm := h.sm.Offsets(k1); hwm != 7 {
		t.Fatalf("hwm %d after a duplicate", hwm)
	}
	// A duplicate followed by a new batch in one part: the new one is
	// appended, the result is the duplicate's offset.
	r = h.one(produce(1, part(k1, cat(idem(pid, 0, 103, 2), idem(pid, 0, 105, 1)))))[0]
	wantCode(t, r, CodeOK)
	if r.BaseOffset != 5 {
		t.Fatalf("base %d", r.BaseOffset)
	}
	if _, hwm := h.sm.Offsets(k1); hwm != 8 {
		t.Fatalf("hwm %d", hwm)
	}
	// A gap.
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 0, 107, 1))))[0], CodeOutOfOrderSequence)
	// Overlapping but not equal to a recorded batch.
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 0, 104, 2))))[0], CodeOutOfOrderSequence)
	// Only the last 5 batches are remembered.
	for seq := int32(106); seq < 111; seq++ {
		wantCode(t, h.one(produce(1, part(k1, idem(pid, 0, seq, 1))))[0], CodeOK)
	}
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 0, 105, 1))))[0], CodeOutOfOrderSequence)
	if r := h.one(produce(1, part(k1, idem(pid, 0, 106, 1))))[0]; r.Code != CodeOK || r.BaseOffset != 8 {
		t.Fatalf("oldest remembered duplicate: %+v", r)
	}
	// Another producer on the same partition is independent.
	wantCode(t, h.one(produce(1, part(k1, idem(pid+1, 3, 0, 1))))[0], CodeOK)
	// The same producer on another partition too.
	wantCode(t, h.one(produce(1, part(k2, idem(pid, 0, 5, 1))))[0], CodeOK)
	// A rejected part changes nothing, not even the producer state of
	// its valid first batch.
	wantCode(t, h.one(produce(1, part(k1, cat(idem(pid, 0, 111, 1), plain(0)))))[0], CodeInvalidRecord)
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 0, 111, 1))))[0], CodeOK)
}

func TestDatagroupProducerEpochs(t *testing.T) {
	h := newHarness(t)
	const pid = 9
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 2, 0, 5))))[0], CodeOK)
	// Older epoch.
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 1, 5, 1))))[0], CodeInvalidProducerEpoch)
	// Newer epoch must start at 0.
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 3, 5, 1))))[0], CodeOutOfOrderSequence)
	r := h.one(produce(1, part(k1, idem(pid, 3, 0, 2))))[0]
	wantCode(t, r, CodeOK)
	if r.BaseOffset != 5 {
		t.Fatalf("base %d", r.BaseOffset)
	}
	// The old epoch's batches are forgotten: its retry is now fenced.
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 2, 0, 5))))[0], CodeInvalidProducerEpoch)
	// Sequence 0 of the new epoch again is a duplicate.
	if r := h.one(produce(1, part(k1, idem(pid, 3, 0, 2))))[0]; r.Code != CodeOK || r.BaseOffset != 5 {
		t.Fatalf("duplicate after bump: %+v", r)
	}
	wantCode(t, h.one(produce(1, part(k1, idem(pid, 3, 2, 1))))[0], CodeOK)
}

func TestDatagroupSequenceWrap(t *testing.T) {
	if got := incSeq(math.MaxInt32, 1); got != 0 {
		t.Fatalf("incSeq(max, 1) = %d", got)
	}
	if got := incSeq(math.MaxInt32-1, 3); got != 1 {
		t.Fatalf("incSeq(max-1, 3) = %d", got)
	}
	h := newHarness(t)
	wantCode(t, h.one(produce(1, part(k1, idem(1, 0, math.MaxInt32-1, 2))))[0], CodeOK)
	wantCode(t, h.one(produce(1, part(k1, idem(1, 0, 0, 2))))[0], CodeOK)
	// A batch that wraps inside itself.
	wantCode(t, h.one(produce(1, part(k2, idem(1, 0, math.MaxInt32-1, 4))))[0], CodeOK)
	wantCode(t, h.one(produce(1, part(k2, idem(1, 0, 2, 1))))[0], CodeOK)
	if r := h.one(produce(1, part(k2, idem(1, 0, math.MaxInt32-1, 4))))[0]; r.BaseOffset != 0 {
		t.Fatalf("wrapped duplicate: %+v", r)
	}
}

func TestDatagroupEpochHistory(t *testing.T) {
	h := newHarness(t)
	h.one(produce(2, part(k1, plain(3))))  // epoch 2 from 0
	h.one(produce(2, part(k1, plain(1))))  // still 2
	h.one(produce(5, part(k1, plain(2))))  // epoch 5 from 4
	h.one(produce(4, part(k1, plain(1))))  // stale proposer: stays 5
	h.one(produce(7, part(k1, plain(10)))) // epoch 7 from 7
	cases := []struct {
		ask       int32
		epoch     int32
		endOffset int64
	}{{1, -1, -1}, {2, 2, 4}, {3, 2, 4}, {5, 5, 7}, {6, 5, 7}, {7, 7, 17}, {100, 7, 17}}
	for _, c := range cases {
		if e, off := h.sm.EpochEndOffset(k1, c.ask); e != c.epoch || off != c.endOffset {
			t.Fatalf("EpochEndOffset(%d) = %d %d, want %d %d", c.ask, e, off, c.epoch, c.endOffset)
		}
	}
	for _, b := range h.readAll(k1, 0) {
		if b.BaseOffset == 6 && b.PartitionLeaderEpoch != 5 {
			t.Fatalf("stale proposal written with epoch %d", b.PartitionLeaderEpoch)
		}
	}
	if e, off := h.sm.EpochEndOffset(k2, 3); e != -1 || off != -1 {
		t.Fatalf("unknown partition: %d %d", e, off)
	}
	// DeleteRecords trims the history.
	h.one(DeleteRecords{Parts: []DeleteRecordsPart{{Key: k1, Offset: 5}}})
	if e, off := h.sm.EpochEndOffset(k1, 2); e != -1 || off != -1 {
		t.Fatalf("after delete, epoch 2: %d %d", e, off)
	}
	if e, off := h.sm.EpochEndOffset(k1, 5); e != 5 || off != 7 {
		t.Fatalf("after delete, epoch 5: %d %d", e, off)
	}
	h.reopen()
	if e, off := h.sm.EpochEndOffset(k1, 6); e != 5 || off != 7 {
		t.Fatalf("after reopen: %d %d", e, off)
	}
}

func TestDatagroupChanged(t *testing.T) {
	h := newHarness(t)
	ch := h.sm.Changed()
	h.one(DeleteRecords{Parts: []DeleteRecordsPart{{Key: k1, Offset: 0}}})
	select {
	case <-ch:
		t.Fatal("Changed fired without an append")
	default:
	}
	h.one(produce(1, part(k1, plain(1))))
	select {
	case <-ch:
	default:
		t.Fatal("Changed did not fire")
	}
	ch2 := h.sm.Changed()
	if ch2 == ch {
		t.Fatal("Changed channel not replaced")
	}
	h.one(produce(1, part(k1, plain(0)))) // rejected: nothing appended
	select {
	case <-ch2:
		t.Fatal("Changed fired for a rejected produce")
	default:
	}
	h.sm.Close()
	select {
	case <-ch2:
	default:
		t.Fatal("Close did not wake waiters")
	}
}

func TestDatagroupDecodeFailures(t *testing.T) {
	h := newHarness(t)
	h.index++
	res := h.applyRaw(sliceEntry(h.index, []byte{0xde, 0xad, 0xbe, 0xef}))
	if len(res[0].Parts) != 0 {
		t.Fatalf("garbage gave %+v", res[0])
	}
	h.index++
	res = h.applyRaw(sliceEntry(h.index, append(Encode(produce(1, part(k1, plain(1)))), 0)))
	if len(res[0].Parts) != 0 {
		t.Fatalf("trailing byte gave %+v", res[0])
	}
	// An unknown op stops the node: Update fails.
	h.index++
	if _, err := h.sm.Update(sliceEntry(h.index, []byte{FormatVersion, 200})); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("unknown op: %v", err)
	}
	// ... without marking the replica failed: an upgraded binary goes on
	// with its data.
	if _, err := os.Stat(FailedMarker(h.sm.dir)); !os.IsNotExist(err) {
		t.Fatalf("unknown op marked the replica failed: %v", err)
	}
}

// TestDatagroupStorageErrorMarksFailed: an Update that fails on storage
// stops the replica with the FAILED marker, and Open then refuses it (the
// node rebuilds or retires it) instead of failing at the same entry on
// every restart.
func TestDatagroupStorageErrorMarksFailed(t *testing.T) {
	h := newHarness(t)
	h.apply(produce(1, part(k1, plain(1))))
	// Break the group log's files under it: appends fail.
	h.sm.stopReclaimer()
	h.sm.gl.Close()
	h.index++
	if _, err := h.sm.Update(sliceEntry(h.index, Encode(produce(1, part(k1, plain(1)))))); err == nil {
		t.Fatal("Update on closed segment files succeeded")
	}
	if _, err := os.Stat(FailedMarker(h.sm.dir)); err != nil {
		t.Fatalf("no FAILED marker: %v", err)
	}
	h.sm.db.Close()
	h.sm.db = nil
	h.sm = NewFactory(h.dir, h.sm.log, nil)(7, 1).(*StateMachine)
	if _, err := h.sm.Open(nil); err == nil {
		t.Fatal("Open of a replica marked failed succeeded")
	}
}

func TestDatagroupIndexBackwardsPanics(t *testing.T) {
	h := newHarness(t)
	h.apply(produce(1, part(k1, plain(1))))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	h.sm.Update(sliceEntry(h.index, Encode(produce(1, part(k1, plain(1))))))
}

func TestDatagroupClosed(t *testing.T) {
	h := newHarness(t)
	h.one(produce(1, part(k1, plain(1))))
	if err := h.sm.Close(); err != nil {
		t.Fatal(err)
	}
	if h.reg.closed != 1 {
		t.Fatalf("registry %+v", h.reg)
	}
	if _, err := h.sm.Lookup(QueryDigest{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("digest after Close: %v", err)
	}
	if _, err := h.sm.Lookup(QueryOffsets{Key: k1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("offsets after Close: %v", err)
	}
	if _, _, _, err := h.sm.Read(k1, 0, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if start, hwm := h.sm.Offsets(k1); start != 0 || hwm != 0 {
		t.Fatalf("Offsets after Close: %d %d", start, hwm)
	}
	h.sm.EpochEndOffset(k1, 1)
	h.sm.MaxTimestamp(k1)
	h.sm.OffsetForTimestamp(k1, 0)
	if h.sm.Partitions() != nil {
		t.Fatal("Partitions after Close")
	}
	if _, err := h.sm.Update(sliceEntry(100, Encode(produce(1, part(k1, plain(1)))))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Update after Close: %v", err)
	}
	if err := h.sm.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	if err := h.sm.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDatagroupBatchedEntries(t *testing.T) {
	// Many entries in one Update, with a deletion in the middle and the
	// same partition produced to again after it.
	h := newHarness(t)
	res := h.apply(
		produce(1, part(k1, plain(2))),
		produce(1, part(k2, plain(2))),
		DeletePartitions{Keys: []PartitionKey{k1}},
		produce(1, part(k1, plain(1))),
		produce(1, part(k2, plain(1))),
	)
	if res[3].Parts[0].BaseOffset != 0 || res[4].Parts[0].BaseOffset != 2 {
		t.Fatalf("results %+v", res)
	}
	d := h.digest()
	h.reopen()
	if h.index != 5 || h.digest() != d {
		t.Fatalf("reopen: index %d", h.index)
	}
	if _, hwm := h.sm.Offsets(k1); hwm != 1 {
		t.Fatalf("k1 hwm %d", hwm)
	}
}

func sliceEntry(index uint64, cmd []byte) []smEntry {
	return []smEntry{{Index: index, Cmd: cmd}}
}
