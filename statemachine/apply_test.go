package statemachine

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"
)

var brokers3 = []int32{1, 2, 3}

func registerBrokers(h *harness, ids ...int32) {
	for _, id := range ids {
		if c := h.apply(RegisterBroker{ID: id, KafkaAddr: "127.0.0.1:0", Incarnation: uint64(id) * 10}); c[0] != CodeOK {
			h.t.Fatalf("register %d: %v", id, c)
		}
	}
}

func TestSMCreateTopicsInOneBatch(t *testing.T) {
	h := newHarness(t)
	registerBrokers(h, 3, 1, 2)
	cmds := append(createBatch("b", tid(2), 2, brokers3, 3), createBatch("a", tid(1), 1, brokers3, 2)...)
	got := h.apply(Batch{Cmds: cmds})
	if want := codes(CodeOK, 1+6+1+3); !slices.Equal(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	v := h.all()
	if len(v.Topics) != 2 || v.Topics[0].Name != "a" || v.Topics[1].Name != "b" {
		t.Fatalf("topics %v", v.Topics)
	}
	if v.PartitionCount != 3 || v.Index != h.index {
		t.Fatalf("partition count %d index %d", v.PartitionCount, v.Index)
	}
	if ids := []int32{v.Brokers[0].ID, v.Brokers[1].ID, v.Brokers[2].ID}; !slices.Equal(ids, []int32{1, 2, 3}) {
		t.Fatalf("brokers not sorted: %v", ids)
	}
	b := v.Topics[1]
	if b.ID != tid(2) || b.CreatedMs != 1000 || len(b.Partitions) != 2 {
		t.Fatalf("topic b %+v", b)
	}
	p1 := b.Partitions[1]
	if !slices.Equal(p1.Replicas, []int32{2, 3, 1}) || p1.legacy.leader != 2 || p1.legacy.epoch != 0 ||
		!slices.Equal(p1.legacy.isr, []int32{2, 3, 1}) {
		t.Fatalf("partition b-1 %+v", p1)
	}
	// b-0: members 1,2,3 slot 0; b-1: slot 1; a-0: members 1,2 slot 0.
	if b.Partitions[0].DataGroup != FirstDataShardID || p1.DataGroup != FirstDataShardID+1 ||
		v.Topics[0].Partitions[0].DataGroup != FirstDataShardID+2 {
		t.Fatalf("groups %d %d %d", b.Partitions[0].DataGroup, p1.DataGroup, v.Topics[0].Partitions[0].DataGroup)
	}
	if len(v.DataGroups) != 3 || v.DataGroups[FirstDataShardID+1].Slot != 1 || v.DataGroups[FirstDataShardID+1].Leader != -1 {
		t.Fatalf("view groups %v", v.DataGroups)
	}
	// Only the groups of the returned topics are in a partial view.
	va := h.lookup(QueryTopics{Names: []string{"a"}}).(*View)
	if len(va.DataGroups) != 1 || va.DataGroups[FirstDataShardID+2] == nil {
		t.Fatalf("view of a: groups %v", va.DataGroups)
	}
}

func TestSMCreateExistingTopicSkipsItsPartitions(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: createBatch("a", tid(1), 1, brokers3, 3)})
	before := h.topic("a")

	cmds := append(createBatch("a", tid(9), 2, []int32{3, 2, 1}, 1), createBatch("c", tid(3), 1, brokers3, 1)...)
	got := h.apply(Batch{Cmds: cmds})
	want := cat([]Code{CodeTopicExists}, codes(CodeSkipped, 6), codes(CodeOK, 4))
	if !slices.Equal(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	if after := h.topic("a"); !reflect.DeepEqual(after, before) || after != before {
		t.Fatalf("existing topic changed: %+v", after)
	}
	if c := h.topic("c"); c == nil || c.Partitions[0].legacy.leader != 1 {
		t.Fatalf("topic c %+v", c)
	}
}

