package consumergroup

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// checkAssignment: every partition of a topic someone subscribes to is
// assigned exactly once, and only to a member subscribed to its topic.
func checkAssignment(t *testing.T, name string, ts []topicInfo, ms []assignMember, out map[string]tpSet) {
	t.Helper()
	sub := map[string]map[string]bool{}
	for _, m := range ms {
		sub[m.id] = m.topics
	}
	byID := map[TopicID]topicInfo{}
	for _, ti := range ts {
		byID[ti.id] = ti
	}
	seen := tpSet{}
	for id, s := range out {
		for tid, ps := range s {
			ti, ok := byID[tid]
			if !ok {
				t.Errorf("%s: %s got an unknown topic", name, id)
				continue
			}
			if len(ps) > 0 && !sub[id][ti.name] {
				t.Errorf("%s: %s got %s without subscribing to it", name, id, ti.name)
			}
			for _, p := range ps {
				if p < 0 || p >= ti.partitions || seen.has(tid, p) {
					t.Errorf("%s: %s/%d out of range or assigned twice", name, ti.name, p)
				}
				seen.add(tid, p)
			}
		}
	}
	for _, ti := range ts {
		anyone := false
		for _, m := range ms {
			anyone = anyone || m.topics[ti.name]
		}
		if n := len(seen[ti.id]); anyone && n != int(ti.partitions) {
			t.Errorf("%s: %d of %s's %d partitions assigned", name, n, ti.name, ti.partitions)
		}
	}
}

func randomTopics(r *rand.Rand) []topicInfo {
	ts := make([]topicInfo, 1+r.IntN(4))
	for i := range ts {
		ts[i] = topicInfo{name: fmt.Sprintf("t%d", i), id: TopicID{byte(i + 1)}, partitions: int32(1 + r.IntN(12))}
	}
	return ts
}

func subscribedToAll(ts []topicInfo, ids ...string) []assignMember {
	all := map[string]bool{}
	for _, ti := range ts {
		all[ti.name] = true
	}
	ms := make([]assignMember, len(ids))
	for i, id := range ids {
		ms[i] = assignMember{id: id, topics: all}
	}
	return ms
}

// With identical subscriptions the uniform assignor balances to within one
// partition; when a member joins, the others only lose partitions; when a
// member leaves, the others keep everything they had.
func TestGroupsUniformBalanceAndStickiness(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		ts := randomTopics(r)
		n := 1 + r.IntN(6)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("m%02d", i)
		}
		ms := subscribedToAll(ts, ids...)
		name := fmt.Sprintf("round %d (%d members, topics %v)", round, n, ts)
		balanced := func(what string, out map[string]tpSet) {
			t.Helper()
			lo, hi := 1<<30, -1
			for _, m := range ms {
				c := out[m.id].count()
				lo, hi = min(lo, c), max(hi, c)
			}
			if hi-lo > 1 {
				t.Errorf("%s %s: member partition counts range %d..%d", name, what, lo, hi)
			}
		}
		first := assignUniform(ts, ms)
		checkAssignment(t, name, ts, ms, first)
		balanced("initial", first)
		for i := range ms {
			ms[i].previous = first[ms[i].id]
		}
		// Join.
		ms = append(ms, assignMember{id: "new", topics: ms[0].topics})
		joined := assignUniform(ts, ms)
		checkAssignment(t, name+" +1", ts, ms, joined)
		balanced("after a join", joined)
		for _, id := range ids {
			if extra := joined[id].minus(first[id]); extra.count() > 0 {
				t.Errorf("%s: after a join %s gained %v", name, id, extra.list())
			}
		}
		// Leave (of the first member, from the original assignment).
		ms = ms[:len(ms)-1]
		for i := range ms {
			ms[i].previous = first[ms[i].id]
		}
		gone := ms[0].id
		ms = ms[1:]
		if len(ms) == 0 {
			continue
		}
		left := assignUniform(ts, ms)
		checkAssignment(t, name+" -1", ts, ms, left)
		balanced("after a leave", left)
		for _, m := range ms {
			if lost := first[m.id].minus(left[m.id]); lost.count() > 0 {
				t.Errorf("%s: after %s left, %s lost %v", name, gone, m.id, lost.list())
			}
		}
	}
}

// The uniform assignor is deterministic: the same input gives the same
// output (Update-free code, but two coordinators must agree after a
// failover).
func TestGroupsUniformDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ts := randomTopics(r)
	ms := subscribedToAll(ts, "a", "b", "c")
	want := fmt.Sprint(assignUniform(ts, ms))
	for i := 0; i < 20; i++ {
		if got := fmt.Sprint(assignUniform(ts, ms)); got != want {
			t.Fatalf("run %d: %s, first run %s", i, got, want)
		}
	}
}

// The range assignor gives each member a contiguous range of each topic,
// sizes differing by at most one with the larger ranges first, and the
// same ranges of topics with the same partition count (co-partitioning),
// whatever the order members are listed in.
func TestGroupsRangeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 200; round++ {
		ts := randomTopics(r)
		ts = append(ts, topicInfo{name: "twin", id: TopicID{0xee}, partitions: ts[0].partitions})
		n := 1 + r.IntN(6)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("m%02d", i)
		}
		ms := subscribedToAll(ts, ids...)
		name := fmt.Sprintf("round %d (%d members, topics %v)", round, n, ts)
		out := assignRange(ts, ms)
		checkAssignment(t, name, ts, ms, out)
		shuffled := append([]assignMember(nil), ms...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if a, b := fmt.Sprint(out), fmt.Sprint(assignRange(ts, shuffled)); a != b {
			t.Errorf("%s: member order changes the result: %s vs %s", name, a, b)
		}
		for _, ti := range ts {
			next := int32(0)
			prev := -1               // size of the previous member's range
			for _, id := range ids { // sorted member IDs: the assignor's order
				ps := out[id][ti.id]
				for k, p := range ps {
					if p != next+int32(k) {
						t.Errorf("%s: %s's range of %s is not contiguous from %d: %v", name, id, ti.name, next, ps)
						break
					}
				}
				if prev >= 0 && (len(ps) > prev || prev-len(ps) > 1) {
					t.Errorf("%s: range sizes of %s not in steps of at most one, larger first", name, ti.name)
				}
				prev = len(ps)
				next += int32(len(ps))
			}
		}
		for _, id := range ids {
			if a, b := fmt.Sprint(out[id][ts[0].id]), fmt.Sprint(out[id][TopicID{0xee}]); a != b {
				t.Errorf("%s: %s has %s of %s but %s of its twin", name, id, a, ts[0].name, b)
			}
		}
	}
}
