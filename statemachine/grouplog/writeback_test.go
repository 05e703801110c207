package grouplog

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
)

// Appends are written back in the background once WritebackBytes of them
// accumulate, so that Sync (under Dragonboat's apply lock) finds little
// left to flush; the bytes stay readable and Sync still succeeds.
func TestGrouplogWritebackOutsideSync(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sync_file_range is Linux only")
	}
	dir := t.TempDir()
	db, err := pebble.Open(filepath.Join(dir, "state"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := Open(filepath.Join(dir, "segments"), db, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const perBatch = 1000 // records of 64 bytes: ~70 KiB per batch
	var base int64
	for s.appended.Load() < 2*WritebackBytes {
		b := db.NewBatch()
		batch := mkBatch(base, perBatch, 64, 1000)
		if err := s.Append(b, ka, batch, mustParse1(t, batch), 1000, 1<<40, -1); err != nil {
			t.Fatal(err)
		}
		if err := s.Stage(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		b.Close()
		base += perBatch
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.writtenBack.Load() < WritebackBytes {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d appended bytes written back before Sync", s.writtenBack.Load(), s.appended.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if wb, ap := s.writtenBack.Load(), s.appended.Load(); wb > ap {
		t.Fatalf("%d bytes written back, only %d appended", wb, ap)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	data, err := s.Read(ka, base-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := ParseBatches(data); err != nil || len(hs) != 1 || hs[0].LastOffset() != base-1 {
		t.Fatalf("read of the last batch: %+v %v", hs, err)
	}
}
