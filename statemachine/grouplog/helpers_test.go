package grouplog

import (
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

func isErr(err, target error) bool { return errors.Is(err, target) }
