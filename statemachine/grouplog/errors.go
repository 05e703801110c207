package grouplog

import "errors"

var (
	// ErrCorrupt means bytes that are not a valid v2 record batch (bad
	// length, CRC, record count or offset delta, truncated), or group-log
	// data on disk that does not parse where it must.
	ErrCorrupt = errors.New("grouplog: corrupt record batch")
	// ErrUnsupportedMagic means a batch whose magic byte is not 2.
	ErrUnsupportedMagic = errors.New("grouplog: unsupported record batch magic")
	// ErrDataLost means Open found segment bytes missing or damaged below
	// what the index covers: a power loss took writes the index had
	// recorded but that were never fsynced.
	ErrDataLost = errors.New("grouplog: segment data the index covers is missing")
	// ErrClosed means the log has been closed.
	ErrClosed = errors.New("grouplog: closed")
)
