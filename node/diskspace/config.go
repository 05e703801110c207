// Package diskspace watches the free space of a node's data directory and
// refuses, before they are proposed, the writes that would grow it once it
// runs low.
//
// Why before proposing: a data group applies Produce batches inside
// Dragonboat's Update on every replica. A write that fails there (ENOSPC)
// fails on every replica at the same entry and stops them all, again at
// every restart. Refusing at the proposer with a retriable error keeps the
// cluster up; clients retry, and the writes go through once space returns
// (retention, DeleteRecords, an operator freeing or growing the disk).
//
// Only the proposer can refuse: a follower must apply what its group
// committed, however little space it has. So the threshold must leave
// headroom for what the node's followers keep writing between two samples
// and for groups this node follows but does not lead: keep it well above
// a few seconds of the cluster's write rate, and alert on
// skiff_data_dir_free_bytes of every node.
package diskspace

import (
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
)

// Usage is the space of the file system that holds a directory.
type Usage struct {
	Free  uint64 // bytes an unprivileged writer may still use (statfs f_bavail)
	Total uint64 // size of the file system
}

// Config configures a Guard. Dir, NodeID, Logger and Metrics are filled by
// the broker; the zero thresholds watch and report without ever refusing.
type Config struct {
	// MinFreeBytes: writes are refused while the data dir's file system
	// has less free space than this (--storage.min.free.bytes).
	MinFreeBytes uint64
	// MinFreePercent: ... or less than this percentage of its size,
	// whichever is larger (--storage.min.free.percent). 0 disables it.
	MinFreePercent float64
	// Interval is how often free space is sampled in the background
	// (default 1 s). While low, a refused write also resamples, at most
	// every RecheckInterval, so that writes resume promptly.
	Interval        time.Duration
	RecheckInterval time.Duration // default 100 ms
	// LogInterval is the least time between two "still refusing" log lines
	// (default 10 s); entering and leaving the low state always log.
	LogInterval time.Duration
	// Usage measures Dir (default: statfs). Tests inject their own.
	Usage func(dir string) (Usage, error)

	Dir     string // the data directory
	NodeID  uint64 // metric label
	Logger  zerolog.Logger
	Metrics *metrics.Set
}

// DefaultMinFreeBytes is the default of --storage.min.free.bytes.
const DefaultMinFreeBytes = 1 << 30

// DefaultConfig returns the defaults of the skiff binary: refuse below
// 1 GiB free.
func DefaultConfig() Config {
	return Config{
		MinFreeBytes:    DefaultMinFreeBytes,
		Interval:        time.Second,
		RecheckInterval: 100 * time.Millisecond,
		LogInterval:     10 * time.Second,
		Logger:          zerolog.Nop(),
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.RecheckInterval == 0 {
		c.RecheckInterval = d.RecheckInterval
	}
	if c.LogInterval == 0 {
		c.LogInterval = d.LogInterval
	}
	if c.Usage == nil {
		c.Usage = Statfs
	}
	return c
}

// Validate checks the thresholds and intervals (zero intervals take the
// defaults). Dir and Metrics are checked by New.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MinFreePercent < 0 || c.MinFreePercent >= 100 || c.MinFreePercent != c.MinFreePercent:
		return fmt.Errorf("diskspace: --storage.min.free.percent must be in [0, 100), got %v", c.MinFreePercent)
	case c.Interval < 0 || c.RecheckInterval < 0 || c.LogInterval < 0:
		return errors.New("diskspace: intervals must not be negative")
	}
	return nil
}

// threshold is the free space below which writes are refused, for a file
// system of total bytes; 0 never refuses.
func (c Config) threshold(total uint64) uint64 {
	t := c.MinFreeBytes
	if c.MinFreePercent > 0 {
		if p := uint64(float64(total) * c.MinFreePercent / 100); p > t {
			t = p
		}
	}
	return t
}
