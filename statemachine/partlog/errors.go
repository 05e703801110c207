package partlog

import "errors"

var (
	// ErrCorrupt means bytes that are not a valid v2 record batch (bad
	// length, CRC, record count or offset delta, truncated), or log data on
	// disk that does not parse where it must.
	ErrCorrupt = errors.New("partlog: corrupt record batch")
	// ErrUnsupportedMagic means a batch whose magic byte is not 2.
	ErrUnsupportedMagic = errors.New("partlog: unsupported record batch magic")
	// ErrOffsetOutOfRange means an offset below StartOffset or above
	// NextOffset (Kafka's OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("partlog: offset out of range")
	// ErrOffsetMismatch means an Append whose batch base offset is not
	// NextOffset, or whose header does not describe the batch.
	ErrOffsetMismatch = errors.New("partlog: batch base offset is not the next offset")
	// ErrNotBatchBoundary means a TruncateTo offset that falls inside a batch.
	ErrNotBatchBoundary = errors.New("partlog: offset is not a batch boundary")
	// ErrClosed means the Log has been closed or removed.
	ErrClosed = errors.New("partlog: log closed")
	// ErrBadSnapshot means a snapshot stream Restore cannot use (bad header,
	// version, section, batch, offsets or checksum).
	ErrBadSnapshot = errors.New("partlog: bad snapshot")
)
