// Package groups is the group coordinator: the classic consumer-group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets
// (OffsetCommit, OffsetFetch, OffsetDelete), group administration
// (DescribeGroups, ListGroups, DeleteGroups), FindCoordinator, and KIP-848
// consumer groups (ConsumerGroupHeartbeat, ConsumerGroupDescribe) with
// server-side assignors.
//
// Durable state lives in the internal topic __consumer_offsets, whose
// partitions live in data groups like any other partition (DESIGN §3), never
// in the metadata shard. Group G belongs to partition
// abs(javaHashCode(G)) % N, as in Kafka, and its coordinator is the Raft
// leader of that partition's data group. A coordinator loads a partition by
// replaying the local replica's log when it becomes leader, then keeps the
// in-memory state as a fold of that log: every write (commits, group
// metadata, tombstones) is one datagroup.Produce proposal, acknowledged
// after commit, and applied in memory by reading the log back.
//
// Locks: Service.mu guards the partition table; each partition's mu guards
// everything of that partition (its groups, members, offsets). Order:
// Service.mu before partition.mu; no lock is held while proposing or
// waiting for a member.
package consumergroup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// OffsetsTopic is the internal topic holding committed offsets and group
// metadata.
const OffsetsTopic = "__consumer_offsets"

// Node is what the coordinator needs from the node; *node.Node implements
// it.
type Node interface {
	ID() int32
	// ReadTopics (linearizable) and LocalTopics (this replica) read topic
	// metadata.
	topics.MetadataReader
	// ReadBrokers is a linearizable read of the brokers.
	ReadBrokers(ctx context.Context) (*statemachine.BrokersView, error)
	DataGroupLeader(shardID uint64) (leader int32, term uint64, ok bool)
	DataGroupReplica(shardID uint64) (*datagroup.StateMachine, bool)
	ProposeDataGroup(ctx context.Context, shardID uint64, cmd datagroup.Command) (datagroup.Result, error)
}

// TopicCreator creates __consumer_offsets; *topics.Service implements it.
type TopicCreator interface {
	Create(ctx context.Context, specs []topics.CreateSpec, opts topics.CreateOptions) ([]topics.TopicResult, error)
}

// DiskGuard admits or refuses writes that grow this node's data dir;
// *diskspace.Guard implements it.
type DiskGuard interface {
	AdmitWrite(api string) error
}

// Config configures the coordinator. Zero durations and counts take the
// defaults of DefaultConfig.
type Config struct {
	Node   Node
	Topics TopicCreator
	// Disk, when set, is asked before an OffsetCommit is proposed: a node
	// low on disk answers COORDINATOR_NOT_AVAILABLE (clients look the
	// coordinator up again and retry) rather than propose a write that
	// could fail inside every replica's apply. Group membership records and
	// compaction are not refused: they are small, and compaction frees space.
	Disk DiskGuard

	// OffsetsTopicPartitions is offsets.topic.num.partitions (50).
	OffsetsTopicPartitions int32
	// OffsetsTopicReplicationFactor is offsets.topic.replication.factor
	// (3), capped to the live brokers when the topic is created.
	OffsetsTopicReplicationFactor int16
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms (3 s):
	// how long a new group waits for more members before its first
	// generation. NoInitialRebalanceDelay means no delay (0 means the
	// default); other negative values are invalid.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms (6 s) and group.max.session.timeout.ms
	// (30 min).
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// MaxGroupSize is group.max.size (unlimited).
	MaxGroupSize int
	// MaxMetadataBytes is offset.metadata.max.bytes (4096).
	MaxMetadataBytes int
	// ConsumerSessionTimeout and ConsumerHeartbeatInterval are
	// group.consumer.session.timeout.ms (45 s) and
	// group.consumer.heartbeat.interval.ms (5 s), for KIP-848 groups.
	ConsumerSessionTimeout    time.Duration
	ConsumerHeartbeatInterval time.Duration
	// ConsumerAssignors are group.consumer.assignors: "uniform" and
	// "range"; the first is the default.
	ConsumerAssignors []string
	// PollInterval is how often the coordinator checks which offsets
	// partitions it leads (100 ms).
	PollInterval time.Duration
	// CompactMinRecords: an offsets partition whose log holds more than
	// this many records, and twice more than its live state, is
	// compacted: the coordinator appends its live state and deletes the
	// records before it (10000).
	CompactMinRecords int64
	// CleanupInterval is how often a coordinator deletes the commits of
	// topics that no longer exist (30 s).
	CleanupInterval time.Duration
	// OffsetsRetention is offsets.retention.minutes (7 days): how long
	// the commits of a group without members are kept (group.go,
	// expiryBase). Milliseconds are allowed here, for tests.
	OffsetsRetention time.Duration
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms
	// (10 min): how often a coordinator looks for expired commits.
	OffsetsRetentionCheckInterval time.Duration

	Now    func() time.Time
	Logger zerolog.Logger
}

