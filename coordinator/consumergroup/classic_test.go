package consumergroup

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Classic group state transitions, on one coordinator with a fake clock
// (harness_test.go): no cluster, no real timers.

const (
	testSession   = 10 * time.Second
	testRebalance = 30 * time.Second
	testDelay     = 3 * time.Second // DefaultConfig's group.initial.rebalance.delay.ms
)

func joinReq(group, memberID string) JoinRequest {
	return JoinRequest{
		Group: group, MemberID: memberID, RequireKnownMemberID: true, ProtocolType: "consumer",
		Protocols:        []Protocol{{Name: "range", Metadata: []byte("sub")}, {Name: "roundrobin", Metadata: []byte("sub")}},
		SessionTimeoutMs: int32(testSession / time.Millisecond), RebalanceTimeoutMs: int32(testRebalance / time.Millisecond),
		Client: Client{ID: "client", Host: "/127.0.0.1"},
	}
}

func staticJoinReq(group, memberID, instance string) JoinRequest {
	r := joinReq(group, memberID)
	r.InstanceID = &instance
	return r
}

// memberID gets a member ID the v4+ way: a JoinGroup without one answers
// MEMBER_ID_REQUIRED with the ID to join with.
func (h *harness) memberID(group string) string {
	h.t.Helper()
	r := h.s.Join(ctxBG, joinReq(group, ""))
	if !errors.Is(r.Err, ErrMemberIDRequired) || !strings.HasPrefix(r.MemberID, "client-") || r.Generation != -1 {
		h.t.Fatalf("first JoinGroup: %+v, want MEMBER_ID_REQUIRED with a client-<uuid> member ID", r)
	}
	return r.MemberID
}

// joined waits until member id of group waits in JoinGroup.
func (h *harness) joined(group, id string) {
	h.t.Helper()
	h.waitFor(id+" in the join phase", func() bool {
		g := h.p.groups[group]
		return g != nil && g.members[id] != nil && g.members[id].joinCh != nil
	})
}

// syncing waits until member id of group waits in SyncGroup.
func (h *harness) syncing(group, id string) {
	h.t.Helper()
	h.waitFor(id+" in the sync phase", func() bool {
		g := h.p.groups[group]
		return g != nil && g.members[id] != nil && g.members[id].syncCh != nil
	})
}

func (h *harness) state(group string) groupState {
	var s groupState = -1
	h.locked(func() {
		if g := h.p.groups[group]; g != nil {
			s = g.state
		}
	})
	return s
}

func (h *harness) heartbeat(group, id string, gen int32) error {
	return h.s.Heartbeat(ctxBG, HeartbeatRequest{Group: group, MemberID: id, Generation: gen})
}

// stableGroup builds a stable two-member group at generation 1 and returns
// the leader's and the follower's member IDs.
func (h *harness) stableGroup(group string) (leader, follower string) {
	h.t.Helper()
	a, b := h.memberID(group), h.memberID(group)
	ja := h.goJoin(joinReq(group, a))
	h.joined(group, a)
	jb := h.goJoin(joinReq(group, b))
	h.joined(group, b)
	h.clock.Advance(testDelay)
	ra, rb := await(h.t, "join a", ja), await(h.t, "join b", jb)
	if ra.Err != nil || rb.Err != nil || ra.Generation != 1 || ra.LeaderID != a {
		h.t.Fatalf("joins: %+v / %+v", ra, rb)
	}
	sb := h.goSync(SyncRequest{Group: group, MemberID: b, Generation: 1})
	h.syncing(group, b)
	sa := h.s.Sync(ctxBG, SyncRequest{Group: group, MemberID: a, Generation: 1,
		Assignments: []Assignment{{MemberID: a, Data: []byte("for-a")}, {MemberID: b, Data: []byte("for-b")}}})
	if rs := await(h.t, "sync b", sb); sa.Err != nil || rs.Err != nil || string(sa.Assignment) != "for-a" || string(rs.Assignment) != "for-b" {
		h.t.Fatalf("syncs: leader %+v, follower %+v", sa, rs)
	}
	return a, b
}

