package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// Node is one broker's Dragonboat NodeHost with the metadata shard, the
// broker's registration and heartbeats, and (while it leads the metadata
// shard) the fencing of brokers that stopped heartbeating.
type Node struct {
	cfg         Config
	log         zerolog.Logger
	nh          *dragonboat.NodeHost
	events      *eventQueue
	m           *nodeMetrics
	incarnation uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dataGroups *dataGroups
	pids       pidBlock

	registered atomic.Bool
	closeOnce  sync.Once
}

// Start creates the NodeHost, starts (or restarts) this node's replica of the
// metadata shard and the background loops. It returns before the shard has a
// leader: Ready reports when the broker is registered.
func Start(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	if err := checkWritable(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := datagroup.CheckFormat(filepath.Join(cfg.DataDir, "datagroups")); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	log := cfg.Logger.With().Str("component", "node").Logger()
	installDragonboatLogger(cfg.Logger)

	var inc [8]byte
	if _, err := rand.Read(inc[:]); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg:         cfg,
		log:         log,
		m:           newNodeMetrics(cfg.Metrics),
		incarnation: binary.LittleEndian.Uint64(inc[:]) | 1,
		ctx:         ctx,
		cancel:      cancel,
	}
	n.m.init(cfg.NodeID)
	n.dataGroups = newDataGroups()
	n.events = newEventQueue(log, n.m)

	nhc := config.NodeHostConfig{
		DeploymentID:      DeploymentID,
		NodeHostDir:       filepath.Join(cfg.DataDir, "raft"),
		RTTMillisecond:    cfg.RTTMillisecond,
		RaftAddress:       cfg.RaftAddr,
		ListenAddress:     cfg.RaftListenAddr,
		RaftEventListener: n.events,
		EnableMetrics:     true,
		Expert:            logDBConfig(cfg.LogDB),
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("node: start nodehost: %w", err)
	}
	n.nh = nh

	rc := config.Config{
		ShardID:             MetadataShardID,
		ReplicaID:           cfg.NodeID,
		ElectionRTT:         cfg.ElectionRTT,
		HeartbeatRTT:        cfg.HeartbeatRTT,
		CheckQuorum:         true,
		PreVote:             true,
		SnapshotEntries:     10000,
		CompactionOverhead:  5000,
		OrderedConfigChange: true,
		MaxInMemLogSize:     128 << 20,
	}
	members := map[uint64]dragonboat.Target{}
	join := false
	if nh.HasNodeInfo(MetadataShardID, cfg.NodeID) {
		log.Info().Msg("restarting metadata replica from its data")
	} else if cfg.Join {
		join = true
		log.Info().Msg("joining a running cluster")
	} else {
		if len(cfg.InitialMembers) == 0 {
			members[cfg.NodeID] = cfg.RaftAddr
		}
		for id, addr := range cfg.InitialMembers {
			members[id] = addr
		}
		log.Info().Int("members", len(members)).Msg("bootstrapping metadata shard")
	}
	if join || len(members) == 0 {
		members = nil
	}
	factory := statemachine.NewFactory(filepath.Join(cfg.DataDir, "metadata"), cfg.Logger.With().Str("component", "statemachine").Logger())
	if err := nh.StartOnDiskReplica(members, join, factory, rc); err != nil {
		nh.Close()
		cancel()
		return nil, fmt.Errorf("node: start metadata replica: %w", err)
	}
	n.events.start(&n.wg, ctx)
	n.goLoop(n.registerAndHeartbeat)
	n.goLoop(n.fenceLoop)
	n.goLoop(n.dataGroupLoop)
	return n, nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".skiff-write-check-*")
	if err != nil {
		return fmt.Errorf("node: data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func (n *Node) goLoop(f func(context.Context)) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f(n.ctx)
	}()
}

// ID is the broker ID.
func (n *Node) ID() int32 { return int32(n.cfg.NodeID) }

// Ready reports whether this broker has registered in the metadata shard.
func (n *Node) Ready() bool { return n.registered.Load() }

// ControllerID returns the broker ID of the metadata shard's leader as this
// node last heard it, or -1. It is a routing hint, not a linearizable read.
func (n *Node) ControllerID() int32 {
	id, _, ok, err := n.nh.GetLeaderID(MetadataShardID)
	if err != nil || !ok || id == 0 {
		return -1
	}
	return int32(id)
}

// IsLeader reports whether this node leads the metadata shard.
func (n *Node) IsLeader() bool { return n.ControllerID() == n.ID() }

// Close stops the loops and the NodeHost. It is safe to call more than once.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.cancel()
		n.wg.Wait()
		n.nh.Close()
		n.log.Info().Msg("node closed")
	})
}

// AddMember adds a node to the metadata shard so that it can start with
// Join. Retries until ctx ends.
func (n *Node) AddMember(ctx context.Context, id uint64, raftAddr string) error {
	return n.retry(ctx, true, func(ctx context.Context) error {
		m, err := n.nh.SyncGetShardMembership(ctx, MetadataShardID)
		if err != nil {
			return err
		}
		if addr, ok := m.Nodes[id]; ok {
			if addr == raftAddr {
				return nil // already a member: a retried join
			}
			return fmt.Errorf("node: %d is already a member at %s", id, addr)
		}
		if _, removed := m.Removed[id]; removed {
			return fmt.Errorf("node: ID %d was removed and cannot be reused", id)
		}
		return n.nh.SyncRequestAddReplica(ctx, MetadataShardID, id, raftAddr, m.ConfigChangeID)
	})
}