// NoInitialRebalanceDelay is the InitialRebalanceDelay of a group that
// starts its first generation at once (group.initial.rebalance.delay.ms=0).
const NoInitialRebalanceDelay time.Duration = -1

// maxOffsetsPartitions bounds offsets.topic.num.partitions.
const maxOffsetsPartitions = 1 << 16

// DefaultConfig returns Kafka's defaults (Node and Topics must be set).
func DefaultConfig() Config {
	return Config{
		OffsetsTopicPartitions:        50,
		OffsetsTopicReplicationFactor: 3,
		InitialRebalanceDelay:         3 * time.Second,
		MinSessionTimeout:             6 * time.Second,
		MaxSessionTimeout:             30 * time.Minute,
		MaxGroupSize:                  1<<31 - 1,
		MaxMetadataBytes:              4096,
		ConsumerSessionTimeout:        45 * time.Second,
		ConsumerHeartbeatInterval:     5 * time.Second,
		ConsumerAssignors:             []string{"uniform", "range"},
		PollInterval:                  100 * time.Millisecond,
		CompactMinRecords:             10000,
		CleanupInterval:               30 * time.Second,
		OffsetsRetention:              7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval: 10 * time.Minute,
		Now:                           time.Now,
		Logger:                        zerolog.Nop(),
	}
}

