package partlog

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func BenchmarkPartlogAppend1KiB(b *testing.B) {
	l, err := Open(b.TempDir(), Config{SegmentBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	tmpl := mkBatch(0, 4, 1024/4-12, 1)
	h := mustParse1(b, tmpl)
	batch := bytes.Clone(tmpl)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		SetBaseOffset(batch, l.NextOffset())
		if err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPartlogRead(b *testing.B) {
	l, err := Open(b.TempDir(), Config{SegmentBytes: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	tmpl := mkBatch(0, 4, 1024/4-12, 1)
	h := mustParse1(b, tmpl)
	for i := 0; i < 32<<10; i++ { // ~32 MiB, 4 segments
		SetBaseOffset(tmpl, l.NextOffset())
		if err := l.Append(tmpl, h); err != nil {
			b.Fatal(err)
		}
	}
	next := l.NextOffset()
	rng := rand.New(rand.NewPCG(1, 1))
	const maxBytes = 256 << 10
	b.SetBytes(maxBytes)
	b.ReportAllocs()
	for b.Loop() {
		data, err := l.Read(rng.Int64N(next), maxBytes)
		if err != nil || len(data) == 0 {
			b.Fatal(err)
		}
	}
}
