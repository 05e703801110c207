package diskspace

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
)

// fakeDisk is an injectable free-space source.
type fakeDisk struct {
	free, total atomic.Uint64
	fail        atomic.Bool
	calls       atomic.Int64
}

func (d *fakeDisk) usage(string) (Usage, error) {
	d.calls.Add(1)
	if d.fail.Load() {
		return Usage{}, errors.New("statfs: input/output error")
	}
	return Usage{Free: d.free.Load(), Total: d.total.Load()}, nil
}

func newFakeGuard(t *testing.T, cfg Config) (*Guard, *fakeDisk, *metrics.Set) {
	t.Helper()
	d := &fakeDisk{}
	d.free.Store(10 << 30)
	d.total.Store(100 << 30)
	set := metrics.NewSet()
	cfg.Dir, cfg.NodeID, cfg.Metrics, cfg.Usage = "/data", 7, set, d.usage
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t))
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, d, set
}

func metricsText(set *metrics.Set) string {
	var b bytes.Buffer
	set.WritePrometheus(&b)
	return b.String()
}

func TestDiskspaceRefusesBelowThresholdAndRecovers(t *testing.T) {
	g, d, set := newFakeGuard(t, Config{MinFreeBytes: 1 << 30, RecheckInterval: time.Nanosecond})
	if err := g.AdmitWrite("Produce"); err != nil {
		t.Fatalf("10 GiB free, 1 GiB minimum: refused: %v", err)
	}
	d.free.Store(512 << 20)
	// Admission reads the last sample: no statfs per request while space is fine.
	calls := d.calls.Load()
	if err := g.AdmitWrite("Produce"); err != nil {
		t.Fatalf("refused before any new sample: %v", err)
	}
	if d.calls.Load() != calls {
		t.Fatal("AdmitWrite measured the disk while admitting")
	}
	if _, err := g.Refresh(); err != nil {
		t.Fatal(err)
	}
	err := g.AdmitWrite("Produce")
	if !errors.Is(err, ErrLowSpace) || !g.Low() {
		t.Fatalf("512 MiB free, 1 GiB minimum: got %v, low %v", err, g.Low())
	}
	if !strings.Contains(err.Error(), "536870912 bytes free") {
		t.Errorf("message lacks the figures: %v", err)
	}
	if err := g.AdmitWrite("OffsetCommit"); !errors.Is(err, ErrLowSpace) {
		t.Fatalf("OffsetCommit admitted while low: %v", err)
	}
	text := metricsText(set)
	for _, want := range []string{
		`skiff_data_dir_free_bytes{node="7"} 536870912`,
		`skiff_data_dir_total_bytes{node="7"} 107374182400`,
		`skiff_data_dir_min_free_bytes{node="7"} 1073741824`,
		`skiff_data_dir_low_space{node="7"} 1`,
		`skiff_writes_refused_low_disk_total{node="7",api="Produce"} 1`,
		`skiff_writes_refused_low_disk_total{node="7",api="OffsetCommit"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	// Space returns: the next write resamples (RecheckInterval) and passes,
	// without waiting for the background loop.
	d.free.Store(2 << 30)
	if err := g.AdmitWrite("Produce"); err != nil {
		t.Fatalf("2 GiB free again: still refused: %v", err)
	}
	if g.Low() || !strings.Contains(metricsText(set), `skiff_data_dir_low_space{node="7"} 0`) {
		t.Fatal("guard still reports low space")
	}
}

func TestDiskspacePercentThreshold(t *testing.T) {
	g, d, _ := newFakeGuard(t, Config{MinFreeBytes: 1 << 30, MinFreePercent: 5})
	d.free.Store(4 << 30) // 4% of 100 GiB: above 1 GiB, below 5%
	if _, err := g.Refresh(); err != nil {
		t.Fatal(err)
	}
	if err := g.AdmitWrite("Produce"); !errors.Is(err, ErrLowSpace) {
		t.Fatalf("4%% free with a 5%% minimum: got %v", err)
	}
	d.free.Store(6 << 30)
	if _, err := g.Refresh(); err != nil {
		t.Fatal(err)
	}
	if err := g.AdmitWrite("Produce"); err != nil {
		t.Fatalf("6%% free with a 5%% minimum: %v", err)
	}
}

func TestDiskspaceZeroThresholdNeverRefuses(t *testing.T) {
	g, d, set := newFakeGuard(t, Config{})
	d.free.Store(0)
	if _, err := g.Refresh(); err != nil {
		t.Fatal(err)
	}
	if err := g.AdmitWrite("Produce"); err != nil {
		t.Fatalf("no threshold: refused: %v", err)
	}
	if !strings.Contains(metricsText(set), `skiff_data_dir_free_bytes{node="7"} 0`) {
		t.Error("free space not reported")
	}
}

func TestDiskspaceFailedSampleKeepsLastState(t *testing.T) {
	g, d, _ := newFakeGuard(t, Config{MinFreeBytes: 1 << 30})
	d.free.Store(1 << 20)
	if _, err := g.Refresh(); err != nil {
		t.Fatal(err)
	}
	d.fail.Store(true)
	if _, err := g.Refresh(); err == nil {
		t.Fatal("failing source: Refresh returned no error")
	}
	if err := g.AdmitWrite("Produce"); !errors.Is(err, ErrLowSpace) {
		t.Fatalf("a failed sample cleared the low state: %v", err)
	}
}

func TestDiskspaceRunSamplesInBackground(t *testing.T) {
	g, d, _ := newFakeGuard(t, Config{MinFreeBytes: 1 << 30, Interval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	d.free.Store(1 << 20)
	deadline := time.Now().Add(10 * time.Second)
	for !g.Low() {
		if time.Now().After(deadline) {
			t.Fatal("background sampling never saw the low disk")
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}

func TestDiskspaceStatfsMeasuresRealDir(t *testing.T) {
	u, err := Statfs(t.TempDir())
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip("no statfs on this platform")
	}
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Free > u.Total {
		t.Fatalf("implausible usage %+v", u)
	}
	if _, err := Statfs("/nonexistent/skiff"); err == nil {
		t.Fatal("statfs of a missing dir succeeded")
	}
}

func TestDiskspaceConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{DefaultConfig(), true},
		{Config{}, true},
		{Config{MinFreePercent: 99.5}, true},
		{Config{MinFreePercent: 100}, false},
		{Config{MinFreePercent: -1}, false},
		{Config{Interval: -time.Second}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", c.cfg, err, c.ok)
		}
	}
	if _, err := New(Config{Metrics: metrics.NewSet()}); err == nil {
		t.Error("New without Dir succeeded")
	}
}
