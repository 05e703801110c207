//go:build !linux

package broker

import "github.com/VictoriaMetrics/metrics"

// registerProcessMetrics: open-file counts are read from /proc, on Linux only.
func registerProcessMetrics(*metrics.Set, uint64) {}
