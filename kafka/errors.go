package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/datapath"
	"github.com/skiff-broker/skiff/topics"
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
// The data path (datapath) has its own pair: not ready ->
// NOT_LEADER_OR_FOLLOWER (kgo refreshes metadata and retries the partition),
// timeout -> REQUEST_TIMED_OUT. Its sentinels come first, so a records error
// that also wraps a topics error keeps its data-path code.
//
// A node low on disk refuses Produce with KAFKA_STORAGE_ERROR: retriable,
// so kgo (and Kafka's producer, for which it is an InvalidMetadataException)
// refreshes metadata and retries until space returns or the record's
// delivery timeout ends; nothing was proposed. Produce v0-3 clients predate
// that code and get NOT_LEADER_OR_FOLLOWER instead (handle_produce.go).
//
// The group coordinator (coordinator/consumergroup) has its own sentinels; routing
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
	{datapath.ErrNotLeader, kerr.NotLeaderForPartition},
	{datapath.ErrUnknownTopicID, kerr.UnknownTopicID},
	{datapath.ErrUnknownTopicOrPart, kerr.UnknownTopicOrPartition},
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
	{datapath.ErrPolicyViolation, kerr.PolicyViolation},
	{datapath.ErrLowDiskSpace, kerr.KafkaStorageError},
	{datapath.ErrNotReady, kerr.NotLeaderForPartition},
	{datapath.ErrTimeout, kerr.RequestTimedOut},
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
	{consumergroup.ErrNotCoordinator, kerr.NotCoordinator},
	{consumergroup.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{consumergroup.ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
	{consumergroup.ErrInvalidGroupID, kerr.InvalidGroupID},
	{consumergroup.ErrTransactionsDisabled, kerr.TransactionalIDAuthorizationFailed},
	{consumergroup.ErrInvalidRequest, kerr.InvalidRequest},
	{consumergroup.ErrUnsupportedKeyType, kerr.InvalidRequest},
	{consumergroup.ErrGroupIDNotFound, kerr.GroupIDNotFound},
	{consumergroup.ErrNonEmptyGroup, kerr.NonEmptyGroup},
	{consumergroup.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic},
	{consumergroup.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition},
	{consumergroup.ErrUnknownTopicID, kerr.UnknownTopicID},
	{consumergroup.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge},
	{consumergroup.ErrInvalidCommitOffsetSize, kerr.InvalidCommitOffsetSize},
	{consumergroup.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached},
	{consumergroup.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
	{consumergroup.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
	{consumergroup.ErrUnknownMemberID, kerr.UnknownMemberID},
	{consumergroup.ErrMemberIDRequired, kerr.MemberIDRequired},
	{consumergroup.ErrIllegalGeneration, kerr.IllegalGeneration},
	{consumergroup.ErrRebalanceInProgress, kerr.RebalanceInProgress},
	{consumergroup.ErrFencedInstanceID, kerr.FencedInstanceID},
	{consumergroup.ErrFencedMemberEpoch, kerr.FencedMemberEpoch},
	{consumergroup.ErrStaleMemberEpoch, kerr.StaleMemberEpoch},
	{consumergroup.ErrUnreleasedInstanceID, kerr.UnreleasedInstanceID},
	{consumergroup.ErrUnsupportedAssignor, kerr.UnsupportedAssignor},
	{consumergroup.ErrGroupTypeMismatch, kerr.GroupIDNotFound},
	{consumergroup.ErrInvalidRegex, kerr.InvalidRegularExpression},
	{consumergroup.ErrTimeout, kerr.RequestTimedOut},
	{consumergroup.ErrClosed, kerr.CoordinatorNotAvailable},
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
