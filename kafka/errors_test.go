package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiff-broker/skiff/topics"
	"github.com/skiff-broker/skiff/topics/records"
)

// recordErrorCases is every records sentinel and its Kafka code.
var recordErrorCases = []struct {
	err  error
	want *kerr.Error
}{
	{records.ErrNotLeader, kerr.NotLeaderForPartition},
	{records.ErrUnknownTopicOrPart, kerr.UnknownTopicOrPartition},
	{records.ErrUnknownTopicID, kerr.UnknownTopicID},
	{records.ErrLeaderNotAvailable, kerr.LeaderNotAvailable},
	{records.ErrCorruptMessage, kerr.CorruptMessage},
	{records.ErrMessageTooLarge, kerr.MessageTooLarge},
	{records.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{records.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{records.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{records.ErrInvalidRecord, kerr.InvalidRecord},
	{records.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{records.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{records.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{records.ErrInvalidRequiredAcks, kerr.InvalidRequiredAcks},
	{records.ErrTransactionsDisabled, kerr.TransactionalIDAuthorizationFailed},
	{records.ErrTimeout, kerr.RequestTimedOut},
	{records.ErrNotReady, kerr.NotLeaderForPartition},
	{records.ErrPolicyViolation, kerr.PolicyViolation},
}

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
		// A records error wrapping a topics one keeps its data-path code.
		{fmt.Errorf("%w: %w", records.ErrNotReady, topics.ErrNotReady), kerr.NotLeaderForPartition},
		{errRecordResults, kerr.UnknownServerError},
		{errors.New("something else"), kerr.UnknownServerError},
	}
	for _, c := range recordErrorCases {
		cases = append(cases, struct {
			err  error
			want *kerr.Error
		}{c.err, c.want})
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
	for _, e := range []error{topics.ErrNotReady, topics.ErrTimeout, topics.ErrClosed, records.ErrNotReady, records.ErrTimeout} {
		if !kafkaError(e).Retriable {
			t.Errorf("%v maps to non-retriable %s", e, kafkaError(e).Message)
		}
	}
}
