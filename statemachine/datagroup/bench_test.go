package datagroup

import (
	"testing"
)

// BenchmarkDatagroupProduce64KiB measures one Update holding one Produce
// entry with a 64 KiB batch (one partition, LogAppendTime, an idempotent
// producer), without fsync.
func BenchmarkDatagroupProduce64KiB(b *testing.B) {
	h := newHarness(b)
	batch := mkBatch(batchSpec{n: 64, valueSize: 1000, ts: 1, idem: true, pid: 1, epoch: 0, seq: 0})
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rb := mkBatch(batchSpec{n: 64, valueSize: 1000, ts: 1, idem: true, pid: 1, epoch: 0, seq: int32(i * 64)})
		cmd := Encode(produce(1, ProducePart{Key: k1, LogAppendTime: true, Records: rb}))
		h.index++
		ents := []smEntry{{Index: h.index, Cmd: cmd}}
		b.StartTimer()
		out, err := h.sm.Update(ents)
		if err != nil {
			b.Fatal(err)
		}
		if r, _ := DecodeResult(out[0].Result.Data); r.Parts[0].Code != CodeOK {
			b.Fatalf("result %+v", r)
		}
	}
}