func TestSMCreateTopicRetrySameID(t *testing.T) {
	h := newHarness(t)
	batch := Batch{Cmds: createBatch("a", tid(1), 2, brokers3, 3)}
	h.apply(batch)
	// The partition moves on after the create...
	if c := h.apply(SetLeader{Topic: tid(1), Partition: 0, Leader: 2, LeaderEpoch: 1, IfEpoch: 0}); c[0] != CodeOK {
		t.Fatalf("SetLeader %v", c)
	}
	d := h.digest()
	// ...and a retry of the create proposal (ErrTimeout on the first) is a
	// success that changes nothing.
	if got := h.apply(batch); !slices.Equal(got, codes(CodeOK, 7)) {
		t.Fatalf("retry codes %v", got)
	}
	if p := h.topic("a").Partitions[0]; p.legacy.leader != 2 || p.legacy.epoch != 1 {
		t.Fatalf("retry undid the leader change: %+v", p)
	}
	if d2 := h.digest(); d2.Sum != d.Sum {
		t.Fatal("retry changed the digest")
	}
	// A single-command retry is OK too.
	if c := h.apply(batch.Cmds[0]); c[0] != CodeOK {
		t.Fatalf("single retry %v", c)
	}
}

func TestSMCreateTopicInvalid(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: createBatch("a", tid(1), 1, brokers3, 1)})
	for _, c := range []CreateTopic{
		{Name: "", ID: tid(2), PartitionCount: 1},
		{Name: "x", PartitionCount: 1},
		{Name: "x", ID: tid(2), PartitionCount: 0},
		{Name: "x", ID: tid(2), PartitionCount: MaxTopicPartitions + 1},
		{Name: "x", ID: tid(1), PartitionCount: 1}, // ID of topic a
	} {
		if got := h.apply(c); got[0] != CodeInvalid {
			t.Errorf("%+v: %v", c, got)
		}
	}
	// Configs are normalised: sorted, last duplicate wins.
	h.apply(CreateTopic{Name: "cfg", ID: tid(3), PartitionCount: 1,
		Configs: []ConfigEntry{{"z", "1"}, {"a", "1"}, {"z", "2"}}})
	if got := h.topic("cfg").Configs; !reflect.DeepEqual(got, []ConfigEntry{{"a", "1"}, {"z", "2"}}) {
		t.Fatalf("configs %v", got)
	}
}

func TestSMDeleteTopic(t *testing.T) {
	h := newHarness(t)
	for i, n := range []string{"a", "b", "c"} {
		h.apply(Batch{Cmds: createBatch(n, tid(byte(i+1)), 2, brokers3, 3)})
	}
	groups := h.groups()
	if got := h.apply(DeleteTopic{Name: "a"}); got[0] != CodeOK {
		t.Fatalf("delete by name: %v", got)
	}
	if got := h.apply(DeleteTopic{Name: "b", ID: tid(9)}); got[0] != CodeUnknownTopic {
		t.Fatalf("delete with wrong ID: %v", got)
	}
	if got := h.apply(DeleteTopic{Name: "b", ID: tid(2)}); got[0] != CodeOK {
		t.Fatalf("delete by name and ID: %v", got)
	}
	if got := h.apply(DeleteTopic{ID: tid(3)}); got[0] != CodeOK {
		t.Fatalf("delete by ID: %v", got)
	}
	for _, c := range []DeleteTopic{{Name: "a"}, {ID: tid(3)}, {}} {
		if got := h.apply(c); got[0] != CodeUnknownTopic {
			t.Fatalf("delete missing %+v: %v", c, got)
		}
	}
	v := h.lookup(QueryTopics{All: true, Names: []string{"a"}}).(*View)
	if len(v.Topics) != 0 || v.PartitionCount != 0 || !slices.Equal(v.Missing, []string{"a"}) {
		t.Fatalf("view after deletes %+v", v)
	}
	if !reflect.DeepEqual(h.groups(), groups) {
		t.Fatal("deleting topics changed the data groups")
	}
	// The name and ID can be used again.
	if got := h.apply(CreateTopic{Name: "a", ID: tid(1), PartitionCount: 1}); got[0] != CodeOK {
		t.Fatalf("re-create %v", got)
	}
}