// withDefaults fills zero values from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.OffsetsTopicPartitions == 0 {
		c.OffsetsTopicPartitions = d.OffsetsTopicPartitions
	}
	if c.OffsetsTopicReplicationFactor == 0 {
		c.OffsetsTopicReplicationFactor = d.OffsetsTopicReplicationFactor
	}
	if c.InitialRebalanceDelay == 0 {
		c.InitialRebalanceDelay = d.InitialRebalanceDelay
	} else if c.InitialRebalanceDelay < 0 {
		c.InitialRebalanceDelay = 0
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = d.MinSessionTimeout
	}
	if c.MaxSessionTimeout == 0 {
		c.MaxSessionTimeout = d.MaxSessionTimeout
	}
	if c.MaxGroupSize == 0 {
		c.MaxGroupSize = d.MaxGroupSize
	}
	if c.MaxMetadataBytes == 0 {
		c.MaxMetadataBytes = d.MaxMetadataBytes
	}
	if c.ConsumerSessionTimeout == 0 {
		c.ConsumerSessionTimeout = d.ConsumerSessionTimeout
	}
	if c.ConsumerHeartbeatInterval == 0 {
		c.ConsumerHeartbeatInterval = d.ConsumerHeartbeatInterval
	}
	if len(c.ConsumerAssignors) == 0 {
		c.ConsumerAssignors = d.ConsumerAssignors
	}
	if c.PollInterval == 0 {
		c.PollInterval = d.PollInterval
	}
	if c.CompactMinRecords == 0 {
		c.CompactMinRecords = d.CompactMinRecords
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = d.CleanupInterval
	}
	if c.OffsetsRetention == 0 {
		c.OffsetsRetention = d.OffsetsRetention
	}
	if c.OffsetsRetentionCheckInterval == 0 {
		c.OffsetsRetentionCheckInterval = d.OffsetsRetentionCheckInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the settings of c (after defaults), the one home of
// their ranges; each message names the broker flag (a Kafka broker config
// name) that sets it. The wiring (Node, Topics) is New's concern.
func (c Config) Validate() error {
	if c.InitialRebalanceDelay < 0 && c.InitialRebalanceDelay != NoInitialRebalanceDelay {
		return fmt.Errorf("consumergroup: --group.initial.rebalance.delay.ms must not be negative, got %d", c.InitialRebalanceDelay.Milliseconds())
	}
	c = c.withDefaults()
	switch {
	case c.OffsetsTopicPartitions < 1 || c.OffsetsTopicPartitions > maxOffsetsPartitions:
		return fmt.Errorf("consumergroup: --offsets.topic.num.partitions must be between 1 and %d, got %d", maxOffsetsPartitions, c.OffsetsTopicPartitions)
	case c.OffsetsTopicReplicationFactor < 1:
		return fmt.Errorf("consumergroup: --offsets.topic.replication.factor must be at least 1, got %d", c.OffsetsTopicReplicationFactor)
	case c.MinSessionTimeout <= 0 || c.MinSessionTimeout > c.MaxSessionTimeout:
		return fmt.Errorf("consumergroup: --group.min.session.timeout.ms (%d) must be positive and at most --group.max.session.timeout.ms (%d)",
			c.MinSessionTimeout.Milliseconds(), c.MaxSessionTimeout.Milliseconds())
	case c.MaxGroupSize < 1:
		return errors.New("consumergroup: config: group.max.size must be at least 1")
	case c.OffsetsRetention < 0:
		return fmt.Errorf("consumergroup: --offsets.retention.minutes must be at least 1, got %v", c.OffsetsRetention)
	case c.OffsetsRetentionCheckInterval < 0:
		return fmt.Errorf("consumergroup: config: offsets.retention.check.interval.ms must be positive, got %v", c.OffsetsRetentionCheckInterval)
	}
	for _, a := range c.ConsumerAssignors {
		if a != "uniform" && a != "range" {
			return fmt.Errorf("consumergroup: config: unknown assignor %q (uniform, range)", a)
		}
	}
	return nil
}

// Service is one broker's group coordinator.
type Service struct {
	cfg  Config
	log  zerolog.Logger
	kick chan struct{}
	// afterFunc starts the group timers (session, rebalance, sync,
	// revocation): time.AfterFunc, or a test's fake clock that goes with
	// cfg.Now.
	afterFunc func(d time.Duration, fn func()) timer

	mu    sync.Mutex
	parts map[int32]*partition // offsets partitions this node leads
	topic *offsetsTopic        // __consumer_offsets as last read

	createMu sync.Mutex // one auto-creation at a time
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// offsetsTopic is __consumer_offsets as the metadata shard lists it.
type offsetsTopic struct {
	id     TopicID
	shards []uint64 // data group of each partition (0: none yet)
	view   *topics.View
}

// New returns a coordinator; Run makes it take over partitions.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Node == nil:
		return nil, errors.New("consumergroup: config: Node is required")
	case cfg.Topics == nil:
		return nil, errors.New("consumergroup: config: Topics is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		cfg:   cfg,
		log:   cfg.Logger,
		kick:  make(chan struct{}, 1),
		parts: map[int32]*partition{},
		afterFunc: func(d time.Duration, fn func()) timer {
			return time.AfterFunc(d, fn)
		},
		ctx:    ctx,
		cancel: cancel,
	}, nil
}

// Run watches which partitions of __consumer_offsets this node leads,
// loads those it takes over and drops those it lost, until ctx ends. All
// partitions are dropped when it returns.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	cleanup := time.NewTicker(s.cfg.CleanupInterval)
	defer cleanup.Stop()
	expiry := time.NewTicker(s.cfg.OffsetsRetentionCheckInterval)
	defer expiry.Stop()
	defer s.close()
	for {
		s.refresh()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		case <-cleanup.C:
			s.dropDeletedTopics(ctx)
		case <-expiry.C:
			s.expireOffsets(ctx)
		}
	}
}

