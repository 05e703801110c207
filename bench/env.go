package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Machine describes where a benchmark ran.
type Machine struct {
	CPUs     int    `json:"cpus"` // runtime.NumCPU, as nproc reports it
	CPUModel string `json:"cpu_model,omitempty"`
	MemGiB   int    `json:"mem_gib,omitempty"`
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
	Go       string `json:"go"`
}

// ThisMachine reads the CPU model and memory size from /proc when there is
// one.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Go: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		m.MemGiB = int((kb + 1<<19) >> 20)
	}
	return m
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m Machine) String() string {
	s := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		s += " (" + m.CPUModel + ")"
	}
	if m.MemGiB > 0 {
		s += fmt.Sprintf(", %d GiB", m.MemGiB)
	}
	return s + fmt.Sprintf(", %s/%s, %s", m.GOOS, m.GOARCH, m.Go)
}

// counterSum sums the Prometheus text samples of metric whose labels
// include kind="<kind>".
func counterSum(r io.Reader, metric, kind string) float64 {
	var sum float64
	label := fmt.Sprintf("kind=%q", kind)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 || !strings.Contains(line[:end], label) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

const proposalsMetric = "skiff_metadata_proposals_total"

// setProposals sums the proposals of kind over in-process metrics sets.
func setProposals(sets []*metrics.Set, kind string) float64 {
	var sum float64
	for _, s := range sets {
		var sb strings.Builder
		s.WritePrometheus(&sb)
		sum += counterSum(strings.NewReader(sb.String()), proposalsMetric, kind)
	}
	return sum
}

// httpProposals sums the proposals of kind over brokers' /metrics
// endpoints (host:port or URLs).
func httpProposals(ctx context.Context, addrs []string, kind string) (float64, error) {
	var sum float64
	for _, a := range addrs {
		url := a
		if !strings.Contains(url, "://") {
			url = "http://" + a
		}
		if !strings.HasSuffix(url, "/metrics") {
			url = strings.TrimSuffix(url, "/") + "/metrics"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return 0, fmt.Errorf("%s: %s", url, resp.Status)
		}
		sum += counterSum(resp.Body, proposalsMetric, kind)
		resp.Body.Close()
	}
	return sum, nil
}

// progress prints a live status line (carriage return, no newline) every
// half second once a phase has run for a while. A nil *progress or one
// with a nil writer prints nothing.
type progress struct {
	w     io.Writer
	after time.Duration

	mu    sync.Mutex
	stop  chan struct{}
	done  chan struct{}
	shown bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, after: 2 * time.Second}
}

// start begins a phase: status() is asked for the text of each update.
func (p *progress) start(label string, status func(elapsed time.Duration) string) {
	if p == nil || p.w == nil {
		return
	}
	p.end()
	p.mu.Lock()
	defer p.mu.Unlock()
	stop, done := make(chan struct{}), make(chan struct{})
	p.stop, p.done = stop, done
	began := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			el := time.Since(began)
			if el < p.after {
				continue
			}
			p.mu.Lock()
			fmt.Fprintf(p.w, "\r\033[K[%s] %5.1fs  %s", label, el.Seconds(), status(el))
			p.shown = true
			p.mu.Unlock()
		}
	}()
}

// end stops the current phase and clears its line.
func (p *progress) end() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop, p.done = nil, nil
	p.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	p.mu.Lock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	p.mu.Unlock()
}
