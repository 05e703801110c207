package statemachine

import (
	"cmp"
	"fmt"
	"slices"
)

// Lookup answers the Query* types of query.go (values or pointers). It runs
// concurrently with Update and may be called after Close (ErrClosed).
func (sm *StateMachine) Lookup(query interface{}) (interface{}, error) {
	sm.mu.RLock()
	defer sm.mu.RUnlock()
	st := sm.st
	if st == nil {
		return nil, ErrClosed
	}
	switch q := query.(type) {
	case QueryTopics:
		return st.viewTopics(&q), nil
	case *QueryTopics:
		if q != nil {
			return st.viewTopics(q), nil
		}
	case QueryBrokers, *QueryBrokers:
		return st.viewBrokers(), nil
	case QueryDataGroups, *QueryDataGroups:
		return st.viewDataGroups(), nil
	case QueryDigest, *QueryDigest:
		return sm.digest()
	}
	return nil, fmt.Errorf("%w: %T", ErrUnknownQuery, query)
}

// viewTopics builds a View. Duplicate names or IDs in the query are
// reported once; Missing is computed from Names even when All is set.
func (st *state) viewTopics(q *QueryTopics) *View {
	v := &View{
		Index:          st.applied,
		Brokers:        st.sortedBrokers(),
		DataGroups:     map[uint64]*DataGroup{},
		PartitionCount: st.partitions,
		BrokerSet:      st.brokerSet,
	}
	if q.All {
		v.Topics = make([]*Topic, 0, len(st.names))
		for _, n := range st.names {
			v.Topics = append(v.Topics, st.topics[n])
		}
	}
	seen := make(map[string]struct{}, len(q.Names)+len(q.IDs))
	for _, n := range q.Names {
		if _, dup := seen[n]; dup {
			continue
		}
		seen[n] = struct{}{}
		if t := st.topics[n]; t == nil {
			v.Missing = append(v.Missing, n)
		} else if !q.All {
			v.Topics = append(v.Topics, t)
		}
	}
	if !q.All {
		for _, id := range q.IDs {
			n, ok := st.byID[id]
			if !ok {
				continue
			}
			if _, dup := seen[n]; dup {
				continue
			}
			seen[n] = struct{}{}
			v.Topics = append(v.Topics, st.topics[n])
		}
		slices.SortFunc(v.Topics, func(a, b *Topic) int { return cmp.Compare(a.Name, b.Name) })
	}
	if v.Topics == nil {
		v.Topics = []*Topic{}
	}
	for _, t := range v.Topics {
		var last uint64
		for i := range t.Partitions {
			gid := t.Partitions[i].DataGroup
			if gid == 0 || gid == last {
				continue
			}
			last = gid
			if g := st.groups[gid]; g != nil {
				v.DataGroups[gid] = g
			}
		}
	}
	return v
}

func (st *state) sortedBrokers() []*Broker {
	bs := make([]*Broker, len(st.brokerIDs))
	for i, id := range st.brokerIDs {
		bs[i] = st.brokers[id]
	}
	return bs
}

func (st *state) viewBrokers() *BrokersView {
	v := &BrokersView{Brokers: st.sortedBrokers(), Heartbeats: make([]uint64, len(st.brokerIDs))}
	for i, id := range st.brokerIDs {
		v.Heartbeats[i] = st.heartbeats[id]
	}
	return v
}

func (st *state) viewDataGroups() []*DataGroup {
	gs := make([]*DataGroup, len(st.groupIDs))
	for i, id := range st.groupIDs {
		gs[i] = st.groups[id]
	}
	return gs
}
