package datagroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skiff-broker/skiff/statemachine/internal/fsutil"
)

// DataFormatVersion is the layout of the data-groups directory this binary
// reads and writes: 2 = one group log per replica (grouplog). Version 1 (no
// FORMAT file) kept one directory of segment files per partition.
const DataFormatVersion = 2

const formatFile = "FORMAT"

// ErrDataFormat means a data-groups directory in a layout this binary does
// not read.
var ErrDataFormat = errors.New("datagroup: unsupported data-groups directory format")

// CheckFormat checks the data-groups directory dir before any replica
// opens: an empty or missing one gets a FORMAT file naming
// DataFormatVersion; one written by another version, or by the old
// per-partition layout (replica directories but no FORMAT file, format
// version 1), is refused with ErrDataFormat. There is no migration.
func CheckFormat(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, formatFile))
	if err == nil {
		v, perr := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(b), "skiff data groups format ")))
		if perr != nil || v != DataFormatVersion {
			return fmt.Errorf("%w: %s says %q; this binary reads format version %d", ErrDataFormat,
				filepath.Join(dir, formatFile), strings.TrimSpace(string(b)), DataFormatVersion)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "group-") {
			return fmt.Errorf("%w: %s was written in format version 1 (one directory of segment files per "+
				"partition); this binary uses format version %d (one group log per data group) and cannot "+
				"read it: move the node's data directory away and let the node rejoin empty", ErrDataFormat, dir, DataFormatVersion)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, formatFile+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("skiff data groups format %d\n", DataFormatVersion)), 0o644); err != nil {
		return err
	}
	if err := fsutil.SyncPath(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, formatFile)); err != nil {
		return err
	}
	return fsutil.SyncDir(dir)
}
