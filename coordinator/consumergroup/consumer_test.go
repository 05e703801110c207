package consumergroup

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// KIP-848 consumer groups on one coordinator with a fake clock
// (harness_test.go).

var topicA = TopicID{0xa}

func cjoin(group string, topics ...string) ConsumerHeartbeatRequest {
	return ConsumerHeartbeatRequest{Group: group, MemberEpoch: 0, RebalanceTimeoutMs: 20000,
		SubscribedTopicNames: topics, Topics: []TopicPartitions{}, Client: Client{ID: "client", Host: "/127.0.0.1"}}
}

// chb is a heartbeat at epoch that reports owned (nil: not reported).
func chb(group, id string, epoch int32, owned tpSet) ConsumerHeartbeatRequest {
	r := ConsumerHeartbeatRequest{Group: group, MemberID: id, MemberEpoch: epoch, RebalanceTimeoutMs: -1}
	if owned != nil {
		r.Topics = owned.list()
	}
	return r
}

func parts(id TopicID, ps ...int32) tpSet {
	s := tpSet{}
	for _, p := range ps {
		s.add(id, p)
	}
	return s
}

func (h *harness) cgroup(name string) (epoch, assignmentEpoch int32, state groupState) {
	h.locked(func() {
		g := h.p.groups[name]
		if g == nil || g.consumer == nil {
			h.t.Fatalf("no consumer group %s", name)
		}
		epoch, assignmentEpoch, state = g.consumer.epoch, g.consumer.assignmentEpoch, g.consumer.state()
	})
	return
}

func (h *harness) heartbeatOK(what string, req ConsumerHeartbeatRequest) ConsumerHeartbeatResult {
	h.t.Helper()
	r := h.s.ConsumerHeartbeat(ctxBG, req)
	if r.Err != nil {
		h.t.Fatalf("%s: %v", what, r.Err)
	}
	return r
}

func assigned(r ConsumerHeartbeatResult) string {
	if !r.HasAssignment {
		return "unchanged"
	}
	return fmt.Sprint(tpSetOf(r.Assignment).list())
}

func want(s tpSet) string { return fmt.Sprint(s.list()) }

// A member that joins an empty group gets everything at epoch 1; a second
// member moves the group to epoch 2, but gets its half only after the first
// member has released it: the first member keeps its epoch while it
// revokes (CurrentAssignmentBuilder's UNREVOKED_PARTITIONS), then moves to
// epoch 2; the second member waits (UNRELEASED_PARTITIONS) at epoch 2.
func TestGroupsConsumerRevokeBeforeAssign(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 4)
	r1 := h.heartbeatOK("join m1", cjoin("g", "a"))
	m1 := r1.MemberID
	if r1.MemberEpoch != 1 || assigned(r1) != want(parts(topicA, 0, 1, 2, 3)) || m1 == "" {
		t.Fatalf("m1 join: epoch %d, assignment %s", r1.MemberEpoch, assigned(r1))
	}
	if e, ae, s := h.cgroup("g"); e != 1 || ae != 1 || s != stateStable {
		t.Fatalf("group after m1: epoch %d, assignment epoch %d, %v", e, ae, s)
	}
	r2 := h.heartbeatOK("join m2", cjoin("g", "a"))
	m2 := r2.MemberID
	if r2.MemberEpoch != 2 || assigned(r2) != want(tpSet{}) {
		t.Fatalf("m2 join: epoch %d, assignment %s; want epoch 2 and nothing yet", r2.MemberEpoch, assigned(r2))
	}
	if e, _, s := h.cgroup("g"); e != 2 || s != stateReconciling {
		t.Fatalf("group after m2: epoch %d, %v", e, s)
	}
	var m1Target, m2Target tpSet
	h.locked(func() {
		c := h.p.groups["g"].consumer
		m1Target, m2Target = c.members[m1].target, c.members[m2].target
	})
	if m1Target.count() != 2 || m2Target.count() != 2 || m1Target.intersect(m2Target).count() != 0 {
		t.Fatalf("targets: m1 %v, m2 %v", m1Target, m2Target)
	}
	// m1, still at epoch 1, is told to keep only its target.
	r := h.heartbeatOK("m1 at epoch 1", chb("g", m1, 1, parts(topicA, 0, 1, 2, 3)))
	if r.MemberEpoch != 1 || assigned(r) != want(m1Target) {
		t.Fatalf("m1 revoking: epoch %d, assignment %s, want epoch 1 and %s", r.MemberEpoch, assigned(r), want(m1Target))
	}
	// m2 cannot have partitions m1 still owns.
	if r := h.heartbeatOK("m2 waits", chb("g", m2, 2, tpSet{})); r.MemberEpoch != 2 || r.HasAssignment && len(r.Assignment) > 0 {
		t.Fatalf("m2 got partitions m1 has not released: %+v", r)
	}
	// m1 reports it released them: it moves to epoch 2, and m2 gets its own.
	if r := h.heartbeatOK("m1 released", chb("g", m1, 1, m1Target)); r.MemberEpoch != 2 {
		t.Fatalf("m1 after releasing: epoch %d, want 2", r.MemberEpoch)
	}
	if r := h.heartbeatOK("m2 assigned", chb("g", m2, 2, tpSet{})); r.MemberEpoch != 2 || assigned(r) != want(m2Target) {
		t.Fatalf("m2 after m1 released: epoch %d, assignment %s, want %s", r.MemberEpoch, assigned(r), want(m2Target))
	}
	if e, ae, s := h.cgroup("g"); e != 2 || ae != 2 || s != stateStable {
		t.Fatalf("group at the end: epoch %d, assignment epoch %d, %v", e, ae, s)
	}
	// A heartbeat with nothing new carries no assignment.
	if r := h.heartbeatOK("steady", chb("g", m2, 2, m2Target)); r.HasAssignment || r.MemberEpoch != 2 {
		t.Fatalf("steady heartbeat: %+v", r)
	}
}

func TestGroupsConsumerEpochErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 4)
	m1 := h.heartbeatOK("join m1", cjoin("g", "a")).MemberID
	all := parts(topicA, 0, 1, 2, 3)
	for _, c := range []struct {
		name string
		req  ConsumerHeartbeatRequest
		want error
	}{
		{"future epoch", chb("g", m1, 5, all), ErrFencedMemberEpoch},
		{"join without a subscription", chb("g", m1, 0, nil), ErrInvalidRequest},
		{"unknown member", chb("g", "nobody", 1, all), ErrUnknownMemberID},
		{"unknown group", chb("other", m1, 1, all), ErrUnknownMemberID},
		{"leave of an unknown member", chb("g", "nobody", -1, nil), ErrUnknownMemberID},
		{"bad epoch", chb("g", m1, -3, nil), ErrInvalidRequest},
	} {
		if r := h.s.ConsumerHeartbeat(ctxBG, c.req); !errors.Is(r.Err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, r.Err, c.want)
		}
	}
	// m2 joins: epoch 2. m1 is at epoch 1 until it heartbeats.
	m2 := h.heartbeatOK("join m2", cjoin("g", "a")).MemberID
	r := h.heartbeatOK("m1 revokes", chb("g", m1, 1, all))
	kept := tpSetOf(r.Assignment)
	h.heartbeatOK("m1 released", chb("g", m1, 1, kept))
	// m1 is at epoch 2 now; a heartbeat at epoch 1 (its response lost) is
	// accepted while it owns only what it was given...
	if r := h.s.ConsumerHeartbeat(ctxBG, chb("g", m1, 1, kept)); r.Err != nil || r.MemberEpoch != 2 {
		t.Errorf("m1 at its previous epoch owning its partitions: %+v", r)
	}
	// ...but not when it claims partitions it no longer has, nor without
	// saying what it owns.
	if r := h.s.ConsumerHeartbeat(ctxBG, chb("g", m1, 1, all)); !errors.Is(r.Err, ErrFencedMemberEpoch) {
		t.Errorf("m1 at its previous epoch owning revoked partitions: %v, want FENCED_MEMBER_EPOCH", r.Err)
	}
	if r := h.s.ConsumerHeartbeat(ctxBG, chb("g", m1, 1, nil)); !errors.Is(r.Err, ErrFencedMemberEpoch) {
		t.Errorf("m1 at its previous epoch without owned partitions: %v, want FENCED_MEMBER_EPOCH", r.Err)
	}
	// Offset commits are fenced the same way.
	h.locked(func() {
		c := h.p.groups["g"].consumer
		if err := c.validateCommit(m2, 3); !errors.Is(err, ErrFencedMemberEpoch) {
			t.Errorf("commit at a future epoch: %v", err)
		}
		if err := c.validateCommit(m2, 1); !errors.Is(err, ErrStaleMemberEpoch) {
			t.Errorf("commit at a stale epoch: %v", err)
		}
		if err := c.validateCommit(m2, 2); err != nil {
			t.Errorf("commit at the member's epoch: %v", err)
		}
		if err := c.validateCommit("", -1); !errors.Is(err, ErrUnknownMemberID) {
			t.Errorf("admin commit to a group with members: %v", err)
		}
	})
	// m2 leaves: the group moves to epoch 3 and m1 gets everything back.
	if r := h.heartbeatOK("m2 leaves", chb("g", m2, -1, nil)); r.MemberEpoch != -1 {
		t.Errorf("leave answered epoch %d, want -1", r.MemberEpoch)
	}
	if r := h.s.ConsumerHeartbeat(ctxBG, chb("g", m2, 2, tpSet{})); !errors.Is(r.Err, ErrUnknownMemberID) {
		t.Errorf("heartbeat after leaving: %v, want UNKNOWN_MEMBER_ID", r.Err)
	}
	if r := h.heartbeatOK("m1 after m2 left", chb("g", m1, 2, kept)); r.MemberEpoch != 3 || assigned(r) != want(all) {
		t.Errorf("m1 after m2 left: epoch %d, assignment %s", r.MemberEpoch, assigned(r))
	}
	// A classic join to a consumer group with members is refused.
	if r := h.s.Join(ctxBG, joinReq("g", "")); !errors.Is(r.Err, ErrInconsistentProtocol) {
		t.Errorf("classic join of a consumer group: %+v", r)
	}
}

