package statemachine

import (
	"reflect"
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"
)

func TestSMSetGroupLeader(t *testing.T) {
	h := newHarness(t)
	h.apply(Batch{Cmds: []Command{
		CreateTopic{Name: "a", ID: tid(1), PartitionCount: 1},
		AssignReplicas{Topic: tid(1), Partition: 0, Replicas: []int32{1, 2}, DataGroup: DataGroupKey{Members: []int32{1, 2}}},
	}})
	shard := h.groups()[0].ShardID
	cases := []struct {
		cmd  SetDataGroupLeader
		want Code
	}{
		{SetDataGroupLeader{ShardID: shard, Leader: 1, Term: 2}, CodeOK},
		{SetDataGroupLeader{ShardID: shard, Leader: 1, Term: 2}, CodeOK},              // repeated report
		{SetDataGroupLeader{ShardID: shard, Leader: 2, Term: 2}, CodeConditionFailed}, // second leader in a term
		{SetDataGroupLeader{ShardID: shard, Leader: 2, Term: 1}, CodeConditionFailed}, // older term
		{SetDataGroupLeader{ShardID: shard, Leader: 2, Term: 5}, CodeOK},
		{SetDataGroupLeader{ShardID: shard + 1, Leader: 2, Term: 5}, CodeInvalid}, // no such group
		{SetDataGroupLeader{ShardID: shard, Leader: -1, Term: 6}, CodeInvalid},
	}
	for i, tc := range cases {
		if got := h.apply(tc.cmd); got[0] != tc.want {
			t.Fatalf("case %d %+v: %v, want %v", i, tc.cmd, got[0], tc.want)
		}
	}
	g := h.groups()[0]
	if g.Leader != 2 || g.Term != 5 {
		t.Fatalf("group %+v, want leader 2 term 5", g)
	}
	before := h.digest()
	h.reopen()
	if g := h.groups()[0]; g.Leader != 2 || g.Term != 5 {
		t.Fatalf("after reopen: group %+v", g)
	}
	if h.digest() != before {
		t.Fatal("digest changed across reopen")
	}
}

func TestSMAllocateProducerIDs(t *testing.T) {
	h := newHarness(t)
	var starts []int64
	for range 3 {
		h.index++
		ents := []dbsm.Entry{{Index: h.index, Cmd: Encode(AllocateProducerIDs{Broker: 1, Count: 1000})}}
		out, err := h.sm.Update(ents)
		if err != nil {
			t.Fatal(err)
		}
		r, err := DecodeResult(out[0].Result.Data)
		if err != nil || r.Codes[0] != CodeOK || len(r.Values) != 1 {
			t.Fatalf("result %+v %v", r, err)
		}
		starts = append(starts, r.Values[0])
	}
	if !reflect.DeepEqual(starts, []int64{1, 1001, 2001}) {
		t.Fatalf("blocks start at %v", starts)
	}
	h.reopen()
	h.index++
	out, err := h.sm.Update([]dbsm.Entry{{Index: h.index, Cmd: Encode(Batch{Cmds: []Command{
		Heartbeat{ID: 9}, AllocateProducerIDs{Broker: 2, Count: 10}}})}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := DecodeResult(out[0].Result.Data)
	if !reflect.DeepEqual(r.Values, []int64{0, 3001}) {
		t.Fatalf("after reopen, in a batch: values %v, want [0 3001]", r.Values)
	}
	if got := h.apply(AllocateProducerIDs{Broker: 1, Count: 0}); got[0] != CodeInvalid {
		t.Fatalf("zero count: %v", got)
	}
}