func TestGroupsClassicMemberIDRequiredThenJoin(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.memberID("g")
	if g := h.group("g"); g == nil || g.state != stateEmpty || len(g.pending) != 1 || len(g.members) != 0 {
		t.Fatalf("after MEMBER_ID_REQUIRED: %+v", g)
	}
	// An ID the coordinator never handed out is unknown.
	if r := h.s.Join(ctxBG, joinReq("g", "client-made-up")); !errors.Is(r.Err, ErrUnknownMemberID) {
		t.Fatalf("join with a made-up ID: %+v", r)
	}
	ch := h.goJoin(joinReq("g", id))
	h.joined("g", id)
	// The first join of an empty group waits group.initial.rebalance.delay.ms.
	if s := h.state("g"); s != statePreparingRebalance {
		t.Fatalf("state %v, want PreparingRebalance", s)
	}
	h.clock.Advance(testDelay - time.Millisecond)
	if !h.waiting("g", id) {
		t.Fatal("JoinGroup answered before the initial rebalance delay")
	}
	h.clock.Advance(time.Millisecond)
	r := await(t, "join", ch)
	if r.Err != nil || r.Generation != 1 || r.LeaderID != id || r.MemberID != id || *r.Protocol != "range" ||
		len(r.Members) != 1 || r.Members[0].MemberID != id || string(r.Members[0].Metadata) != "sub" {
		t.Fatalf("join: %+v", r)
	}
	if s := h.state("g"); s != stateCompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", s)
	}
}

// A member ID handed out with MEMBER_ID_REQUIRED and never used expires
// after the session timeout, and the empty group goes away.
func TestGroupsClassicPendingMemberExpires(t *testing.T) {
	h := newHarness(t, Config{})
	h.memberID("g")
	h.clock.Advance(testSession - time.Millisecond)
	if g := h.group("g"); g == nil || len(g.pending) != 1 {
		t.Fatalf("pending member gone before its session timeout: %+v", g)
	}
	h.clock.Advance(time.Millisecond)
	if g := h.group("g"); g != nil {
		t.Fatalf("group still there after its only pending member expired: %+v", g)
	}
}

// Each member joining during the initial delay extends it (up to the
// rebalance timeout); the first to join leads, and only the leader gets
// the members' metadata. The leader's SyncGroup hands every member its
// assignment.
func TestGroupsClassicInitialDelayAndSync(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.memberID("g"), h.memberID("g")
	ja := h.goJoin(joinReq("g", a))
	h.joined("g", a)
	h.clock.Advance(2 * time.Second)
	jb := h.goJoin(joinReq("g", b))
	h.joined("g", b)
	h.clock.Advance(testDelay - time.Millisecond) // 1 ms short of b's delay
	if !h.waiting("g", a) || !h.waiting("g", b) {
		t.Fatal("join phase ended before the delay a later member extended")
	}
	h.clock.Advance(time.Millisecond)
	ra, rb := await(t, "join a", ja), await(t, "join b", jb)
	if ra.Err != nil || rb.Err != nil || ra.Generation != 1 || rb.Generation != 1 || ra.LeaderID != a || rb.LeaderID != a {
		t.Fatalf("joins: %+v / %+v", ra, rb)
	}
	if len(ra.Members) != 2 || ra.Members[0].MemberID != a || ra.Members[1].MemberID != b || len(rb.Members) != 0 {
		t.Fatalf("members: leader got %+v, follower got %+v", ra.Members, rb.Members)
	}
	// The follower waits for the leader's assignment.
	sb := h.goSync(SyncRequest{Group: "g", MemberID: b, Generation: 1})
	h.syncing("g", b)
	if !h.waiting("g", b) {
		t.Fatal("follower's SyncGroup answered before the leader's")
	}
	sa := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: a, Generation: 1,
		Assignments: []Assignment{{MemberID: a, Data: []byte("for-a")}, {MemberID: b, Data: []byte("for-b")}}})
	rs := await(t, "sync b", sb)
	if sa.Err != nil || rs.Err != nil || string(sa.Assignment) != "for-a" || string(rs.Assignment) != "for-b" || *rs.Protocol != "range" {
		t.Fatalf("syncs: leader %+v, follower %+v", sa, rs)
	}
	if s := h.state("g"); s != stateStable {
		t.Fatalf("state %v, want Stable", s)
	}
	// The assignment is in the log: a new coordinator knows it.
	h.load()
	g := h.group("g")
	if g == nil || g.state != stateStable || g.generation != 1 || g.leader != a || string(g.members[b].assignment) != "for-b" {
		t.Fatalf("reloaded group: %+v", g)
	}
	if err := h.heartbeat("g", b, 1); err != nil {
		t.Fatalf("heartbeat after reload: %v", err)
	}
}

