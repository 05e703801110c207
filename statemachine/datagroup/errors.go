package datagroup

import "errors"

// Sentinels besides ErrUnknownPartition, ErrOffsetOutOfRange and ErrClosed
// (api.go).
var (
	// ErrMalformed means bytes that are not a valid command, result, stored
	// record or snapshot: truncated, trailing bytes, impossible lengths, an
	// unsupported format version.
	ErrMalformed = errors.New("datagroup: malformed input")
	// ErrUnknownOp means an envelope whose op this binary does not know
	// (a newer binary proposed it).
	ErrUnknownOp = errors.New("datagroup: unknown op")
	// ErrUnknownQuery means a Lookup argument that is none of the Query*
	// types.
	ErrUnknownQuery = errors.New("datagroup: unknown query type")
	// ErrBadSnapshot means a snapshot stream that cannot be recovered from.
	// The state machine is left unchanged.
	ErrBadSnapshot = errors.New("datagroup: bad snapshot")
)
