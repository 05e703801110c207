package groups

import "errors"

// Outcomes of group operations. kafka/ maps each to one Kafka code
// (kafka/errors.go); results carry them wrapped or bare (errors.Is).
var (
	// Coordinator routing.
	ErrNotCoordinator          = errors.New("groups: this broker is not the group's coordinator")  // NOT_COORDINATOR
	ErrCoordinatorNotAvailable = errors.New("groups: coordinator not available")                   // COORDINATOR_NOT_AVAILABLE
	ErrLoadInProgress          = errors.New("groups: coordinator is loading the group's offsets")  // COORDINATOR_LOAD_IN_PROGRESS
	ErrInvalidGroupID          = errors.New("groups: invalid group id")                            // INVALID_GROUP_ID
	ErrTransactionsDisabled    = errors.New("groups: transactions are not supported")              // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
	ErrInvalidRequest          = errors.New("groups: invalid request")                             // INVALID_REQUEST
	ErrUnsupportedKeyType      = errors.New("groups: unsupported coordinator type")                // INVALID_REQUEST
	ErrGroupIDNotFound         = errors.New("groups: group id not found")                          // GROUP_ID_NOT_FOUND
	ErrNonEmptyGroup           = errors.New("groups: the group is not empty")                      // NON_EMPTY_GROUP
	ErrGroupSubscribedToTopic  = errors.New("groups: the group is subscribed to the topic")        // GROUP_SUBSCRIBED_TO_TOPIC
	ErrUnknownTopicOrPartition = errors.New("groups: unknown topic or partition")                  // UNKNOWN_TOPIC_OR_PARTITION
	ErrUnknownTopicID          = errors.New("groups: unknown topic id")                            // UNKNOWN_TOPIC_ID
	ErrOffsetMetadataTooLarge  = errors.New("groups: offset metadata too large")                   // OFFSET_METADATA_TOO_LARGE
	ErrInvalidCommitOffsetSize = errors.New("groups: offset commit too large")                     // INVALID_COMMIT_OFFSET_SIZE
	ErrGroupMaxSizeReached     = errors.New("groups: the group has reached its maximum size")      // GROUP_MAX_SIZE_REACHED
	ErrInconsistentProtocol    = errors.New("groups: inconsistent group protocol")                 // INCONSISTENT_GROUP_PROTOCOL
	ErrInvalidSessionTimeout   = errors.New("groups: invalid session timeout")                     // INVALID_SESSION_TIMEOUT
	ErrUnknownMemberID         = errors.New("groups: unknown member id")                           // UNKNOWN_MEMBER_ID
	ErrMemberIDRequired        = errors.New("groups: a member id is required; join again with it") // MEMBER_ID_REQUIRED
	ErrIllegalGeneration       = errors.New("groups: illegal generation")                          // ILLEGAL_GENERATION
	ErrRebalanceInProgress     = errors.New("groups: rebalance in progress")                       // REBALANCE_IN_PROGRESS
	ErrFencedInstanceID        = errors.New("groups: fenced instance id")                          // FENCED_INSTANCE_ID
	ErrFencedMemberEpoch       = errors.New("groups: fenced member epoch")                         // FENCED_MEMBER_EPOCH
	ErrStaleMemberEpoch        = errors.New("groups: stale member epoch")                          // STALE_MEMBER_EPOCH
	ErrUnreleasedInstanceID    = errors.New("groups: instance id still in use")                    // UNRELEASED_INSTANCE_ID
	ErrUnsupportedAssignor     = errors.New("groups: unsupported assignor")                        // UNSUPPORTED_ASSIGNOR
	ErrGroupTypeMismatch       = errors.New("groups: the group uses the other rebalance protocol") // GROUP_ID_NOT_FOUND / INCONSISTENT_GROUP_PROTOCOL
	ErrInvalidRegex            = errors.New("groups: invalid subscription regular expression")     // INVALID_REGULAR_EXPRESSION
	ErrTimeout                 = errors.New("groups: request timed out")                           // REQUEST_TIMED_OUT
	ErrClosed                  = errors.New("groups: coordinator closed")                          // COORDINATOR_NOT_AVAILABLE
)
