package datagroup

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func sampleCommands() []Command {
	return []Command{
		Produce{TimestampMs: 1700000000000, LeaderEpoch: 3, Parts: []ProducePart{
			{Key: k1, LogAppendTime: true, MaxMessageBytes: 1 << 20, SegmentBytes: 1 << 30, Records: plain(2)},
			{Key: key(9, -1), MaxMessageBytes: -1, SegmentBytes: 0, Records: nil},
		}},
		Produce{TimestampMs: -1},
		DeleteRecords{Parts: []DeleteRecordsPart{{Key: k1, Offset: -1}, {Key: k2, Offset: 1 << 40}}},
		DeleteRecords{},
		Retention{NowMs: 12345, Parts: []RetentionPart{{Key: k3, RetentionMs: -1, RetentionBytes: 1 << 33}}},
		DeletePartitions{Keys: []PartitionKey{k1, k2, k3}},
		DeletePartitions{},
	}
}

func TestDatagroupCodecRoundTrip(t *testing.T) {
	for _, c := range sampleCommands() {
		b := Encode(c)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n%#v\n%#v", got, c)
		}
		// Pointers encode the same.
		ptr := reflect.New(reflect.TypeOf(c))
		ptr.Elem().Set(reflect.ValueOf(c))
		if b2 := Encode(ptr.Interface().(Command)); string(b2) != string(b) {
			t.Fatalf("%T: pointer encodes differently", c)
		}
		// Every strict prefix fails, and so do trailing bytes.
		for i := 0; i < len(b); i++ {
			if _, err := Decode(b[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%T prefix %d: %v", c, i, err)
			}
		}
		if _, err := Decode(append(b[:len(b):len(b)], 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T with a trailing byte: %v", c, err)
		}
	}
	if _, err := Decode([]byte{FormatVersion, 99}); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("unknown op: %v", err)
	}
	if _, err := Decode([]byte{3, byte(OpDeletePartitions), 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad version: %v", err)
	}
	// Format version 1 (no SegmentMs) still decodes, with SegmentMs -1.
	v1 := []byte{1, byte(OpRetention)}
	v1 = binary.AppendVarint(v1, 5000) // NowMs
	v1 = binary.AppendUvarint(v1, 1)
	v1 = append(v1, k1.Topic[:]...)
	v1 = binary.AppendVarint(v1, int64(k1.Partition))
	v1 = binary.AppendVarint(v1, 100)
	v1 = binary.AppendVarint(v1, -1)
	got1, err := Decode(v1)
	if err != nil || !reflect.DeepEqual(got1, Retention{NowMs: 5000, Parts: []RetentionPart{
		{Key: k1, RetentionMs: 100, RetentionBytes: -1, SegmentMs: -1}}}) {
		t.Fatalf("version 1 retention: %+v %v", got1, err)
	}
	// A huge count does not allocate.
	if _, err := Decode([]byte{FormatVersion, byte(OpDeletePartitions), 0xff, 0xff, 0xff, 0xff, 0x0f}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge count: %v", err)
	}

	res := Result{Parts: []PartResult{
		{Code: CodeOK, BaseOffset: 10, LogAppendTime: -1, LogStartOffset: 0},
		{Code: CodeOutOfOrderSequence, BaseOffset: -1, LogAppendTime: 99, LogStartOffset: 7},
	}}
	got, err := DecodeResult(EncodeResult(res))
	if err != nil || !reflect.DeepEqual(got, res) {
		t.Fatalf("result round trip: %+v %v", got, err)
	}
	if got, err := DecodeResult(EncodeResult(Result{})); err != nil || got.Parts != nil {
		t.Fatalf("empty result: %+v %v", got, err)
	}
	if _, err := DecodeResult(append(EncodeResult(res), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("result trailing byte: %v", err)
	}
}

// FuzzDatagroupDecode: Decode and DecodeResult never panic, and whatever
// decodes re-encodes to bytes that decode to an equal value.
func FuzzDatagroupDecode(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(Encode(c))
	}
	f.Add(EncodeResult(Result{Parts: []PartResult{{Code: 3, BaseOffset: 5}}}))
	f.Add([]byte{})
	f.Add([]byte{FormatVersion, byte(OpProduce), 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeResult(b); err == nil {
			r2, err := DecodeResult(EncodeResult(r))
			if err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("result re-decode: %v\n%#v\n%#v", err, r, r2)
			}
		}
		c, err := Decode(b)
		if err != nil {
			if c != nil {
				t.Fatalf("command %#v with error %v", c, err)
			}
			return
		}
		c2, err := Decode(Encode(c))
		if err != nil {
			t.Fatalf("re-encoded %#v does not decode: %v", c, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-decoded command differs:\n%#v\n%#v", c, c2)
		}
	})
}