func TestSMDeleteAndRecreateInOneBatch(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: createBatch("a", tid(1), 1, brokers3, 1)})
	got := h.apply(Batch{Cmds: []Command{
		DeleteTopic{Name: "a"},
		CreateTopic{Name: "a", ID: tid(2), PartitionCount: 3},
		CreateTopic{Name: "b", ID: tid(1), PartitionCount: 1}, // reuses the freed ID
	}})
	if !slices.Equal(got, codes(CodeOK, 3)) {
		t.Fatalf("codes %v", got)
	}
	v := h.lookup(QueryTopics{IDs: []TopicID{tid(1), tid(2)}}).(*View)
	if len(v.Topics) != 2 || v.Topics[0].ID != tid(2) || v.Topics[1].ID != tid(1) || v.PartitionCount != 4 {
		t.Fatalf("view %+v", v.Topics)
	}
	h.reopen()
	if v2 := h.lookup(QueryTopics{IDs: []TopicID{tid(1), tid(2)}}).(*View); !reflect.DeepEqual(v2.Topics, v.Topics) {
		t.Fatal("reopened state differs")
	}
}

func TestSMAddPartitions(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: createBatch("a", tid(1), 2, brokers3, 3)})
	stale := append([]Command{AddPartitions{Topic: tid(1), ExpectCount: 1, NewCount: 3}},
		partitionCmds(tid(1), 1, 3, brokers3, 3)...)
	if got := h.apply(Batch{Cmds: stale}); !slices.Equal(got, cat([]Code{CodeConditionFailed}, codes(CodeSkipped, 6))) {
		t.Fatalf("stale add: %v", got)
	}
	add := append([]Command{AddPartitions{Topic: tid(1), ExpectCount: 2, NewCount: 4}},
		partitionCmds(tid(1), 2, 4, brokers3, 3)...)
	if got := h.apply(Batch{Cmds: add}); !slices.Equal(got, codes(CodeOK, 7)) {
		t.Fatalf("add: %v", got)
	}
	tp := h.topic("a")
	if len(tp.Partitions) != 4 || tp.Partitions[3].legacy.leader != 1 || tp.Partitions[3].DataGroup != tp.Partitions[0].DataGroup {
		t.Fatalf("partitions %+v", tp.Partitions)
	}
	if h.all().PartitionCount != 4 {
		t.Fatal("partition count")
	}
	for _, c := range []AddPartitions{{Topic: tid(1), ExpectCount: 4, NewCount: 4}, {Topic: tid(1), ExpectCount: 4, NewCount: MaxTopicPartitions + 1}} {
		if got := h.apply(c); got[0] != CodeInvalid {
			t.Fatalf("%+v: %v", c, got)
		}
	}
	if got := h.apply(AddPartitions{Topic: tid(7), ExpectCount: 4, NewCount: 5}); got[0] != CodeUnknownTopic {
		t.Fatalf("unknown topic: %v", got)
	}
}

