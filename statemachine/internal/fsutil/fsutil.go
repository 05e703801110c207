// Package fsutil holds the file-system steps the state machines share.
package fsutil

import "os"

// SyncDir fsyncs a directory, so that files created, renamed or removed in
// it survive a power loss.
func SyncDir(dir string) error { return SyncPath(dir) }

// SyncPath fsyncs the file or directory at p through a new descriptor.
func SyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
