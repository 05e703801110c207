package datagroup

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
	"github.com/skiff-broker/skiff/statemachine/internal/batchtest"
)

// records encodes n uncompressed v2 records with valueSize-byte values.
func records(n, valueSize int, seed int64) []byte { return batchtest.Records(n, valueSize, seed) }

// batchSpec describes a client batch.
type batchSpec struct {
	n, valueSize int
	ts           int64
	pid          int64 // 0 means -1 (not idempotent) unless idem is set
	idem         bool
	epoch        int16
	seq          int32
	attrs        int16
}

// mkBatch builds a v2 batch the way a client would (base offset 0).
func mkBatch(s batchSpec) []byte {
	recs := records(s.n, s.valueSize, s.ts)
	lod := int32(s.n - 1)
	if s.n == 0 {
		lod = 0
	}
	pid, epoch, seq := int64(-1), int16(-1), int32(-1)
	if s.idem {
		pid, epoch, seq = s.pid, s.epoch, s.seq
	}
	rb := kmsg.RecordBatch{
		Length:               int32(49 + len(recs)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           s.attrs,
		LastOffsetDelta:      lod,
		FirstTimestamp:       s.ts,
		MaxTimestamp:         s.ts + int64(max(s.n-1, 0)),
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           int32(s.n),
		Records:              recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// plain is a non-idempotent batch of n records.
func plain(n int) []byte { return mkBatch(batchSpec{n: n, valueSize: 10, ts: 1000}) }

// idem is an idempotent batch of n records.
func idem(pid int64, epoch int16, seq int32, n int) []byte {
	return mkBatch(batchSpec{n: n, valueSize: 8, ts: 2000, pid: pid, idem: true, epoch: epoch, seq: seq})
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func key(topic byte, part int32) PartitionKey {
	var k PartitionKey
	k.Topic[0], k.Topic[15] = topic, topic
	k.Partition = part
	return k
}

var (
	k1 = key(1, 0)
	k2 = key(1, 1)
	k3 = key(2, 0)
)

func part(k PartitionKey, recs []byte) ProducePart {
	return ProducePart{Key: k, MaxMessageBytes: 1 << 20, Records: recs}
}

func produce(epoch int32, parts ...ProducePart) Produce {
	return Produce{TimestampMs: 5000, LeaderEpoch: epoch, Parts: parts}
}

// harness drives one state machine replica.
type harness struct {
	t     testing.TB
	dir   string
	sm    *StateMachine
	index uint64
	reg   *testRegistry
	cfg   grouplog.Config
}

type testRegistry struct{ opened, closed int }

func (r *testRegistry) Opened(uint64, *StateMachine) { r.opened++ }
func (r *testRegistry) Closed(uint64, *StateMachine) { r.closed++ }

func newHarness(t testing.TB) *harness {
	return openHarness(t, t.TempDir())
}

func openHarness(t testing.TB, dir string) *harness {
	return openHarnessConfig(t, dir, grouplog.Config{})
}

func openHarnessConfig(t testing.TB, dir string, cfg grouplog.Config) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, reg: &testRegistry{}, cfg: cfg}
	h.open()
	t.Cleanup(func() { h.sm.Close() })
	return h
}

func (h *harness) open() {
	h.t.Helper()
	h.sm = NewFactoryWithConfig(h.dir, zerolog.Nop(), h.reg, h.cfg)(7, 1).(*StateMachine)
	idx, err := h.sm.Open(nil)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.index = idx
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.sm.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

// apply runs one Update with one entry per command and returns the results.
func (h *harness) apply(cmds ...Command) []Result {
	h.t.Helper()
	ents := make([]sm.Entry, len(cmds))
	for i, c := range cmds {
		h.index++
		ents[i] = sm.Entry{Index: h.index, Cmd: Encode(c)}
	}
	return h.applyRaw(ents)
}

func (h *harness) applyRaw(ents []sm.Entry) []Result {
	h.t.Helper()
	out, err := h.sm.Update(ents)
	if err != nil {
		h.t.Fatalf("Update: %v", err)
	}
	res := make([]Result, len(out))
	for i, e := range out {
		r, err := DecodeResult(e.Result.Data)
		if err != nil {
			h.t.Fatalf("DecodeResult: %v", err)
		}
		if e.Result.Value != uint64(len(r.Parts)) {
			h.t.Fatalf("Result.Value %d, %d parts", e.Result.Value, len(r.Parts))
		}
		res[i] = r
	}
	return res
}

// one applies one command and returns its part results.
func (h *harness) one(c Command) []PartResult {
	h.t.Helper()
	return h.apply(c)[0].Parts
}

func (h *harness) digest() string {
	h.t.Helper()
	d, err := h.sm.Lookup(QueryDigest{})
	if err != nil {
		h.t.Fatalf("digest: %v", err)
	}
	return d.(string)
}

// readAll reads k's batches from offset to the high watermark.
func (h *harness) readAll(k PartitionKey, from int64) []grouplog.BatchHeader {
	h.t.Helper()
	var out []grouplog.BatchHeader
	for {
		data, hwm, _, err := h.sm.Read(k, from, 1<<20)
		if err != nil {
			h.t.Fatalf("Read(%d): %v", from, err)
		}
		if len(data) == 0 {
			if from != hwm {
				h.t.Fatalf("no data at %d below hwm %d", from, hwm)
			}
			return out
		}
		hs, err := grouplog.ParseBatches(data)
		if err != nil {
			h.t.Fatalf("Read(%d) returned bad batches: %v", from, err)
		}
		for i := range hs {
			hs[i].Start, hs[i].End = 0, 0
		}
		out = append(out, hs...)
		from = hs[len(hs)-1].LastOffset() + 1
	}
}

func wantCode(t testing.TB, r PartResult, code Code) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("code %d, want %d (%+v)", r.Code, code, r)
	}
}

type smEntry = sm.Entry