func TestSMAlterConfigs(t *testing.T) {
	h := newHarness(t)
	h.apply(CreateTopic{Name: "a", ID: tid(1), PartitionCount: 1, Configs: []ConfigEntry{{"b", "1"}, {"d", "1"}}})
	steps := []struct {
		cmd  AlterConfigs
		want []ConfigEntry
	}{
		{AlterConfigs{Topic: tid(1), Set: []ConfigEntry{{"a", "2"}, {"d", "2"}}}, []ConfigEntry{{"a", "2"}, {"b", "1"}, {"d", "2"}}},
		{AlterConfigs{Topic: tid(1), Delete: []string{"b", "zz"}}, []ConfigEntry{{"a", "2"}, {"d", "2"}}},
		{AlterConfigs{Topic: tid(1), Set: []ConfigEntry{{"c", "3"}}, Delete: []string{"a"}}, []ConfigEntry{{"c", "3"}, {"d", "2"}}},
		{AlterConfigs{Topic: tid(1), Replace: true, Set: []ConfigEntry{{"x", "1"}}, Delete: []string{"x"}}, []ConfigEntry{{"x", "1"}}},
		{AlterConfigs{Topic: tid(1), Delete: []string{"x"}}, nil},
		{AlterConfigs{Topic: tid(1), Replace: true, Set: []ConfigEntry{{"k", "1"}}}, []ConfigEntry{{"k", "1"}}},
		{AlterConfigs{Topic: tid(1), Replace: true}, nil},
	}
	for i, s := range steps {
		prev := h.topic("a")
		prevConfigs := slices.Clone(prev.Configs)
		if got := h.apply(s.cmd); got[0] != CodeOK {
			t.Fatalf("step %d: %v", i, got)
		}
		if got := h.topic("a").Configs; !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: configs %v, want %v", i, got, s.want)
		}
		if !reflect.DeepEqual(prev.Configs, prevConfigs) {
			t.Fatalf("step %d mutated a published topic", i)
		}
	}
	if got := h.apply(AlterConfigs{Topic: tid(2)}); got[0] != CodeUnknownTopic {
		t.Fatalf("unknown topic: %v", got)
	}
}

func TestSMPartitionConditions(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: createBatch("a", tid(1), 1, brokers3, 3)})
	published := h.topic("a")
	tests := []struct {
		cmd  Command
		want Code
	}{
		{SetLeader{Topic: tid(1), Partition: 0, Leader: 2, LeaderEpoch: 1, IfEpoch: 5}, CodeConditionFailed},
		{SetLeader{Topic: tid(1), Partition: 0, Leader: 2, LeaderEpoch: 1, IfEpoch: 0}, CodeOK},
		{SetLeader{Topic: tid(1), Partition: 0, Leader: 3, LeaderEpoch: 0, IfEpoch: -1}, CodeConditionFailed}, // stale epoch
		{SetLeader{Topic: tid(1), Partition: 0, Leader: -1, LeaderEpoch: 1, IfEpoch: -1}, CodeOK},
		{SetLeader{Topic: tid(1), Partition: 1, Leader: 2, LeaderEpoch: 1, IfEpoch: -1}, CodeInvalid},
		{SetLeader{Topic: tid(1), Partition: -1, Leader: 2, LeaderEpoch: 1, IfEpoch: -1}, CodeInvalid},
		{SetLeader{Topic: tid(9), Partition: 0, Leader: 2, LeaderEpoch: 1, IfEpoch: -1}, CodeUnknownTopic},
		{SetISR{Topic: tid(1), Partition: 0, ISR: []int32{2}, IfEpoch: 0}, CodeConditionFailed},
		{SetISR{Topic: tid(1), Partition: 0, ISR: []int32{2, 2}, IfEpoch: 1}, CodeInvalid},
		{SetISR{Topic: tid(1), Partition: 0, ISR: []int32{2}, IfEpoch: 1}, CodeOK},
		{SetISR{Topic: tid(1), Partition: 0, ISR: nil, IfEpoch: -1}, CodeOK},
		{SetISR{Topic: tid(9), Partition: 0, IfEpoch: -1}, CodeUnknownTopic},
		{AssignReplicas{Topic: tid(1), Partition: 0, Replicas: nil, DataGroup: DataGroupKey{Members: []int32{1}}}, CodeInvalid},
		{AssignReplicas{Topic: tid(1), Partition: 0, Replicas: []int32{1}, DataGroup: DataGroupKey{Members: []int32{2, 1}}}, CodeInvalid},
		{AssignReplicas{Topic: tid(1), Partition: 0, Replicas: []int32{1}, DataGroup: DataGroupKey{Members: []int32{1}, Slot: 1}}, CodeInvalid},
		{AssignReplicas{Topic: tid(1), Partition: 3, Replicas: []int32{1}, DataGroup: DataGroupKey{Members: []int32{1}}}, CodeInvalid},
		{AssignReplicas{Topic: tid(9), Partition: 0, Replicas: []int32{1}, DataGroup: DataGroupKey{Members: []int32{1}}}, CodeUnknownTopic},
	}
	for i, tc := range tests {
		if got := h.apply(tc.cmd); got[0] != tc.want {
			t.Errorf("%d %T: %v, want %v", i, tc.cmd, got[0], tc.want)
		}
	}
	p := h.topic("a").Partitions[0]
	if p.legacy.leader != -1 || p.legacy.epoch != 1 || p.legacy.isr != nil {
		t.Fatalf("partition %+v", p)
	}
	if pp := published.Partitions[0]; pp.legacy.leader != 1 || pp.legacy.epoch != 0 || len(pp.legacy.isr) != 3 {
		t.Fatalf("a published topic was mutated: %+v", pp)
	}
	if len(h.groups()) != 1 {
		t.Fatal("an invalid AssignReplicas created a group")
	}
}

