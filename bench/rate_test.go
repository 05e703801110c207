package bench

import (
	"testing"
	"time"
)

func TestBenchParseRate(t *testing.T) {
	for in, want := range map[string]float64{
		"": 0, "0": 0, "2000000": 2e6, "20MB/s": 20e6, "20 MB/s": 20e6, "20MiB": 20 << 20,
		"500KB/s": 500e3, "1.5GB": 1.5e9, "64KiB/s": 64 << 10, "100B/s": 100,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "-1MB", "20XB/s", "MB/s"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q): no error", in)
		}
	}
}

// The pacer holds a producer to its rate: 1 MB at 10 MB/s takes at least
// 100 ms (it may take longer on a busy machine, never less).
func TestBenchPacerHoldsRate(t *testing.T) {
	p := pacer{start: time.Now(), bytesPerSec: 10e6}
	for range 1000 {
		p.wait(1000)
	}
	if el := time.Since(p.start); el < 99*time.Millisecond {
		t.Fatalf("1 MB at 10 MB/s in %v", el)
	}
	free := pacer{start: time.Now()}
	free.wait(1 << 30) // no rate: no wait
	if el := time.Since(free.start); el > time.Second {
		t.Fatalf("an unpaced producer waited %v", el)
	}
}