// Without group.initial.rebalance.delay.ms a lone member's join completes
// at once.
func TestGroupsClassicNoInitialDelay(t *testing.T) {
	h := newHarness(t, Config{InitialRebalanceDelay: -1})
	a := h.memberID("g")
	r := h.s.Join(ctxBG, joinReq("g", a))
	if r.Err != nil || r.Generation != 1 || r.LeaderID != a {
		t.Fatalf("join without delay: %+v", r)
	}
}

func TestGroupsClassicHeartbeatErrors(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.stableGroup("g")
	for _, c := range []struct {
		name   string
		member string
		gen    int32
		want   error
	}{
		{"current", b, 1, nil},
		{"old generation", b, 0, ErrIllegalGeneration},
		{"future generation", b, 2, ErrIllegalGeneration},
		{"unknown member", "client-nobody", 1, ErrUnknownMemberID},
	} {
		if err := h.heartbeat("g", c.member, c.gen); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: heartbeat = %v, want %v", c.name, err, c.want)
		}
	}
	if err := h.heartbeat("other", a, 1); !errors.Is(err, ErrUnknownMemberID) {
		t.Errorf("heartbeat to an unknown group: %v", err)
	}
	// A new member starts a rebalance: the others hear of it in their
	// heartbeats, and rejoin.
	c := h.memberID("g")
	jc := h.goJoin(joinReq("g", c))
	h.joined("g", c)
	if s := h.state("g"); s != statePreparingRebalance {
		t.Fatalf("state %v after a new member joined, want PreparingRebalance", s)
	}
	for _, id := range []string{a, b} {
		if err := h.heartbeat("g", id, 1); !errors.Is(err, ErrRebalanceInProgress) {
			t.Errorf("heartbeat of %s during the rebalance: %v, want REBALANCE_IN_PROGRESS", id, err)
		}
	}
	if r := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: b, Generation: 1}); !errors.Is(r.Err, ErrRebalanceInProgress) {
		t.Errorf("sync during the rebalance: %+v", r)
	}
	ja := h.goJoin(joinReq("g", a))
	h.joined("g", a)
	if !h.waiting("g", c) {
		t.Fatal("join phase ended before every member rejoined")
	}
	// The last member rejoining ends the phase at once (no initial delay:
	// the group was not empty).
	rb := h.s.Join(ctxBG, joinReq("g", b))
	ra, rc := await(t, "join a", ja), await(t, "join c", jc)
	for _, r := range []JoinResult{ra, rb, rc} {
		if r.Err != nil || r.Generation != 2 || r.LeaderID != a {
			t.Fatalf("rejoin: %+v", r)
		}
	}
	if len(ra.Members) != 3 {
		t.Fatalf("leader got %d members, want 3", len(ra.Members))
	}
	// Generation 1 is over for everything that names it.
	if err := h.heartbeat("g", b, 1); !errors.Is(err, ErrIllegalGeneration) {
		t.Errorf("heartbeat at the old generation: %v", err)
	}
	if r := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: b, Generation: 1}); !errors.Is(r.Err, ErrIllegalGeneration) {
		t.Errorf("sync at the old generation: %+v", r)
	}
	if err := h.heartbeat("g", b, 2); err != nil {
		t.Errorf("heartbeat at the new generation while completing: %v", err)
	}
}