// A member that stops heartbeating is removed after
// group.consumer.session.timeout.ms; one that does not release revoked
// partitions within its rebalance timeout is removed too.
func TestGroupsConsumerTimeouts(t *testing.T) {
	h := newHarness(t, Config{ConsumerSessionTimeout: 45 * time.Second})
	h.node.setTopic("a", topicA, 4)
	m1 := h.heartbeatOK("join m1", cjoin("g", "a")).MemberID
	m2 := h.heartbeatOK("join m2", cjoin("g", "a")).MemberID
	// m2 keeps heartbeating; m1 (which must revoke half) never answers.
	for i := 0; i < 4; i++ {
		h.clock.Advance(5 * time.Second)
		h.heartbeatOK("m2", chb("g", m2, 2, tpSet{}))
	}
	h.locked(func() {
		if h.p.groups["g"].consumer.members[m1] == nil {
			t.Fatal("m1 removed before any timeout")
		}
	})
	// m1 told to revoke at its next heartbeat; it has 20 s to do so.
	h.heartbeatOK("m1 told to revoke", chb("g", m1, 1, parts(topicA, 0, 1, 2, 3)))
	h.clock.Advance(19 * time.Second)
	h.heartbeatOK("m1 still revoking", chb("g", m1, 1, nil))
	h.heartbeatOK("m2", chb("g", m2, 2, tpSet{}))
	h.clock.Advance(time.Second)
	if r := h.s.ConsumerHeartbeat(ctxBG, chb("g", m1, 1, nil)); !errors.Is(r.Err, ErrUnknownMemberID) {
		t.Fatalf("m1 after its rebalance timeout without revoking: %v, want UNKNOWN_MEMBER_ID", r.Err)
	}
	if r := h.heartbeatOK("m2 alone", chb("g", m2, 2, tpSet{})); r.MemberEpoch != 3 || assigned(r) != want(parts(topicA, 0, 1, 2, 3)) {
		t.Fatalf("m2 after m1's removal: epoch %d, assignment %s", r.MemberEpoch, assigned(r))
	}
	// Session timeout.
	h.clock.Advance(45*time.Second - time.Millisecond)
	if _, _, s := h.cgroup("g"); s == stateEmpty {
		t.Fatal("m2 removed before its session timeout")
	}
	h.clock.Advance(time.Millisecond)
	if e, _, s := h.cgroup("g"); s != stateEmpty || e != 4 {
		t.Fatalf("after m2's session timeout: epoch %d, %v; want 4, Empty", e, s)
	}
}

