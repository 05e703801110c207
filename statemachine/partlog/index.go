package partlog

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
)

// Sparse index files, Kafka-style, one pair per segment:
//
//   - <base>.index: 8-byte entries (relative offset uint32, file position
//     uint32), one for the batch that follows every IndexIntervalBytes of
//     log. The entry names the batch's base offset (relative to the segment
//     base) and the position of its first byte. Position 0 / relative offset
//     0 is implicit and never stored.
//   - <base>.timeindex: 12-byte entries (max timestamp so far int64,
//     relative offset uint32), appended at index points when the running max
//     timestamp grew, and once more when the segment is rolled, synced or
//     closed, so the last entry of a closed segment is its max timestamp and
//     the base offset of the (first) batch that carries it.
//
// Both are strictly increasing in their first field. The active segment's
// entries live in memory and are appended to the files on roll, Sync and
// Close; the files can therefore lag behind the log, and Open rebuilds the
// tail by scanning from the last entry. Lookups never trust an offset index
// entry blindly: the batch found at its position must carry its offset, or
// the lookup falls back to the segment start.

const (
	idxEntrySize = 8
	tsEntrySize  = 12
	noTimestamp  = -1
)

type idxEntry struct {
	rel uint32 // base offset of the batch - segment base
	pos uint32 // position of the batch in the .log file
}

type tsEntry struct {
	ts  int64  // running max timestamp of the segment
	rel uint32 // base offset of the batch that first reached ts - segment base
}

func encodeIdx(dst []byte, es []idxEntry) []byte {
	for _, e := range es {
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
		dst = binary.BigEndian.AppendUint32(dst, e.pos)
	}
	return dst
}

func encodeTs(dst []byte, es []tsEntry) []byte {
	for _, e := range es {
		dst = binary.BigEndian.AppendUint64(dst, uint64(e.ts))
		dst = binary.BigEndian.AppendUint32(dst, e.rel)
	}
	return dst
}

func decodeIdx(b []byte) idxEntry {
	return idxEntry{rel: binary.BigEndian.Uint32(b), pos: binary.BigEndian.Uint32(b[4:])}
}

func decodeTs(b []byte) tsEntry {
	return tsEntry{ts: int64(binary.BigEndian.Uint64(b)), rel: binary.BigEndian.Uint32(b[8:])}
}

// readIdxFile loads an offset index file, keeping its longest prefix that is
// well formed: strictly increasing offsets and positions, positions leaving
// room for a batch header before logSize, offsets below relLimit.
func readIdxFile(path string, logSize int64, relLimit int64) ([]idxEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]idxEntry, 0, len(b)/idxEntrySize)
	prev := idxEntry{}
	for i := 0; i+idxEntrySize <= len(b); i += idxEntrySize {
		e := decodeIdx(b[i:])
		if e.rel <= prev.rel || e.pos <= prev.pos || int64(e.pos)+BatchHeaderSize > logSize || int64(e.rel) >= relLimit {
			break
		}
		out = append(out, e)
		prev = e
	}
	return out, nil
}

// readTsFile loads a time index file, keeping its longest well formed
// prefix (strictly increasing timestamps above noTimestamp, non-decreasing
// offsets) whose offsets are at most relMax.
func readTsFile(path string, relMax int64) ([]tsEntry, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []tsEntry
	prev := tsEntry{ts: noTimestamp}
	for i := 0; i+tsEntrySize <= len(b); i += tsEntrySize {
		e := decodeTs(b[i:])
		if e.ts <= prev.ts || e.rel < prev.rel || int64(e.rel) > relMax {
			break
		}
		out = append(out, e)
		prev = e
	}
	return out, nil
}

// writeEntries writes buf at byte offset at of path (creating it), and
// truncates the file to at+len(buf) when trunc is set.
func writeEntries(path string, buf []byte, at int64, trunc bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if len(buf) > 0 {
		if _, err := f.WriteAt(buf, at); err != nil {
			f.Close()
			return err
		}
	}
	if trunc {
		if err := f.Truncate(at + int64(len(buf))); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// idxView gives indexed access to a segment's offset index, in memory (the
// active segment) or in its file (closed segments, read with ReadAt).
type idxView struct {
	mem []idxEntry
	f   io.ReaderAt
	n   int
}

func (v *idxView) len() int {
	if v.f == nil {
		return len(v.mem)
	}
	return v.n
}

func (v *idxView) at(i int) (idxEntry, error) {
	if v.f == nil {
		return v.mem[i], nil
	}
	var b [idxEntrySize]byte
	if _, err := v.f.ReadAt(b[:], int64(i)*idxEntrySize); err != nil {
		return idxEntry{}, err
	}
	return decodeIdx(b[:]), nil
}

// floor returns the last entry whose relative offset is <= rel, or the
// implicit (0, 0) entry.
func (v *idxView) floor(rel uint32) (idxEntry, error) {
	lo, hi := 0, v.len() // answer: first index with entry.rel > rel
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		e, err := v.at(m)
		if err != nil {
			return idxEntry{}, err
		}
		if e.rel > rel {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return idxEntry{}, nil
	}
	return v.at(lo - 1)
}

// tsView is idxView for time indexes.
type tsView struct {
	mem []tsEntry
	f   io.ReaderAt
	n   int
}

func (v *tsView) len() int {
	if v.f == nil {
		return len(v.mem)
	}
	return v.n
}

func (v *tsView) at(i int) (tsEntry, error) {
	if v.f == nil {
		return v.mem[i], nil
	}
	var b [tsEntrySize]byte
	if _, err := v.f.ReadAt(b[:], int64(i)*tsEntrySize); err != nil {
		return tsEntry{}, err
	}
	return decodeTs(b[:]), nil
}

// scanStart returns the relative offset from which to scan for the first
// batch with maxTimestamp >= ts: the offset of the last entry whose running
// max is < ts (every batch up to it is older than ts), or 0.
func (v *tsView) scanStart(ts int64) (uint32, error) {
	lo, hi := 0, v.len() // first index with entry.ts >= ts
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		e, err := v.at(m)
		if err != nil {
			return 0, err
		}
		if e.ts >= ts {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return 0, nil
	}
	e, err := v.at(lo - 1)
	return e.rel, err
}
