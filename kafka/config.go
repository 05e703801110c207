package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/topics"
)

// TopicService is what the Kafka front needs from topics.Service. Every
// mutation goes through it (STYLE §9: one funnel).
type TopicService interface {
	Create(ctx context.Context, specs []topics.CreateSpec, opts topics.CreateOptions) ([]topics.TopicResult, error)
	AutoCreate(ctx context.Context, names []string) ([]topics.TopicResult, error)
	Delete(ctx context.Context, specs []topics.DeleteSpec) ([]topics.TopicResult, error)
	CreatePartitions(ctx context.Context, specs []topics.PartitionsSpec, validateOnly bool) ([]topics.TopicResult, error)
	AlterConfigs(ctx context.Context, specs []topics.AlterSpec, validateOnly bool) ([]topics.TopicResult, error)
	// Describe is one linearizable read of brokers and topics.
	Describe(ctx context.Context, q topics.Query) (*topics.View, error)
	TopicConfigs(t *topics.Topic) []topics.ResolvedConfig
	BrokerConfigs() []topics.ResolvedConfig
}

// ClusterInfo reports cluster-level facts that are not part of a View.
type ClusterInfo interface {
	// ControllerID is the broker ID of the metadata Raft leader, -1 if
	// unknown.
	ControllerID() int32
}

// DefaultIdleTimeout is Kafka's connections.max.idle.ms default.
const DefaultIdleTimeout = 10 * time.Minute

// DefaultMaxRequestBytes is Kafka's socket.request.max.bytes default.
const DefaultMaxRequestBytes int32 = 100 << 20

// Config configures a Server.
type Config struct {
	NodeID          int32
	ClusterID       string
	Topics          TopicService
	Cluster         ClusterInfo
	Records         RecordService // data APIs; nil: not advertised nor served (metadata-only front)
	Groups          GroupService  // group APIs; nil: not advertised nor served
	AutoCreate      bool          // mirror of auto.create.topics.enable, for Metadata
	MaxRequestBytes int32         // socket.request.max.bytes; 0 means the default
	// IdleTimeout closes a connection that sends no complete request for
	// this long (connections.max.idle.ms; a half-written frame counts as
	// idle). 0 means the default, 10 minutes.
	IdleTimeout time.Duration
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots:
	// how many KIP-227 fetch sessions the broker keeps (fetchsession.go).
	// 0 means the default, 1000; NoFetchSessions disables them.
	FetchSessionCacheSlots int
	Logger                 zerolog.Logger
	Metrics                *metrics.Set // one per node; never the global set
}

// DefaultConfig returns a Config with Kafka's defaults. The caller fills in
// NodeID, ClusterID, Topics, Cluster and Metrics, Records to serve the
// data APIs and Groups to serve the group APIs.
func DefaultConfig() Config {
	return Config{
		AutoCreate:      true,
		MaxRequestBytes: DefaultMaxRequestBytes,
		Logger:          zerolog.Nop(),
	}
}

// NoFetchSessions is the FetchSessionCacheSlots of a broker that answers
// every fetch in full (Kafka's max.incremental.fetch.session.cache.slots=0).
const NoFetchSessions = -1

// Limits of the connection settings (the flags' ranges).
const (
	minMaxRequestBytes = 1 << 10 // socket.request.max.bytes: 1 KiB ...
	maxMaxRequestBytes = 1 << 30 // ... to 1 GiB
	minIdleTimeout     = time.Second
)

// Validate checks the settings of c, the one home of their ranges; each
// message names the broker flag (a Kafka broker config name) that sets it.
// Zero values mean the defaults. The wiring (Topics, Cluster, Metrics,
// ClusterID) is NewServer's concern.
func (c Config) Validate() error {
	switch {
	case c.NodeID < 0:
		return errors.New("kafka: NodeID must be >= 0")
	case c.MaxRequestBytes != 0 && (c.MaxRequestBytes < minMaxRequestBytes || c.MaxRequestBytes > maxMaxRequestBytes):
		return fmt.Errorf("kafka: --socket.request.max.bytes must be between 1 KiB and 1 GiB, got %d", c.MaxRequestBytes)
	case c.FetchSessionCacheSlots < NoFetchSessions:
		return errors.New("kafka: --max.incremental.fetch.session.cache.slots must not be negative")
	case c.IdleTimeout != 0 && c.IdleTimeout < minIdleTimeout:
		return fmt.Errorf("kafka: --connections.max.idle.ms must be at least %d, got %d", minIdleTimeout.Milliseconds(), c.IdleTimeout.Milliseconds())
	}
	return nil
}

// prepare checks the wiring and the settings of c and fills zero values
// with defaults.
func (c *Config) prepare() error {
	switch {
	case c.ClusterID == "":
		return errors.New("kafka: ClusterID is required")
	case c.Topics == nil:
		return errors.New("kafka: Topics is required")
	case c.Cluster == nil:
		return errors.New("kafka: Cluster is required")
	case c.Metrics == nil:
		return errors.New("kafka: Metrics is required (one set per node)")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	switch c.FetchSessionCacheSlots {
	case 0:
		c.FetchSessionCacheSlots = DefaultFetchSessionCacheSlots
	case NoFetchSessions:
		c.FetchSessionCacheSlots = 0
	}
	return nil
}
