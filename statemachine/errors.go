package statemachine

import "errors"

var (
	// ErrMalformed means bytes that are not a valid command, result, record
	// or snapshot: truncated, trailing bytes, impossible lengths, a Batch
	// nested in a Batch, an unsupported format version.
	ErrMalformed = errors.New("statemachine: malformed input")
	// ErrUnknownOp means an envelope whose op this binary does not know.
	ErrUnknownOp = errors.New("statemachine: unknown op")
	// ErrUnknownQuery means a Lookup argument that is none of the Query* types.
	ErrUnknownQuery = errors.New("statemachine: unknown query type")
	// ErrClosed means the state machine is not open or has been closed.
	ErrClosed = errors.New("statemachine: closed")
	// ErrBadSnapshot means a snapshot stream that cannot be recovered from
	// (bad header, version, record, order or checksum). The state is left
	// unchanged.
	ErrBadSnapshot = errors.New("statemachine: bad snapshot")
)
