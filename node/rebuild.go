package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// Rebuilding a data-group replica (DESIGN §3, "Storage follows the group").
//
// A replica must be rebuilt from its peers when its state-machine data is
// gone or untrustworthy: its directory was deleted while the node was
// stopped, or the state machine left datagroup.FailedMarker (a storage
// error in Update, or a power loss that took segment bytes its index
// covers). Reporting a lower applied index from Open is not enough:
// Dragonboat panics when Open returns less than its last local
// (dummy) snapshot of an on-disk state machine, and the Raft log below that
// snapshot is compacted. So the node removes the replica's Raft data
// (RemoveData) and its state-machine directory before it starts the
// replica, and starts it as a new member with the group's member list: the
// leader then streams it a snapshot of the group (or the whole log, if it is
// still there). No operator step, and no loop: the marker is gone once the
// replica is rebuilt.
//
// Known limit: the rebuilt replica has forgotten its Raft vote; a
// restart within the same election term could in theory let it vote twice
// in that term. A single-member group has no peer to rebuild from: it
// starts empty (the data was lost already), which is logged.

// needsRebuild reports why the replica of shardID must be rebuilt, or "".
func (n *Node) needsRebuild(shardID uint64, hasNodeInfo bool) string {
	dir := datagroup.ReplicaDir(n.dataGroupsDir(), shardID, n.cfg.NodeID)
	if b, err := os.ReadFile(datagroup.FailedMarker(dir)); err == nil {
		return "the replica stopped on a storage failure: " + string(b)
	}
	if _, err := os.Stat(dir); hasNodeInfo && errors.Is(err, fs.ErrNotExist) {
		return "its data-group directory is missing"
	}
	return ""
}

// rebuildReplica removes the replica's state-machine directory and Raft data
// (including Dragonboat's snapshot directory, which RemoveData only marks
// as deleted and which would refuse a restart).
func (n *Node) rebuildReplica(shardID uint64, hasNodeInfo bool, reason string, log zerolog.Logger) error {
	log.Warn().Uint64("shard", shardID).Str("reason", reason).
		Msg("rebuilding the data-group replica from its peers: discarding its local data")
	if err := os.RemoveAll(datagroup.ReplicaDir(n.dataGroupsDir(), shardID, n.cfg.NodeID)); err != nil {
		return err
	}
	if !hasNodeInfo {
		return nil
	}
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	if err := n.nh.SyncRemoveData(ctx, shardID, n.cfg.NodeID); err != nil {
		return fmt.Errorf("remove raft data of shard %d: %w", shardID, err)
	}
	pattern := filepath.Join(n.cfg.DataDir, "raft", "*", "*", "snapshot-part-*",
		fmt.Sprintf("snapshot-%d-%d", shardID, n.cfg.NodeID))
	dirs, err := filepath.Glob(pattern)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}
