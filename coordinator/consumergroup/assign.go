package consumergroup

import (
	"cmp"
	"slices"
	"sort"
)

// Server-side assignors of KIP-848 consumer groups.

// tpSet is a set of partitions by topic ID; partition lists are sorted.
type tpSet map[TopicID][]int32

func (s tpSet) clone() tpSet {
	out := make(tpSet, len(s))
	for id, ps := range s {
		out[id] = slices.Clone(ps)
	}
	return out
}

func (s tpSet) has(id TopicID, p int32) bool {
	_, ok := slices.BinarySearch(s[id], p)
	return ok
}

func (s tpSet) add(id TopicID, p int32) {
	ps := s[id]
	i, ok := slices.BinarySearch(ps, p)
	if !ok {
		s[id] = slices.Insert(ps, i, p)
	}
}

func (s tpSet) count() int {
	n := 0
	for _, ps := range s {
		n += len(ps)
	}
	return n
}

// minus returns s without the partitions in o.
func (s tpSet) minus(o tpSet) tpSet {
	out := tpSet{}
	for id, ps := range s {
		for _, p := range ps {
			if !o.has(id, p) {
				out[id] = append(out[id], p)
			}
		}
	}
	return out
}

// intersect returns the partitions in both s and o.
func (s tpSet) intersect(o tpSet) tpSet {
	out := tpSet{}
	for id, ps := range s {
		for _, p := range ps {
			if o.has(id, p) {
				out[id] = append(out[id], p)
			}
		}
	}
	return out
}

func (s tpSet) equal(o tpSet) bool {
	if s.count() != o.count() {
		return false
	}
	for id, ps := range s {
		if !slices.Equal(ps, o[id]) {
			return false
		}
	}
	return true
}

// list is s as TopicPartitions, sorted by topic ID.
func (s tpSet) list() []TopicPartitions {
	out := make([]TopicPartitions, 0, len(s))
	for id, ps := range s {
		if len(ps) > 0 {
			out = append(out, TopicPartitions{ID: id, Partitions: slices.Clone(ps)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return cmp.Compare(string(out[i].ID[:]), string(out[j].ID[:])) < 0 })
	return out
}

func tpSetOf(tps []TopicPartitions) tpSet {
	out := tpSet{}
	for _, t := range tps {
		for _, p := range t.Partitions {
			out.add(t.ID, p)
		}
	}
	return out
}

// topicInfo is a subscribed topic as the assignors see it.
type topicInfo struct {
	name       string
	id         TopicID
	partitions int32
}

// assignMember is one member as an assignor sees it.
type assignMember struct {
	id       string
	instance *string
	topics   map[string]bool // subscribed topics that exist
	previous tpSet           // the member's current target (stickiness)
}

// assignUniform spreads every subscribed partition over the members
// subscribed to its topic so that partition counts differ by at most one
// where subscriptions allow, keeping each member's previous target where
// it can (Kafka's "uniform" assignor is sticky in the same way).
func assignUniform(topics []topicInfo, members []assignMember) map[string]tpSet {
	out := make(map[string]tpSet, len(members))
	count := make(map[string]int, len(members))
	byID := map[TopicID]topicInfo{}
	for _, t := range topics {
		byID[t.id] = t
	}
	for _, m := range members {
		out[m.id] = tpSet{}
	}
	eligible := func(m *assignMember, t topicInfo) bool { return m.topics[t.name] }
	// Totals each member could hold, to cap sticky keeps at a fair share.
	type tp struct {
		t topicInfo
		p int32
	}
	var all []tp
	for _, t := range topics {
		for p := int32(0); p < t.partitions; p++ {
			all = append(all, tp{t, p})
		}
	}
	owner := map[TopicID]map[int32]string{}
	setOwner := func(id TopicID, p int32, m string) {
		if owner[id] == nil {
			owner[id] = map[int32]string{}
		}
		owner[id][p] = m
	}
	// Fair share per member if everyone could take everything; members
	// with narrower subscriptions are corrected by the balancing pass.
	quota := 0
	if len(members) > 0 {
		quota = (len(all) + len(members) - 1) / len(members)
	}
	// 1. Keep previous targets that are still valid, up to the quota.
	for i := range members {
		m := &members[i]
		for _, tpl := range m.previous.list() {
			t, ok := byID[tpl.ID]
			if !ok || !eligible(m, t) {
				continue
			}
			for _, p := range tpl.Partitions {
				if p >= t.partitions || owner[t.id][p] != "" || count[m.id] >= quota {
					continue
				}
				setOwner(t.id, p, m.id)
				out[m.id].add(t.id, p)
				count[m.id]++
			}
		}
	}
	// 2. Give each unowned partition to the eligible member holding the
	// fewest (ties: member order).
	for _, x := range all {
		if owner[x.t.id][x.p] != "" {
			continue
		}
		best := -1
		for i := range members {
			if eligible(&members[i], x.t) && (best < 0 || count[members[i].id] < count[members[best].id]) {
				best = i
			}
		}
		if best < 0 {
			continue // nobody subscribes
		}
		id := members[best].id
		setOwner(x.t.id, x.p, id)
		out[id].add(x.t.id, x.p)
		count[id]++
	}
	// 3. Balance: move a partition from a member with two or more than an
	// eligible other until no such move exists.
	for moved := true; moved; {
		moved = false
		for _, x := range all {
			from := owner[x.t.id][x.p]
			if from == "" {
				continue
			}
			best := -1
			for i := range members {
				if eligible(&members[i], x.t) && count[members[i].id]+1 < count[from] &&
					(best < 0 || count[members[i].id] < count[members[best].id]) {
					best = i
				}
			}
			if best < 0 {
				continue
			}
			to := members[best].id
			out[from][x.t.id] = slices.DeleteFunc(out[from][x.t.id], func(p int32) bool { return p == x.p })
			out[to].add(x.t.id, x.p)
			setOwner(x.t.id, x.p, to)
			count[from]--
			count[to]++
			moved = true
		}
	}
	return out
}

// assignRange gives each member subscribed to a topic a contiguous range
// of its partitions: with n members and P partitions, each gets P/n and
// the first P%n one more. Members are ordered static ones first (by
// instance ID), then by member ID, as Kafka's range assignor does.
func assignRange(topics []topicInfo, members []assignMember) map[string]tpSet {
	out := make(map[string]tpSet, len(members))
	for _, m := range members {
		out[m.id] = tpSet{}
	}
	ordered := slices.Clone(members)
	sort.SliceStable(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if (a.instance != nil) != (b.instance != nil) {
			return a.instance != nil
		}
		if a.instance != nil && *a.instance != *b.instance {
			return *a.instance < *b.instance
		}
		return a.id < b.id
	})
	for _, t := range topics {
		var subs []string
		for _, m := range ordered {
			if m.topics[t.name] {
				subs = append(subs, m.id)
			}
		}
		if len(subs) == 0 {
			continue
		}
		n := int32(len(subs))
		per, extra := t.partitions/n, t.partitions%n
		p := int32(0)
		for i, id := range subs {
			k := per
			if int32(i) < extra {
				k++
			}
			for j := int32(0); j < k; j++ {
				out[id].add(t.id, p)
				p++
			}
		}
	}
	return out
}