// A member that stops heartbeating is removed after its session timeout
// and the group rebalances; one that does not rejoin within the rebalance
// timeout is removed when the join phase ends.
func TestGroupsClassicSessionAndRebalanceTimeouts(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.stableGroup("g")
	// a heartbeats, b does not.
	for elapsed := time.Duration(0); elapsed < testSession-time.Second; elapsed += 3 * time.Second {
		h.clock.Advance(3 * time.Second)
		if err := h.heartbeat("g", a, 1); err != nil {
			t.Fatalf("heartbeat of a at %v: %v", elapsed, err)
		}
	}
	if g := h.group("g"); g.members[b] == nil || g.state != stateStable {
		t.Fatalf("b removed before its session timeout: %+v", g)
	}
	h.clock.Advance(time.Second)
	if g := h.group("g"); g.members[b] != nil || g.state != statePreparingRebalance {
		t.Fatalf("after b's session timeout: state %v, b still a member: %v", g.state, g.members[b] != nil)
	}
	if err := h.heartbeat("g", b, 1); !errors.Is(err, ErrUnknownMemberID) {
		t.Errorf("heartbeat of the expired member: %v", err)
	}
	r := h.s.Join(ctxBG, joinReq("g", a))
	if r.Err != nil || r.Generation != 2 || r.LeaderID != a || len(r.Members) != 1 {
		t.Fatalf("rejoin of the survivor: %+v", r)
	}
	if s := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: a, Generation: 2}); s.Err != nil {
		t.Fatalf("sync of the survivor: %+v", s)
	}

	// A new member arrives; a never rejoins. The join phase ends at the
	// rebalance timeout without it.
	c := h.memberID("g")
	jc := h.goJoin(joinReq("g", c))
	h.joined("g", c)
	for i := 1; i <= 9; i++ { // 27 s: heartbeats keep a's session, not its place
		h.clock.Advance(3 * time.Second)
		if err := h.heartbeat("g", a, 2); !errors.Is(err, ErrRebalanceInProgress) {
			t.Fatalf("heartbeat of a %d s into the rebalance: %v", 3*i, err)
		}
	}
	h.clock.Advance(testRebalance - 27*time.Second - time.Millisecond)
	if !h.waiting("g", c) {
		t.Fatal("join phase ended before the rebalance timeout")
	}
	h.clock.Advance(time.Millisecond)
	rc := await(t, "join c", jc)
	if rc.Err != nil || rc.Generation != 3 || rc.LeaderID != c || len(rc.Members) != 1 {
		t.Fatalf("join after the rebalance timeout: %+v", rc)
	}
	if g := h.group("g"); g.members[a] != nil {
		t.Fatal("a did not rejoin in time but is still a member")
	}
}

// A static member that restarts (JoinGroup with its instance ID and no
// member ID) replaces its old self without a rebalance: the group stays
// at its generation, the new member gets the old assignment, and the old
// member ID is fenced.
func TestGroupsClassicStaticReplacement(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.goJoin(staticJoinReq("g", "", "inst-1"))
	h.waitFor("the static member in the join phase", func() bool {
		g := h.p.groups["g"]
		return g != nil && g.static["inst-1"] != ""
	})
	h.clock.Advance(testDelay)
	first := await(t, "static join", r)
	old := first.MemberID
	if first.Err != nil || first.Generation != 1 || first.LeaderID != old || !strings.HasPrefix(old, "inst-1-") {
		t.Fatalf("static join: %+v", first)
	}
	inst := "inst-1"
	if s := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: old, InstanceID: &inst, Generation: 1,
		Assignments: []Assignment{{MemberID: old, Data: []byte("mine")}}}); s.Err != nil {
		t.Fatalf("sync: %+v", s)
	}

	again := h.s.Join(ctxBG, staticJoinReq("g", "", "inst-1"))
	if again.Err != nil || again.MemberID == old || again.Generation != 1 || again.LeaderID != again.MemberID {
		t.Fatalf("static rejoin: %+v (old member %s)", again, old)
	}
	if s := h.state("g"); s != stateStable {
		t.Fatalf("state %v after a static replacement, want Stable (no rebalance)", s)
	}
	if err := h.s.Heartbeat(ctxBG, HeartbeatRequest{Group: "g", MemberID: old, InstanceID: &inst, Generation: 1}); !errors.Is(err, ErrFencedInstanceID) {
		t.Errorf("heartbeat of the replaced member: %v, want FENCED_INSTANCE_ID", err)
	}
	if s := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: old, InstanceID: &inst, Generation: 1}); !errors.Is(s.Err, ErrFencedInstanceID) {
		t.Errorf("sync of the replaced member: %+v, want FENCED_INSTANCE_ID", s)
	}
	if r := h.s.Join(ctxBG, staticJoinReq("g", old, "inst-1")); !errors.Is(r.Err, ErrFencedInstanceID) {
		t.Errorf("join of the replaced member: %+v, want FENCED_INSTANCE_ID", r)
	}
	s := h.s.Sync(ctxBG, SyncRequest{Group: "g", MemberID: again.MemberID, InstanceID: &inst, Generation: 1})
	if s.Err != nil || string(s.Assignment) != "mine" {
		t.Errorf("sync of the new member: %+v, want the old assignment", s)
	}
	// The replacement was written: a new coordinator maps the instance to
	// the new member.
	h.load()
	if g := h.group("g"); g == nil || g.static["inst-1"] != again.MemberID || g.members[old] != nil {
		t.Fatalf("reloaded static mapping: %+v", g)
	}
}

