package topics

import (
	"slices"
	"testing"

	"github.com/skiff-broker/skiff/statemachine"
)

// TestTopicsPreparedGroupKeys: the groups formed ahead are exactly those
// automatic placement uses on the live brokers.
func TestTopicsPreparedGroupKeys(t *testing.T) {
	three := PreparedGroupKeys(brokersN(3), 0)
	if len(three) != 3 {
		t.Fatalf("3 brokers: %v", three)
	}
	for i, k := range three {
		if !slices.Equal(k.Members, []int32{1, 2, 3}) || k.Slot != uint8(i) {
			t.Errorf("3 brokers, key %d: %+v", i, k)
		}
	}
	four := brokersN(4)
	keys := PreparedGroupKeys(four, 3)
	ring := placementRing(four)
	if len(keys) != 4 {
		t.Fatalf("4 brokers: %v", keys)
	}
	for c := range 8 { // every placement lands in a prepared group
		g := groupKeyOf(placeReplicas(ring, 3, c))
		if !slices.ContainsFunc(keys, func(k statemachine.DataGroupKey) bool {
			return k.Slot == g.Slot && slices.Equal(k.Members, g.Members)
		}) {
			t.Errorf("placement %d uses group %+v, not prepared", c, g)
		}
	}
	four[3].Alive = false // a fenced broker gets none
	if keys := PreparedGroupKeys(four, 3); len(keys) != 3 {
		t.Errorf("3 live of 4: %v", keys)
	}
	if keys := PreparedGroupKeys(brokersN(2), 3); keys != nil {
		t.Errorf("RF above the live brokers: %v", keys)
	}
}

// membersStore is an smStore that lists metadata members.
type membersStore struct {
	*smStore
	members []int32
}

func (m membersStore) MetadataMembers() []int32 { return m.members }

// TestTopicsPrepareWaitsForMembers: groups are formed only once every
// metadata member is registered and alive, and only those missing.
func TestTopicsPrepareWaitsForMembers(t *testing.T) {
	st := newSMStore(t, 1, 2)
	s := newSMService(t, st, nil)
	s.cfg.Store = membersStore{st, []int32{1, 2, 3}}
	view, err := s.localView(statemachine.QueryTopics{})
	if err != nil {
		t.Fatal(err)
	}
	if ready, known := s.membersRegistered(view); ready || !known {
		t.Fatalf("2 of 3 members: ready %v known %v", ready, known)
	}
	st.apply(statemachine.RegisterBroker{ID: 3, Incarnation: 1})
	view, _ = s.localView(statemachine.QueryTopics{})
	if ready, _ := s.membersRegistered(view); !ready {
		t.Fatal("all members registered, not ready")
	}
	missing := s.missingGroups(view)
	if len(missing) != 3 {
		t.Fatalf("missing %v", missing)
	}
	st.apply(statemachine.EnsureDataGroups{Groups: missing[:1]})
	if again := s.missingGroups(view); len(again) != 2 || again[0].Slot != 1 {
		t.Fatalf("after forming one: %v", again)
	}
}
