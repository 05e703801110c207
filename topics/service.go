// Package topics is the only writer of topic metadata: CreateTopics,
// auto-creation, CreatePartitions, DeleteTopics and (Incremental)AlterConfigs
// all go through Service. Each request is validated, placed and planned by
// pure functions (plan*), and becomes exactly one Raft proposal: a
// statemachine.Batch carrying every topic- and partition-level command.
// Existence is checked inside apply, never on local state (STYLE §2, §9).
//
// Service is safe for concurrent use; its only mutable state is the
// placement cursor and the group-commit queue of creates.
package topics

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
)

// Store is the metadata shard as the service sees it; *node.Node implements
// it.
type Store interface {
	// Propose encodes cmd, proposes it to the metadata shard (one proposal),
	// waits until it is applied and returns the decoded result. kind labels
	// the proposal metric ("create_topics", "delete_topics",
	// "create_partitions", "alter_configs").
	// Errors wrap node.ErrNotReady (not committed), node.ErrTimeout (outcome
	// unknown) or node.ErrClosed.
	Propose(ctx context.Context, kind string, cmd statemachine.Command) (statemachine.Result, error)
	// ReadTopics is a linearizable read (SyncRead) of the metadata shard.
	ReadTopics(ctx context.Context, q statemachine.QueryTopics) (*statemachine.View, error)
	// LocalTopics and LocalDataGroupTable read this node's copy of the
	// metadata without a consensus round (placement, whose validity apply
	// re-checks, and waiting for committed state to show up locally).
	LocalTopics(q statemachine.QueryTopics) (*statemachine.View, error)
	LocalDataGroupTable() ([]*statemachine.DataGroup, error)
	// IsLeader reports whether this node leads the metadata shard.
	IsLeader() bool
}

// Config configures a Service.
type Config struct {
	Store                    Store
	AutoCreateTopics         bool  // auto.create.topics.enable, default true
	DefaultPartitions        int32 // num.partitions, default 1
	DefaultReplicationFactor int16 // default.replication.factor; 0 = min(3, live brokers) (default 0)
	MaxPartitionsPerRequest  int   // above this a request's topics get ErrPolicyViolation; default 100000

	Now    func() time.Time // default time.Now
	NewID  func() TopicID   // default crypto/rand UUID v4
	Logger zerolog.Logger
	// Metrics receives skiff_topics_create_requests_total{node=NodeID};
	// nil: a private set.
	Metrics *metrics.Set
	NodeID  int32
}

// DefaultConfig returns the defaults (Store must still be set).
func DefaultConfig() Config {
	return Config{
		AutoCreateTopics:         true,
		DefaultPartitions:        1,
		DefaultReplicationFactor: 0,
		MaxPartitionsPerRequest:  100000,
		Now:                      time.Now,
		NewID:                    NewTopicID,
		Logger:                   zerolog.Nop(),
	}
}

// Validate checks the settings of c, the one home of their ranges; each
// message names the broker flag (a Kafka broker config name) that sets it.
// The wiring (Store) is New's concern.
func (c Config) Validate() error {
	switch {
	case c.DefaultPartitions < 1 || c.DefaultPartitions > maxTopicPartitions:
		return fmt.Errorf("topics: --num.partitions must be between 1 and %d, got %d", maxTopicPartitions, c.DefaultPartitions)
	case c.DefaultReplicationFactor < 0 || c.DefaultReplicationFactor > maxReplicas:
		return fmt.Errorf("topics: --default.replication.factor must be 0 (automatic) or between 1 and %d, got %d", maxReplicas, c.DefaultReplicationFactor)
	case c.MaxPartitionsPerRequest < 1:
		return fmt.Errorf("topics: --max.partitions.per.request must be at least 1, got %d", c.MaxPartitionsPerRequest)
	}
	return nil
}

