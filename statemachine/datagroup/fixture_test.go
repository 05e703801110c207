package datagroup

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

// TestDatagroupSnapshotFixture recovers a committed version-2 snapshot (the
// group-log layout): the stream format, the index and record encodings
// must stay readable. Regenerate with -update only when adding a snapshot
// version (and keep the old fixture).
func TestDatagroupSnapshotFixture(t *testing.T) {
	path := filepath.Join("testdata", "snapshot-v2.bin")
	fresh := newHarness(t)
	fresh.apply(workload()...)
	if *update {
		ctx, err := fresh.sm.PrepareSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := fresh.sm.SaveSnapshot(ctx, &buf, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	if err := h.sm.RecoverFromSnapshot(bytes.NewReader(b), nil); err != nil {
		t.Fatal(err)
	}
	if got, want := h.digest(), fresh.digest(); got != want {
		t.Fatalf("fixture digest %s, want %s", got, want)
	}
	for _, k := range []PartitionKey{k1, k2, k3} {
		if got, want := h.readAll(k, h.startOf(k)), fresh.readAll(k, fresh.startOf(k)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%v: fixture data differs", k)
		}
	}
}

func (h *harness) startOf(k PartitionKey) int64 {
	start, _ := h.sm.Offsets(k)
	return start
}
