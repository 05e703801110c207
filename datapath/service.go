package datapath

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Node is what the data path needs from the node; *node.Node implements it.
type Node interface {
	ID() int32
	// ReadTopics (linearizable) and LocalTopics (this replica) read topic
	// metadata.
	topics.MetadataReader
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

// catalog resolves a request's topics local first (topics.LocalCatalog):
// for Fetch, ListOffsets, OffsetForLeaderEpoch and DeleteRecords, which
// never create a partition in a data group (node/doc.go, "Which reads are
// local"). Produce uses topics.ReadCatalog.
func (s *Service) catalog(ctx context.Context, names []string, ids []TopicID) (*topics.Catalog, error) {
	return topics.LocalCatalog(ctx, s.cfg.Node, names, ids)
}

// lookup finds a topic by name, or by ID when name is "".
func lookup(c *topics.Catalog, name string, id TopicID) (*topics.Topic, error) {
	if t := c.Topic(name, id); t != nil {
		return t, nil
	}
	if name == "" {
		return nil, ErrUnknownTopicID
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
