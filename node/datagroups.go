package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	dbsm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// Data groups (DESIGN §3). Every node runs a loop that
//   - starts a replica of each data group whose members include this broker,
//     as soon as the metadata shard lists the group and its members' Raft
//     addresses (also after a restart, from the local metadata state);
//   - reports leadership: for each local group this node leads in a term
//     the metadata shard does not have yet, it proposes SetDataGroupLeader — all
//     such reports of one pass in one proposal;
//   - balances leadership: a group's preferred leader is Members[Slot]; the
//     current leader hands leadership to an alive preferred leader, checking
//     the result on later passes (RequestLeaderTransfer is best effort).
// Leader events from Dragonboat only wake the loop up.

// dataGroups tracks this node's data-group replicas.
type dataGroups struct {
	mu       sync.Mutex
	started  map[uint64]bool
	sms      map[uint64]*datagroup.StateMachine
	transfer map[uint64]time.Time // last leader-transfer request per shard
	kick     chan struct{}
}

func newDataGroups() *dataGroups {
	return &dataGroups{
		started:  map[uint64]bool{},
		sms:      map[uint64]*datagroup.StateMachine{},
		transfer: map[uint64]time.Time{},
		kick:     make(chan struct{}, 1),
	}
}

// Opened implements datagroup.Registry.
func (g *dataGroups) Opened(shard uint64, s *datagroup.StateMachine) {
	g.mu.Lock()
	g.sms[shard] = s
	g.mu.Unlock()
}

// Closed implements datagroup.Registry.
func (g *dataGroups) Closed(shard uint64, s *datagroup.StateMachine) {
	g.mu.Lock()
	if g.sms[shard] == s {
		delete(g.sms, shard)
	}
	g.mu.Unlock()
}

func (g *dataGroups) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// DataGroupReplica returns this node's replica of a data group, if it runs here.
func (n *Node) DataGroupReplica(shardID uint64) (*datagroup.StateMachine, bool) {
	n.dataGroups.mu.Lock()
	defer n.dataGroups.mu.Unlock()
	s, ok := n.dataGroups.sms[shardID]
	return s, ok
}

// DataGroupLeader returns the leader of a data group as this node knows it
// (Dragonboat's local view: a routing hint; the proposal path is what
// guarantees correctness) and its term. ok is false when this node has no
// replica of the group or knows no leader.
func (n *Node) DataGroupLeader(shardID uint64) (leader int32, term uint64, ok bool) {
	id, t, valid, err := n.nh.GetLeaderID(shardID)
	if err != nil || !valid || id == 0 {
		return -1, 0, false
	}
	return int32(id), t, true
}

func (n *Node) dataGroupConfig(shardID uint64) config.Config {
	return config.Config{
		ShardID:             shardID,
		ReplicaID:           n.cfg.NodeID,
		ElectionRTT:         n.cfg.ElectionRTT,
		HeartbeatRTT:        n.cfg.HeartbeatRTT,
		CheckQuorum:         true,
		PreVote:             true,
		SnapshotEntries:     2000,
		CompactionOverhead:  500,
		OrderedConfigChange: true,
		MaxInMemLogSize:     256 << 20,
	}
}

func (n *Node) dataGroupLoop(ctx context.Context) {
	log := n.log.With().Str("component", "datagroups").Logger()
	events := make(chan raftio.LeaderInfo, 256)
	n.events.subscribe(events)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	factory := datagroup.NewFactory(n.dataGroupsDir(), n.cfg.Logger.With().Str("component", "datagroup").Logger(), n.dataGroups)
	var lastBalance time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.dataGroups.kick:
		case <-events:
		}
		all, err := n.LocalDataGroupTable()
		if err != nil {
			continue
		}
		bv, err := n.LocalBrokers()
		if err != nil {
			continue
		}
		brokers := map[int32]*statemachine.Broker{}
		for _, b := range bv.Brokers {
			brokers[b.ID] = b
		}
		self := n.ID()
		var reports []statemachine.Command
		balance := time.Since(lastBalance) > time.Second
		for _, g := range all {
			if !slices.Contains(g.Members, self) {
				continue
			}
			if !n.dataGroups.isStarted(g.ShardID) {
				if err := n.startDataGroup(g, brokers, factory); err != nil {
					if errors.Is(err, errReplicaLost) {
						n.dataGroups.markLost(g.ShardID)
						log.Error().Err(err).Uint64("shard", g.ShardID).Msg("data-group replica not started")
						continue
					}
					log.Debug().Err(err).Uint64("shard", g.ShardID).Msg("data group not started yet")
					continue
				}
				log.Info().Uint64("shard", g.ShardID).Ints32("members", g.Members).Msg("data group replica started")
			}
			leader, term, ok := n.DataGroupLeader(g.ShardID)
			if !ok || leader != self {
				continue
			}
			if g.Leader != self || g.Term != term {
				reports = append(reports, statemachine.SetDataGroupLeader{ShardID: g.ShardID, Leader: self, Term: term})
			}
			if balance {
				n.balanceDataGroup(g, brokers, log)
			}
		}
		if balance {
			lastBalance = time.Now()
		}
		if len(reports) > 0 {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := n.Propose(pctx, "group_leaders", statemachine.Batch{Cmds: reports})
			cancel()
			if err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Int("groups", len(reports)).Msg("reporting group leaders failed; retrying")
			}
		}
	}
}

