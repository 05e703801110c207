package statemachine

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"

	"github.com/skiff-broker/skiff/statemachine/internal/pebblekv"
)

// state is the published in-memory metadata. Its maps and slices are
// changed only by tx.publish (under StateMachine.mu) or replaced whole by
// Open/RecoverFromSnapshot; the values they point to are immutable.
type state struct {
	applied   uint64
	nextShard uint64
	nextPID   int64

	topics     map[string]*Topic
	byID       map[TopicID]string
	names      []string // sorted
	partitions int      // total over all topics

	brokers    map[int32]*Broker
	brokerIDs  []int32 // sorted
	heartbeats map[int32]uint64
	brokerSet  uint64 // brokerSetVersion of brokers (derived, not stored)

	groups     map[uint64]*DataGroup
	groupIDs   []uint64          // sorted (shard IDs are handed out increasing)
	groupByKey map[string]uint64 // dataGroupIndexKey -> shard ID
}

func newState() *state {
	st := &state{
		nextShard:  FirstDataShardID,
		nextPID:    1, // 0 is never a producer ID: a Result value of 0 means "none"
		topics:     map[string]*Topic{},
		byID:       map[TopicID]string{},
		brokers:    map[int32]*Broker{},
		heartbeats: map[int32]uint64{},
		groups:     map[uint64]*DataGroup{},
		groupByKey: map[string]uint64{},
	}
	st.brokerSet = brokerSetVersion(nil, nil)
	return st
}

// brokerSetVersion identifies what placement depends on: every broker's
// ID, liveness and rack, in ID order (FNV-1a, 64 bits). It changes when a
// broker registers for the first time, is fenced, comes back or changes
// rack, and not on heartbeats. ids must be sorted.
func brokerSetVersion(ids []int32, get func(int32) *Broker) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	for _, id := range ids {
		b := get(id)
		for i := 0; i < 32; i += 8 {
			mix(byte(uint32(id) >> i))
		}
		if b.Alive {
			mix(1)
		} else {
			mix(0)
		}
		for i := 0; i < len(b.Rack); i++ {
			mix(b.Rack[i])
		}
		mix(0xff) // rack terminator (racks are strings without 0xff bytes in UTF-8)
	}
	return h
}

// kvSource calls fn for every stored key/value in ascending key order.
type kvSource = pebblekv.Source

