package consumergroup

import "errors"

// Outcomes of group operations. kafka/ maps each to one Kafka code
// (kafka/errors.go); results carry them wrapped or bare (errors.Is).
var (
	// Coordinator routing.
	ErrNotCoordinator          = errors.New("consumergroup: this broker is not the group's coordinator")  // NOT_COORDINATOR
	ErrCoordinatorNotAvailable = errors.New("consumergroup: coordinator not available")                   // COORDINATOR_NOT_AVAILABLE
	ErrLoadInProgress          = errors.New("consumergroup: coordinator is loading the group's offsets")  // COORDINATOR_LOAD_IN_PROGRESS
	ErrInvalidGroupID          = errors.New("consumergroup: invalid group id")                            // INVALID_GROUP_ID
	ErrTransactionsDisabled    = errors.New("consumergroup: transactions are not supported")              // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
	ErrInvalidRequest          = errors.New("consumergroup: invalid request")                             // INVALID_REQUEST
	ErrUnsupportedKeyType      = errors.New("consumergroup: unsupported coordinator type")                // INVALID_REQUEST
	ErrGroupIDNotFound         = errors.New("consumergroup: group id not found")                          // GROUP_ID_NOT_FOUND
	ErrNonEmptyGroup           = errors.New("consumergroup: the group is not empty")                      // NON_EMPTY_GROUP
	ErrGroupSubscribedToTopic  = errors.New("consumergroup: the group is subscribed to the topic")        // GROUP_SUBSCRIBED_TO_TOPIC
	ErrUnknownTopicOrPartition = errors.New("consumergroup: unknown topic or partition")                  // UNKNOWN_TOPIC_OR_PARTITION
	ErrUnknownTopicID          = errors.New("consumergroup: unknown topic id")                            // UNKNOWN_TOPIC_ID
	ErrOffsetMetadataTooLarge  = errors.New("consumergroup: offset metadata too large")                   // OFFSET_METADATA_TOO_LARGE
	ErrInvalidCommitOffsetSize = errors.New("consumergroup: offset commit too large")                     // INVALID_COMMIT_OFFSET_SIZE
	ErrGroupMaxSizeReached     = errors.New("consumergroup: the group has reached its maximum size")      // GROUP_MAX_SIZE_REACHED
	ErrInconsistentProtocol    = errors.New("consumergroup: inconsistent group protocol")                 // INCONSISTENT_GROUP_PROTOCOL
	ErrInvalidSessionTimeout   = errors.New("consumergroup: invalid session timeout")                     // INVALID_SESSION_TIMEOUT
	ErrUnknownMemberID         = errors.New("consumergroup: unknown member id")                           // UNKNOWN_MEMBER_ID
	ErrMemberIDRequired        = errors.New("consumergroup: a member id is required; join again with it") // MEMBER_ID_REQUIRED
	ErrIllegalGeneration       = errors.New("consumergroup: illegal generation")                          // ILLEGAL_GENERATION
	ErrRebalanceInProgress     = errors.New("consumergroup: rebalance in progress")                       // REBALANCE_IN_PROGRESS
	ErrFencedInstanceID        = errors.New("consumergroup: fenced instance id")                          // FENCED_INSTANCE_ID
	ErrFencedMemberEpoch       = errors.New("consumergroup: fenced member epoch")                         // FENCED_MEMBER_EPOCH
	ErrStaleMemberEpoch        = errors.New("consumergroup: stale member epoch")                          // STALE_MEMBER_EPOCH
	ErrUnreleasedInstanceID    = errors.New("consumergroup: instance id still in use")                    // UNRELEASED_INSTANCE_ID
	ErrUnsupportedAssignor     = errors.New("consumergroup: unsupported assignor")                        // UNSUPPORTED_ASSIGNOR
	ErrGroupTypeMismatch       = errors.New("consumergroup: the group uses the other rebalance protocol") // GROUP_ID_NOT_FOUND / INCONSISTENT_GROUP_PROTOCOL
	ErrInvalidRegex            = errors.New("consumergroup: invalid subscription regular expression")     // INVALID_REGULAR_EXPRESSION
	ErrTimeout                 = errors.New("consumergroup: request timed out")                           // REQUEST_TIMED_OUT
	ErrClosed                  = errors.New("consumergroup: coordinator closed")                          // COORDINATOR_NOT_AVAILABLE
)