func (n *Node) dataGroupsDir() string { return filepath.Join(n.cfg.DataDir, "datagroups") }

// isStarted reports a replica started, or given up on (markLost).
func (g *dataGroups) isStarted(shard uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started[shard]
}

// markLost records a replica that will not be started (errReplicaLost), so
// the loop does not retry it (nor log it again) until the node restarts.
func (g *dataGroups) markLost(shard uint64) {
	g.mu.Lock()
	g.started[shard] = true
	g.mu.Unlock()
}

// startDataGroup starts this node's replica of a data group: from its own data
// when it has started before, else with the group's members as the initial
// members (the same map on every member, built from the metadata shard).
func (n *Node) startDataGroup(g *statemachine.DataGroup, brokers map[int32]*statemachine.Broker, factory dbsm.CreateOnDiskStateMachineFunc) error {
	var members map[uint64]dragonboat.Target
	hasInfo := n.nh.HasNodeInfo(g.ShardID, n.cfg.NodeID)
	if err := n.prepareReplica(g.ShardID, hasInfo, n.log.With().Str("component", "datagroups").Logger()); err != nil {
		return err
	}
	if !hasInfo {
		members = map[uint64]dragonboat.Target{}
		for _, m := range g.Members {
			b := brokers[m]
			if b == nil || b.RaftAddr == "" {
				return fmt.Errorf("member %d has not registered its raft address", m)
			}
			members[uint64(m)] = b.RaftAddr
		}
	}
	if err := n.nh.StartOnDiskReplica(members, false, factory, n.dataGroupConfig(g.ShardID)); err != nil &&
		!errors.Is(err, dragonboat.ErrShardAlreadyExist) {
		return err
	}
	n.dataGroups.mu.Lock()
	n.dataGroups.started[g.ShardID] = true
	n.dataGroups.mu.Unlock()
	return nil
}

// balanceDataGroup hands leadership of a group this node leads to the group's
// preferred leader, when that broker is alive. The outcome is checked by
// later passes; a transfer is requested at most every 5 s per group
// (RequestLeaderTransfer fails often on busy shards: notes-dragonboat §1.10).
func (n *Node) balanceDataGroup(g *statemachine.DataGroup, brokers map[int32]*statemachine.Broker, log zerolog.Logger) {
	if int(g.Slot) >= len(g.Members) {
		return
	}
	preferred := g.Members[g.Slot]
	if preferred == n.ID() {
		return
	}
	if b := brokers[preferred]; b == nil || !b.Alive {
		return
	}
	n.dataGroups.mu.Lock()
	last := n.dataGroups.transfer[g.ShardID]
	due := time.Since(last) > 5*time.Second
	if due {
		n.dataGroups.transfer[g.ShardID] = time.Now()
	}
	n.dataGroups.mu.Unlock()
	if !due {
		return
	}
	if err := n.nh.RequestLeaderTransfer(g.ShardID, uint64(preferred)); err != nil {
		log.Debug().Err(err).Uint64("shard", g.ShardID).Msg("leader transfer request failed")
		return
	}
	log.Info().Uint64("shard", g.ShardID).Int32("to", preferred).Msg("handing group leadership to its preferred leader")
}

// LocalDataGroups lists the data groups with a replica open on this node.
func (n *Node) LocalDataGroups() []uint64 {
	n.dataGroups.mu.Lock()
	defer n.dataGroups.mu.Unlock()
	out := make([]uint64, 0, len(n.dataGroups.sms))
	for id := range n.dataGroups.sms {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
