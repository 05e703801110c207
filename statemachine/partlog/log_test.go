package partlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

var smallCfg = Config{SegmentBytes: 4096, IndexIntervalBytes: 256}

func openT(t testing.TB, dir string, cfg Config) *Log {
	t.Helper()
	l, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// fill appends count batches of 1..5 records with 10..300-byte values and
// increasing timestamps.
func fill(t testing.TB, l *Log, m *model, count int, rng *rand.Rand) {
	t.Helper()
	for i := 0; i < count; i++ {
		m.add(t, l, 1+rng.IntN(5), 10+rng.IntN(290), int64(1000+10*len(m.batches)))
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	sort.Strings(ms)
	return ms
}

func TestPartlogAppendReadRoll(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	defer l.Close()
	var m model
	rng := rand.New(rand.NewPCG(1, 2))
	fill(t, l, &m, 300, rng)
	// A batch bigger than SegmentBytes goes alone into its own segment.
	m.add(t, l, 2, 5000, 99_999)
	fill(t, l, &m, 5, rng)

	segs := segFiles(t, dir)
	if len(segs) < 10 {
		t.Fatalf("only %d segments", len(segs))
	}
	var total int64
	for _, p := range segs {
		fi, _ := os.Stat(p)
		total += fi.Size()
		if fi.Size() > smallCfg.SegmentBytes {
			b, _ := os.ReadFile(p)
			if hs, err := ParseBatches(b); err != nil || len(hs) != 1 {
				t.Fatalf("oversized segment %s holds %d batches (%v)", p, len(hs), err)
			}
		}
	}
	if total != l.Size() {
		t.Fatalf("Size %d, files %d", l.Size(), total)
	}
	checkLog(t, l, &m, 0)
	// Every offset reads from the batch containing it.
	for off := int64(0); off < m.next(); off++ {
		b, err := l.Read(off, 1)
		if err != nil {
			t.Fatal(err)
		}
		h := mustParse1(t, b)
		if h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("Read(%d) returned batch [%d, %d]", off, h.BaseOffset, h.LastOffset())
		}
	}
}

func TestPartlogReadMaxBytes(t *testing.T) {
	l := openT(t, t.TempDir(), smallCfg)
	defer l.Close()
	var m model
	for i := 0; i < 40; i++ {
		m.add(t, l, 2, 100, int64(i)) // equal-size batches
	}
	sz := len(m.batches[0])
	for _, c := range []struct{ maxBytes, want int }{
		{0, 1}, {1, 1}, {sz - 1, 1}, {sz, 1}, {sz + 1, 1}, {2*sz - 1, 1}, {2 * sz, 2}, {5*sz + 3, 5},
		{1 << 20, 40},
	} {
		b, err := l.Read(0, c.maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := ParseBatches(b)
		if err != nil || len(hs) != c.want {
			t.Fatalf("Read(0, %d): %d batches (%v), want %d", c.maxBytes, len(hs), err, c.want)
		}
		if c.maxBytes >= sz && len(b) > c.maxBytes {
			t.Fatalf("Read(0, %d) returned %d bytes", c.maxBytes, len(b))
		}
	}
	// Across a segment boundary: segments hold 4096/sz batches.
	per := 4096 / sz
	b, _ := l.Read(int64(2*(per-1)), 3*sz)
	if hs, _ := ParseBatches(b); len(hs) != 3 || hs[0].BaseOffset != int64(2*(per-1)) {
		t.Fatalf("read across roll: %d batches", len(hs))
	}
	// Offset inside a batch returns that batch first.
	b, _ = l.Read(5, sz)
	if h := mustParse1(t, b); h.BaseOffset != 4 {
		t.Fatalf("Read(5) starts at %d", h.BaseOffset)
	}
}

func TestPartlogOutOfRange(t *testing.T) {
	l := openT(t, t.TempDir(), smallCfg)
	defer l.Close()
	if b, err := l.Read(0, 100); err != nil || len(b) != 0 {
		t.Fatalf("empty log Read(0): %v, %d", err, len(b))
	}
	var m model
	fill(t, l, &m, 10, rand.New(rand.NewPCG(3, 4)))
	next := l.NextOffset()
	if b, err := l.Read(next, 100); err != nil || len(b) != 0 {
		t.Fatalf("Read(next): %v, %d", err, len(b))
	}
	for _, off := range []int64{-1, next + 1, 1 << 62} {
		if _, err := l.Read(off, 100); !isErr(err, ErrOffsetOutOfRange) {
			t.Fatalf("Read(%d): %v", off, err)
		}
	}
	if err := l.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(2, 100); !isErr(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below start: %v", err)
	}
	if _, err := l.Read(3, 100); err != nil {
		t.Fatal(err)
	}
}

func TestPartlogAppendErrors(t *testing.T) {
	l := openT(t, t.TempDir(), smallCfg)
	b := mkBatch(0, 3, 10, 1)
	h := mustParse1(t, b)
	if err := l.Append(b, h); err != nil {
		t.Fatal(err)
	}
	b2 := mkBatch(0, 3, 10, 1) // base 0, next is 3
	if err := l.Append(b2, h); !isErr(err, ErrOffsetMismatch) {
		t.Fatalf("wrong base: %v", err)
	}
	SetBaseOffset(b2, 3)
	if err := l.Append(b2, BatchHeader{}); !isErr(err, ErrOffsetMismatch) {
		t.Fatalf("wrong header: %v", err)
	}
	if err := l.Append(b2[:50], h); !isErr(err, ErrCorrupt) {
		t.Fatalf("short batch: %v", err)
	}
	if err := l.Append(b2, h); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Append(b2, h); !isErr(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := l.Read(0, 10); !isErr(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

func TestPartlogConcurrentRead(t *testing.T) {
	l := openT(t, t.TempDir(), Config{SegmentBytes: 8192, IndexIntervalBytes: 512})
	defer l.Close()
	var m model
	var next atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads atomic.Int64
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				start, hw := l.StartOffset(), next.Load()
				if hw <= start {
					continue
				}
				off := start + rng.Int64N(hw-start)
				b, err := l.Read(off, 1+rng.IntN(20000))
				if isErr(err, ErrOffsetOutOfRange) {
					continue // retention moved the start meanwhile
				}
				if err != nil {
					t.Error(err)
					return
				}
				hs, err := ParseBatches(b)
				if err != nil || len(hs) == 0 || hs[0].BaseOffset > off || hs[0].LastOffset() < off {
					t.Errorf("Read(%d): %d batches, %v", off, len(hs), err)
					return
				}
				for i := 1; i < len(hs); i++ {
					if hs[i].BaseOffset != hs[i-1].LastOffset()+1 {
						t.Errorf("Read(%d): gap", off)
						return
					}
				}
				l.OffsetForTimestamp(int64(rng.IntN(5000)))
				reads.Add(1)
			}
		}(uint64(r))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1500; i++ {
		m.add(t, l, 1+rng.IntN(5), 10+rng.IntN(290), int64(1000+i))
		next.Store(l.NextOffset())
		if i%300 == 299 {
			if _, err := l.EnforceRetention(0, -1, 100_000); err != nil {
				t.Fatal(err)
			}
		}
	}
	for reads.Load() < 200 && !t.Failed() {
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	checkLog(t, l, &m, l.StartOffset())
}

func TestPartlogReopen(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(7, 8))
	fill(t, l, &m, 200, rng)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, dir, smallCfg)
	checkLog(t, l, &m, 0)
	fill(t, l, &m, 50, rng)
	// Crash-like: no Close, index entries of the active segment not flushed.
	l2 := openT(t, dir, smallCfg)
	checkLog(t, l2, &m, 0)
	l.Close()
	fill(t, l2, &m, 50, rng)
	if err := l2.Sync(); err != nil {
		t.Fatal(err)
	}
	l2.Close()
	// Index files deleted or garbage: rebuilt.
	idx, _ := filepath.Glob(filepath.Join(dir, "*.index"))
	tsx, _ := filepath.Glob(filepath.Join(dir, "*.timeindex"))
	for i, p := range append(idx, tsx...) {
		switch i % 3 {
		case 0:
			os.Remove(p)
		case 1:
			os.WriteFile(p, bytes.Repeat([]byte{0xff, 0, 1}, 7), 0o644)
		case 2:
			os.WriteFile(p, make([]byte, 24), 0o644)
		}
	}
	l3 := openT(t, dir, smallCfg)
	defer l3.Close()
	checkLog(t, l3, &m, 0)
	checkTimestamps(t, l3, &m)
	for off := int64(0); off < m.next(); off += 7 {
		b, err := l3.Read(off, 1)
		if err != nil {
			t.Fatal(err)
		}
		if h := mustParse1(t, b); h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("Read(%d) after index damage: [%d, %d]", off, h.BaseOffset, h.LastOffset())
		}
	}
}

func lastSegment(t testing.TB, dir string) string {
	s := segFiles(t, dir)
	return s[len(s)-1]
}

func TestPartlogTornTail(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(9, 10))
	fill(t, l, &m, 60, rng)
	l.Close()
	seg := lastSegment(t, dir)
	good, _ := os.ReadFile(seg)

	extra := mkBatch(m.next(), 3, 50, 5)
	for name, tail := range map[string][]byte{
		"garbage":       bytes.Repeat([]byte{0xab}, 100),
		"partial":       extra[:len(extra)-5],
		"short header":  extra[:30],
		"zeros":         make([]byte, 4096),
		"bad crc":       append(bytes.Clone(extra[:len(extra)-1]), extra[len(extra)-1]^1),
		"wrong offset":  mkBatch(m.next()+1, 3, 50, 5),
		"valid+partial": append(bytes.Clone(extra), extra[:70]...),
	} {
		os.WriteFile(seg, append(bytes.Clone(good), tail...), 0o644)
		l := openT(t, dir, smallCfg)
		want := &m
		if name == "valid+partial" {
			mm := m
			mm.batches = append(slicesClone(m.batches), extra)
			mm.bases = append(slicesClone(m.bases), m.next())
			mm.lasts = append(slicesClone(m.lasts), m.next()+2)
			want = &mm
		}
		checkLog(t, l, want, 0)
		l.Close()
		fi, _ := os.Stat(seg)
		if name != "valid+partial" && fi.Size() != int64(len(good)) {
			t.Fatalf("%s: file is %d bytes, want %d", name, fi.Size(), len(good))
		}
	}
	// A corrupt last batch (bit flip inside it) is dropped too.
	os.WriteFile(seg, good, 0o644)
	b := bytes.Clone(good)
	b[len(b)-3] ^= 0x40
	os.WriteFile(seg, b, 0o644)
	l = openT(t, dir, smallCfg)
	defer l.Close()
	m.truncate(m.bases[len(m.bases)-1])
	checkLog(t, l, &m, 0)
	// And appending continues at the recovered offset.
	fill(t, l, &m, 5, rng)
	checkLog(t, l, &m, 0)
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func TestPartlogTruncateTo(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(11, 12))
	fill(t, l, &m, 200, rng)
	nsegs := len(segFiles(t, dir))

	// Inside a batch: refused, nothing changes.
	var inside int64 = -1
	for i := range m.bases {
		if m.lasts[i] > m.bases[i] && i > 50 {
			inside = m.bases[i] + 1
			break
		}
	}
	if err := l.TruncateTo(inside); !isErr(err, ErrNotBatchBoundary) {
		t.Fatalf("TruncateTo inside a batch: %v", err)
	}
	if err := l.TruncateTo(m.next() + 1); !isErr(err, ErrOffsetOutOfRange) {
		t.Fatalf("TruncateTo beyond next: %v", err)
	}
	checkLog(t, l, &m, 0)

	// At the end of the active segment: no-op. In the active segment, in a
	// closed segment, exactly at a segment boundary.
	if err := l.TruncateTo(m.next()); err != nil {
		t.Fatal(err)
	}
	cut := func(i int) {
		t.Helper()
		off := m.bases[i]
		if err := l.TruncateTo(off); err != nil {
			t.Fatalf("TruncateTo(%d): %v", off, err)
		}
		m.truncate(off)
		checkLog(t, l, &m, 0)
		checkTimestamps(t, l, &m)
	}
	cut(len(m.bases) - 2)
	cut(150)
	if n := len(segFiles(t, dir)); n >= nsegs {
		t.Fatalf("%d segments after truncation, had %d", n, nsegs)
	}
	segs := segFiles(t, dir)
	base, _ := parseSegName(filepath.Base(segs[len(segs)-1]))
	for i, b := range m.bases {
		if b == base {
			cut(i) // drops the active segment entirely
			break
		}
	}
	fill(t, l, &m, 30, rng)
	checkLog(t, l, &m, 0)
	l.Close()
	l = openT(t, dir, smallCfg)
	checkLog(t, l, &m, 0)
	cut(0)
	if l.Size() != 0 || l.NextOffset() != 0 {
		t.Fatalf("after TruncateTo(0): size %d next %d", l.Size(), l.NextOffset())
	}
	fill(t, l, &m, 30, rng)
	checkLog(t, l, &m, 0)
	l.Close()

	// Below the start offset: the log becomes empty there.
	l = openT(t, dir, smallCfg)
	defer l.Close()
	if err := l.DeleteRecordsBefore(20); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(10); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != 10 || l.NextOffset() != 10 {
		t.Fatalf("start %d next %d", l.StartOffset(), l.NextOffset())
	}
}

func TestPartlogDeleteRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(13, 14))
	fill(t, l, &m, 200, rng)
	n0 := len(segFiles(t, dir))
	mid := m.bases[120] + 1 // inside or at the start of a batch
	if err := l.DeleteRecordsBefore(mid); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteRecordsBefore(5); err != nil || l.StartOffset() != mid {
		t.Fatalf("backwards DeleteRecords: %v, start %d", err, l.StartOffset())
	}
	if err := l.DeleteRecordsBefore(m.next() + 1); !isErr(err, ErrOffsetOutOfRange) {
		t.Fatalf("beyond next: %v", err)
	}
	n1 := len(segFiles(t, dir))
	if n1 >= n0 {
		t.Fatalf("segments %d -> %d", n0, n1)
	}
	checkLog(t, l, &m, mid)
	if b, err := l.Read(mid, 1); err != nil || func() int64 { h := mustParse1(t, b); return h.LastOffset() }() < mid {
		t.Fatalf("Read(start): %v", err)
	}
	l.Close()
	l = openT(t, dir, smallCfg)
	checkLog(t, l, &m, mid)
	if off, _, ok := l.OffsetForTimestamp(0); !ok || off != mid {
		t.Fatalf("OffsetForTimestamp(0) = %d %v, want start %d", off, ok, mid)
	}
	// Everything: the active segment is replaced by an empty one.
	next := m.next()
	if err := l.DeleteRecordsBefore(next); err != nil {
		t.Fatal(err)
	}
	if l.StartOffset() != next || l.Size() != 0 || len(segFiles(t, dir)) != 1 {
		t.Fatalf("start %d size %d segments %d", l.StartOffset(), l.Size(), len(segFiles(t, dir)))
	}
	l.Close()
	l = openT(t, dir, smallCfg)
	defer l.Close()
	if l.StartOffset() != next || l.NextOffset() != next {
		t.Fatalf("reopened: start %d next %d", l.StartOffset(), l.NextOffset())
	}
	m = model{}
	m.bases, m.lasts, m.batches, m.maxTs = []int64{0}, []int64{next - 1}, [][]byte{nil}, []int64{0}
	m.add(t, l, 2, 10, 1)
	checkLog(t, l, &m, next)
}

