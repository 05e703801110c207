package grouplog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
)

type testStore struct {
	t   *testing.T
	dir string
	db  *pebble.DB
	s   *Store
}

func openTestStore(t *testing.T, dir string) (*testStore, error) {
	t.Helper()
	db, err := pebble.Open(filepath.Join(dir, "state"), &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "segments"), db, Config{SegmentBytes: 1 << 10})
	if err != nil {
		db.Close()
		return nil, err
	}
	ts := &testStore{t: t, dir: dir, db: db, s: s}
	t.Cleanup(ts.close)
	return ts, nil
}

func (ts *testStore) close() {
	if ts.s != nil {
		ts.s.Close()
		ts.db.Close()
		ts.s = nil
	}
}

// appendBatch appends one n-record batch at base to k and commits.
func (ts *testStore) appendBatch(k Key, base int64, n int) {
	ts.t.Helper()
	b := ts.db.NewIndexedBatch()
	defer b.Close()
	batch := mkBatch(base, n, 20, 1000+base)
	h := mustParse1(ts.t, batch)
	if err := ts.s.Append(b, k, batch, h, 1000, 1<<30, -1); err != nil {
		ts.t.Fatal(err)
	}
	if err := ts.s.Stage(b); err != nil {
		ts.t.Fatal(err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		ts.t.Fatal(err)
	}
}

// waitSpare waits until the preparer has a spare segment ready.
func (ts *testStore) waitSpare() {
	ts.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ts.s.SpareReady() {
		if time.Now().After(deadline) {
			ts.t.Fatal("no spare segment")
		}
		time.Sleep(time.Millisecond)
	}
}

var ka, kb = Key{Topic: [16]byte{1}, Partition: 0}, Key{Topic: [16]byte{2}, Partition: 3}

func TestGrouplogInterleavedReadAndOpen(t *testing.T) {
	dir := t.TempDir()
	ts, err := openTestStore(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 20; i++ {
		ts.waitSpare()
		ts.appendBatch(ka, i*3, 3)
		ts.appendBatch(kb, i, 1)
	}
	if st := ts.s.Stats(); st.Segments < 3 {
		t.Fatalf("%d segments: expected rolls at 1 KiB", st.Segments)
	}
	// Inside a batch: the batch holding offset 4 starts at 3.
	data, err := ts.s.Read(ka, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ParseBatches(data)
	if err != nil || len(hs) != 1 || hs[0].BaseOffset != 3 {
		t.Fatalf("read at 4: %+v %v", hs, err)
	}
	if err := ts.s.Sync(); err != nil {
		t.Fatal(err)
	}
	synced := map[string]int64{}
	files, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	for _, f := range files {
		fi, _ := os.Stat(f)
		synced[f] = fi.Size()
	}
	ts.appendBatch(ka, 60, 3)
	ts.close()
	// Bytes beyond the index (an Update whose batch was lost) are cut.
	ts2, err := openTestStore(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if off, ts := ts2.s.MaxTimestamp(ka, 0); off != 60 || ts != 1062 {
		t.Fatalf("max timestamp %d %d", off, ts)
	}
	ts2.close()
	// Losing the unsynced bytes the index covers is ErrDataLost.
	files, _ = filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	for _, f := range files {
		os.Truncate(f, synced[f])
	}
	if _, err := openTestStore(t, dir); !errors.Is(err, ErrDataLost) {
		t.Fatalf("open after losing synced-later bytes: %v", err)
	}
}
