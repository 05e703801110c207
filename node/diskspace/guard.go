package diskspace

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
)

// ErrLowSpace is what AdmitWrite returns, wrapped with the figures, while
// the data dir is below its threshold.
var ErrLowSpace = errors.New("diskspace: data dir low on free space")

// Guard knows the last measured free space of a data dir and admits or
// refuses writes by it. AdmitWrite reads atomics: the statfs calls happen
// in Run, every Interval, and in a refused write at most every
// RecheckInterval.
type Guard struct {
	cfg   Config
	log   zerolog.Logger
	start time.Time // monotonic base of the *At fields
	m     guardMetrics

	sampling sync.Mutex // one statfs at a time; refused writes TryLock it
	free     atomic.Uint64
	total    atomic.Uint64
	min      atomic.Uint64
	low      atomic.Bool
	failing  atomic.Bool // the last sample failed (logged once)
	disabled bool        // no free-space source on this platform

	sampledAt    atomic.Int64 // since start, ns
	loggedAt     atomic.Int64 // last "still refusing" line, since start, ns
	refused      atomic.Int64 // refusals since the low state began
	refusedInLog atomic.Int64 // refusals already reported in a log line
}

type guardMetrics struct {
	set                    *metrics.Set
	node                   string
	free, total, min, lowG *metrics.Gauge
}

func (m *guardMetrics) refusals(api string) *metrics.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf(`skiff_writes_refused_low_disk_total{node=%q,api=%q}`, m.node, api))
}

// New checks cfg, takes a first sample and returns the guard; Run keeps it
// current. A failing first sample is logged and leaves the guard admitting
// everything until a sample succeeds (refusing every write because the
// measurement failed would be worse).
func New(cfg Config) (*Guard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("diskspace: Dir is required")
	}
	if cfg.Metrics == nil {
		return nil, errors.New("diskspace: a metrics set is required")
	}
	g := &Guard{cfg: cfg, log: cfg.Logger, start: time.Now()}
	node := strconv.FormatUint(cfg.NodeID, 10)
	g.m = guardMetrics{
		set:   cfg.Metrics,
		node:  node,
		free:  cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_data_dir_free_bytes{node=%q}`, node), nil),
		total: cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_data_dir_total_bytes{node=%q}`, node), nil),
		min:   cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_data_dir_min_free_bytes{node=%q}`, node), nil),
		lowG:  cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_data_dir_low_space{node=%q}`, node), nil),
	}
	// The APIs that callers refuse, registered up front so that they read
	// 0 rather than being absent until the first refusal.
	g.m.refusals("Produce")
	g.m.refusals("OffsetCommit")
	if _, err := g.Refresh(); errors.Is(err, errors.ErrUnsupported) {
		g.disabled = true
		g.log.Warn().Err(err).Msg("free space cannot be measured here: writes are never refused for low disk")
	}
	return g, nil
}

// Run samples every Interval until ctx ends.
func (g *Guard) Run(ctx context.Context) {
	if g.disabled {
		return
	}
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = g.Refresh()
		}
	}
}

// Refresh measures the data dir now and returns what it found.
func (g *Guard) Refresh() (Usage, error) {
	g.sampling.Lock()
	defer g.sampling.Unlock()
	return g.sampleLocked()
}

func (g *Guard) sampleLocked() (Usage, error) {
	u, err := g.cfg.Usage(g.cfg.Dir)
	g.sampledAt.Store(int64(time.Since(g.start)))
	if err != nil {
		if !g.failing.Swap(true) && !errors.Is(err, errors.ErrUnsupported) {
			g.log.Warn().Err(err).Str("dir", g.cfg.Dir).Msg("cannot measure free space; keeping the last measurement")
		}
		return u, err
	}
	if g.failing.Swap(false) {
		g.log.Info().Str("dir", g.cfg.Dir).Msg("measuring free space again")
	}
	floor := g.cfg.threshold(u.Total)
	low := u.Free < floor
	g.free.Store(u.Free)
	g.total.Store(u.Total)
	g.min.Store(floor)
	g.m.free.Set(float64(u.Free))
	g.m.total.Set(float64(u.Total))
	g.m.min.Set(float64(floor))
	if low {
		g.m.lowG.Set(1)
	} else {
		g.m.lowG.Set(0)
	}
	switch was := g.low.Swap(low); {
	case low && !was:
		g.refused.Store(0)
		g.refusedInLog.Store(0)
		g.loggedAt.Store(int64(time.Since(g.start)))
		g.log.Warn().Str("dir", g.cfg.Dir).Uint64("free_bytes", u.Free).Uint64("min_free_bytes", floor).
			Msg("data dir low on free space: refusing Produce and OffsetCommit (retriable) until it recovers")
	case !low && was:
		g.log.Info().Str("dir", g.cfg.Dir).Uint64("free_bytes", u.Free).Uint64("min_free_bytes", floor).
			Int64("refused", g.refused.Load()).Msg("free space recovered: accepting writes again")
	}
	return u, nil
}

// AdmitWrite returns nil when this node may grow its data dir, or an error
// wrapping ErrLowSpace; api names the refused request in the metric and the
// log ("Produce", "OffsetCommit"). Callers check before they propose.
func (g *Guard) AdmitWrite(api string) error {
	if !g.low.Load() {
		return nil
	}
	// While refusing, look again now and then so that writes resume as
	// soon as space returns, without waiting for Run's next tick.
	if time.Duration(int64(time.Since(g.start))-g.sampledAt.Load()) >= g.cfg.RecheckInterval && g.sampling.TryLock() {
		_, _ = g.sampleLocked()
		g.sampling.Unlock()
		if !g.low.Load() {
			return nil
		}
	}
	g.m.refusals(api).Inc()
	n := g.refused.Add(1)
	free, floor := g.free.Load(), g.min.Load()
	now := int64(time.Since(g.start))
	if last := g.loggedAt.Load(); time.Duration(now-last) >= g.cfg.LogInterval && g.loggedAt.CompareAndSwap(last, now) {
		g.log.Warn().Str("dir", g.cfg.Dir).Uint64("free_bytes", free).Uint64("min_free_bytes", floor).
			Int64("refused_since_last_line", n-g.refusedInLog.Swap(n)).Str("api", api).
			Msg("still refusing writes: data dir low on free space")
	}
	return fmt.Errorf("%w: %d bytes free in %s, below the minimum of %d (--storage.min.free.bytes/percent)", ErrLowSpace, free, g.cfg.Dir, floor)
}

// Low reports whether writes are being refused.
func (g *Guard) Low() bool { return g.low.Load() }

// Usage is the last successful measurement.
func (g *Guard) Usage() Usage { return Usage{Free: g.free.Load(), Total: g.total.Load()} }