func TestPartlogRetention(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	defer l.Close()
	var m model
	rng := rand.New(rand.NewPCG(15, 16))
	fill(t, l, &m, 300, rng) // timestamps 1000 + 10*i
	n0 := len(segFiles(t, dir))
	if d, err := l.EnforceRetention(1<<40, -1, -1); err != nil || d != 0 {
		t.Fatalf("infinite retention deleted %d (%v)", d, err)
	}
	// By time: segments whose max timestamp < 2000 go.
	d, err := l.EnforceRetention(3000, 1000, -1)
	if err != nil || d == 0 {
		t.Fatalf("time retention: %d, %v", d, err)
	}
	start := l.StartOffset()
	for i := range m.bases {
		if m.bases[i] < start && m.maxTs[i] >= 2000 {
			t.Fatalf("deleted batch %d with timestamp %d", m.bases[i], m.maxTs[i])
		}
	}
	if first, _, _ := l.OffsetForTimestamp(0); first != start {
		t.Fatalf("start %d, first offset %d", start, first)
	}
	checkLog(t, l, &m, start)
	// By size: never below the limit, never the active segment.
	limit := l.Size() / 2
	d2, err := l.EnforceRetention(3000, -1, limit)
	if err != nil || d2 == 0 || l.Size() < limit {
		t.Fatalf("size retention: %d, %v, size %d limit %d", d2, err, l.Size(), limit)
	}
	if got := len(segFiles(t, dir)); got != n0-d-d2 {
		t.Fatalf("%d segments, want %d", got, n0-d-d2)
	}
	checkLog(t, l, &m, l.StartOffset())
	if _, err := l.EnforceRetention(1<<50, 0, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 1 || l.Size() == 0 {
		t.Fatalf("%d segments left, size %d", n, l.Size())
	}
	checkLog(t, l, &m, l.StartOffset())
}

// checkTimestamps compares OffsetForTimestamp with a brute force over m.
func checkTimestamps(t testing.TB, l *Log, m *model) {
	t.Helper()
	start := l.StartOffset()
	probe := []int64{-5, 0}
	for _, ts := range m.maxTs {
		probe = append(probe, ts-1, ts, ts+1)
	}
	for _, ts := range probe {
		wantOff, wantTs, wantOK := int64(-1), int64(-1), false
		for i := range m.bases {
			if m.lasts[i] >= start && m.maxTs[i] >= ts {
				wantOff, wantTs, wantOK = max(m.bases[i], start), m.maxTs[i], true
				break
			}
		}
		off, bts, ok := l.OffsetForTimestamp(ts)
		if off != wantOff || bts != wantTs || ok != wantOK {
			t.Fatalf("OffsetForTimestamp(%d) = %d %d %v, want %d %d %v", ts, off, bts, ok, wantOff, wantTs, wantOK)
		}
	}
	wantOff, wantTs := int64(-1), int64(-1)
	for i := range m.bases {
		if m.maxTs[i] > wantTs {
			wantOff, wantTs = max(m.bases[i], start), m.maxTs[i]
		}
	}
	if off, ts := l.MaxTimestampOffset(); off != wantOff || ts != wantTs {
		t.Fatalf("MaxTimestampOffset = %d %d, want %d %d", off, ts, wantOff, wantTs)
	}
	if l.MaxTimestamp() != wantTs {
		t.Fatalf("MaxTimestamp = %d, want %d", l.MaxTimestamp(), wantTs)
	}
}

func TestPartlogOffsetForTimestamp(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(17, 18))
	if _, _, ok := l.OffsetForTimestamp(0); ok {
		t.Fatal("empty log found a timestamp")
	}
	if off, ts := l.MaxTimestampOffset(); off != -1 || ts != -1 {
		t.Fatalf("empty MaxTimestampOffset = %d %d", off, ts)
	}
	// Mostly increasing with jitter, a few spikes and stragglers.
	for i := 0; i < 400; i++ {
		ts := int64(10_000 + 20*i + rng.IntN(60) - 30)
		switch {
		case i%97 == 0:
			ts += 5_000
		case i%89 == 0:
			ts = 1
		}
		m.add(t, l, 1+rng.IntN(4), 10+rng.IntN(200), ts)
	}
	checkTimestamps(t, l, &m)
	l.Close()
	l = openT(t, dir, smallCfg)
	defer l.Close()
	checkTimestamps(t, l, &m)
	if err := l.DeleteRecordsBefore(m.bases[100] + 1); err != nil {
		t.Fatal(err)
	}
	checkTimestamps(t, l, &m)
}

func TestPartlogSyncRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p0")
	l := openT(t, dir, smallCfg)
	var m model
	fill(t, l, &m, 100, rand.New(rand.NewPCG(19, 20)))
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil { // nothing to do
		t.Fatal(err)
	}
	// Index files are complete after Sync: reopening needs no rebuild and
	// sees the same.
	l2 := openT(t, dir, smallCfg)
	checkLog(t, l2, &m, 0)
	checkTimestamps(t, l2, &m)
	l2.Close()
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir still there: %v", err)
	}
	if err := l.Sync(); !isErr(err, ErrClosed) {
		t.Fatalf("Sync after Remove: %v", err)
	}
}

func TestPartlogManyIdleLogs(t *testing.T) {
	// Each Log keeps one descriptor (its active segment) whatever its size.
	base := t.TempDir()
	var logs []*Log
	for i := 0; i < 100; i++ {
		l := openT(t, filepath.Join(base, fmt.Sprint(i)), Config{SegmentBytes: 4096, IndexIntervalBytes: 128})
		var m model
		fill(t, l, &m, 10, rand.New(rand.NewPCG(uint64(i), 1)))
		logs = append(logs, l)
	}
	if n := countFDs(t); n >= 0 && n > 100+50 {
		t.Fatalf("%d open descriptors for 100 logs", n)
	}
	for _, l := range logs {
		l.Close()
	}
}

func countFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func TestPartlogIndexDamage(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	rng := rand.New(rand.NewPCG(23, 24))
	fill(t, l, &m, 200, rng)
	l.Close()
	// Well formed (increasing) entries whose positions belong to other
	// batches: lookups must notice and fall back to a scan.
	idx, _ := filepath.Glob(filepath.Join(dir, "*.index"))
	damaged := 0
	for _, p := range idx {
		b, _ := os.ReadFile(p)
		if len(b) < 3*idxEntrySize {
			continue
		}
		es := make([]idxEntry, len(b)/idxEntrySize)
		for i := range es {
			es[i] = decodeIdx(b[i*idxEntrySize:])
		}
		for i := 0; i+1 < len(es); i++ {
			es[i].pos = es[i+1].pos
		}
		es[len(es)-1].rel += 1000 // beyond the segment
		os.WriteFile(p, encodeIdx(nil, es), 0o644)
		damaged++
	}
	if damaged < 3 {
		t.Fatalf("only %d index files damaged", damaged)
	}
	l = openT(t, dir, smallCfg)
	defer l.Close()
	checkLog(t, l, &m, 0)
	for off := int64(0); off < m.next(); off++ {
		b, err := l.Read(off, 1)
		if err != nil {
			t.Fatal(err)
		}
		if h := mustParse1(t, b); h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("Read(%d): [%d, %d]", off, h.BaseOffset, h.LastOffset())
		}
	}
	checkTimestamps(t, l, &m)
	// TruncateTo finds boundaries despite the damage.
	if err := l.TruncateTo(m.bases[77]); err != nil {
		t.Fatal(err)
	}
	m.truncate(m.bases[77])
	checkLog(t, l, &m, 0)
}