// Service creates, alters and deletes topics through the metadata shard.
type Service struct {
	cfg Config
	log zerolog.Logger
	m   serviceMetrics

	placeMu     sync.Mutex // serialises planning, for placeCursor
	placeCursor int        // where the next automatic placement starts (at least)

	maxInFlight int      // create proposals in flight (maxCreatesInFlight; tests change it)
	gc          struct { // group commit of creates (groupcommit.go)
		sync.Mutex
		queue    []*commitJob
		inflight int // commitLoops running
	}
}

type serviceMetrics struct {
	createRequests *metrics.Counter
}

// New returns a Service. Nil Now and NewID take their defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("topics: config: Store is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewTopicID
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	s := &Service{cfg: cfg, log: cfg.Logger.With().Str("component", "topics").Logger(), maxInFlight: maxCreatesInFlight}
	s.m.createRequests = cfg.Metrics.GetOrCreateCounter(fmt.Sprintf(`skiff_topics_create_requests_total{node="%d"}`, cfg.NodeID))
	return s, nil
}

// Describe returns the metadata view q asks for, from one linearizable read.
func (s *Service) Describe(ctx context.Context, q Query) (*View, error) {
	return s.read(ctx, "describe", q)
}

// read does one linearizable QueryTopics read.
func (s *Service) read(ctx context.Context, what string, q statemachine.QueryTopics) (*View, error) {
	view, err := s.cfg.Store.ReadTopics(ctx, q)
	if err != nil {
		return nil, wrapStoreError(what, err)
	}
	return view, nil
}

// localView reads this node's copy of the metadata (no consensus round).
func (s *Service) localView(q statemachine.QueryTopics) (*View, error) {
	view, err := s.cfg.Store.LocalTopics(q)
	if err != nil {
		return nil, wrapStoreError("local read", err)
	}
	return view, nil
}

// propose sends batch as one proposal. With idempotent set, a proposal
// whose outcome is unknown (node.ErrTimeout) is proposed again, the same
// bytes, until it succeeds or ctx ends; only idempotent batches may be
// retried (same-ID creates, config writes).
func (s *Service) propose(ctx context.Context, kind string, batch statemachine.Batch, idempotent bool) (statemachine.Result, error) {
	res, _, err := s.proposeCounted(ctx, kind, batch, idempotent)
	return res, err
}

// proposeCounted is propose that also reports how many times the batch was
// proposed (more than once only after unknown outcomes).
func (s *Service) proposeCounted(ctx context.Context, kind string, batch statemachine.Batch, idempotent bool) (statemachine.Result, int, error) {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := s.cfg.Store.Propose(ctx, kind, batch)
		if err == nil {
			if len(res.Codes) != len(batch.Cmds) {
				return res, attempt, fmt.Errorf("topics: %s: result has %d codes for %d commands", kind, len(res.Codes), len(batch.Cmds))
			}
			return res, attempt, nil
		}
		if !idempotent || !errors.Is(err, node.ErrTimeout) || ctx.Err() != nil {
			return res, attempt, wrapStoreError(kind, err)
		}
		s.log.Warn().Err(err).Str("kind", kind).Int("attempt", attempt).Msg("proposal outcome unknown; proposing again")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, attempt, wrapStoreError(kind, err)
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// NewTopicID returns a random (version 4) topic UUID that, like Kafka's
// Uuid.randomUuid, is never zero, never Kafka's metadata topic ID (0...01)
// and whose base64 form does not start with '-'.
func NewTopicID() TopicID {
	for {
		var id TopicID
		if _, err := rand.Read(id[:]); err != nil {
			panic("topics: crypto/rand: " + err.Error())
		}
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		if base64.RawURLEncoding.EncodeToString(id[:1])[0] != '-' {
			return id
		}
	}
}

// failed returns a result for name with err and Kafka's -1 counts.
func failed(name string, err error) TopicResult {
	return TopicResult{Name: name, Err: err, NumPartitions: -1, ReplicationFactor: -1}
}