func TestSMGroupResolution(t *testing.T) {
	h := newHarness(t)
	h.apply(CreateTopic{Name: "a", ID: tid(1), PartitionCount: 5})
	assign := func(p int32, members []int32, slot uint8) uint64 {
		t.Helper()
		if c := h.apply(AssignReplicas{Topic: tid(1), Partition: p, Replicas: []int32{members[slot]},
			DataGroup: DataGroupKey{Members: members, Slot: slot}}); c[0] != CodeOK {
			t.Fatalf("assign: %v", c)
		}
		return h.topic("a").Partitions[p].DataGroup
	}
	if g := assign(0, []int32{1, 2, 3}, 0); g != FirstDataShardID {
		t.Fatalf("first group %d", g)
	}
	if g := assign(1, []int32{1, 2, 3}, 0); g != FirstDataShardID {
		t.Fatalf("same key: %d", g)
	}
	if g := assign(2, []int32{1, 2, 3}, 1); g != FirstDataShardID+1 {
		t.Fatalf("new slot: %d", g)
	}
	if g := assign(3, []int32{2, 3, 4}, 1); g != FirstDataShardID+2 {
		t.Fatalf("new members: %d", g)
	}
	h.reopen()
	if g := assign(4, []int32{1, 2, 3}, 1); g != FirstDataShardID+1 {
		t.Fatalf("after reopen, same key: %d", g)
	}
	// Two new keys in one batch get consecutive IDs; the next one continues.
	got := h.apply(Batch{Cmds: []Command{
		AssignReplicas{Topic: tid(1), Partition: 0, Replicas: []int32{5}, DataGroup: DataGroupKey{Members: []int32{5}}},
		AssignReplicas{Topic: tid(1), Partition: 1, Replicas: []int32{6}, DataGroup: DataGroupKey{Members: []int32{6}}},
		AssignReplicas{Topic: tid(1), Partition: 2, Replicas: []int32{5}, DataGroup: DataGroupKey{Members: []int32{5}}},
	}})
	if !slices.Equal(got, codes(CodeOK, 3)) {
		t.Fatalf("codes %v", got)
	}
	ps := h.topic("a").Partitions
	if ps[0].DataGroup != FirstDataShardID+3 || ps[1].DataGroup != FirstDataShardID+4 || ps[2].DataGroup != FirstDataShardID+3 {
		t.Fatalf("groups %d %d %d", ps[0].DataGroup, ps[1].DataGroup, ps[2].DataGroup)
	}
	if g := assign(3, []int32{7}, 0); g != FirstDataShardID+5 {
		t.Fatalf("next group %d", g)
	}
	gs := h.groups()
	if len(gs) != 6 {
		t.Fatalf("%d groups", len(gs))
	}
	for i, g := range gs {
		if g.ShardID != FirstDataShardID+uint64(i) || g.Leader != -1 {
			t.Fatalf("group %d: %+v", i, g)
		}
	}
}

