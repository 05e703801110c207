package grouplog

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/statemachine/internal/batchtest"
)

// records encodes n uncompressed v2 records with valueSize-byte values.
func records(n, valueSize int, seed int64) []byte { return batchtest.Records(n, valueSize, seed) }

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
