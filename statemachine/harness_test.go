package statemachine

import (
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"
)

// harness drives a real StateMachine on a temp dir, the way Dragonboat
// does: Open, then Update with increasing entry indexes.
type harness struct {
	t     testing.TB
	dir   string
	sm    *StateMachine
	index uint64
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, dir: t.TempDir()}
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	log := zerolog.Nop()
	if tt, ok := h.t.(*testing.T); ok {
		log = zerolog.New(zerolog.NewTestWriter(tt)).Level(zerolog.WarnLevel)
	}
	h.sm = NewFactory(h.dir, log)(1, 1).(*StateMachine)
	idx, err := h.sm.Open(nil)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.index = idx
	sm := h.sm
	h.t.Cleanup(func() { _ = sm.Close() })
}

func (h *harness) reopen() {
	h.t.Helper()
	if err := h.sm.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

// entries turns commands into entries with the next indexes.
func (h *harness) entries(cmds ...Command) []dbsm.Entry {
	ents := make([]dbsm.Entry, len(cmds))
	for i, c := range cmds {
		h.index++
		ents[i] = dbsm.Entry{Index: h.index, Cmd: Encode(c)}
	}
	return ents
}

// update applies raw entries in one Update and returns their results.
func (h *harness) update(ents []dbsm.Entry) [][]Code {
	h.t.Helper()
	out, err := h.sm.Update(ents)
	if err != nil {
		h.t.Fatalf("Update: %v", err)
	}
	codes := make([][]Code, len(out))
	for i, e := range out {
		r, err := DecodeResult(e.Result.Data)
		if err != nil {
			h.t.Fatalf("DecodeResult: %v", err)
		}
		if e.Result.Value != uint64(len(r.Codes)) {
			h.t.Fatalf("Result.Value %d, %d codes", e.Result.Value, len(r.Codes))
		}
		codes[i] = r.Codes
	}
	return codes
}

// apply applies one command in its own entry and returns its codes.
func (h *harness) apply(c Command) []Code {
	h.t.Helper()
	return h.update(h.entries(c))[0]
}

func (h *harness) lookup(q any) any {
	h.t.Helper()
	v, err := h.sm.Lookup(q)
	if err != nil {
		h.t.Fatalf("Lookup(%T): %v", q, err)
	}
	return v
}

func (h *harness) all() *View           { return h.lookup(QueryTopics{All: true}).(*View) }
func (h *harness) digest() Digest       { return h.lookup(QueryDigest{}).(Digest) }
func (h *harness) groups() []*DataGroup { return h.lookup(QueryDataGroups{}).([]*DataGroup) }

func (h *harness) topic(name string) *Topic {
	h.t.Helper()
	v := h.lookup(QueryTopics{Names: []string{name}}).(*View)
	if len(v.Topics) != 1 {
		return nil
	}
	return v.Topics[0]
}

// createBatch is what topics.Service.Create proposes: the topic, then for
// each partition AssignReplicas, SetLeader, SetISR. Partition p is placed
// on the members starting at brokers[p%len], slot p%rf.
func createBatch(name string, id TopicID, partitions int, brokers []int32, rf int) []Command {
	cmds := []Command{CreateTopic{Name: name, ID: id, PartitionCount: int32(partitions), CreatedMs: 1000}}
	return append(cmds, partitionCmds(id, 0, partitions, brokers, rf)...)
}

func partitionCmds(id TopicID, from, to int, brokers []int32, rf int) []Command {
	var cmds []Command
	for p := from; p < to; p++ {
		replicas := make([]int32, rf)
		for i := range replicas {
			replicas[i] = brokers[(p+i)%len(brokers)]
		}
		members := sortedCopy(replicas)
		slot := uint8(0)
		for i, m := range members {
			if m == replicas[0] {
				slot = uint8(i)
			}
		}
		cmds = append(cmds,
			AssignReplicas{Topic: id, Partition: int32(p), Replicas: replicas, DataGroup: DataGroupKey{Members: members, Slot: slot}},
			SetLeader{Topic: id, Partition: int32(p), Leader: replicas[0], LeaderEpoch: 0, IfEpoch: -1},
			SetISR{Topic: id, Partition: int32(p), ISR: replicas, IfEpoch: 0},
		)
	}
	return cmds
}

func sortedCopy(v []int32) []int32 {
	out := append([]int32(nil), v...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func codes(c Code, n int) []Code {
	out := make([]Code, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func cat(parts ...[]Code) []Code {
	var out []Code
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
