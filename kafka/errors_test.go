package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiff-broker/skiff/topics"
)

func TestKafkaErrorTable(t *testing.T) {
	cases := []struct {
		err  error
		want *kerr.Error
	}{
		{nil, nil},
		{topics.ErrTopicExists, kerr.TopicAlreadyExists},
		{topics.ErrInvalidPartitions, kerr.InvalidPartitions},
		{topics.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
		{topics.ErrInvalidTopic, kerr.InvalidTopicException},
		{topics.ErrDuplicateTopic, kerr.InvalidRequest},
		{topics.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
		{topics.ErrInvalidConfig, kerr.InvalidConfig},
		{topics.ErrPolicyViolation, kerr.PolicyViolation},
		{topics.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
		{topics.ErrUnknownTopicID, kerr.UnknownTopicID},
		{errors.Join(topics.ErrUnknownTopic, topics.ErrUnknownTopicID), kerr.UnknownTopicID},
		{topics.ErrAutoCreateDisabled, kerr.UnknownTopicOrPartition},
		{topics.ErrInvalidRequest, kerr.InvalidRequest},
		{topics.ErrNotReady, kerr.NotController},
		{topics.ErrTimeout, kerr.RequestTimedOut},
		{topics.ErrClosed, kerr.NotController},
		{fmt.Errorf("propose: %w", context.DeadlineExceeded), kerr.RequestTimedOut},
		{invalidRequest("nope"), kerr.InvalidRequest},
		{errors.New("something else"), kerr.UnknownServerError},
	}
	for _, c := range cases {
		wrapped := c.err
		if c.err != nil {
			wrapped = fmt.Errorf("wrapped: %w", c.err)
		}
		if got := kafkaError(wrapped); got != c.want {
			t.Errorf("%v: got %v, want %v", c.err, got, c.want)
		}
	}
	// Whole-request failures must be codes franz-go treats as retriable.
	for _, e := range []error{topics.ErrNotReady, topics.ErrTimeout, topics.ErrClosed} {
		if !kafkaError(e).Retriable {
			t.Errorf("%v maps to non-retriable %s", e, kafkaError(e).Message)
		}
	}
}
