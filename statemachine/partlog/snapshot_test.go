package partlog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func segLayout(t testing.TB, dir string) []string {
	var out []string
	for _, p := range segFiles(t, dir) {
		fi, _ := os.Stat(p)
		out = append(out, fmt.Sprintf("%s:%d", filepath.Base(p), fi.Size()))
	}
	return out
}

// File creation is slow on some disks (~1 ms here): bigger segments keep
// the many Restore calls below quick.
var snapCfg = Config{SegmentBytes: 16 << 10, IndexIntervalBytes: 256}

func TestPartlogSnapshotRoundTrip(t *testing.T) {
	src := t.TempDir()
	l := openT(t, src, snapCfg)
	defer l.Close()
	var m model
	rng := rand.New(rand.NewPCG(21, 22))
	fill(t, l, &m, 250, rng)
	if err := l.DeleteRecordsBefore(m.bases[60] + 1); err != nil {
		t.Fatal(err)
	}
	// Capture, then keep appending: the view is unaffected.
	v, err := l.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	snapModel := m
	fill(t, l, &m, 20, rng)
	var buf bytes.Buffer
	if _, err := v.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	v.Close()
	stream := bytes.Clone(buf.Bytes())
	buf.WriteString("next stream") // Restore must read exactly its bytes

	dst := filepath.Join(t.TempDir(), "p")
	os.MkdirAll(dst, 0o755)
	os.WriteFile(filepath.Join(dst, "00000000000000000000.log"), []byte("old data"), 0o644)
	r := bufio.NewReader(&buf)
	l2, err := Restore(dst, snapCfg, r)
	if err != nil {
		t.Fatal(err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "next stream" {
		t.Fatalf("Restore left %q", rest)
	}
	start := l.StartOffset()
	checkLog(t, l2, &snapModel, start)
	checkTimestamps(t, l2, &snapModel)
	// The restored log continues like the source: appending the same batches
	// gives identical files.
	for i := len(snapModel.batches); i < len(m.batches); i++ {
		bt := bytes.Clone(m.batches[i])
		if err := l2.Append(bt, mustParse1(t, bt)); err != nil {
			t.Fatal(err)
		}
	}
	checkLog(t, l2, &m, start)
	// Same segment boundaries and sizes as the source, from the start
	// offset's segment on.
	a, b := segLayout(t, src), segLayout(t, dst)
	if len(b) < 2 || len(b) > len(a) || !slices.Equal(a[len(a)-len(b):], b) {
		t.Fatalf("layouts differ:\n%v\n%v", a, b)
	}
	l2.Close()
	l3 := openT(t, dst, snapCfg)
	checkLog(t, l3, &m, start)
	l3.Close()

	// Empty log round trip.
	e := openT(t, t.TempDir(), snapCfg)
	var eb bytes.Buffer
	if err := e.WriteSnapshot(&eb); err != nil {
		t.Fatal(err)
	}
	e.Close()
	le, err := Restore(filepath.Join(t.TempDir(), "e"), snapCfg, &eb)
	if err != nil {
		t.Fatal(err)
	}
	if le.NextOffset() != 0 || le.Size() != 0 {
		t.Fatalf("empty restore: next %d size %d", le.NextOffset(), le.Size())
	}
	le.Close()

	// Garbage: every truncation and many bit flips are rejected and leave
	// the target untouched.
	before := readAll(t, l3reopen(t, dst), start)
	steps := []int{0, 1, 8, 12, 31, 32, 40, 48, 60, 100}
	for k := 200; k < len(stream); k += len(stream) / 40 {
		steps = append(steps, k)
	}
	steps = append(steps, len(stream)-4, len(stream)-1)
	for _, n := range steps {
		if _, err := Restore(dst, snapCfg, bytes.NewReader(stream[:n])); !isErr(err, ErrBadSnapshot) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	for i := 0; i < 40; i++ {
		bad := bytes.Clone(stream)
		pos := rng.IntN(len(bad))
		bad[pos] ^= byte(1 << rng.IntN(8))
		if _, err := Restore(dst, snapCfg, bytes.NewReader(bad)); !isErr(err, ErrBadSnapshot) {
			t.Fatalf("bit flip at %d: %v", pos, err)
		}
	}
	if after := readAll(t, l3reopen(t, dst), start); !bytes.Equal(before, after) {
		t.Fatal("failed restores changed the directory")
	}
	if _, err := os.Stat(dst + ".restore.tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary directory left: %v", err)
	}
}

func l3reopen(t testing.TB, dir string) *Log {
	l := openT(t, dir, snapCfg)
	t.Cleanup(func() { l.Close() })
	return l
}
