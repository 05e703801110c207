package consumergroup

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The in-memory state is a fold of the __consumer_offsets log: these tests
// fold records directly (partition.apply) and through a real data-group
// log (harness_test.go), and check that replaying gives the state the
// coordinator had.

// snapshot renders a partition's durable state: what a replay must
// rebuild.
func snapshot(p *partition) string {
	var b strings.Builder
	for _, name := range sortedKeys(p.groups) {
		g := p.groups[name]
		fmt.Fprintf(&b, "%s: %s %v gen=%d %s/%s leader=%q meta=%v\n", name, g.typeName(), g.state, g.generation,
			g.protocolType, g.protocol, g.leader, g.hasMeta)
		for _, m := range g.sortedMembers() {
			inst := ""
			if m.instanceID != nil {
				inst = *m.instanceID
			}
			fmt.Fprintf(&b, "  member %s inst=%q session=%v assignment=%q\n", m.id, inst, m.sessionTimeout, m.assignment)
		}
		for _, topic := range sortedKeys(g.offsets) {
			ps := make([]int32, 0, len(g.offsets[topic]))
			for part := range g.offsets[topic] {
				ps = append(ps, part)
			}
			slices.Sort(ps)
			for _, part := range ps {
				c := g.offsets[topic][part]
				fmt.Fprintf(&b, "  %s/%d=%d epoch=%d md=%q at=%d\n", topic, part, c.Offset, c.LeaderEpoch, c.Metadata, c.CommitMs)
			}
		}
	}
	return b.String()
}

