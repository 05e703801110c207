package node

import "errors"

var (
	// ErrNotReady means the metadata shard has no leader that could take the
	// request before its deadline (election, leader transfer, busy LogDB).
	// The request did not commit. Retriable.
	ErrNotReady = errors.New("node: metadata shard not ready")
	// ErrTimeout means the deadline passed while the outcome was unknown: the
	// proposal may still commit. Retriable by idempotent commands.
	ErrTimeout = errors.New("node: metadata request timed out")
	// ErrClosed means the node is shutting down.
	ErrClosed = errors.New("node: closed")
)
