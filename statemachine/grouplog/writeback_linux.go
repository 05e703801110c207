package grouplog

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackRange starts writing [off, off+n) of f to disk and waits for it
// (sync_file_range: data only, no metadata, no journal commit). Control
// holds a reference on the descriptor, so a concurrent Close waits or the
// call sees the file closed.
func writebackRange(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SyncFileRange(int(fd), off, n,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	}); err != nil {
		return err
	}
	return serr
}