// loadState rebuilds the state from stored records (pebble or a snapshot
// stream) and checks them: an unknown key, a bad record or an inconsistent
// index is an error wrapping ErrMalformed.
func loadState(src kvSource) (*state, error) {
	st := newState()
	err := src(func(k, v []byte) error {
		if len(k) == 0 {
			return fmt.Errorf("%w: empty key", ErrMalformed)
		}
		var err error
		switch k[0] {
		case prefixApplied:
			if len(k) != 1 {
				return fmt.Errorf("%w: key %q", ErrMalformed, k)
			}
			st.applied, err = parseU64(v)
		case prefixNextShard:
			if len(k) != 1 {
				return fmt.Errorf("%w: key %q", ErrMalformed, k)
			}
			st.nextShard, err = parseU64(v)
		case prefixNextPID:
			if len(k) != 1 {
				return fmt.Errorf("%w: key %q", ErrMalformed, k)
			}
			var u uint64
			u, err = parseU64(v)
			st.nextPID = int64(u)
		case prefixBroker:
			err = st.loadBroker(k, v)
		case prefixHeartbeat:
			var id int32
			if id, err = parseBrokerIDKey(k); err == nil {
				st.heartbeats[id], err = parseU64(v)
			}
		case prefixDataGroup:
			err = st.loadDataGroup(k, v)
		case prefixTopic:
			err = st.loadTopic(k, v)
		default:
			return fmt.Errorf("%w: unknown key %q", ErrMalformed, k)
		}
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.brokerSet = brokerSetVersion(st.brokerIDs, func(id int32) *Broker { return st.brokers[id] })
	if n := len(st.groupIDs); n > 0 && st.groupIDs[n-1] >= st.nextShard {
		return nil, fmt.Errorf("%w: group %d at or above next shard ID %d", ErrMalformed, st.groupIDs[n-1], st.nextShard)
	}
	return st, nil
}

func (st *state) loadBroker(k, v []byte) error {
	id, err := parseBrokerIDKey(k)
	if err != nil {
		return err
	}
	b, err := parseBroker(v)
	if err != nil {
		return err
	}
	if b.ID != id {
		return fmt.Errorf("%w: broker %d under key of %d", ErrMalformed, b.ID, id)
	}
	st.brokers[id] = b
	st.brokerIDs = append(st.brokerIDs, id) // keys ascend, so IDs do too
	return nil
}

func (st *state) loadDataGroup(k, v []byte) error {
	g, err := parseDataGroup(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(k, groupKey(g.ShardID)) {
		return fmt.Errorf("%w: group %d under another key", ErrMalformed, g.ShardID)
	}
	if !validDataGroupKey(g.Members, g.Slot) {
		return fmt.Errorf("%w: group %d has an invalid member set", ErrMalformed, g.ShardID)
	}
	gk := dataGroupIndexKey(g.Members, g.Slot)
	if _, dup := st.groupByKey[gk]; dup {
		return fmt.Errorf("%w: two groups for one member set", ErrMalformed)
	}
	st.groups[g.ShardID] = g
	st.groupIDs = append(st.groupIDs, g.ShardID)
	st.groupByKey[gk] = g.ShardID
	return nil
}

func (st *state) loadTopic(k, v []byte) error {
	t, err := parseTopic(v)
	if err != nil {
		return err
	}
	if string(k[1:]) != t.Name || t.Name == "" {
		return fmt.Errorf("%w: topic %q under another key", ErrMalformed, t.Name)
	}
	if t.ID.IsZero() {
		return fmt.Errorf("%w: topic %q has no ID", ErrMalformed, t.Name)
	}
	if _, dup := st.byID[t.ID]; dup {
		return fmt.Errorf("%w: topic ID of %q used twice", ErrMalformed, t.Name)
	}
	st.topics[t.Name] = t
	st.byID[t.ID] = t.Name
	st.names = append(st.names, t.Name) // keys ascend, so names do too
	st.partitions += len(t.Partitions)
	return nil
}

// tx is the overlay one Update builds on top of the published state. Topics
// and brokers it changes are private copies (drafts) that it mutates in
// place until publish; base is only read. Every "order" slice records first
// touches, so writes and publishing never depend on map iteration order.
type tx struct {
	base *state

	topics     map[string]*Topic // draft, or nil = deleted
	topicOrder []string
	byID       map[TopicID]string // "" = deleted

	brokers     map[int32]*Broker
	brokerOrder []int32
	heartbeats  map[int32]uint64
	hbOrder     []int32

	newGroups     []*DataGroup
	groupByKey    map[string]uint64
	updDataGroups map[uint64]*DataGroup // existing groups changed by this tx
	updOrder      []uint64

	nextShard      uint64
	nextPID        int64
	partitionDelta int
	value          int64 // set by the command being applied; see Result.Values
}

func newTx(base *state) *tx {
	return &tx{
		base:          base,
		topics:        map[string]*Topic{},
		byID:          map[TopicID]string{},
		brokers:       map[int32]*Broker{},
		heartbeats:    map[int32]uint64{},
		groupByKey:    map[string]uint64{},
		updDataGroups: map[uint64]*DataGroup{},
		nextShard:     base.nextShard,
		nextPID:       base.nextPID,
	}
}

// group returns the current data group with shard ID id (read only), or nil.
func (t *tx) group(id uint64) *DataGroup {
	if g, ok := t.updDataGroups[id]; ok {
		return g
	}
	for _, g := range t.newGroups {
		if g.ShardID == id {
			return g
		}
	}
	return t.base.groups[id]
}

// putDataGroup replaces a data group (copy on write).
func (t *tx) putDataGroup(g *DataGroup) {
	for i, ng := range t.newGroups {
		if ng.ShardID == g.ShardID {
			t.newGroups[i] = g
			return
		}
	}
	if _, ok := t.updDataGroups[g.ShardID]; !ok {
		t.updOrder = append(t.updOrder, g.ShardID)
	}
	t.updDataGroups[g.ShardID] = g
}

// topic returns the current topic named name (read only), or nil.
func (t *tx) topic(name string) *Topic {
	if d, ok := t.topics[name]; ok {
		return d
	}
	return t.base.topics[name]
}

// topicNameByID returns the name of the topic with ID id, or "".
func (t *tx) topicNameByID(id TopicID) string {
	if n, ok := t.byID[id]; ok {
		return n
	}
	return t.base.byID[id]
}

// mutTopic returns a draft of topic name that the caller may mutate, or nil.
func (t *tx) mutTopic(name string) *Topic {
	if d, ok := t.topics[name]; ok {
		return d
	}
	b := t.base.topics[name]
	if b == nil {
		return nil
	}
	d := *b
	d.Partitions = slices.Clone(b.Partitions)
	t.touchTopic(name, &d)
	return &d
}

// mutTopicByID is mutTopic for a topic ID.
func (t *tx) mutTopicByID(id TopicID) *Topic {
	if n := t.topicNameByID(id); n != "" {
		return t.mutTopic(n)
	}
	return nil
}

func (t *tx) touchTopic(name string, d *Topic) {
	if _, ok := t.topics[name]; !ok {
		t.topicOrder = append(t.topicOrder, name)
	}
	t.topics[name] = d
}

func (t *tx) createTopic(d *Topic) {
	t.touchTopic(d.Name, d)
	t.byID[d.ID] = d.Name
	t.partitionDelta += len(d.Partitions)
}

func (t *tx) deleteTopic(name string) {
	old := t.topic(name)
	t.touchTopic(name, nil)
	t.byID[old.ID] = ""
	t.partitionDelta -= len(old.Partitions)
}

// brokerSet returns the broker-set version as of this point of the tx.
func (t *tx) brokerSet() uint64 {
	if len(t.brokerOrder) == 0 {
		return t.base.brokerSet
	}
	ids := slices.Clone(t.base.brokerIDs)
	for _, id := range t.brokerOrder {
		if _, ok := t.base.brokers[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return brokerSetVersion(ids, t.broker)
}

func (t *tx) broker(id int32) *Broker {
	if b, ok := t.brokers[id]; ok {
		return b
	}
	return t.base.brokers[id]
}

func (t *tx) putBroker(b *Broker) {
	if _, ok := t.brokers[b.ID]; !ok {
		t.brokerOrder = append(t.brokerOrder, b.ID)
	}
	t.brokers[b.ID] = b
}

func (t *tx) heartbeat(id int32) uint64 {
	if c, ok := t.heartbeats[id]; ok {
		return c
	}
	return t.base.heartbeats[id]
}

func (t *tx) setHeartbeat(id int32, c uint64) {
	if _, ok := t.heartbeats[id]; !ok {
		t.hbOrder = append(t.hbOrder, id)
	}
	t.heartbeats[id] = c
}

// resolveDataGroup returns the shard ID of the group with the given (valid)
// key, creating the group with the next free shard ID if there is none.
func (t *tx) resolveDataGroup(members []int32, slot uint8) uint64 {
	k := dataGroupIndexKey(members, slot)
	if id, ok := t.groupByKey[k]; ok {
		return id
	}
	if id, ok := t.base.groupByKey[k]; ok {
		return id
	}
	g := &DataGroup{ShardID: t.nextShard, Members: members, Slot: slot, Leader: -1}
	t.nextShard++
	t.newGroups = append(t.newGroups, g)
	t.groupByKey[k] = g.ShardID
	return g.ShardID
}

// write puts every change of the tx and the applied index into b.
func (t *tx) write(b *pebble.Batch, applied uint64) error {
	w := newWriter(0)
	set := func(k []byte, v []byte) error { return b.Set(k, v, nil) }
	for _, name := range t.topicOrder {
		d := t.topics[name]
		if d == nil {
			if err := b.Delete(topicKey(name), nil); err != nil {
				return err
			}
			continue
		}
		w.B = w.B[:0]
		appendTopic(w, d)
		if err := set(topicKey(name), w.B); err != nil {
			return err
		}
	}
	for _, id := range t.brokerOrder {
		w.B = w.B[:0]
		appendBroker(w, t.brokers[id])
		if err := set(brokerKey(id), w.B); err != nil {
			return err
		}
	}
	for _, id := range t.hbOrder {
		if err := set(heartbeatKey(id), u64Value(t.heartbeats[id])); err != nil {
			return err
		}
	}
	for _, g := range t.newGroups {
		w.B = w.B[:0]
		appendDataGroup(w, g)
		if err := set(groupKey(g.ShardID), w.B); err != nil {
			return err
		}
	}
	for _, id := range t.updOrder {
		w.B = w.B[:0]
		appendDataGroup(w, t.updDataGroups[id])
		if err := set(groupKey(id), w.B); err != nil {
			return err
		}
	}
	if t.nextShard != t.base.nextShard {
		if err := set(keyNextShard, u64Value(t.nextShard)); err != nil {
			return err
		}
	}
	if t.nextPID != t.base.nextPID {
		if err := set(keyNextPID, u64Value(uint64(t.nextPID))); err != nil {
			return err
		}
	}
	return set(keyApplied, u64Value(applied))
}

// publish installs the tx into its base state. The caller holds mu.Lock.
func (t *tx) publish(applied uint64) {
	st := t.base
	var added []string
	removed := map[string]bool{}
	// Deletes first, then adds: an ID freed by a delete may be reused by a
	// create in the same tx.
	for _, name := range t.topicOrder {
		if old := st.topics[name]; old != nil && (t.topics[name] == nil || t.topics[name].ID != old.ID) {
			delete(st.byID, old.ID)
		}
	}
	for _, name := range t.topicOrder {
		d, old := t.topics[name], st.topics[name]
		switch {
		case d == nil && old != nil:
			delete(st.topics, name)
			removed[name] = true
		case d != nil:
			if old == nil {
				added = append(added, name)
			}
			st.topics[name] = d
			st.byID[d.ID] = name
		}
	}
	if len(added) > 0 || len(removed) > 0 {
		st.names = mergeNames(st.names, added, removed)
	}
	st.partitions += t.partitionDelta

	newBroker := false
	for _, id := range t.brokerOrder {
		if _, ok := st.brokers[id]; !ok {
			newBroker = true
		}
		st.brokers[id] = t.brokers[id]
	}
	if newBroker {
		ids := make([]int32, 0, len(st.brokers))
		ids = append(ids, st.brokerIDs...)
		for _, id := range t.brokerOrder {
			if !slices.Contains(st.brokerIDs, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		st.brokerIDs = ids
	}
	for _, id := range t.hbOrder {
		st.heartbeats[id] = t.heartbeats[id]
	}
	if len(t.brokerOrder) > 0 {
		st.brokerSet = brokerSetVersion(st.brokerIDs, func(id int32) *Broker { return st.brokers[id] })
	}

	for _, g := range t.newGroups {
		st.groups[g.ShardID] = g
		st.groupIDs = append(st.groupIDs, g.ShardID)
		st.groupByKey[dataGroupIndexKey(g.Members, g.Slot)] = g.ShardID
	}
	for _, id := range t.updOrder {
		st.groups[id] = t.updDataGroups[id]
	}
	st.nextShard = t.nextShard
	st.nextPID = t.nextPID
	st.applied = applied
}

// mergeNames returns names minus removed plus added, sorted, reusing
// names' array (the caller holds mu.Lock, so no reader sees it change).
// Adding k names costs O(k log n) comparisons and one pass of moves, not a
// comparison per existing name: it runs on every create.
func mergeNames(names, added []string, removed map[string]bool) []string {
	if len(removed) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return removed[n] })
	}
	if len(added) == 0 {
		return names
	}
	slices.Sort(added)
	old := len(names)
	names = slices.Grow(names, len(added))[:old+len(added)]
	// Merge from the back: each added name goes after the existing names
	// greater than it.
	w, i := len(names)-1, old-1
	for j := len(added) - 1; j >= 0; j-- {
		pos, _ := slices.BinarySearch(names[:i+1], added[j])
		for ; i >= pos; i-- {
			names[w] = names[i]
			w--
		}
		names[w] = added[j]
		w--
	}
	return names
}
