package datapath

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// batch builds an uncompressed v2 batch of n records with a valid CRC.
func batch(n int) []byte {
	var recs []byte
	for i := range n {
		r := kmsg.NewRecord()
		r.OffsetDelta = int32(i)
		r.Key = []byte("k")
		r.Value = []byte("value")
		r.Headers = []kmsg.Header{{Key: "h", Value: []byte("v")}}
		// AppendTo writes the Length field first: size it, then encode.
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.NewRecordBatch()
	b.Magic = 2
	b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
	b.LastOffsetDelta = int32(n - 1)
	b.NumRecords = int32(n)
	b.Records = recs
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	return fixCRC(b.AppendTo(nil))
}

func fixCRC(raw []byte) []byte {
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func TestRecordsPrecheck(t *testing.T) {
	good := batch(3)
	if hs, err := grouplog.ParseBatches(good); err != nil || len(hs) != 1 {
		t.Fatalf("test batch does not parse: %v", err)
	}
	cases := []struct {
		name string
		mod  func([]byte) []byte
		want error
	}{
		{"valid", func(b []byte) []byte { return b }, nil},
		{"unknown codec", func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], 7); return fixCRC(b) }, ErrCorruptMessage},
		{"gzip flag on plain data", func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], 1); return fixCRC(b) }, ErrCorruptMessage},
		{"zstd flag on plain data", func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], 4); return fixCRC(b) }, ErrCorruptMessage},
		{"record length past the batch", func(b []byte) []byte { b[61] = 0x7e; return fixCRC(b) }, ErrInvalidRecord},
		{"count larger than records", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 4)
			binary.BigEndian.PutUint32(b[23:], 3)
			return fixCRC(b)
		}, ErrInvalidRecord},
	}
	for _, tc := range cases {
		b := tc.mod(append([]byte(nil), good...))
		err := precheck(b, 1<<20, false)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Acks other than 0, 1 and -1 fail every partition with Kafka's message,
// before the service looks anything up (so a zero Service answers).
func TestRecordsProduceInvalidAcks(t *testing.T) {
	for _, acks := range []int16{0, 1, -1, 2, -2} {
		err := ValidateAcks(acks)
		if valid := acks >= -1 && acks <= 1; valid != (err == nil) {
			t.Errorf("ValidateAcks(%d) = %v", acks, err)
		}
	}
	req := ProduceRequest{Acks: 2, Topics: []ProduceTopic{
		{Name: "a", Partitions: []ProducePartition{{Partition: 0}, {Partition: 1}}},
		{TopicID: TopicID{1}, Partitions: []ProducePartition{{Partition: 3}}},
	}}
	out := (&Service{}).Produce(t.Context(), req)
	if len(out) != 2 || len(out[0].Partitions) != 2 || len(out[1].Partitions) != 1 {
		t.Fatalf("results %+v", out)
	}
	for _, tr := range out {
		for _, pr := range tr.Partitions {
			if !errors.Is(pr.Err, ErrInvalidRequiredAcks) || pr.Err.Error() != "Invalid required acks 2: must be -1, 0 or 1." || pr.BaseOffset != -1 {
				t.Errorf("partition %d: %+v", pr.Partition, pr)
			}
		}
	}
}

// A compacted topic refuses a batch with a keyless record (Kafka's
// LogValidator: INVALID_RECORD); a keyed batch, or a keyless one on a
// delete topic, passes.
func TestRecordsPrecheckCompactedNeedsKey(t *testing.T) {
	keyless := func() []byte {
		r := kmsg.NewRecord()
		r.Key = nil
		r.Value = []byte("v")
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		b := kmsg.NewRecordBatch()
		b.Magic = 2
		b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
		b.NumRecords = 1
		b.Records = r.AppendTo(nil)
		b.Length = int32(len(b.AppendTo(nil)) - 12)
		return fixCRC(b.AppendTo(nil))
	}()
	if err := precheck(keyless, 1<<20, true); !errors.Is(err, ErrInvalidRecord) || !errors.Is(err, errNoKey) {
		t.Errorf("keyless record on a compacted topic: %v, want INVALID_RECORD (%v)", err, errNoKey)
	}
	if err := precheck(keyless, 1<<20, false); err != nil {
		t.Errorf("keyless record on a delete topic: %v", err)
	}
	if err := precheck(batch(3), 1<<20, true); err != nil {
		t.Errorf("keyed records on a compacted topic: %v", err)
	}
}
