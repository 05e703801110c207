package statemachine

import (
	"slices"
	"testing"
)

// applyResult applies one command and returns its whole Result (codes and
// values).
func (h *harness) applyResult(c Command) Result {
	h.t.Helper()
	out, err := h.sm.Update(h.entries(c))
	if err != nil {
		h.t.Fatalf("Update: %v", err)
	}
	r, err := DecodeResult(out[0].Result.Data)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func placedBatch(name string, id TopicID, partitions int, set uint64) Batch {
	cmds := []Command{CreateTopicPlaced{CreateTopic: CreateTopic{Name: name, ID: id, PartitionCount: int32(partitions)}, BrokerSet: set}}
	for p := range partitions {
		r := []int32{brokers3[p%3], brokers3[(p+1)%3], brokers3[(p+2)%3]}
		cmds = append(cmds, AssignReplicas{Topic: id, Partition: int32(p), Replicas: r,
			DataGroup: DataGroupKey{Members: brokers3, Slot: uint8(p % 3)}})
	}
	return Batch{Cmds: cmds}
}

// TestSMCreateTopicPlacedStale: a placement made against another broker set
// is rejected (its partitions skipped), one made against the current set
// applies, and a broker-set change (fencing) changes the version while a
// heartbeat does not.
func TestSMCreateTopicPlacedStale(t *testing.T) {
	h := newHarness(t)
	for _, id := range brokers3 {
		h.apply(RegisterBroker{ID: id, Incarnation: 1})
	}
	v0 := h.all().BrokerSet
	h.apply(Heartbeat{ID: 1, Incarnation: 1})
	if h.all().BrokerSet != v0 {
		t.Fatal("a heartbeat changed the broker set")
	}
	if got := h.apply(placedBatch("a", tid(1), 2, v0+1)); !slices.Equal(got, cat([]Code{CodeStalePlacement}, codes(CodeSkipped, 2))) {
		t.Fatalf("stale: %v", got)
	}
	if h.topic("a") != nil || len(h.groups()) != 0 {
		t.Fatal("a stale placement created something")
	}
	if got := h.apply(placedBatch("a", tid(1), 2, v0)); !slices.Equal(got, codes(CodeOK, 3)) {
		t.Fatalf("current: %v", got)
	}
	// Fencing changes the version: the old one is stale now, but a retry
	// of the proposal that applied is still a success.
	h.apply(FenceBroker{ID: 3, IfHeartbeats: 1})
	v1 := h.all().BrokerSet
	if v1 == v0 {
		t.Fatal("fencing did not change the broker set")
	}
	if got := h.apply(placedBatch("a", tid(1), 2, v0)); !slices.Equal(got, codes(CodeOK, 3)) {
		t.Fatalf("retry: %v", got)
	}
	if got := h.apply(placedBatch("b", tid(2), 1, v0)); got[0] != CodeStalePlacement {
		t.Fatalf("after fencing: %v", got)
	}
	// The version survives a reopen (it is derived from the brokers).
	h.reopen()
	if h.all().BrokerSet != v1 {
		t.Fatal("broker set changed across a reopen")
	}
	// Same name, other ID, current set: TOPIC_ALREADY_EXISTS.
	if got := h.apply(placedBatch("a", tid(3), 1, v1)); got[0] != CodeTopicExists {
		t.Fatalf("exists: %v", got)
	}
}

// TestSMAssignReplicasReportsLeader: a partition placed in a group with a
// live recorded leader reports it in its result value; one placed in a new
// group reports none.
func TestSMAssignReplicasReportsLeader(t *testing.T) {
	h := newHarness(t)
	for _, id := range brokers3 {
		h.apply(RegisterBroker{ID: id, Incarnation: 1})
	}
	set := h.all().BrokerSet
	r := h.applyResult(placedBatch("a", tid(1), 3, set))
	if len(r.Values) != 0 {
		t.Fatalf("new groups reported leaders: %v", r.Values)
	}
	h.apply(SetDataGroupLeader{ShardID: FirstDataShardID, Leader: 1, Term: 4})
	r = h.applyResult(placedBatch("b", tid(2), 3, set))
	if len(r.Values) != 4 {
		t.Fatalf("values %v", r.Values)
	}
	if l, e, ok := UnpackLeader(r.Values[1]); !ok || l != 1 || e != 4 {
		t.Fatalf("partition 0: %d %d %v", l, e, ok)
	}
	if _, _, ok := UnpackLeader(r.Values[2]); ok {
		t.Fatal("partition 1's group has no leader")
	}
	// A leader that is not alive is not reported.
	h.apply(FenceBroker{ID: 1, IfHeartbeats: 1})
	r = h.applyResult(placedBatch("c", tid(3), 1, h.all().BrokerSet))
	if len(r.Values) != 0 {
		t.Fatalf("fenced leader reported: %v", r.Values)
	}
}

func TestSMEnsureDataGroups(t *testing.T) {
	h := newHarness(t)
	keys := []DataGroupKey{{Members: brokers3, Slot: 0}, {Members: brokers3, Slot: 1}, {Members: brokers3, Slot: 2}}
	if got := h.apply(EnsureDataGroups{Groups: append(keys[:1:1], DataGroupKey{Members: []int32{2, 1}})}); got[0] != CodeInvalid || len(h.groups()) != 0 {
		t.Fatalf("invalid key: %v, %d groups", got, len(h.groups()))
	}
	if got := h.apply(EnsureDataGroups{Groups: keys}); got[0] != CodeOK {
		t.Fatal(got)
	}
	d := h.digest()
	if got := h.apply(EnsureDataGroups{Groups: keys}); got[0] != CodeOK || h.digest().Sum != d.Sum {
		t.Fatal("ensuring existing groups changed the state")
	}
	gs := h.groups()
	if len(gs) != 3 || gs[2].ShardID != FirstDataShardID+2 || gs[2].Slot != 2 || gs[0].Leader != -1 {
		t.Fatalf("groups %+v", gs)
	}
	// A topic placed afterwards lands in those groups.
	h.apply(Batch{Cmds: createBatch("a", tid(1), 3, brokers3, 3)})
	if len(h.groups()) != 3 {
		t.Fatal("the create made new groups")
	}
}

func TestSMPackLeader(t *testing.T) {
	for _, tc := range []struct {
		leader int32
		term   uint64
		epoch  int32
	}{{0, 1, 1}, {7, 1 << 40, 1<<31 - 1}, {1<<31 - 2, 3, 3}} {
		l, e, ok := UnpackLeader(PackLeader(tc.leader, tc.term))
		if !ok || l != tc.leader || e != tc.epoch {
			t.Errorf("%+v: %d %d %v", tc, l, e, ok)
		}
	}
	if PackLeader(-1, 3) != 0 || PackLeader(2, 0) != 0 {
		t.Error("no leader must pack to 0")
	}
}
