package grouplog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestGrouplogParseBatches(t *testing.T) {
	var buf []byte
	var want []kmsg.RecordBatch
	for i, n := range []int{1, 5, 0, 30} {
		b := mkBatch(int64(100*i), n, 10+i, int64(1000*i))
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatal(err)
		}
		want = append(want, rb)
		buf = append(buf, b...)
	}
	hs, err := ParseBatches(buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != len(want) {
		t.Fatalf("%d batches, want %d", len(hs), len(want))
	}
	pos := 0
	for i, h := range hs {
		w := want[i]
		if h.Start != pos || h.Size() != int(w.Length)+12 || h.BaseOffset != w.FirstOffset ||
			h.BatchLength != w.Length || h.PartitionLeaderEpoch != w.PartitionLeaderEpoch || h.Magic != 2 ||
			h.CRC != uint32(w.CRC) || h.Attributes != w.Attributes || h.LastOffsetDelta != w.LastOffsetDelta ||
			h.BaseTimestamp != w.FirstTimestamp || h.MaxTimestamp != w.MaxTimestamp || h.ProducerID != w.ProducerID ||
			h.ProducerEpoch != w.ProducerEpoch || h.BaseSequence != w.FirstSequence || h.RecordCount != w.NumRecords {
			t.Fatalf("batch %d: %+v, kmsg %+v", i, h, w)
		}
		pos = h.End
	}
	if pos != len(buf) {
		t.Fatalf("spans end at %d of %d", pos, len(buf))
	}
	if hs, err := ParseBatches(nil); err != nil || len(hs) != 0 {
		t.Fatalf("empty input: %v, %d", err, len(hs))
	}
}

func TestGrouplogParseBatchesErrors(t *testing.T) {
	good := mkBatch(0, 3, 20, 5)
	resum := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
		return b
	}
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"magic1", mod(func(b []byte) []byte { b[16] = 1; return b }), ErrUnsupportedMagic},
		{"magic0 short", mod(func(b []byte) []byte { b[16] = 0; return b[:30] }), ErrUnsupportedMagic},
		{"crc", mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrCorrupt},
		{"crc field", mod(func(b []byte) []byte { b[18] ^= 1; return b }), ErrCorrupt},
		{"truncated", good[:len(good)-1], ErrCorrupt},
		{"short header", good[:40], ErrCorrupt},
		{"tiny", good[:10], ErrCorrupt},
		{"trailing partial", append(bytes.Clone(good), good[:20]...), ErrCorrupt},
		{"length too small", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 48); return b }), ErrCorrupt},
		{"length negative", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 0x80000000); return b }), ErrCorrupt},
		{"length too big", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], uint32(len(b))); return b }), ErrCorrupt},
		{"count negative", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[57:], 0xffffffff); return resum(b) }), ErrCorrupt},
		{"delta mismatch", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[23:], 5); return resum(b) }), ErrCorrupt},
		{"empty negative delta", mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 0)
			binary.BigEndian.PutUint32(b[23:], 0xffffffff)
			return resum(b)
		}), ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := ParseBatches(c.b); !isErr(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
}

func TestGrouplogBatchRewrite(t *testing.T) {
	b := mkBatch(0, 4, 16, 1_000)
	b[22] |= 3 // lz4 compression bits (attributes low byte), CRC recomputed below
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	orig := mustParse1(t, b)

	SetBaseOffset(b, 1<<40)
	SetPartitionLeaderEpoch(b, 77)
	h := mustParse1(t, b) // CRC still valid: neither field is covered
	if h.BaseOffset != 1<<40 || h.PartitionLeaderEpoch != 77 || h.CRC != orig.CRC {
		t.Fatalf("after rewrite: %+v", h)
	}

	SetLogAppendTime(b, 9_999)
	h = mustParse1(t, b) // CRC recomputed
	if !h.IsLogAppendTime() || h.MaxTimestamp != 9_999 || h.BaseTimestamp != orig.BaseTimestamp ||
		h.Compression() != 3 || h.BaseOffset != 1<<40 || h.RecordCount != 4 {
		t.Fatalf("after SetLogAppendTime: %+v", h)
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if uint32(rb.CRC) != crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)) || rb.Attributes&0x8 == 0 || rb.MaxTimestamp != 9_999 {
		t.Fatalf("kmsg view: %+v", rb)
	}
	if !bytes.Equal(rb.Records, records(4, 16, 1_000)) {
		t.Fatal("records changed")
	}
	// Idempotent, and short or mismatched input is left alone.
	c := bytes.Clone(b)
	SetLogAppendTime(b, 9_999)
	if !bytes.Equal(b, c) {
		t.Fatal("second SetLogAppendTime changed the batch")
	}
	SetLogAppendTime(b[:len(b)-1], 1)
	SetBaseOffset(b[:20], 1)
	SetPartitionLeaderEpoch(b[:20], 1)
	if !bytes.Equal(b, c) {
		t.Fatal("short input modified")
	}
}
