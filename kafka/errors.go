package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
	"github.com/skiff-broker/skiff/topics/groups"
	"github.com/skiff-broker/skiff/topics/records"
)

// errorCodes is the one table from Go errors to Kafka codes (etcd
// toGRPCErrorMap). Order matters: the first errors.Is match wins, so more
// specific sentinels come before the ones they also wrap.
//
// Whole-request failures map to codes franz-go retries:
//   - not ready (nothing was written) -> NOT_CONTROLLER: kgo forgets the
//     controller, reloads metadata and resends the admin request;
//   - timeout (outcome unknown) -> REQUEST_TIMED_OUT: retriable, but kgo
//     leaves the retry to the caller, who can check what happened;
//   - closed (node shutting down) -> NOT_CONTROLLER, to move to another node.
//
// The data path (topics/records) has its own pair: not ready ->
// NOT_LEADER_OR_FOLLOWER (kgo refreshes metadata and retries the partition),
// timeout -> REQUEST_TIMED_OUT. Its sentinels come first, so a records error
// that also wraps a topics error keeps its data-path code.
//
// The group coordinator (topics/groups) has its own sentinels; routing
// failures map to the codes Kafka uses so that clients find the
// coordinator again: NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS.
//
// Transactions are not supported: a transactional Produce or InitProducerId
// gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED, what Redpanda answers with
// enable_transactions=false and what Kafka answers a principal that may not
// use transactional IDs. It is not retriable, so clients fail at once with a
// clear message instead of retrying.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	{records.ErrNotLeader, kerr.NotLeaderForPartition},
	{records.ErrUnknownTopicID, kerr.UnknownTopicID},
	{records.ErrUnknownTopicOrPart, kerr.UnknownTopicOrPartition},
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
	{records.ErrPolicyViolation, kerr.PolicyViolation},
	{records.ErrNotReady, kerr.NotLeaderForPartition},
	{records.ErrTimeout, kerr.RequestTimedOut},
	{topics.ErrUnknownTopicID, kerr.UnknownTopicID}, // also wraps ErrUnknownTopic
	{topics.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{topics.ErrTopicExists, kerr.TopicAlreadyExists},
	{topics.ErrInvalidPartitions, kerr.InvalidPartitions},
	{topics.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{topics.ErrInvalidTopic, kerr.InvalidTopicException},
	{topics.ErrDuplicateTopic, kerr.InvalidRequest},
	{topics.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	{topics.ErrInvalidConfig, kerr.InvalidConfig},
	{topics.ErrPolicyViolation, kerr.PolicyViolation},
	{topics.ErrAutoCreateDisabled, kerr.UnknownTopicOrPartition},
	{topics.ErrInvalidRequest, kerr.InvalidRequest},
	{topics.ErrNotReady, kerr.NotController},
	{topics.ErrTimeout, kerr.RequestTimedOut},
	{topics.ErrClosed, kerr.NotController},
	{groups.ErrNotCoordinator, kerr.NotCoordinator},
	{groups.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{groups.ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
	{groups.ErrInvalidGroupID, kerr.InvalidGroupID},
	{groups.ErrTransactionsDisabled, kerr.TransactionalIDAuthorizationFailed},
	{groups.ErrInvalidRequest, kerr.InvalidRequest},
	{groups.ErrUnsupportedKeyType, kerr.InvalidRequest},
	{groups.ErrGroupIDNotFound, kerr.GroupIDNotFound},
	{groups.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{groups.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic},
	{groups.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition},
	{groups.ErrUnknownTopicID, kerr.UnknownTopicID},
	{groups.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge},
	{groups.ErrInvalidCommitOffsetSize, kerr.InvalidCommitOffsetSize},
	{groups.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached},
	{groups.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
	{groups.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
	{groups.ErrUnknownMemberID, kerr.UnknownMemberID},
	{groups.ErrMemberIDRequired, kerr.MemberIDRequired},
	{groups.ErrIllegalGeneration, kerr.IllegalGeneration},
	{groups.ErrRebalanceInProgress, kerr.RebalanceInProgress},
	{groups.ErrFencedInstanceID, kerr.FencedInstanceID},
	{groups.ErrFencedMemberEpoch, kerr.FencedMemberEpoch},
	{groups.ErrStaleMemberEpoch, kerr.StaleMemberEpoch},
	{groups.ErrUnreleasedInstanceID, kerr.UnreleasedInstanceID},
	{groups.ErrUnsupportedAssignor, kerr.UnsupportedAssignor},
	{groups.ErrGroupTypeMismatch, kerr.GroupIDNotFound},
	{groups.ErrInvalidRegex, kerr.InvalidRegularExpression},
	{groups.ErrTimeout, kerr.RequestTimedOut},
	{groups.ErrClosed, kerr.CoordinatorNotAvailable},
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.NotController}, // our server is closing
}

// kafkaError returns the Kafka error for err: nil for nil, and
// UNKNOWN_SERVER_ERROR for anything the table does not know.
func kafkaError(err error) *kerr.Error {
	if err == nil {
		return nil
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError
}

// errorCode is kafkaError's code, 0 for nil.
func errorCode(err error) int16 {
	if ke := kafkaError(err); ke != nil {
		return ke.Code
	}
	return 0
}

// errorMessage is the ErrorMessage field for err: nil for nil.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	msg := err.Error()
	return &msg
}

// codeError pairs a Kafka code with a message, for errors found by the
// Kafka layer itself (malformed fields). It maps through the table like
// any other error.
type codeError struct {
	kind error
	msg  string
}

func (e *codeError) Error() string { return e.msg }
func (e *codeError) Unwrap() error { return e.kind }

// invalidRequest is an INVALID_REQUEST found by the Kafka layer.
func invalidRequest(msg string) error {
	return &codeError{kind: topics.ErrInvalidRequest, msg: msg}
}

// errCode maps err for a response of API key, counts the code and logs
// errors the table does not know.
func (s *Server) errCode(key kmsg.Key, err error) int16 {
	ke := kafkaError(err)
	if ke == nil {
		return 0
	}
	if ke == kerr.UnknownServerError {
		s.log.Warn().Err(err).Str("api", key.Name()).Msg("unmapped error")
	}
	s.m.errorCode(key.Name(), ke.Code)
	return ke.Code
}

// countCode counts an error code the handler chose directly.
func (s *Server) countCode(key kmsg.Key, code int16) int16 {
	s.m.errorCode(key.Name(), code)
	return code
}
