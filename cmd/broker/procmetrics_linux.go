package broker

import (
	"fmt"
	"os"
	"syscall"

	"github.com/VictoriaMetrics/metrics"
)

// registerProcessMetrics adds the process's open files and their limit to
// the node's set: running out of descriptors inside a data group's apply
// stops every replica of the group, so operators should see the headroom
// (Go's own process_open_fds has no node label and is written once per
// process). Both are read at scrape time: one readdir of /proc/self/fd and
// one getrlimit.
func registerProcessMetrics(set *metrics.Set, nodeID uint64) {
	set.GetOrCreateGauge(fmt.Sprintf(`skiff_process_open_fds{node="%d"}`, nodeID), func() float64 {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return -1
		}
		return float64(len(ents) - 1) // less the descriptor ReadDir itself held
	})
	set.GetOrCreateGauge(fmt.Sprintf(`skiff_process_max_fds{node="%d"}`, nodeID), func() float64 {
		var l syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return -1
		}
		return float64(l.Cur)
	})
}
