package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// A data-group replica whose state-machine data is gone or untrustworthy:
// its directory was deleted while the node was stopped, or the state
// machine left datagroup.FailedMarker (a storage error in Update, or a
// power loss that took segment bytes its index covers).
//
// While Dragonboat holds no local snapshot of the group, its Raft log
// still starts at index 1: the node discards the replica's directory and
// starts it; Open reports index 0 and Dragonboat replays the whole log.
//
// Once a local snapshot exists, the entries below it are compacted and a
// local snapshot of an on-disk state machine holds no data, so replaying
// is impossible, and Open reporting less than the snapshot's index makes
// Dragonboat panic (that was the old ErrDataLost trap). Removing the
// replica's Raft data and starting it empty under the same replica ID is
// not safe either: the leader still believes the replica holds the log it
// acknowledged and Raft panics ("invalid commitTo"; measured in
// TestClusterDataGroupReplicaRebuildsAfterDataLoss's first version). So
// the node does not start that replica: it logs why once, keeps the marker,
// and the group runs on its other replicas. No crash loop; bringing the
// replica back needs it replaced under a new replica ID (not done yet:
// data-group replica IDs are broker IDs).

var snapshotDirRe = regexp.MustCompile(`^snapshot-[0-9A-F]+$`)

// hasLocalSnapshot reports whether Dragonboat keeps a snapshot of the
// replica (shardID, this node) on disk.
func (n *Node) hasLocalSnapshot(shardID uint64) bool {
	pattern := filepath.Join(n.cfg.DataDir, "raft", "*", "*", "snapshot-part-*",
		fmt.Sprintf("snapshot-%d-%d", shardID, n.cfg.NodeID), "snapshot-*")
	dirs, _ := filepath.Glob(pattern)
	for _, d := range dirs {
		if snapshotDirRe.MatchString(filepath.Base(d)) {
			return true
		}
	}
	return false
}

// errReplicaLost means a replica that cannot be rebuilt from its own Raft
// log (see above).
var errReplicaLost = errors.New("data-group replica lost its data after its raft log was compacted; " +
	"not started (the group runs on its other replicas; replace this replica)")

// prepareReplica handles a lost or failed replica before it starts.
func (n *Node) prepareReplica(shardID uint64, hasNodeInfo bool, log zerolog.Logger) error {
	dir := datagroup.ReplicaDir(n.dataGroupsDir(), shardID, n.cfg.NodeID)
	reason := ""
	if b, err := os.ReadFile(datagroup.FailedMarker(dir)); err == nil {
		reason = "the replica stopped on a storage failure: " + string(b)
	} else if _, err := os.Stat(dir); hasNodeInfo && errors.Is(err, fs.ErrNotExist) {
		reason = "its data-group directory is missing"
	}
	if reason == "" {
		return nil
	}
	if hasNodeInfo && n.hasLocalSnapshot(shardID) {
		return fmt.Errorf("%w: %s", errReplicaLost, reason)
	}
	log.Warn().Uint64("shard", shardID).Str("reason", reason).
		Msg("rebuilding the data-group replica from its raft log: discarding its local data")
	return os.RemoveAll(dir)
}
