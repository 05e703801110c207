package grouplog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Kafka record batch v2 layout (all big-endian). The CRC (CRC-32C) covers
// the bytes from attributes to the end of the batch; the base offset, batch
// length and partition leader epoch are outside it.
const (
	offBaseOffset     = 0
	offBatchLength    = 8
	offLeaderEpoch    = 12
	offMagic          = 16
	offCRC            = 17
	offAttributes     = 21
	offLastDelta      = 23
	offBaseTimestamp  = 27
	offMaxTimestamp   = 35
	offProducerID     = 43
	offProducerEpoch  = 51
	offBaseSequence   = 53
	offRecordCount    = 57
	offRecords        = 61
	batchLengthPrefix = 12 // baseOffset + batchLength: bytes not counted by batchLength

	// BatchHeaderSize is the size of a v2 record batch header (the records
	// follow it).
	BatchHeaderSize = offRecords
	// minBatchLength is the smallest valid batchLength (a header, no records).
	minBatchLength = BatchHeaderSize - batchLengthPrefix
)

// Attribute bits.
const (
	AttrCompressionMask = 0x07 // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
	AttrLogAppendTime   = 0x08 // timestamp type: 1 = LogAppendTime
	AttrTransactional   = 0x10
	AttrControl         = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the parsed header of one v2 record batch plus its span in
// the buffer it was parsed from (b[Start:End] is the whole batch).
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32 // bytes after the batchLength field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32

	Start, End int // span in the parsed buffer
}

// Size is the total size of the batch in bytes (End-Start).
func (h BatchHeader) Size() int { return h.End - h.Start }

// LastOffset is BaseOffset+LastOffsetDelta.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression is the compression codec (attribute bits 0-2).
func (h BatchHeader) Compression() int { return int(h.Attributes & AttrCompressionMask) }

// IsLogAppendTime reports whether the timestamp type is LogAppendTime.
func (h BatchHeader) IsLogAppendTime() bool { return h.Attributes&AttrLogAppendTime != 0 }

// IsTransactional reports the transactional attribute bit.
func (h BatchHeader) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }

// IsControl reports the control-batch attribute bit.
func (h BatchHeader) IsControl() bool { return h.Attributes&AttrControl != 0 }

// ParseBatches splits b (a Produce request's records field, or the data
// returned by Log.Read) into v2 record batches, validating each one: the
// length fits, magic is 2 (else ErrUnsupportedMagic), the CRC matches (else
// ErrCorrupt), recordCount >= 0 and lastOffsetDelta == recordCount-1 for a
// non-empty batch (>= 0 for an empty one), and no partial batch trails.
// Empty b yields no batches and no error; whether that is acceptable is the
// caller's decision (Kafka rejects a Produce without batches, and a batch
// with no records). It never panics and does not modify b.
func ParseBatches(b []byte) ([]BatchHeader, error) {
	var out []BatchHeader
	pos := 0
	for pos < len(b) {
		h, err := parseBatch(b[pos:], true)
		if err != nil {
			return nil, fmt.Errorf("batch %d at byte %d: %w", len(out), pos, err)
		}
		h.Start += pos
		h.End += pos
		pos = h.End
		out = append(out, h)
	}
	return out, nil
}

// parseBatch parses and validates the batch at the start of b (b may hold
// more; it must hold the whole batch). With checkCRC false the records are
// not read.
func parseBatch(b []byte, checkCRC bool) (BatchHeader, error) {
	h, err := parseHeader(b)
	if err != nil {
		return h, err
	}
	if h.End > len(b) {
		return h, fmt.Errorf("%w: batch of %d bytes, %d available", ErrCorrupt, h.End, len(b))
	}
	if checkCRC {
		if got := crc32.Checksum(b[offAttributes:h.End], castagnoli); got != h.CRC {
			return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorrupt, h.CRC, got)
		}
	}
	return h, nil
}

// parseHeader parses and validates the fixed header at the start of b
// without requiring the rest of the batch; Start/End are 0 and the size the
// length field claims.
func parseHeader(b []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(b) < offMagic+1 {
		return h, fmt.Errorf("%w: truncated batch header (%d bytes)", ErrCorrupt, len(b))
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[offBaseOffset:]))
	h.BatchLength = int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	h.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(b[offLeaderEpoch:]))
	h.Magic = int8(b[offMagic])
	if h.Magic != 2 {
		// Magic sits at byte 16 in v0/v1 message sets too.
		return h, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, h.Magic)
	}
	if len(b) < BatchHeaderSize {
		return h, fmt.Errorf("%w: truncated batch header (%d bytes)", ErrCorrupt, len(b))
	}
	if h.BatchLength < minBatchLength {
		return h, fmt.Errorf("%w: batch length %d", ErrCorrupt, h.BatchLength)
	}
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[offRecordCount:]))
	h.Start, h.End = 0, batchLengthPrefix+int(h.BatchLength)
	if h.RecordCount < 0 {
		return h, fmt.Errorf("%w: record count %d", ErrCorrupt, h.RecordCount)
	}
	if h.RecordCount > 0 && h.LastOffsetDelta != h.RecordCount-1 {
		return h, fmt.Errorf("%w: last offset delta %d with %d records", ErrCorrupt, h.LastOffsetDelta, h.RecordCount)
	}
	if h.RecordCount == 0 && h.LastOffsetDelta < 0 {
		return h, fmt.Errorf("%w: last offset delta %d in an empty batch", ErrCorrupt, h.LastOffsetDelta)
	}
	return h, nil
}

// SetBaseOffset rewrites the batch's base offset (not covered by the CRC).
// batch must start with a batch header; shorter input is left unchanged.
func SetBaseOffset(batch []byte, off int64) {
	if len(batch) < BatchHeaderSize {
		return
	}
	binary.BigEndian.PutUint64(batch[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch rewrites the batch's partition leader epoch (not
// covered by the CRC). Shorter input than a batch header is left unchanged.
func SetPartitionLeaderEpoch(batch []byte, epoch int32) {
	if len(batch) < BatchHeaderSize {
		return
	}
	binary.BigEndian.PutUint32(batch[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime does what Kafka's DefaultRecordBatch.setMaxTimestamp(
// LOG_APPEND_TIME, ts) does when the broker stamps a batch in place: it sets
// the timestamp-type attribute bit and maxTimestamp to ts and recomputes the
// CRC. Like Kafka it leaves baseTimestamp and the records' timestamp deltas
// alone: consumers use the batch's maxTimestamp as every record's timestamp
// when the type is LogAppendTime. batch must be exactly one whole batch (as
// delimited by ParseBatches); a batch shorter than its header, or whose
// length field disagrees with len(batch), is left unchanged.
func SetLogAppendTime(batch []byte, ts int64) {
	if len(batch) < BatchHeaderSize ||
		int64(int32(binary.BigEndian.Uint32(batch[offBatchLength:])))+batchLengthPrefix != int64(len(batch)) {
		return
	}
	attrs := binary.BigEndian.Uint16(batch[offAttributes:])
	if attrs&AttrLogAppendTime != 0 && int64(binary.BigEndian.Uint64(batch[offMaxTimestamp:])) == ts {
		return
	}
	binary.BigEndian.PutUint16(batch[offAttributes:], attrs|AttrLogAppendTime)
	binary.BigEndian.PutUint64(batch[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(batch[offCRC:], crc32.Checksum(batch[offAttributes:], castagnoli))
}
