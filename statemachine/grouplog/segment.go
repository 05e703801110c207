package grouplog

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A group segment file (<16 hex digits of its ID>.seg) is a sequence of
// records, one per appended batch, of any of the group's partitions:
//
//	partition key (16-byte topic ID, partition uint32 BE, sign flipped)
//	batch length  uint32 BE
//	batch         the v2 record batch as stored (base offset rewritten)
//
// The index points at the batch bytes; the record header lets Open check a
// tail and the reclaimer find the owner of each batch without the index.
const recHeaderSize = keyLen + 4

const segSuffix = ".seg"

// segment is one group segment file. The file stays open (one descriptor
// per group segment, never per partition) for appends and reads.
type segment struct {
	id     uint64
	f      *os.File
	end    int64 // bytes written that the index may cover
	live   int64 // bytes of records some partition still needs
	synced int64 // end at the last Sync
	wbFrom int64 // end handed to the writeback goroutine (not persisted)
}

func segPath(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%016x%s", id, segSuffix))
}

func parseSegName(name string) (uint64, bool) {
	if !strings.HasSuffix(name, segSuffix) || len(name) != 16+len(segSuffix) {
		return 0, false
	}
	id, err := strconv.ParseUint(name[:16], 16, 64)
	return id, err == nil
}

func appendRecHeader(b []byte, k Key, n int) []byte {
	b = appendPartKey(b, k)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// scanRecords calls fn for each record of f in [from, to), checking each
// batch's framing and CRC. It fails with ErrCorrupt at the first record
// that does not parse or crosses to.
func scanRecords(f *os.File, from, to int64, fn func(k Key, pos int64, batch []byte) error) error {
	var hdr [recHeaderSize]byte
	for pos := from; pos < to; {
		if to-pos < recHeaderSize {
			return fmt.Errorf("%w: partial record header at %d", ErrCorrupt, pos)
		}
		if _, err := f.ReadAt(hdr[:], pos); err != nil {
			return fmt.Errorf("%w: record header at %d: %v", ErrCorrupt, pos, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[keyLen:]))
		if n < BatchHeaderSize || pos+recHeaderSize+n > to {
			return fmt.Errorf("%w: record of %d bytes at %d", ErrCorrupt, n, pos)
		}
		batch := make([]byte, n)
		if _, err := f.ReadAt(batch, pos+recHeaderSize); err != nil {
			return fmt.Errorf("%w: record at %d: %v", ErrCorrupt, pos, err)
		}
		if _, err := parseBatch(batch, true); err != nil {
			return fmt.Errorf("record at %d: %w", pos, err)
		}
		if err := fn(parsePartKey(hdr[:keyLen]), pos+recHeaderSize, batch); err != nil {
			return err
		}
		pos += recHeaderSize + n
	}
	return nil
}