func TestPartlogBigAndEmptyBatches(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 1 << 20, IndexIntervalBytes: 1024}
	l := openT(t, dir, cfg)
	var m model
	rng := rand.New(rand.NewPCG(25, 26))
	fill(t, l, &m, 20, rng)
	m.add(t, l, 0, 0, 5_000) // an empty batch still spans one offset
	m.add(t, l, 3, 100_000, 6_000)
	fill(t, l, &m, 3, rng)
	m.add(t, l, 2, 90_000, 7_000) // last, bigger than the scan buffer
	l.Close()
	l = openT(t, dir, cfg)
	checkLog(t, l, &m, 0)
	checkTimestamps(t, l, &m)
	b, err := l.Read(m.bases[21], 10)
	if err != nil || len(b) != len(m.batches[21]) {
		t.Fatalf("big first batch: %d bytes, %v", len(b), err)
	}
	l.Close()
	// Corrupt the middle of the big last batch: recovery drops it.
	seg := lastSegment(t, dir)
	data, _ := os.ReadFile(seg)
	data[len(data)-40_000] ^= 1
	os.WriteFile(seg, data, 0o644)
	l = openT(t, dir, cfg)
	defer l.Close()
	m.truncate(m.bases[len(m.bases)-1])
	checkLog(t, l, &m, 0)
}

