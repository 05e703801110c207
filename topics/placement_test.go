package topics

import (
	"fmt"
	"slices"
	"testing"
)

func brokersN(n int) []*Broker {
	out := make([]*Broker, n)
	for i := range out {
		out[i] = &Broker{ID: int32(i + 1), Alive: true}
	}
	return out
}

func TestTopicsPlacementRing(t *testing.T) {
	tests := []struct {
		name    string
		brokers []*Broker
		want    []int32
	}{
		{"sorted by id", []*Broker{{ID: 3, Alive: true}, {ID: 1, Alive: true}, {ID: 2, Alive: true}}, []int32{1, 2, 3}},
		{"dead skipped", []*Broker{{ID: 1, Alive: true}, {ID: 2}, {ID: 3, Alive: true}}, []int32{1, 3}},
		{"rack alternated", []*Broker{
			{ID: 1, Rack: "a", Alive: true}, {ID: 2, Rack: "a", Alive: true},
			{ID: 3, Rack: "b", Alive: true}, {ID: 4, Rack: "b", Alive: true},
			{ID: 5, Rack: "c", Alive: true}, {ID: 6, Rack: "c", Alive: true},
		}, []int32{1, 3, 5, 2, 4, 6}},
		{"uneven racks", []*Broker{
			{ID: 1, Rack: "b", Alive: true}, {ID: 2, Rack: "a", Alive: true},
			{ID: 3, Rack: "a", Alive: true}, {ID: 4, Rack: "a", Alive: true},
		}, []int32{2, 1, 3, 4}},
		{"none", nil, []int32{}},
	}
	for _, tt := range tests {
		if got := placementRing(tt.brokers); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ring = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTopicsPlacementBalance(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 9} {
		for rf := 1; rf <= min(n, 3); rf++ {
			for _, start := range []int{0, 7} {
				t.Run(fmt.Sprintf("n%d_rf%d_start%d", n, rf, start), func(t *testing.T) {
					ring := placementRing(brokersN(n))
					parts := 100 * n
					replicas := map[int32]int{}
					leaders := map[int32]int{}
					for c := start; c < start+parts; c++ {
						r := placeReplicas(ring, rf, c)
						if len(r) != rf {
							t.Fatalf("partition %d: %v, want %d replicas", c, r, rf)
						}
						s := slices.Clone(r)
						slices.Sort(s)
						if len(slices.Compact(s)) != rf {
							t.Fatalf("partition %d: duplicate broker in %v", c, r)
						}
						leaders[r[0]]++
						for _, b := range r {
							replicas[b]++
						}
					}
					for _, b := range ring {
						if replicas[b] != 100*rf || leaders[b] != 100 {
							t.Errorf("broker %d: %d replicas, %d leaderships; want %d, 100", b, replicas[b], leaders[b], 100*rf)
						}
					}
				})
			}
		}
	}
}

func TestTopicsPlacementDeterministic(t *testing.T) {
	a := brokersN(5)
	b := []*Broker{a[3], a[0], a[4], a[2], a[1]} // same brokers, other order
	ra, rb := placementRing(a), placementRing(b)
	for c := 0; c < 50; c++ {
		if x, y := placeReplicas(ra, 3, c), placeReplicas(rb, 3, c); !slices.Equal(x, y) {
			t.Fatalf("partition %d: %v vs %v", c, x, y)
		}
	}
	// Exact expectation for a small case.
	want := [][]int32{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 1}, {5, 1, 2}, {1, 2, 3}}
	for c, w := range want {
		if got := placeReplicas(ra, 3, c); !slices.Equal(got, w) {
			t.Errorf("partition %d = %v, want %v", c, got, w)
		}
	}
}

func TestTopicsPlacementRackAware(t *testing.T) {
	for _, tc := range []struct{ racks, perRack, rf int }{{3, 3, 3}, {3, 2, 3}, {3, 2, 2}, {4, 2, 3}, {2, 3, 2}} {
		var brokers []*Broker
		rackOf := map[int32]string{}
		id := int32(1)
		for r := 0; r < tc.racks; r++ {
			for i := 0; i < tc.perRack; i++ {
				rack := fmt.Sprintf("rack-%d", r)
				brokers = append(brokers, &Broker{ID: id, Rack: rack, Alive: true})
				rackOf[id] = rack
				id++
			}
		}
		ring := placementRing(brokers)
		for c := 0; c < 10*len(ring); c++ {
			seen := map[string]bool{}
			for _, b := range placeReplicas(ring, tc.rf, c) {
				if seen[rackOf[b]] {
					t.Fatalf("%+v: partition %d has two replicas on %s", tc, c, rackOf[b])
				}
				seen[rackOf[b]] = true
			}
		}
	}
}

func TestTopicsGroupKeySlot(t *testing.T) {
	tests := []struct {
		replicas []int32
		members  []int32
		slot     uint8
	}{
		{[]int32{1}, []int32{1}, 0},
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 0},
		{[]int32{2, 3, 1}, []int32{1, 2, 3}, 1},
		{[]int32{3, 1, 2}, []int32{1, 2, 3}, 2},
		{[]int32{7, 4}, []int32{4, 7}, 1},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.replicas)
		k := groupKeyOf(in)
		if !slices.Equal(k.Members, tt.members) || k.Slot != tt.slot {
			t.Errorf("groupKeyOf(%v) = %+v, want %v slot %d", tt.replicas, k, tt.members, tt.slot)
		}
		if !slices.Equal(in, tt.replicas) {
			t.Errorf("groupKeyOf modified its input: %v", in)
		}
	}
	// Over a full rotation with N == rf, every slot of the one copyset is
	// used equally: each member leads one group.
	ring := placementRing(brokersN(3))
	slots := map[uint8]int{}
	for c := 0; c < 30; c++ {
		slots[groupKeyOf(placeReplicas(ring, 3, c)).Slot]++
	}
	if slots[0] != 10 || slots[1] != 10 || slots[2] != 10 {
		t.Errorf("slots = %v, want 10 each", slots)
	}
}

func BenchmarkTopicsPlace(b *testing.B) {
	brokers := brokersN(9)
	for i, br := range brokers {
		br.Rack = fmt.Sprintf("rack-%d", i%3)
	}
	b.ReportAllocs()
	for b.Loop() {
		ring := placementRing(brokers)
		for c := 0; c < 1000; c++ {
			r := placeReplicas(ring, 3, c)
			_ = groupKeyOf(r)
		}
	}
}