// dropDeletedTopics deletes (tombstones) the commits of topics that no
// longer exist, as Kafka does when a topic is deleted: one linearizable
// read of the topics the loaded partitions hold commits for, and one write
// per partition that holds some of the deleted ones.
func (s *Service) dropDeletedTopics(ctx context.Context) {
	s.mu.Lock()
	parts := make([]*partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	names := map[string]bool{}
	for _, p := range parts {
		p.mu.Lock()
		if p.loaded.Load() && !p.closed {
			for _, g := range p.groups {
				for t := range g.offsets {
					names[t] = true
				}
			}
		}
		p.mu.Unlock()
	}
	if len(names) == 0 {
		return
	}
	q := statemachine.QueryTopics{}
	for n := range names {
		q.Names = append(q.Names, n)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Linearizable: a local replica that has not applied a topic's
	// creation yet would take its commits for those of a deleted topic.
	v, err := s.cfg.Node.ReadTopics(rctx, q)
	if err != nil {
		return
	}
	gone := map[string]bool{}
	for _, n := range v.Missing {
		gone[n] = true
	}
	if len(gone) == 0 {
		return
	}
	for _, p := range parts {
		var recs []kv
		p.mu.Lock()
		if p.loaded.Load() && !p.closed {
			for _, name := range sortedKeys(p.groups) {
				for t, ps := range p.groups[name].offsets {
					if !gone[t] {
						continue
					}
					for part := range ps {
						recs = append(recs, kv{Key: offsetKey(name, t, part)})
					}
				}
			}
		}
		p.mu.Unlock()
		if len(recs) == 0 {
			continue
		}
		if err := p.write(rctx, recs); err != nil {
			s.log.Debug().Err(err).Int32("partition", p.index).Msg("deleting commits of deleted topics failed")
			continue
		}
		s.log.Info().Int32("partition", p.index).Int("commits", len(recs)).Msg("deleted the commits of deleted topics")
	}
}

// wake makes Run look again now.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) close() {
	s.cancel()
	s.mu.Lock()
	for i, p := range s.parts {
		p.unload()
		delete(s.parts, i)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readTopic returns __consumer_offsets from the local metadata replica, or
// nil if it does not exist there.
func (s *Service) readTopic() *offsetsTopic {
	v, err := s.cfg.Node.LocalTopics(statemachine.QueryTopics{Names: []string{OffsetsTopic}})
	if err != nil {
		return nil
	}
	return topicFromView(v)
}

// readTopicLinearizable is readTopic through a linearizable read.
func (s *Service) readTopicLinearizable(ctx context.Context) (*offsetsTopic, error) {
	v, err := s.cfg.Node.ReadTopics(ctx, statemachine.QueryTopics{Names: []string{OffsetsTopic}})
	if err != nil {
		return nil, err
	}
	return topicFromView(v), nil
}

func topicFromView(v *topics.View) *offsetsTopic {
	for _, t := range v.Topics {
		if t.Name != OffsetsTopic || len(t.Partitions) == 0 {
			continue
		}
		ot := &offsetsTopic{id: t.ID, shards: make([]uint64, len(t.Partitions)), view: v}
		for i, p := range t.Partitions {
			ot.shards[i] = p.DataGroup
		}
		return ot
	}
	return nil
}

// refresh is one pass of Run.
func (s *Service) refresh() {
	t := s.readTopic()
	self := s.cfg.Node.ID()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topic = t
	for i, p := range s.parts {
		keep := t != nil && int(i) < len(t.shards) && t.id == p.topicID && t.shards[i] == p.shard
		if keep {
			leader, term, ok := s.cfg.Node.DataGroupLeader(p.shard)
			keep = ok && leader == self && term == p.term && !p.failed()
		}
		if !keep {
			p.unload()
			delete(s.parts, i)
			s.log.Info().Int32("partition", i).Uint64("shard", p.shard).Msg("no longer coordinator for offsets partition")
		}
	}
	if t == nil {
		return
	}
	for _, p := range s.parts {
		p.maybeCompact()
	}
	for i, shard := range t.shards {
		idx := int32(i)
		if shard == 0 || s.parts[idx] != nil {
			continue
		}
		leader, term, ok := s.cfg.Node.DataGroupLeader(shard)
		if !ok || leader != self {
			continue
		}
		p := newPartition(s, idx, t.id, shard, term)
		s.parts[idx] = p
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.load(s.ctx)
		}()
	}
}

// coordinator returns the loaded partition that holds group, or
// ErrNotCoordinator / ErrLoadInProgress / ErrCoordinatorNotAvailable.
func (s *Service) coordinator(group string) (*partition, error) {
	s.mu.Lock()
	t := s.topic
	if t == nil {
		s.mu.Unlock()
		if t = s.readTopic(); t == nil {
			return nil, fmt.Errorf("%w: %s does not exist yet", ErrNotCoordinator, OffsetsTopic)
		}
		s.mu.Lock()
	}
	idx := PartitionFor(group, int32(len(t.shards)))
	p := s.parts[idx]
	s.mu.Unlock()
	shard := t.shards[idx]
	leader, term, ok := s.cfg.Node.DataGroupLeader(shard)
	switch {
	case shard == 0 || !ok:
		return nil, fmt.Errorf("%w: offsets partition %d has no leader", ErrCoordinatorNotAvailable, idx)
	case leader != s.cfg.Node.ID():
		return nil, fmt.Errorf("%w: offsets partition %d is led by broker %d", ErrNotCoordinator, idx, leader)
	case p == nil || p.term != term || p.shard != shard:
		s.wake()
		return nil, fmt.Errorf("%w: offsets partition %d", ErrLoadInProgress, idx)
	}
	if !p.isLoaded() {
		return nil, fmt.Errorf("%w: offsets partition %d", ErrLoadInProgress, idx)
	}
	return p, nil
}