func TestGroupsClassicLeave(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.stableGroup("g")
	inst := "not-a-member"
	res, err := h.s.Leave(ctxBG, "g", []LeaveMember{{MemberID: b}, {MemberID: "client-nobody"}, {InstanceID: &inst}})
	if err != nil || len(res) != 3 || res[0].Err != nil || !errors.Is(res[1].Err, ErrUnknownMemberID) || !errors.Is(res[2].Err, ErrUnknownMemberID) {
		t.Fatalf("leave: %+v, %v", res, err)
	}
	if g := h.group("g"); g.members[b] != nil || g.state != statePreparingRebalance {
		t.Fatalf("after b left: state %v, b still a member: %v", g.state, g.members[b] != nil)
	}
	if err := h.heartbeat("g", a, 1); !errors.Is(err, ErrRebalanceInProgress) {
		t.Errorf("heartbeat of the remaining member: %v, want REBALANCE_IN_PROGRESS", err)
	}
	if r := h.s.Join(ctxBG, joinReq("g", a)); r.Err != nil || r.Generation != 2 || len(r.Members) != 1 {
		t.Fatalf("rejoin: %+v", r)
	}
	// The last member leaving empties the group at a new generation.
	if res, err := h.s.Leave(ctxBG, "g", []LeaveMember{{MemberID: a}}); err != nil || res[0].Err != nil {
		t.Fatalf("last leave: %+v %v", res, err)
	}
	if g := h.group("g"); g == nil || g.state != stateEmpty || len(g.members) != 0 || g.generation != 3 {
		t.Fatalf("after the last member left: %+v", g)
	}
}

// A static member leaving by instance ID is found by it; naming another
// member ID with that instance is fenced.
func TestGroupsClassicLeaveStatic(t *testing.T) {
	h := newHarness(t, Config{InitialRebalanceDelay: -1})
	inst := "inst-1"
	r := h.s.Join(ctxBG, staticJoinReq("g", "", inst))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	res, err := h.s.Leave(ctxBG, "g", []LeaveMember{{MemberID: "client-other", InstanceID: &inst}})
	if err != nil || !errors.Is(res[0].Err, ErrFencedInstanceID) {
		t.Fatalf("leave with another member ID: %+v %v", res, err)
	}
	res, err = h.s.Leave(ctxBG, "g", []LeaveMember{{InstanceID: &inst}})
	if err != nil || res[0].Err != nil || res[0].MemberID != r.MemberID {
		t.Fatalf("leave by instance ID: %+v %v", res, err)
	}
	if g := h.group("g"); g.members[r.MemberID] != nil || g.static[inst] != "" {
		t.Fatalf("static member still there: %+v", g)
	}
}

// OffsetCommit from a classic group's members is checked against the
// generation; commits from outside group management need an empty group.
func TestGroupsClassicCommitValidation(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 1)
	a, b := h.stableGroup("g")
	commit := func(member string, gen int32) error {
		out := h.s.Commit(ctxBG, CommitRequest{Group: "g", MemberID: member, Generation: gen,
			Topics: []CommitTopic{{Name: "a", Partitions: []CommitPartition{{Partition: 0, Offset: 1}}}}})
		return out[0].Partitions[0].Err
	}
	for _, c := range []struct {
		name   string
		member string
		gen    int32
		want   error
	}{
		{"member at its generation", a, 1, nil},
		{"member at another generation", b, 2, ErrIllegalGeneration},
		{"unknown member", "client-nobody", 1, ErrUnknownMemberID},
		{"outside group management, group not empty", "", -1, ErrUnknownMemberID},
	} {
		if err := commit(c.member, c.gen); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// While the group completes a rebalance, commits wait for the sync.
	c := h.memberID("g")
	jc := h.goJoin(joinReq("g", c))
	h.joined("g", c)
	ja := h.goJoin(joinReq("g", a))
	h.joined("g", a)
	if r := h.s.Join(ctxBG, joinReq("g", b)); r.Err != nil || r.Generation != 2 {
		t.Fatalf("rejoin: %+v", r)
	}
	await(t, "join a", ja)
	await(t, "join c", jc)
	if err := commit(b, 2); !errors.Is(err, ErrRebalanceInProgress) {
		t.Errorf("commit while completing the rebalance: %v, want REBALANCE_IN_PROGRESS", err)
	}
	// An empty group takes commits from anyone.
	if res, err := h.s.Leave(ctxBG, "g", []LeaveMember{{MemberID: a}, {MemberID: b}, {MemberID: c}}); err != nil || res[2].Err != nil {
		t.Fatalf("leave: %+v %v", res, err)
	}
	if err := commit("", -1); err != nil {
		t.Errorf("commit to an empty group from outside: %v", err)
	}
}

