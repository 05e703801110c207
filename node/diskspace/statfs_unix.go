//go:build linux || darwin || freebsd

package diskspace

import (
	"fmt"
	"syscall"
)

// Statfs measures the file system that holds dir: one statfs(2) call.
func Statfs(dir string) (Usage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Usage{}, fmt.Errorf("diskspace: statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return Usage{Free: uint64(st.Bavail) * bs, Total: uint64(st.Blocks) * bs}, nil
}