func TestSMBrokers(t *testing.T) {
	h := newHarness(t)
	registerBrokers(h, 2, 1)
	bv := h.lookup(QueryBrokers{}).(*BrokersView)
	if len(bv.Brokers) != 2 || bv.Brokers[0].ID != 1 || !bv.Brokers[0].Alive || !slices.Equal(bv.Heartbeats, []uint64{1, 1}) {
		t.Fatalf("brokers %+v %v", bv.Brokers, bv.Heartbeats)
	}
	steps := []struct {
		cmd  Command
		want Code
	}{
		{Heartbeat{ID: 1, Incarnation: 10}, CodeOK},
		{Heartbeat{ID: 1, Incarnation: 11}, CodeUnknownBroker},
		{Heartbeat{ID: 9, Incarnation: 10}, CodeUnknownBroker},
		{FenceBroker{ID: 1, IfHeartbeats: 1}, CodeConditionFailed}, // counter is 2 now
		{FenceBroker{ID: 9, IfHeartbeats: 0}, CodeUnknownBroker},
		{FenceBroker{ID: 1, IfHeartbeats: 2}, CodeOK},
		{RegisterBroker{ID: -1}, CodeInvalid},
	}
	for i, s := range steps {
		if got := h.apply(s.cmd); got[0] != s.want {
			t.Fatalf("step %d %+v: %v, want %v", i, s.cmd, got[0], s.want)
		}
	}
	bv = h.lookup(&QueryBrokers{}).(*BrokersView)
	if bv.Brokers[0].Alive || !bv.Brokers[1].Alive || !slices.Equal(bv.Heartbeats, []uint64{2, 1}) {
		t.Fatalf("after fence %+v %v", bv.Brokers[0], bv.Heartbeats)
	}
	d := h.digest()
	// A heartbeat revives the broker and changes the digest (Alive); a
	// heartbeat of an alive broker changes only the counter, not the digest.
	h.apply(Heartbeat{ID: 1, Incarnation: 10})
	d2 := h.digest()
	if d2.Sum == d.Sum || !h.all().Brokers[0].Alive {
		t.Fatal("heartbeat did not revive the broker")
	}
	h.apply(Heartbeat{ID: 1, Incarnation: 10})
	if h.digest().Sum != d2.Sum {
		t.Fatal("heartbeat counter is in the digest")
	}
	// Re-registering (a restart: new incarnation, new address) keeps
	// counting, so a fence decided before it fails.
	h.apply(RegisterBroker{ID: 1, KafkaAddr: "10.0.0.1:9092", Rack: "r2", Incarnation: 77})
	bv = h.lookup(QueryBrokers{}).(*BrokersView)
	if b := bv.Brokers[0]; b.KafkaAddr != "10.0.0.1:9092" || b.Rack != "r2" || b.Incarnation != 77 || bv.Heartbeats[0] != 5 {
		t.Fatalf("re-registered %+v %v", b, bv.Heartbeats)
	}
	if got := h.apply(FenceBroker{ID: 1, IfHeartbeats: 4}); got[0] != CodeConditionFailed {
		t.Fatalf("stale fence after register: %v", got)
	}
	if got := h.apply(Heartbeat{ID: 1, Incarnation: 10}); got[0] != CodeUnknownBroker {
		t.Fatalf("old incarnation: %v", got)
	}
}

