package statemachine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/skiff-broker/skiff/statemachine/internal/snapio"
)

// workload is a deterministic mix of every command type.
func workload() []Command {
	var cmds []Command
	for _, id := range []int32{3, 1, 2, 4} {
		cmds = append(cmds, RegisterBroker{ID: id, KafkaAddr: "127.0.0.1:9092", Rack: "r", Incarnation: uint64(id)})
	}
	cmds = append(cmds,
		Batch{Cmds: append(createBatch("orders", tid(1), 6, []int32{1, 2, 3, 4}, 3),
			createBatch("logs", tid(2), 3, []int32{1, 2, 3}, 2)...)},
		Heartbeat{ID: 1, Incarnation: 1},
		Heartbeat{ID: 2, Incarnation: 2},
		FenceBroker{ID: 4, IfHeartbeats: 1},
		SetLeader{Topic: tid(1), Partition: 2, Leader: 4, LeaderEpoch: 1, IfEpoch: 0},
		SetISR{Topic: tid(1), Partition: 2, ISR: []int32{4, 1}, IfEpoch: 1},
		AlterConfigs{Topic: tid(2), Set: []ConfigEntry{{"retention.ms", "1000"}}},
		Batch{Cmds: append([]Command{AddPartitions{Topic: tid(2), ExpectCount: 3, NewCount: 5}},
			partitionCmds(tid(2), 3, 5, []int32{2, 3, 4}, 2)...)},
		Batch{Cmds: createBatch("tmp", tid(3), 2, []int32{1, 2}, 2)},
		DeleteTopic{Name: "tmp"},
		Batch{Cmds: createBatch("__consumer_offsets", tid(4), 3, []int32{1, 2, 3}, 3)},
	)
	return cmds
}

func applyAll(h *harness, cmds []Command) {
	for _, c := range cmds {
		h.apply(c)
	}
}

func TestSMReopenRestoresState(t *testing.T) {
	h := newHarness(t)
	applyAll(h, workload())
	view, digest, index := h.all(), h.digest(), h.index
	brokers, groups := h.lookup(QueryBrokers{}), h.groups()
	if digest.Index != index || digest.Topics != 3 {
		t.Fatalf("digest %+v, index %d", digest, index)
	}
	if err := h.sm.Sync(); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	if h.index != index {
		t.Fatalf("Open returned %d, want %d", h.index, index)
	}
	if v := h.all(); !reflect.DeepEqual(v, view) {
		t.Fatalf("view after reopen differs:\n%+v\n%+v", v, view)
	}
	if d := h.digest(); d != digest {
		t.Fatalf("digest after reopen %+v, want %+v", d, digest)
	}
	if b := h.lookup(QueryBrokers{}); !reflect.DeepEqual(b, brokers) {
		t.Fatal("brokers after reopen differ")
	}
	if g := h.groups(); !reflect.DeepEqual(g, groups) {
		t.Fatal("groups after reopen differ")
	}
	// Applying continues from the persisted index.
	if c := h.apply(Heartbeat{ID: 1, Incarnation: 1}); c[0] != CodeOK {
		t.Fatalf("heartbeat after reopen: %v", c)
	}
}

// TestSMReplicasAgree: two replicas applying the same entries, batched
// differently into Update calls, end with equal digests and views.
func TestSMReplicasAgree(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	cmds := workload()
	applyAll(a, cmds)
	b.update(b.entries(cmds...))
	da, db := a.digest(), b.digest()
	if da != db {
		t.Fatalf("digests differ: %+v %+v", da, db)
	}
	if !reflect.DeepEqual(a.all(), b.all()) {
		t.Fatal("views differ")
	}
	if !reflect.DeepEqual(a.lookup(QueryBrokers{}), b.lookup(QueryBrokers{})) {
		t.Fatal("brokers differ")
	}
}

