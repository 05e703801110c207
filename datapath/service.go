package datapath

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Node is what the data path needs from the node; *node.Node implements it.
type Node interface {
	ID() int32
	// Read is a linearizable read of the metadata shard; LocalRead reads
	// this replica's metadata without that guarantee.
	Read(ctx context.Context, q any) (any, error)
	LocalRead(q any) (any, error)
	DataGroupLeader(shardID uint64) (leader int32, term uint64, ok bool)
	DataGroupReplica(shardID uint64) (*datagroup.StateMachine, bool)
	LocalDataGroups() []uint64
	ProposeDataGroup(ctx context.Context, shardID uint64, cmd datagroup.Command) (datagroup.Result, error)
	ProposeDataGroupAsync(shardID uint64, cmd datagroup.Command, timeout time.Duration) error
	NextProducerID(ctx context.Context) (int64, error)
}

// DiskGuard admits or refuses writes that grow this node's data dir;
// *diskspace.Guard implements it.
type DiskGuard interface {
	// AdmitWrite returns nil, or why the write must not be proposed; api
	// names the request ("Produce") for the guard's metric and log.
	AdmitWrite(api string) error
}

// Config configures the data path.
type Config struct {
	Node Node
	// Disk, when set, is asked before a Produce is proposed: a write that
	// fails inside a data group's apply fails on every replica at once, so
	// a node low on disk refuses it up front (retriable).
	Disk   DiskGuard
	Logger zerolog.Logger
	Now    func() time.Time // default time.Now; the proposer's clock for LogAppendTime and retention
	// MaintenanceInterval is how often a group leader enforces retention
	// and drops the logs of deleted topics. Default 30 s.
	MaintenanceInterval time.Duration
}

// Service is the data path of one broker.
type Service struct {
	cfg Config
	log zerolog.Logger
}

// New returns a data-path service.
func New(cfg Config) (*Service, error) {
	if cfg.Node == nil {
		return nil, errors.New("datapath: Node is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaintenanceInterval <= 0 {
		cfg.MaintenanceInterval = 30 * time.Second
	}
	return &Service{cfg: cfg, log: cfg.Logger}, nil
}

// catalog resolves topics by name or ID: from the local metadata replica
// first (no round trip on the hot path), and through one linearizable read
// when something is missing locally (a topic created a moment ago).
type catalog struct {
	view   *topics.View
	byName map[string]*topics.Topic
	byID   map[TopicID]*topics.Topic
}

func (s *Service) catalog(ctx context.Context, names []string, ids []TopicID) (*catalog, error) {
	q := statemachine.QueryTopics{Names: names, IDs: ids}
	v, err := s.cfg.Node.LocalRead(q)
	if err == nil {
		c := newCatalog(v.(*topics.View))
		if c.complete(names, ids) {
			return c, nil
		}
	}
	v, err = s.cfg.Node.Read(ctx, q)
	if err != nil {
		return nil, err
	}
	return newCatalog(v.(*topics.View)), nil
}

func newCatalog(v *topics.View) *catalog {
	c := &catalog{view: v, byName: make(map[string]*topics.Topic, len(v.Topics)), byID: make(map[TopicID]*topics.Topic, len(v.Topics))}
	for _, t := range v.Topics {
		c.byName[t.Name] = t
		c.byID[t.ID] = t
	}
	return c
}

func (c *catalog) complete(names []string, ids []TopicID) bool {
	for _, n := range names {
		if c.byName[n] == nil {
			return false
		}
	}
	for _, id := range ids {
		if c.byID[id] == nil {
			return false
		}
	}
	return true
}

// lookup finds a topic by name, or by ID when name is "".
func (c *catalog) lookup(name string, id TopicID) (*topics.Topic, error) {
	if name == "" {
		if t := c.byID[id]; t != nil {
			return t, nil
		}
		return nil, ErrUnknownTopicID
	}
	if t := c.byName[name]; t != nil {
		return t, nil
	}
	return nil, ErrUnknownTopicOrPart
}

// leaderOf checks that this node leads the data group of partition p of t
// and returns the group's shard ID and term.
func (s *Service) leaderOf(t *topics.Topic, p int32) (shard uint64, term uint64, err error) {
	if p < 0 || int(p) >= len(t.Partitions) {
		return 0, 0, ErrUnknownTopicOrPart
	}
	shard = t.Partitions[p].DataGroup
	if shard == 0 {
		return 0, 0, ErrLeaderNotAvailable
	}
	leader, term, ok := s.cfg.Node.DataGroupLeader(shard)
	switch {
	case !ok:
		return shard, 0, ErrLeaderNotAvailable
	case leader != s.cfg.Node.ID():
		return shard, term, ErrNotLeader
	}
	return shard, term, nil
}

// checkEpoch compares a client's current leader epoch with the group's term.
func checkEpoch(current int32, term uint64) error {
	if current < 0 {
		return nil
	}
	switch t := int64(min(term, 1<<31-1)); {
	case int64(current) < t:
		return ErrFencedLeaderEpoch
	case int64(current) > t:
		return ErrUnknownLeaderEpoch
	}
	return nil
}

// nodeErr maps a node error to this package's sentinels: not ready becomes
// NOT_LEADER_OR_FOLLOWER (the client refreshes metadata and retries).
func nodeErr(err error) error {
	switch {
	case errors.Is(err, node.ErrTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, node.ErrNotReady), errors.Is(err, node.ErrClosed):
		return fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	return err
}

func codeErr(c datagroup.Code) error {
	switch c {
	case datagroup.CodeOK:
		return nil
	case datagroup.CodeCorruptMessage:
		return ErrCorruptMessage
	case datagroup.CodeMessageTooLarge:
		return ErrMessageTooLarge
	case datagroup.CodeOutOfOrderSequence:
		return ErrOutOfOrderSequence
	case datagroup.CodeInvalidProducerEpoch:
		return ErrInvalidProducerEpoch
	case datagroup.CodeUnsupportedMagic:
		return ErrUnsupportedMagic
	case datagroup.CodeInvalidRecord:
		return ErrInvalidRecord
	case datagroup.CodeOffsetOutOfRange:
		return ErrOffsetOutOfRange
	case datagroup.CodeUnknownPartition:
		return ErrUnknownTopicOrPart
	}
	return fmt.Errorf("%w: data group code %d", ErrInvalidRecord, c)
}

func key(t *topics.Topic, p int32) datagroup.PartitionKey {
	return datagroup.PartitionKey{Topic: t.ID, Partition: p}
}

func configInt(t *topics.Topic, k string, def int64) int64 {
	v, ok := topics.TopicConfig(t, k)
	if !ok {
		return def
	}
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return def
	}
	return n
}