// A new subscribed topic's partitions, or more partitions, move the group
// to a new epoch at the next heartbeat.
func TestGroupsConsumerTopicChanges(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.heartbeatOK("join", cjoin("g", "a", "b"))
	m := r.MemberID
	if r.MemberEpoch != 1 || assigned(r) != want(tpSet{}) {
		t.Fatalf("join before the topics exist: %+v", r)
	}
	h.node.setTopic("a", topicA, 2)
	if r := h.heartbeatOK("topic a appeared", chb("g", m, 1, tpSet{})); r.MemberEpoch != 2 || assigned(r) != want(parts(topicA, 0, 1)) {
		t.Fatalf("after a appeared: epoch %d, %s", r.MemberEpoch, assigned(r))
	}
	h.node.setTopic("a", topicA, 3)
	if r := h.heartbeatOK("a grew", chb("g", m, 2, parts(topicA, 0, 1))); r.MemberEpoch != 3 || assigned(r) != want(parts(topicA, 0, 1, 2)) {
		t.Fatalf("after a grew: epoch %d, %s", r.MemberEpoch, assigned(r))
	}
}

// A static member that leaves with epoch -2 keeps its place: coming back
// with the same instance ID gives it its old assignment at the current
// epoch, without a new group epoch. Another member ID with the instance ID
// while it is active is refused.
func TestGroupsConsumerStaticMember(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 2)
	join := func() ConsumerHeartbeatRequest {
		r := cjoin("g", "a")
		inst := "inst-1"
		r.InstanceID = &inst
		return r
	}
	r := h.heartbeatOK("static join", join())
	if r.MemberEpoch != 1 || assigned(r) != want(parts(topicA, 0, 1)) {
		t.Fatalf("static join: %+v", r)
	}
	if r := h.s.ConsumerHeartbeat(ctxBG, join()); !errors.Is(r.Err, ErrUnreleasedInstanceID) {
		t.Fatalf("second member with the same instance ID: %v, want UNRELEASED_INSTANCE_ID", r.Err)
	}
	leave := chb("g", r.MemberID, -2, nil)
	leave.InstanceID = join().InstanceID
	if r := h.heartbeatOK("static leave", leave); r.MemberEpoch != -2 {
		t.Fatalf("static leave answered epoch %d", r.MemberEpoch)
	}
	back := h.heartbeatOK("static rejoin", join())
	if back.MemberEpoch != 1 || assigned(back) != want(parts(topicA, 0, 1)) || back.MemberID == r.MemberID {
		t.Fatalf("static rejoin: %+v (first member %s)", back, r.MemberID)
	}
	if e, _, _ := h.cgroup("g"); e != 1 {
		t.Fatalf("group epoch %d after a static member came back, want 1", e)
	}
}

// The range assignor is used when members ask for it.
func TestGroupsConsumerRangeAssignor(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 5)
	rng := "range"
	j := cjoin("g", "a")
	j.ServerAssignor = &rng
	h.heartbeatOK("join", j)
	h.heartbeatOK("join", j)
	var targets []string
	h.locked(func() {
		c := h.p.groups["g"].consumer
		if c.assignor != "range" {
			t.Errorf("assignor %q, want range", c.assignor)
		}
		for _, id := range sortedKeys(c.members) {
			targets = append(targets, fmt.Sprint(c.members[id].target[topicA]))
		}
	})
	if fmt.Sprint(targets) != "[[0 1 2] [3 4]]" {
		t.Errorf("range targets by member ID: %v", targets)
	}
	bad := "sticky"
	j.ServerAssignor = &bad
	if r := h.s.ConsumerHeartbeat(ctxBG, j); !errors.Is(r.Err, ErrUnsupportedAssignor) {
		t.Errorf("unknown assignor: %v", r.Err)
	}
}
