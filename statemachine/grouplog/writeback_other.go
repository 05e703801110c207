//go:build !linux

package grouplog

import (
	"errors"
	"os"
)

// errNoWriteback: sync_file_range does not exist here; Sync's fsync writes
// everything.
var errNoWriteback = errors.New("grouplog: no writeback on this platform")

func writebackRange(*os.File, int64, int64) error { return errNoWriteback }