func TestPartlogOpenCleansUp(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, smallCfg)
	var m model
	fill(t, l, &m, 30, rand.New(rand.NewPCG(27, 28)))
	l.Close()
	for _, name := range []string{"start-offset.tmp", "00000000000099999999.index", "00000000000099999999.timeindex"} {
		os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "start-offset"), []byte("garbage"), 0o644)
	l = openT(t, dir, smallCfg)
	defer l.Close()
	checkLog(t, l, &m, 0)
	for _, name := range []string{"start-offset.tmp", "00000000000099999999.index", "00000000000099999999.timeindex"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s not removed", name)
		}
	}
}

// TestPartlogCrashRecovery plays the state machine's recovery: Sync, note
// NextOffset, keep appending (rolling segments), lose or scramble what was
// written after the Sync, reopen and TruncateTo the noted offset.
func TestPartlogCrashRecovery(t *testing.T) {
	for _, damage := range []string{"zero tail", "garbage tail", "drop later segments", "zero index"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			l := openT(t, dir, smallCfg)
			var m model
			rng := rand.New(rand.NewPCG(29, 30))
			fill(t, l, &m, 100, rng)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			synced := l.NextOffset()
			syncedSegs := segFiles(t, dir)
			syncedSizes := map[string]int64{}
			for _, p := range syncedSegs {
				fi, _ := os.Stat(p)
				syncedSizes[p] = fi.Size()
			}
			fill(t, l, &m, 40, rng)
			l.Close()
			for _, p := range segFiles(t, dir) {
				fi, _ := os.Stat(p)
				keep, wasThere := syncedSizes[p]
				if !wasThere {
					keep = 0
				}
				switch damage {
				case "zero tail", "garbage tail":
					b, _ := os.ReadFile(p)
					for i := keep; i < fi.Size(); i++ {
						if damage == "zero tail" {
							b[i] = 0
						} else {
							b[i] = byte(rng.IntN(256))
						}
					}
					os.WriteFile(p, b, 0o644)
				case "drop later segments":
					if !wasThere {
						os.Remove(p)
					}
				case "zero index":
					for _, suf := range []string{idxSuffix, tsSuffix} {
						ip := p[:len(p)-len(logSuffix)] + suf
						if b, err := os.ReadFile(ip); err == nil && !wasThere {
							os.WriteFile(ip, make([]byte, len(b)), 0o644)
						}
					}
				}
			}
			l = openT(t, dir, smallCfg)
			defer l.Close()
			if l.NextOffset() < synced {
				t.Fatalf("reopened at %d, synced %d", l.NextOffset(), synced)
			}
			if err := l.TruncateTo(synced); err != nil {
				t.Fatal(err)
			}
			m2 := m
			m2.truncate(synced)
			checkLog(t, l, &m2, 0)
			checkTimestamps(t, l, &m2)
			// Replaying the same appends reproduces the same log.
			for i := len(m2.batches); i < len(m.batches); i++ {
				b := bytes.Clone(m.batches[i])
				if err := l.Append(b, mustParse1(t, b)); err != nil {
					t.Fatal(err)
				}
			}
			checkLog(t, l, &m, 0)
		})
	}
}
