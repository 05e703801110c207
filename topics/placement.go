package topics

import (
	"slices"

	"github.com/skiff-broker/skiff/statemachine"
)

// Replica placement (DESIGN §3): a pure function of a broker list, so that
// a placement is deterministic and can be table-tested.
//
// The live brokers form a ring: sorted by ID, or rack-alternated when racks
// are set (Kafka's getRackAlternatedBrokerList: racks sorted, brokers of a
// rack sorted by ID, one broker from each rack in turn). The c-th partition
// placed gets the rf consecutive brokers starting at ring[c mod N], the first
// being its preferred leader. Consecutive c therefore rotate through the N
// copysets {ring[b], ..., ring[b+rf-1]}: over any N consecutive partitions
// every broker holds exactly rf replicas and one preferred leadership, and
// with at least rf equally sized racks the rf consecutive ring entries are
// on distinct racks. The data groups are few (N copysets × their slots), so
// that a new partition is a metadata write into an existing group.

// placementRing returns the ring of the live brokers of brokers (any order).
func placementRing(brokers []*Broker) []int32 {
	live := make([]*Broker, 0, len(brokers))
	racks := false
	for _, b := range brokers {
		if b.Alive {
			live = append(live, b)
			racks = racks || b.Rack != ""
		}
	}
	slices.SortFunc(live, func(a, b *Broker) int { return int(a.ID) - int(b.ID) })
	ring := make([]int32, 0, len(live))
	if !racks {
		for _, b := range live {
			ring = append(ring, b.ID)
		}
		return ring
	}
	// Group by rack ("" is a rack of its own when only some brokers have one).
	var names []string
	byRack := map[string][]int32{}
	for _, b := range live {
		if _, ok := byRack[b.Rack]; !ok {
			names = append(names, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
	}
	slices.Sort(names)
	for i := 0; len(ring) < len(live); i++ {
		for _, r := range names {
			if ids := byRack[r]; i < len(ids) {
				ring = append(ring, ids[i])
			}
		}
	}
	return ring
}

// placeReplicas returns the replicas of the c-th partition placed on ring:
// rf consecutive ring entries from c mod len(ring), preferred leader first.
// rf must be in 1..len(ring).
func placeReplicas(ring []int32, rf int, c int) []int32 {
	n := len(ring)
	b := c % n
	out := make([]int32, rf)
	for i := range out {
		out[i] = ring[(b+i)%n]
	}
	return out
}

// groupKeyOf returns the data group of a partition with these replicas:
// members are the sorted replicas and the slot is the preferred leader's
// index among them.
func groupKeyOf(replicas []int32) statemachine.DataGroupKey {
	members := slices.Clone(replicas)
	slices.Sort(members)
	slot, _ := slices.BinarySearch(members, replicas[0])
	return statemachine.DataGroupKey{Members: members, Slot: uint8(slot)}
}

// cmdsPerPartition is how many commands partitionCmds returns.
const cmdsPerPartition = 1

// partitionCmds returns the commands that create partition p of topic id
// with replicas: one AssignReplicas with the replicas and data group. The
// leader and ISR are not partition facts (see leaders.go).
func partitionCmds(id TopicID, p int32, replicas []int32) []statemachine.Command {
	return []statemachine.Command{
		statemachine.AssignReplicas{Topic: id, Partition: p, Replicas: replicas, DataGroup: groupKeyOf(replicas)},
	}
}
