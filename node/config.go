package node

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
)

// MetadataShardID is the Dragonboat shard that holds cluster metadata.
const MetadataShardID uint64 = 1

// DeploymentID is written into every node's data directory; nodes with
// different IDs refuse to talk to each other.
const DeploymentID uint64 = 0x5C1FF

// Config configures one node (one Dragonboat NodeHost).
type Config struct {
	NodeID   uint64 // broker ID = Raft replica ID, > 0
	DataDir  string // Raft log, snapshots and state machine data
	RaftAddr string // host:port for Raft traffic; may not change after the first start
	// RaftListenAddr, when set, is where the Raft transport listens while
	// peers keep dialling RaftAddr (behind NAT, or through a proxy).
	RaftListenAddr string
	// InitialMembers maps replica ID to Raft address for a new cluster. It
	// must be the same on every initial member and include this node.
	// Ignored once the node has bootstrapped.
	InitialMembers map[uint64]string
	// Join starts a node that was added to a running cluster (AddMember was
	// called on a member first). Ignored once the node has bootstrapped.
	Join bool

	// KafkaAddr is the advertised Kafka host:port registered for this broker.
	KafkaAddr string
	Rack      string

	RTTMillisecond    uint64        // Raft tick; default 50
	ElectionRTT       uint64        // ticks; default 20 (1-2 s at 50 ms)
	HeartbeatRTT      uint64        // ticks; default 2
	HeartbeatInterval time.Duration // broker heartbeats; default 1 s
	SessionTimeout    time.Duration // a broker is fenced after this long without heartbeats; default 6 s

	// LogDB is the Raft log store: "pebble" (Dragonboat's sharded pebble
	// with the small-memory preset) or "tan" (Dragonboat's tan log store).
	// Fixed at the first start: Dragonboat refuses to switch.
	LogDB string

	Logger  zerolog.Logger
	Metrics *metrics.Set // one set per node; required
}

// DefaultConfig returns a one-node configuration with the documented defaults.
func DefaultConfig() Config {
	return Config{
		NodeID:            1,
		DataDir:           "./data",
		RaftAddr:          "127.0.0.1:7946",
		KafkaAddr:         "127.0.0.1:9092",
		RTTMillisecond:    50,
		ElectionRTT:       20,
		HeartbeatRTT:      2,
		HeartbeatInterval: time.Second,
		SessionTimeout:    6 * time.Second,
		LogDB:             "pebble",
		Logger:            zerolog.Nop(),
	}
}

// Validate checks a Config.
func (c Config) Validate() error {
	if c.NodeID == 0 {
		return errors.New("node: node ID must be positive")
	}
	if c.NodeID > 1<<31-1 {
		return fmt.Errorf("node: node ID %d does not fit a Kafka broker ID (int32)", c.NodeID)
	}
	if c.DataDir == "" {
		return errors.New("node: data dir is required")
	}
	if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil {
		return fmt.Errorf("node: bad raft address %q: %w", c.RaftAddr, err)
	}
	if _, _, err := net.SplitHostPort(c.KafkaAddr); err != nil {
		return fmt.Errorf("node: bad advertised kafka address %q: %w", c.KafkaAddr, err)
	}
	if c.Join && len(c.InitialMembers) > 0 {
		return errors.New("node: --join and --initial-members are exclusive")
	}
	if !c.Join && len(c.InitialMembers) > 0 {
		addr, ok := c.InitialMembers[c.NodeID]
		if !ok {
			return fmt.Errorf("node: initial members do not include this node (%d)", c.NodeID)
		}
		if addr != c.RaftAddr {
			return fmt.Errorf("node: initial members give node %d the raft address %s, but --raft-addr is %s", c.NodeID, addr, c.RaftAddr)
		}
		seen := map[string]uint64{}
		for id, a := range c.InitialMembers {
			if id == 0 {
				return errors.New("node: initial member ID 0 is invalid")
			}
			if other, dup := seen[a]; dup {
				return fmt.Errorf("node: initial members %d and %d share the address %s", other, id, a)
			}
			seen[a] = id
		}
	}
	if c.RTTMillisecond == 0 || c.ElectionRTT <= 2*c.HeartbeatRTT || c.HeartbeatRTT == 0 {
		return errors.New("node: need RTTMillisecond > 0, HeartbeatRTT > 0 and ElectionRTT > 2*HeartbeatRTT")
	}
	if c.HeartbeatInterval <= 0 || c.SessionTimeout <= 2*c.HeartbeatInterval {
		return errors.New("node: need HeartbeatInterval > 0 and SessionTimeout > 2*HeartbeatInterval")
	}
	switch c.LogDB {
	case "", "pebble", "tan":
	default:
		return fmt.Errorf("node: unknown LogDB %q (want pebble or tan)", c.LogDB)
	}
	if c.Metrics == nil {
		return errors.New("node: a metrics set is required")
	}
	return nil
}
