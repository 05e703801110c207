package topics

import (
	"errors"
	"fmt"

	"github.com/skiff-broker/skiff/node"
)

// Per-topic outcomes. A TopicResult.Err wraps exactly one of these (use
// errors.Is); its Error() text is a human message fit for Kafka's
// ErrorMessage field, without the "topics: " prefix.
var (
	ErrTopicExists              = errors.New("topics: topic already exists")
	ErrInvalidPartitions        = errors.New("topics: invalid partitions")
	ErrInvalidReplicationFactor = errors.New("topics: invalid replication factor")
	ErrInvalidTopic             = errors.New("topics: invalid topic")
	// ErrDuplicateTopic: the same topic appears more than once in one
	// request (Kafka INVALID_REQUEST). Every occurrence gets it.
	ErrDuplicateTopic           = errors.New("topics: duplicate topic in request")
	ErrInvalidReplicaAssignment = errors.New("topics: invalid replica assignment")
	ErrInvalidConfig            = errors.New("topics: invalid config")
	ErrPolicyViolation          = errors.New("topics: policy violation")
	ErrUnknownTopic             = errors.New("topics: unknown topic")
	// ErrUnknownTopicID: a topic addressed by ID does not exist (Kafka
	// UNKNOWN_TOPIC_ID). Such errors also wrap ErrUnknownTopic, so a mapping
	// table must test ErrUnknownTopicID first to get the precise code.
	ErrUnknownTopicID     = errors.New("topics: unknown topic id")
	ErrAutoCreateDisabled = errors.New("topics: auto topic creation disabled")
	ErrInvalidRequest     = errors.New("topics: invalid request")
)

// Whole-request failures, returned as the error of a Service method. Each
// wraps the node sentinel of the same name, and the returned error wraps the
// node error as well, so both errors.Is(err, topics.ErrTimeout) (for kafka/,
// which may not import node) and errors.Is(err, node.ErrTimeout) hold.
var (
	// ErrNotReady: the metadata shard had no leader in time; nothing was
	// written. Retriable.
	ErrNotReady = fmt.Errorf("topics: %w", node.ErrNotReady)
	// ErrTimeout: the deadline passed with the outcome unknown. Retriable.
	ErrTimeout = fmt.Errorf("topics: %w", node.ErrTimeout)
	// ErrClosed: the node is shutting down.
	ErrClosed = fmt.Errorf("topics: %w", node.ErrClosed)
)

// topicError is a per-topic outcome: a human message wrapping sentinels.
type topicError struct {
	kinds []error
	msg   string
}

func (e *topicError) Error() string   { return e.msg }
func (e *topicError) Unwrap() []error { return e.kinds }

// errorf returns a per-topic error wrapping kind whose text is the message.
func errorf(kind error, format string, args ...any) error {
	return &topicError{kinds: []error{kind}, msg: fmt.Sprintf(format, args...)}
}

// requestError is a whole-request failure: it wraps the topics sentinel
// (kind, may be nil) and the store's error.
type requestError struct {
	what string
	kind error
	err  error
}

func (e *requestError) Error() string { return "topics: " + e.what + ": " + e.err.Error() }

func (e *requestError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrapStoreError classifies an error from the Store.
func wrapStoreError(what string, err error) error {
	var kind error
	switch {
	case errors.Is(err, node.ErrNotReady):
		kind = ErrNotReady
	case errors.Is(err, node.ErrTimeout):
		kind = ErrTimeout
	case errors.Is(err, node.ErrClosed):
		kind = ErrClosed
	}
	return &requestError{what: what, kind: kind, err: err}
}
