//go:build !(linux || darwin || freebsd)

package diskspace

import (
	"errors"
	"fmt"
)

// Statfs is not implemented on this platform: the guard logs that once and
// never refuses.
func Statfs(dir string) (Usage, error) {
	return Usage{}, fmt.Errorf("diskspace: free space of %s: %w", dir, errors.ErrUnsupported)
}