func saveSnapshot(t testing.TB, h *harness) []byte {
	t.Helper()
	ctx, err := h.sm.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := h.sm.SaveSnapshot(ctx, &buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSMSnapshotRecover(t *testing.T) {
	src := newHarness(t)
	applyAll(src, workload())
	snap := saveSnapshot(t, src)
	// Updates after PrepareSnapshot do not leak into the stream.
	ctx, _ := src.sm.PrepareSnapshot()
	src.apply(DeleteTopic{Name: "orders"})
	var later bytes.Buffer
	if err := src.sm.SaveSnapshot(ctx, &later, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(later.Bytes(), snap) {
		t.Fatal("snapshot is not a point-in-time, deterministic stream")
	}
	src.apply(CreateTopic{Name: "orders", ID: tid(1), PartitionCount: 6}) // differs from the snapshot now

	dst := newHarness(t)
	dst.apply(CreateTopic{Name: "other", ID: tid(9), PartitionCount: 2})
	dst.apply(RegisterBroker{ID: 9})
	if err := dst.sm.RecoverFromSnapshot(bytes.NewReader(snap), nil); err != nil {
		t.Fatal(err)
	}
	fresh := newHarness(t)
	applyAll(fresh, workload())
	want := fresh.digest()
	if got := dst.digest(); got != want {
		t.Fatalf("recovered digest %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(dst.all(), fresh.all()) || !reflect.DeepEqual(dst.lookup(QueryBrokers{}), fresh.lookup(QueryBrokers{})) {
		t.Fatal("recovered state differs")
	}
	// The recovered state is on disk, with its applied index.
	dst.reopen()
	if dst.index != fresh.index || dst.digest() != want {
		t.Fatalf("after reopen: index %d digest %+v", dst.index, dst.digest())
	}
	// And the replica keeps applying from there.
	dst.apply(CreateTopic{Name: "new", ID: tid(50), PartitionCount: 1})
	fresh.apply(CreateTopic{Name: "new", ID: tid(50), PartitionCount: 1})
	if dst.digest() != fresh.digest() {
		t.Fatal("digests diverge after recovery")
	}
}

func TestSMSnapshotRejectsBadStreams(t *testing.T) {
	src := newHarness(t)
	applyAll(src, workload())
	snap := saveSnapshot(t, src)

	dst := newHarness(t)
	dst.apply(CreateTopic{Name: "keep", ID: tid(9), PartitionCount: 2})
	before := dst.digest()

	flip := func(i int) []byte {
		b := bytes.Clone(snap)
		b[i] ^= 0x40
		return b
	}
	badVersion := bytes.Clone(snap)
	badVersion[8] = 2
	cases := map[string][]byte{
		"empty":        nil,
		"magic":        flip(0),
		"version":      badVersion,
		"record byte":  flip(len(snap) / 2),
		"count":        flip(len(snap) - 33),
		"checksum":     flip(len(snap) - 1),
		"no checksum":  snap[:len(snap)-32],
		"half":         snap[:len(snap)/2],
		"header only":  snap[:12],
		"garbage tail": append(snap[:20:20], bytes.Repeat([]byte{0xff}, 64)...),
	}
	for i := 0; i < len(snap); i += 7 {
		cases["truncated"+string(rune('a'+i%26))] = snap[:i]
	}
	for name, b := range cases {
		err := dst.sm.RecoverFromSnapshot(bytes.NewReader(b), nil)
		if !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if got := dst.digest(); got != before {
		t.Fatal("a rejected snapshot changed the state")
	}
	// A well-formed stream whose records are not valid state is rejected too.
	var buf bytes.Buffer
	err := writeSnapshot(snapio.Source([]snapio.KV{{K: []byte("t\x00bogus"), V: []byte{1, 2}}}), &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.sm.RecoverFromSnapshot(&buf, nil); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("bad record: %v", err)
	}
	if got := dst.digest(); got != before {
		t.Fatal("a rejected snapshot changed the state")
	}
}

func TestSMSnapshotStopped(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 300; i++ {
		h.apply(RegisterBroker{ID: int32(i)})
	}
	stopc := make(chan struct{})
	close(stopc)
	ctx, _ := h.sm.PrepareSnapshot()
	if err := h.sm.SaveSnapshot(ctx, &bytes.Buffer{}, stopc); err != dbsm.ErrSnapshotStopped {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	snap := saveSnapshot(t, h)
	if err := h.sm.RecoverFromSnapshot(bytes.NewReader(snap), stopc); err != dbsm.ErrSnapshotStopped {
		t.Fatalf("RecoverFromSnapshot: %v", err)
	}
}

// TestSMSnapshotFixture recovers a committed v1 snapshot: the stream format
// and the record encodings must stay readable. Regenerate with -update
// only when adding a format version (and keep the old fixture).
func TestSMSnapshotFixture(t *testing.T) {
	path := filepath.Join("testdata", "snapshot-v1.bin")
	fresh := newHarness(t)
	applyAll(fresh, workload())
	if *update {
		if err := os.WriteFile(path, saveSnapshot(t, fresh), 0o644); err != nil {
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
		t.Fatalf("fixture digest %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(h.all(), fresh.all()) {
		t.Fatal("fixture view differs")
	}
}

func TestSMOpenRejectsCorruptStore(t *testing.T) {
	h := newHarness(t)
	h.apply(CreateTopic{Name: "a", ID: tid(1), PartitionCount: 1})
	if err := h.sm.db.Set([]byte("zz"), []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := h.sm.Close(); err != nil {
		t.Fatal(err)
	}
	sm := NewFactory(h.dir, h.sm.log)(1, 1)
	if _, err := sm.Open(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Open: %v", err)
	}
}
