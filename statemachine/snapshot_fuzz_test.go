package statemachine

import (
	"bytes"
	"testing"
)

// FuzzSMRecoverSnapshot feeds arbitrary streams to RecoverFromSnapshot.
// Invariants: no panic; a rejected stream leaves the state as it was; an
// accepted one leaves a state machine that answers queries. Seeds: a real
// snapshot and its truncations.
func FuzzSMRecoverSnapshot(f *testing.F) {
	src := newHarness(f)
	applyAll(src, workload())
	snap := saveSnapshot(f, src)
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add([]byte{})
	dst := newHarness(f)
	dst.apply(CreateTopic{Name: "kept", ID: tid(7), PartitionCount: 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		before, err := dst.sm.Lookup(QueryDigest{})
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.sm.RecoverFromSnapshot(bytes.NewReader(b), nil); err != nil {
			if after, _ := dst.sm.Lookup(QueryDigest{}); after != before {
				t.Fatalf("a rejected snapshot changed the state: %v -> %v", before, after)
			}
			return
		}
		// an accepted stream must leave a usable state machine
		if _, err := dst.sm.Lookup(QueryTopics{All: true}); err != nil {
			t.Fatal(err)
		}
	})
}
