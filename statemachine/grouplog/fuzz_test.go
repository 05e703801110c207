package grouplog

import (
	"bytes"
	"testing"
)

func FuzzGrouplogParseBatches(f *testing.F) {
	one := mkBatch(0, 3, 20, 1_000)
	two := append(mkBatch(5, 1, 0, 7), mkBatch(6, 10, 3, 8)...)
	lat := mkBatch(9, 2, 5, 1)
	SetLogAppendTime(lat, 12345)
	f.Add(one)
	f.Add(two)
	f.Add(lat)
	f.Add(mkBatch(0, 0, 0, 0))
	f.Add(one[:len(one)-1])
	f.Add(one[:20])
	f.Add([]byte{})
	bad := bytes.Clone(one)
	bad[16] = 1
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		hs, err := ParseBatches(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("ParseBatches modified its input")
		}
		if err != nil {
			if hs != nil {
				t.Fatal("headers returned with an error")
			}
			return
		}
		pos := 0
		for _, h := range hs {
			if h.Start != pos || h.End <= h.Start || h.End > len(b) || h.Magic != 2 || h.RecordCount < 0 {
				t.Fatalf("bad span or header %+v", h)
			}
			pos = h.End
			one := bytes.Clone(b[h.Start:h.End])
			SetBaseOffset(one, 42)
			SetPartitionLeaderEpoch(one, 7)
			SetLogAppendTime(one, 99)
			g := mustParse1(t, one)
			if g.BaseOffset != 42 || g.PartitionLeaderEpoch != 7 || g.MaxTimestamp != 99 || !g.IsLogAppendTime() ||
				g.RecordCount != h.RecordCount || g.BaseTimestamp != h.BaseTimestamp {
				t.Fatalf("rewrite: %+v from %+v", g, h)
			}
		}
		if pos != len(b) {
			t.Fatalf("spans cover %d of %d bytes", pos, len(b))
		}
		// Setters never panic on arbitrary input.
		c := bytes.Clone(b)
		SetBaseOffset(c, 1)
		SetPartitionLeaderEpoch(c, 1)
		SetLogAppendTime(c, 1)
	})
}
