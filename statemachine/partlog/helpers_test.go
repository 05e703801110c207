package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// records encodes n uncompressed v2 records with valueSize-byte values.
func records(n, valueSize int, seed int64) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // null key
		body = binary.AppendVarint(body, int64(valueSize))
		for j := 0; j < valueSize; j++ {
			body = append(body, byte(seed+int64(i*7+j)))
		}
		body = binary.AppendVarint(body, 0) // headers
		out = binary.AppendVarint(out, int64(len(body)))
		out = append(out, body...)
	}
	return out
}

// mkBatch builds a v2 batch with kmsg.RecordBatch: n records (0 gives an
// empty batch spanning one offset), timestamps firstTs..firstTs+n-1.
func mkBatch(base int64, n, valueSize int, firstTs int64) []byte {
	recs := records(n, valueSize, base+firstTs)
	lod := int32(n - 1)
	if n == 0 {
		lod = 0
	}
	rb := kmsg.RecordBatch{
		FirstOffset:          base,
		Length:               int32(49 + len(recs)),
		PartitionLeaderEpoch: 3,
		Magic:                2,
		LastOffsetDelta:      lod,
		FirstTimestamp:       firstTs,
		MaxTimestamp:         firstTs + int64(max(n-1, 0)),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(n),
		Records:              recs,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func mustParse1(t testing.TB, b []byte) BatchHeader {
	t.Helper()
	hs, err := ParseBatches(b)
	if err != nil || len(hs) != 1 {
		t.Fatalf("ParseBatches: %v (%d batches)", err, len(hs))
	}
	return hs[0]
}

// model is the expected content of a log.
type model struct {
	batches [][]byte
	bases   []int64
	lasts   []int64
	maxTs   []int64
}

func (m *model) next() int64 {
	if len(m.lasts) == 0 {
		return 0
	}
	return m.lasts[len(m.lasts)-1] + 1
}

// add appends a batch of n records (value size vs, first timestamp ts) to
// l at its next offset and records it in m.
func (m *model) add(t testing.TB, l *Log, n, vs int, ts int64) {
	t.Helper()
	b := mkBatch(0, n, vs, ts)
	h := mustParse1(t, b)
	off := l.NextOffset()
	SetBaseOffset(b, off)
	if err := l.Append(b, h); err != nil {
		t.Fatalf("Append at %d: %v", off, err)
	}
	m.batches = append(m.batches, b)
	m.bases = append(m.bases, off)
	m.lasts = append(m.lasts, h.LastOffset()+off)
	m.maxTs = append(m.maxTs, h.MaxTimestamp)
}

// from returns the model's batches starting with the one containing off.
func (m *model) from(off int64) []byte {
	var out []byte
	for i := range m.batches {
		if m.lasts[i] >= off {
			out = append(out, m.batches[i]...)
		}
	}
	return out
}

func (m *model) truncate(next int64) {
	for len(m.bases) > 0 && m.bases[len(m.bases)-1] >= next {
		k := len(m.bases) - 1
		m.batches, m.bases, m.lasts, m.maxTs = m.batches[:k], m.bases[:k], m.lasts[:k], m.maxTs[:k]
	}
}

// readAll reads everything from off with a large budget.
func readAll(t testing.TB, l *Log, off int64) []byte {
	t.Helper()
	var out []byte
	for {
		b, err := l.Read(off, 1<<20)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if len(b) == 0 {
			return out
		}
		hs, err := ParseBatches(b)
		if err != nil {
			t.Fatalf("Read(%d) returned bad batches: %v", off, err)
		}
		out = append(out, b...)
		last := hs[len(hs)-1]
		off = last.LastOffset() + 1
	}
}

// checkLog verifies l's offsets and content against m.
func checkLog(t testing.TB, l *Log, m *model, start int64) {
	t.Helper()
	if got, want := l.NextOffset(), m.next(); got != want {
		t.Fatalf("NextOffset = %d, want %d", got, want)
	}
	if got := l.StartOffset(); got != start {
		t.Fatalf("StartOffset = %d, want %d", got, start)
	}
	if got, want := readAll(t, l, start), m.from(start); !bytes.Equal(got, want) {
		t.Fatalf("content from %d: %d bytes, want %d", start, len(got), len(want))
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }
