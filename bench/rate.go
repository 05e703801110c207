package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRate reads a produce rate target: a number of bytes per second with
// an optional unit, "/s" optional: "2000000", "20MB/s", "20MiB", "500KB/s".
// KB, MB and GB are powers of 1000; KiB, MiB and GiB powers of 1024.
// "" and "0" mean no target.
func ParseRate(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if t == "" {
		return 0, nil
	}
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("--rate: want bytes per second like 20MB/s or 2000000, got %q", s)
	}
	return v * mult, nil
}

// pacer holds a producer to bytesPerSec from start: wait returns once the
// bytes issued so far (sent included) are due. A zero rate never waits.
type pacer struct {
	start       time.Time
	bytesPerSec float64
	sent        float64
}

func (p *pacer) wait(n int) {
	if p.bytesPerSec <= 0 {
		return
	}
	due := p.start.Add(time.Duration(p.sent / p.bytesPerSec * float64(time.Second)))
	p.sent += float64(n)
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}
