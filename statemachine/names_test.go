package statemachine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSMMergeNames checks the in-place merge against sort-everything.
func TestSMMergeNames(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var names []string
		set := map[string]bool{}
		for range r.IntN(40) {
			n := fmt.Sprintf("t%03d", r.IntN(200))
			if !set[n] {
				set[n] = true
				names = append(names, n)
			}
		}
		slices.Sort(names)
		removed := map[string]bool{}
		for _, n := range names {
			if r.IntN(4) == 0 {
				removed[n] = true
			}
		}
		var added []string
		for range r.IntN(10) {
			n := fmt.Sprintf("t%03d", r.IntN(200))
			if !set[n] {
				set[n] = true
				added = append(added, n)
			}
		}
		var want []string
		for _, n := range names {
			if !removed[n] {
				want = append(want, n)
			}
		}
		want = append(want, added...)
		slices.Sort(want)
		got := mergeNames(slices.Clone(names), slices.Clone(added), removed)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: merge(%v, +%v, -%v) = %v, want %v", round, names, added, removed, got, want)
		}
	}
}
