package datapath

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// Kafka's leader decompresses and walks every record of a produced batch
// (LogValidator) before appending it. So does Skiff's proposer: a batch with
// a valid CRC but a codec nobody knows, a payload that does not decompress
// or records that do not fit the batch would otherwise be stored, and then
// stop every consumer of the partition (they retry the undecodable batch
// forever) or hide its records. The state machine does not repeat this:
// every proposal comes from this code.

// maxDecompressed bounds what one batch may decompress to, so that a small
// compressed batch cannot make the broker allocate without limit.
const maxDecompressed = 128 << 20

var (
	errCodec   = errors.New("unknown compression codec")
	errTooBig  = errors.New("batch decompresses to more than the limit")
	errRecords = errors.New("records do not match the batch")
)

// errNoKey is Kafka's LogValidator refusal of a keyless record on a
// compacted topic (INVALID_RECORD): compaction keeps records by key.
var errNoKey = errors.New("Compacted topic cannot accept message without key")

// validateRecords checks one batch's records: the codec, the payload's
// decompression, and that exactly RecordCount well-formed records with
// offset deltas 0..n-1 fill it; with needKey (a compacted topic), that
// every record has a key.
func validateRecords(batch []byte, h grouplog.BatchHeader, needKey bool) error {
	payload := batch[grouplog.BatchHeaderSize:]
	var err error
	switch h.Compression() {
	case 0:
	case 1:
		payload, err = gunzip(payload)
	case 2:
		payload, err = unsnappy(payload)
	case 3:
		payload, err = unlz4(payload)
	case 4:
		payload, err = unzstd(payload)
	default:
		return fmt.Errorf("%w %d", errCodec, h.Compression())
	}
	if err != nil {
		return err
	}
	return walkRecords(payload, int(h.RecordCount), needKey)
}

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDecompressed {
		return nil, errTooBig
	}
	return b, nil
}

func gunzip(src []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readAllLimited(zr)
}

func unlz4(src []byte) ([]byte, error) {
	return readAllLimited(lz4.NewReader(bytes.NewReader(src)))
}

var zstdDecoders = sync.Pool{New: func() any {
	d, _ := zstd.NewReader(nil, zstd.WithDecoderLowmem(true), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxDecompressed))
	return d
}}

func unzstd(src []byte) ([]byte, error) {
	d := zstdDecoders.Get().(*zstd.Decoder)
	defer zstdDecoders.Put(d)
	return d.DecodeAll(src, nil)
}

// xerialPrefix starts a snappy payload in the xerial (snappy-java) framing
// that the Java client writes: 8 magic bytes, two 4-byte versions, then
// chunks of [4-byte big-endian length][raw snappy block].
var xerialPrefix = []byte{130, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func unsnappy(src []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialPrefix) {
		return snappyBlock(nil, src)
	}
	if len(src) < 16 {
		return nil, errRecords
	}
	src = src[16:]
	var out []byte
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, errRecords
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return nil, errRecords
		}
		var err error
		if out, err = snappyBlock(out, src[:n]); err != nil {
			return nil, err
		}
		src = src[n:]
	}
	return out, nil
}

// snappyBlock appends the decoding of one raw snappy block to dst.
func snappyBlock(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n+len(dst) > maxDecompressed {
		return nil, errTooBig
	}
	b, err := s2.Decode(nil, src)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// walkRecords checks the v2 record framing: each record is a varint length
// followed by attributes, timestamp delta, offset delta, key, value and
// headers, all inside that length.
func walkRecords(b []byte, count int, needKey bool) error {
	for i := 0; i < count; i++ {
		n, k := binary.Varint(b)
		if k <= 0 || n <= 0 || n > int64(len(b)-k) {
			return fmt.Errorf("%w: record %d length", errRecords, i)
		}
		rec := b[k : k+int(n)]
		b = b[k+int(n):]
		if err := walkRecord(rec, int64(i), needKey); err != nil {
			return fmt.Errorf("%w: record %d: %w", errRecords, i, err)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d bytes after the last record", errRecords, len(b))
	}
	return nil
}

func walkRecord(r []byte, wantDelta int64, needKey bool) error {
	if len(r) < 1 {
		return errors.New("empty")
	}
	r = r[1:] // attributes
	varint := func() (int64, error) {
		v, k := binary.Varint(r)
		if k <= 0 {
			return 0, errors.New("bad varint")
		}
		r = r[k:]
		return v, nil
	}
	field := func(nullable bool) error {
		l, err := varint()
		switch {
		case err != nil:
			return err
		case l == -1 && nullable:
			return nil
		case l < 0 || l > int64(len(r)):
			return errors.New("bad field length")
		}
		r = r[l:]
		return nil
	}
	if _, err := varint(); err != nil { // timestamp delta
		return err
	}
	delta, err := varint()
	if err != nil {
		return err
	}
	if delta != wantDelta {
		return fmt.Errorf("offset delta %d, want %d", delta, wantDelta)
	}
	if needKey && len(r) > 0 {
		if l, k := binary.Varint(r); k > 0 && l == -1 {
			return errNoKey
		}
	}
	if err := field(true); err != nil { // key
		return err
	}
	if err := field(true); err != nil { // value
		return err
	}
	headers, err := varint()
	if err != nil || headers < 0 || headers > int64(len(r)) {
		return errors.New("bad header count")
	}
	for range headers {
		if err := field(false); err != nil {
			return err
		}
		if err := field(true); err != nil {
			return err
		}
	}
	if len(r) != 0 {
		return errors.New("bytes after the headers")
	}
	return nil
}
