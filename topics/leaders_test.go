package topics

import (
	"slices"
	"testing"
)

// TestTopicsPartitionStateOneSource: the leader and epoch come from the data
// group only, the ISR from liveness only; nothing else is consulted.
func TestTopicsPartitionStateOneSource(t *testing.T) {
	view := &View{DataGroups: map[uint64]*DataGroup{
		1000: {ShardID: 1000, Members: []int32{1, 2, 3}, Leader: 2, Term: 7},
		1001: {ShardID: 1001, Members: []int32{1, 2, 3}, Leader: -1},
		1002: {ShardID: 1002, Members: []int32{1, 2, 3}, Leader: 3, Term: 4},
	}}
	alive := map[int32]bool{1: true, 2: true}
	tests := []struct {
		name          string
		p             Partition
		leader, epoch int32
		isr, offline  []int32
	}{
		{"led", Partition{Replicas: []int32{1, 2, 3}, DataGroup: 1000}, 2, 7, []int32{1, 2}, []int32{3}},
		{"no leader recorded", Partition{Replicas: []int32{2, 3, 1}, DataGroup: 1001}, -1, -1, []int32{2, 1}, []int32{3}},
		{"leader not alive", Partition{Replicas: []int32{3, 1, 2}, DataGroup: 1002}, -1, -1, []int32{1, 2}, []int32{3}},
		{"unknown group", Partition{Replicas: []int32{1}, DataGroup: 5}, -1, -1, []int32{1}, nil},
		{"no group", Partition{Replicas: []int32{1}}, -1, -1, []int32{1}, nil},
	}
	for _, tc := range tests {
		st := PartitionState(view, tc.p, alive)
		if st.Leader != tc.leader || st.LeaderEpoch != tc.epoch || st.Preferred != tc.p.Replicas[0] ||
			!slices.Equal(st.ISR, tc.isr) || !slices.Equal(st.Offline, tc.offline) {
			t.Errorf("%s: %+v", tc.name, st)
		}
	}
}