func TestSMQueryTopics(t *testing.T) {
	h := newHarness(t)
	for i, n := range []string{"c", "a", "b"} {
		h.apply(CreateTopic{Name: n, ID: tid(byte(10 * (i + 1))), PartitionCount: int32(i + 1)})
	}
	v := h.lookup(&QueryTopics{Names: []string{"zz", "c", "a", "x", "c", "zz"}, IDs: []TopicID{tid(30), tid(10), tid(99)}}).(*View)
	var names []string
	for _, tp := range v.Topics {
		names = append(names, tp.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) || !slices.Equal(v.Missing, []string{"zz", "x"}) || v.PartitionCount != 6 {
		t.Fatalf("topics %v missing %v count %d", names, v.Missing, v.PartitionCount)
	}
	v = h.lookup(QueryTopics{}).(*View)
	if len(v.Topics) != 0 || v.Missing != nil {
		t.Fatalf("empty query %+v", v)
	}
	if _, err := h.sm.Lookup("topics"); !errors.Is(err, ErrUnknownQuery) {
		t.Fatalf("unknown query: %v", err)
	}
	if _, err := h.sm.Lookup((*QueryTopics)(nil)); !errors.Is(err, ErrUnknownQuery) {
		t.Fatalf("nil query: %v", err)
	}
}

func TestSMUndecodableEntry(t *testing.T) {
	h := newHarness(t)
	ents := h.entries(Heartbeat{ID: 1})
	h.index++
	ents = append(ents, dbsm.Entry{Index: h.index, Cmd: []byte{FormatVersion + 1, 1, 1}},
		dbsm.Entry{Index: h.index + 1, Cmd: nil})
	h.index++
	got := h.update(ents)
	if !reflect.DeepEqual(got, [][]Code{{CodeUnknownBroker}, {CodeInvalid}, {CodeInvalid}}) {
		t.Fatalf("codes %v", got)
	}
	if d := h.digest(); d.Index != h.index {
		t.Fatalf("applied index %d, want %d", d.Index, h.index)
	}
}

// An op this binary does not know was proposed by a newer binary: stop
// (Update fails, which stops the process) instead of diverging from the
// replicas that understand it.
func TestSMUnknownOpStopsTheReplica(t *testing.T) {
	h := newHarness(t)
	h.index++
	_, err := h.sm.Update([]dbsm.Entry{{Index: h.index, Cmd: []byte{FormatVersion, 250, 1}}})
	if !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("Update of an unknown op: %v, want ErrUnknownOp", err)
	}
}

func TestSMIndexGoingBackwardsPanics(t *testing.T) {
	h := newHarness(t)
	h.apply(Heartbeat{ID: 1})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	_, _ = h.sm.Update([]dbsm.Entry{{Index: h.index, Cmd: Encode(Heartbeat{ID: 1})}})
}

func TestSMLookupAfterClose(t *testing.T) {
	h := newHarness(t)
	h.apply(CreateTopic{Name: "a", ID: tid(1), PartitionCount: 1})
	if err := h.sm.Close(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []any{QueryTopics{All: true}, QueryBrokers{}, QueryDigest{}, QueryDataGroups{}} {
		if _, err := h.sm.Lookup(q); !errors.Is(err, ErrClosed) {
			t.Fatalf("Lookup(%T) after Close: %v", q, err)
		}
	}
	if err := h.sm.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.sm.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
}

// TestSMConcurrentLookup runs lookups against updates (for -race) and checks
// that every view is internally consistent.
func TestSMConcurrentLookup(t *testing.T) {
	h := newHarness(t)
	registerBrokers(h, 1, 2, 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			v, err := h.sm.Lookup(QueryTopics{All: true})
			if err != nil {
				errc <- err
				return
			}
			n := 0
			for _, tp := range v.(*View).Topics {
				n += len(tp.Partitions)
				for _, p := range tp.Partitions {
					_ = p.legacy.leader + int32(len(p.Replicas)+len(p.legacy.isr))
				}
			}
			if n != v.(*View).PartitionCount {
				errc <- errors.New("partition count does not match the topics")
				return
			}
			if _, err := h.sm.Lookup(QueryDigest{}); err != nil {
				errc <- err
				return
			}
		}
	}()
	for i := 0; i < 40; i++ {
		id := tid(byte(i + 1))
		h.apply(Batch{Cmds: createBatch(string(rune('a'+i%26))+string(rune('0'+i/26)), id, 4, brokers3, 3)})
		h.apply(SetLeader{Topic: id, Partition: 1, Leader: 3, LeaderEpoch: 1, IfEpoch: 0})
		if i%3 == 0 {
			h.apply(DeleteTopic{ID: id})
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
}
