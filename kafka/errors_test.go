package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiff-broker/skiff/datapath"
	"github.com/skiff-broker/skiff/topics"
)

// recordErrorCases is every records sentinel and its Kafka code.
var recordErrorCases = []struct {
	err  error
	want *kerr.Error
}{
	{datapath.ErrNotLeader, kerr.NotLeaderForPartition},
	{datapath.ErrUnknownTopicOrPart, kerr.UnknownTopicOrPartition},
	{datapath.ErrUnknownTopicID, kerr.UnknownTopicID},
	{datapath.ErrLeaderNotAvailable, kerr.LeaderNotAvailable},
	{datapath.ErrCorruptMessage, kerr.CorruptMessage},
	{datapath.ErrMessageTooLarge, kerr.MessageTooLarge},
	{datapath.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{datapath.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{datapath.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{datapath.ErrInvalidRecord, kerr.InvalidRecord},
	{datapath.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{datapath.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{datapath.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{datapath.ErrInvalidRequiredAcks, kerr.InvalidRequiredAcks},
	{datapath.ErrTransactionsDisabled, kerr.TransactionalIDAuthorizationFailed},
	{datapath.ErrTimeout, kerr.RequestTimedOut},
	{datapath.ErrNotReady, kerr.NotLeaderForPartition},
	{datapath.ErrPolicyViolation, kerr.PolicyViolation},
	{datapath.ErrLowDiskSpace, kerr.KafkaStorageError},
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
		{fmt.Errorf("%w: %w", datapath.ErrNotReady, topics.ErrNotReady), kerr.NotLeaderForPartition},
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
	for _, e := range []error{topics.ErrNotReady, topics.ErrTimeout, topics.ErrClosed, datapath.ErrNotReady, datapath.ErrTimeout} {
		if !kafkaError(e).Retriable {
			t.Errorf("%v maps to non-retriable %s", e, kafkaError(e).Message)
		}
	}
}
