package topics

// Who leads a partition, and which replicas are in sync: one source each,
// for every reader (Metadata, the coordinator's FindCoordinator answer,
// CreateTopics' readiness, the bench's readiness through Metadata).
//
//   - Preferred leader: Replicas[0] (placement puts it first).
//   - Leader and leader epoch: the partition's data group's Raft leader and
//     term, as the group's leader reported them (SetDataGroupLeader); -1/-1
//     while the group has no leader recorded or its leader is not alive.
//     The produce path checks the same thing at its source: whether this
//     node is the group's Raft leader now (node.DataGroupLeader).
//   - ISR: the replicas whose brokers are alive. A data group is a Raft
//     group: an entry is acknowledged once a majority has it, and a live
//     member that fell behind catches up from the leader's log or a
//     snapshot, so "alive" is the membership Kafka clients can rely on.
//
// Nothing per partition records a leader or an ISR: the create proposal
// writes replicas and the data group only.

// LeaderInfo is a partition's leader and leader epoch as Kafka reports them.
type LeaderInfo struct {
	Leader      int32
	LeaderEpoch int32
}

// noLeader is the answer for an unknown leader: never a guess.
var noLeader = LeaderInfo{Leader: -1, LeaderEpoch: -1}

// PartitionLeader returns the leader of p as recorded: the Raft leader of
// its data group and the group's term as the leader epoch (DESIGN §3); -1
// and -1 while the group has no leader recorded (or p has no group). It
// does not check liveness; PartitionState does.
func PartitionLeader(view *View, p Partition) LeaderInfo {
	return groupLeader(view.DataGroups[p.DataGroup])
}

func groupLeader(g *DataGroup) LeaderInfo {
	if g == nil || g.Leader < 0 || g.Term == 0 {
		return noLeader
	}
	return LeaderInfo{Leader: g.Leader, LeaderEpoch: int32(min(g.Term, 1<<31-1))}
}

// PartitionInfo is what Kafka reports about one partition.
type PartitionInfo struct {
	Preferred   int32 // Replicas[0], -1 without replicas
	Leader      int32 // -1 when unknown or not alive
	LeaderEpoch int32 // -1 when Leader is -1
	ISR         []int32
	Offline     []int32 // replicas that are not alive
}

// PartitionState derives p's leader, epoch, ISR and offline replicas from
// its data group in view and the alive brokers (see the file comment).
func PartitionState(view *View, p Partition, alive map[int32]bool) PartitionInfo {
	li := PartitionLeader(view, p)
	if li.Leader >= 0 && !alive[li.Leader] {
		li = noLeader
	}
	info := PartitionInfo{Preferred: -1, Leader: li.Leader, LeaderEpoch: li.LeaderEpoch, ISR: make([]int32, 0, len(p.Replicas))}
	if len(p.Replicas) > 0 {
		info.Preferred = p.Replicas[0]
	}
	for _, r := range p.Replicas {
		if alive[r] {
			info.ISR = append(info.ISR, r)
		} else {
			info.Offline = append(info.Offline, r)
		}
	}
	return info
}

// AliveBrokers returns the IDs of the brokers that are alive.
func AliveBrokers(brokers []*Broker) map[int32]bool {
	alive := make(map[int32]bool, len(brokers))
	for _, b := range brokers {
		if b.Alive {
			alive[b.ID] = true
		}
	}
	return alive
}
