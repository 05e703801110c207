//go:build unix

package bench

import (
	"os"
	"syscall"
)

// fdHeadroom returns how many more files this process may open (the soft
// RLIMIT_NOFILE minus the descriptors open now), and false when unknown.
func fdHeadroom() (int64, bool) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, false
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	return int64(lim.Cur) - int64(len(ents)), true
}
