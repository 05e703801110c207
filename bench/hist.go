package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a lock-free log-linear latency histogram: 64 sub-buckets per
// power of two of nanoseconds, so a percentile is within 1/64 (1.6%) of
// the true value. Record may be called from any goroutine.
type hist struct {
	buckets [64 * 64]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Int64
}

const subBits = 6 // 64 sub-buckets per power of two

func bucketOf(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	e := bits.Len64(ns) - subBits // >= 1
	return e<<subBits | int(ns>>(e-1))&(1<<subBits-1)
}

// lowerBound is the smallest value in bucket i.
func lowerBound(i int) uint64 {
	e := i >> subBits
	if e == 0 {
		return uint64(i)
	}
	m := uint64(i&(1<<subBits-1)) | 1<<subBits
	return m << (e - 1)
}

// Record adds one observation.
func (h *hist) Record(d time.Duration) {
	ns := max(int64(d), 0)
	h.buckets[bucketOf(uint64(ns))].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			break
		}
	}
}

// Quantile returns the value below which a fraction q of the observations
// fall (the middle of its bucket; the exact maximum for q = 1).
func (h *hist) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max.Load())
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			lo, hi := lowerBound(i), lowerBound(i+1)
			v := time.Duration(lo + (hi-lo)/2)
			return min(v, time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *hist) Summary() Latency {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		Count: h.count.Load(),
		P50:   ms(h.Quantile(0.50)),
		P95:   ms(h.Quantile(0.95)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Quantile(1)),
	}
}
