package kafka

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

// GroupService is what the Kafka front needs from the group coordinator
// (coordinator/consumergroup). Every method answers a whole Kafka request (or one group
// of it); results come back in request order with per-item errors that wrap
// the groups sentinels (mapped to Kafka codes in errors.go).
type GroupService interface {
	FindCoordinator(ctx context.Context, keyType int8, keys []string) []consumergroup.CoordinatorResult
	// EnsureOffsetsTopic creates __consumer_offsets if it does not exist
	// (Metadata's auto-creation of it goes here, not to TopicService).
	EnsureOffsetsTopic(ctx context.Context) error
	// Join and Sync block until the group's join or sync phase completes.
	Join(ctx context.Context, req consumergroup.JoinRequest) consumergroup.JoinResult
	Sync(ctx context.Context, req consumergroup.SyncRequest) consumergroup.SyncResult
	Heartbeat(ctx context.Context, req consumergroup.HeartbeatRequest) error
	Leave(ctx context.Context, group string, members []consumergroup.LeaveMember) ([]consumergroup.LeaveResult, error)
	Commit(ctx context.Context, req consumergroup.CommitRequest) []consumergroup.TopicErrors
	Fetch(ctx context.Context, gs []consumergroup.FetchGroup) []consumergroup.FetchedGroup
	Describe(ctx context.Context, names []string) []consumergroup.DescribedGroup
	List(ctx context.Context, states, types []string) []consumergroup.ListedGroup
	DeleteGroups(ctx context.Context, names []string) []error
	DeleteOffsets(ctx context.Context, group string, ts []consumergroup.DeleteTopicPartitions) ([]consumergroup.TopicErrors, error)
	// KIP-848.
	ConsumerHeartbeat(ctx context.Context, req consumergroup.ConsumerHeartbeatRequest) consumergroup.ConsumerHeartbeatResult
	ConsumerDescribe(ctx context.Context, names []string) []consumergroup.ConsumerGroupDescription
	// ConsumerProtocol reports whether ConsumerGroupHeartbeat and
	// ConsumerGroupDescribe are served (and advertised in ApiVersions).
	ConsumerProtocol() bool
}

// hasGroups reports whether the server serves the group APIs.
func (s *Server) hasGroups() bool { return s.cfg.Groups != nil }

// clientKey carries the requesting connection's client ID and address in a
// handler's context (DescribeGroups reports them per member).
type clientKey struct{}

func withClient(ctx context.Context, clientID string, addr net.Addr) context.Context {
	host := ""
	if addr != nil {
		host = addr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = "/" + host // Kafka's form: InetAddress.toString
	}
	return context.WithValue(ctx, clientKey{}, consumergroup.Client{ID: clientID, Host: host})
}

// clientOf returns the connection's client identity from ctx.
func clientOf(ctx context.Context) consumergroup.Client {
	c, _ := ctx.Value(clientKey{}).(consumergroup.Client)
	return c
}

// errGroupResults marks an item the GroupService left out or answered out
// of request order: a broken contract, answered with UNKNOWN_SERVER_ERROR.
var errGroupResults = errors.New("kafka: group service results do not match the request")

// groupContext bounds requests that wait on a group's join or sync phase:
// the phase ends by the group's rebalance timeout at the latest, which the
// client allows for too; this is only a backstop.
func groupContext(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d+readTimeout)
}