// Members that do not send SyncGroup within the rebalance timeout after
// the join phase are removed, and the group rebalances without them.
func TestGroupsClassicSyncTimeout(t *testing.T) {
	h := newHarness(t, Config{InitialRebalanceDelay: -1})
	// A rebalance timeout that is no multiple of the session timeout, so
	// that b's session (renewed while it waits) does not end at the same
	// instant as the sync phase.
	const rebalance = 25 * time.Second
	join := func(id string) JoinRequest {
		r := joinReq("g", id)
		r.RebalanceTimeoutMs = int32(rebalance / time.Millisecond)
		return r
	}
	a, b := h.memberID("g"), h.memberID("g")
	ja := h.goJoin(join(a))
	h.joined("g", a)
	rb := h.s.Join(ctxBG, join(b))
	ra := await(t, "join a", ja)
	if ra.Err != nil || rb.Err != nil || ra.Generation != 1 || rb.Generation != 1 {
		t.Fatalf("joins: %+v / %+v", ra, rb)
	}
	// b syncs (and waits for the leader); a heartbeats but never syncs.
	sb := h.goSync(SyncRequest{Group: "g", MemberID: b, Generation: 1})
	h.syncing("g", b)
	for i := 1; i <= 8; i++ { // 24 s
		h.clock.Advance(3 * time.Second)
		if err := h.heartbeat("g", a, 1); err != nil {
			t.Fatalf("heartbeat of a %d s after the join: %v", 3*i, err)
		}
	}
	h.clock.Advance(rebalance - 24*time.Second - time.Millisecond)
	if !h.waiting("g", b) {
		t.Fatal("follower's SyncGroup answered before the leader synced or the timeout")
	}
	h.clock.Advance(time.Millisecond)
	if r := await(t, "sync b", sb); !errors.Is(r.Err, ErrRebalanceInProgress) {
		t.Fatalf("follower's SyncGroup at the sync timeout: %+v, want REBALANCE_IN_PROGRESS", r)
	}
	if g := h.group("g"); g.members[a] != nil || g.members[b] == nil || g.state != statePreparingRebalance {
		t.Fatalf("after the sync timeout: state %v, a kept %v, b kept %v", g.state, g.members[a] != nil, g.members[b] != nil)
	}
}

// The group's protocol is the one most members list first among those all
// of them support; a member sharing none with the group cannot join.
func TestGroupsClassicProtocolSelection(t *testing.T) {
	h := newHarness(t, Config{InitialRebalanceDelay: -1})
	join := func(id string, protos ...string) JoinRequest {
		r := joinReq("g", id)
		r.Protocols = nil
		for _, p := range protos {
			r.Protocols = append(r.Protocols, Protocol{Name: p, Metadata: []byte(p)})
		}
		return r
	}
	a, b, c := h.memberID("g"), h.memberID("g"), h.memberID("g")
	ja := h.goJoin(join(a, "sticky", "range", "roundrobin"))
	h.joined("g", a)
	jb := h.goJoin(join(b, "roundrobin", "range"))
	h.joined("g", b)
	if r := h.s.Join(ctxBG, join("", "cooperative")); !errors.Is(r.Err, ErrInconsistentProtocol) {
		t.Errorf("join with no common protocol: %+v", r)
	}
	rc := h.s.Join(ctxBG, join(c, "roundrobin", "range"))
	ra, rb := await(t, "join a", ja), await(t, "join b", jb)
	for _, r := range []JoinResult{ra, rb, rc} {
		if r.Err != nil || *r.Protocol != "roundrobin" {
			t.Fatalf("join: %+v, want protocol roundrobin (b and c vote for it; sticky is not common)", r)
		}
	}
	for _, m := range ra.Members {
		if string(m.Metadata) != "roundrobin" {
			t.Errorf("leader got %s's metadata %q, want its roundrobin metadata", m.MemberID, m.Metadata)
		}
	}
}