// entries decodes records as the replay does, at offsets 0, 1, ...
func entries(t *testing.T, recs []kv) []logEntry {
	t.Helper()
	var out []logEntry
	_, _, err := decodeBatches(encodeBatch(1, recs), func(off int64, k, v []byte) {
		e, err := decodeEntry(off, k, v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func metaRecord(name string, gen int32, members ...string) kv {
	g := &group{protocolType: "consumer", protocol: "range", generation: gen, members: map[string]*member{}}
	for i, id := range members {
		if i == 0 {
			g.leader = id
		}
		g.members[id] = &member{id: id, clientID: "c", clientHost: "/h", sessionTimeout: 10 * time.Second,
			rebalanceTimeout: 30 * time.Second, protocols: []Protocol{{Name: "range", Metadata: []byte("sub")}},
			assignment: []byte("to-" + id), seq: uint64(i)}
	}
	return kv{Key: groupKey(name), Value: groupValue(g, 1000)}
}

func commitRecord(group, topic string, part int32, offset int64) kv {
	return offsetRecord(group, topic, part, committed{Offset: offset, LeaderEpoch: 3, Metadata: "m", CommitMs: 1000})
}

func TestGroupsLogFold(t *testing.T) {
	recs := []kv{
		commitRecord("g1", "t", 0, 10),
		commitRecord("g1", "t", 0, 11), // overwrites
		commitRecord("g1", "t", 1, 5),
		{Key: offsetKey("g1", "t", 1)}, // deletes
		{Key: offsetKey("g1", "t", 9)}, // deletes nothing
		{Key: offsetKey("g2", "t", 0)}, // an unknown group stays unknown
		metaRecord("g3", 4, "m1"),
		metaRecord("g3", 5, "m1", "m2"), // replaces the membership
		{Key: groupKey("g3")},           // deletes the group: nothing left
		metaRecord("g4", 2, "x"),
		commitRecord("g4", "t", 0, 1),
		{Key: groupKey("g4")}, // deletes the membership; the commit stays
		metaRecord("g5", 7, "a", "b"),
	}
	want := `g1: classic Empty gen=0 / leader="" meta=false
  t/0=11 epoch=3 md="m" at=1000
g4: classic Empty gen=2 consumer/ leader="" meta=false
  t/0=1 epoch=3 md="m" at=1000
g5: classic Stable gen=7 consumer/range leader="a" meta=true
  member a inst="" session=10s assignment="to-a"
  member b inst="" session=10s assignment="to-b"
`
	es := entries(t, recs)
	p := &partition{groups: map[string]*group{}}
	for _, e := range es {
		p.apply(e, true)
	}
	if got := snapshot(p); got != want {
		t.Fatalf("fold:\n%s\nwant:\n%s", got, want)
	}
	// Folding the log again over its own result changes nothing.
	for _, e := range es {
		p.apply(e, true)
	}
	if got := snapshot(p); got != want {
		t.Fatalf("fold twice:\n%s\nwant:\n%s", got, want)
	}
	// After loading, group records are this coordinator's own writes:
	// memory is ahead of them, so they do not change membership.
	for _, e := range entries(t, []kv{metaRecord("g5", 6, "z"), {Key: groupKey("g5")}}) {
		p.apply(e, false)
	}
	if got := snapshot(p); got != want {
		t.Fatalf("own group records changed the membership:\n%s\nwant:\n%s", got, want)
	}
}

// Commits, deletions and group metadata written through the coordinator's
// API come back identical when a new coordinator replays the log, and a
// second replay of the same log gives the same state again.
func TestGroupsLogReplayMatchesLiveState(t *testing.T) {
	h := newHarness(t, Config{})
	h.node.setTopic("a", topicA, 4)
	md := "meta"
	commit := func(group string, offsets map[int32]int64) {
		t.Helper()
		var ps []CommitPartition
		for part, off := range offsets {
			ps = append(ps, CommitPartition{Partition: part, Offset: off, LeaderEpoch: 2, Metadata: &md})
		}
		out := h.s.Commit(ctxBG, CommitRequest{Group: group, Generation: -1, Topics: []CommitTopic{{Name: "a", Partitions: ps}}})
		for _, pe := range out[0].Partitions {
			if pe.Err != nil {
				t.Fatalf("commit %s/%d: %v", group, pe.Partition, pe.Err)
			}
		}
	}
	commit("simple", map[int32]int64{0: 10, 1: 20, 2: 30})
	commit("simple", map[int32]int64{0: 11})
	if _, err := h.s.DeleteOffsets(ctxBG, "simple", []DeleteTopicPartitions{{Name: "a", Partitions: []int32{1}}}); err != nil {
		t.Fatal(err)
	}
	commit("doomed", map[int32]int64{3: 1})
	if errs := h.s.DeleteGroups(ctxBG, []string{"doomed"}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	a, _ := h.stableGroup("classic")
	if out := h.s.Commit(ctxBG, CommitRequest{Group: "classic", MemberID: a, Generation: 1,
		Topics: []CommitTopic{{Name: "a", Partitions: []CommitPartition{{Partition: 0, Offset: 7}}}}}); out[0].Partitions[0].Err != nil {
		t.Fatal(out[0].Partitions[0].Err)
	}
	var live string
	h.locked(func() { live = snapshot(h.p) })
	for _, wantLine := range []string{"a/0=11", "a/2=30", "classic: classic Stable gen=1", `assignment="for-b"`, "a/0=7"} {
		if !strings.Contains(live, wantLine) {
			t.Fatalf("live state lacks %q:\n%s", wantLine, live)
		}
	}
	if strings.Contains(live, "a/1=") || strings.Contains(live, "doomed") {
		t.Fatalf("live state kept deleted records:\n%s", live)
	}

	p := h.load()
	var replayed string
	h.locked(func() { replayed = snapshot(p) })
	if replayed != live {
		t.Fatalf("replayed state differs from the live one:\nreplayed:\n%s\nlive:\n%s", replayed, live)
	}
	// Replaying the whole log again over the loaded state is a no-op.
	h.locked(func() {
		p.next = 0
		if err := p.catchUp(true); err != nil {
			t.Fatal(err)
		}
		if again := snapshot(p); again != live {
			t.Errorf("second replay:\n%s\nwant:\n%s", again, live)
		}
	})
}
