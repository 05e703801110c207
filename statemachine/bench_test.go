package statemachine

import (
	"encoding/binary"
	"fmt"
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"
)

var brokers6 = []int32{1, 2, 3, 4, 5, 6}

// BenchmarkSMApplyCreate1000 measures Update of one entry: a batch that
// creates a 1,000-partition topic with its 3,000 partition commands.
func BenchmarkSMApplyCreate1000(b *testing.B) {
	h := newHarness(b)
	b.ReportAllocs()
	var size int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var id TopicID
		binary.BigEndian.PutUint64(id[8:], uint64(i)+1)
		cmd := Encode(Batch{Cmds: createBatch(fmt.Sprintf("topic-%d", i), id, 1000, brokers6, 3)})
		size = len(cmd)
		h.index++
		ents := []dbsm.Entry{{Index: h.index, Cmd: cmd}}
		b.StartTimer()
		if _, err := h.sm.Update(ents); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "cmd-bytes")
}

// BenchmarkSMEncodeBatch measures encoding that batch (the proposer's cost).
func BenchmarkSMEncodeBatch(b *testing.B) {
	batch := Batch{Cmds: createBatch("topic", tid(1), 1000, brokers6, 3)}
	b.ReportAllocs()
	var n int
	for i := 0; i < b.N; i++ {
		n = len(Encode(batch))
	}
	b.SetBytes(int64(n))
}

// BenchmarkSMDecodeBatch measures decoding it (every replica's cost).
func BenchmarkSMDecodeBatch(b *testing.B) {
	enc := Encode(Batch{Cmds: createBatch("topic", tid(1), 1000, brokers6, 3)})
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for i := 0; i < b.N; i++ {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSMApplyCreate100x10 measures Update of what one 100-topic x
// 10-partition CreateTopics proposes now: per topic a CreateTopicPlaced and
// one AssignReplicas per partition, into existing groups.
func BenchmarkSMApplyCreate100x10(b *testing.B) {
	h := newHarness(b)
	for _, id := range brokers6 {
		h.apply(RegisterBroker{ID: id, Incarnation: 1})
	}
	set := h.all().BrokerSet
	b.ReportAllocs()
	var size int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var cmds []Command
		for t := range 100 {
			var id TopicID
			binary.BigEndian.PutUint64(id[8:], uint64(i*100+t)+1)
			ct := createBatch(fmt.Sprintf("topic-%d-%d", i, t), id, 10, brokers6, 3)
			cmds = append(cmds, CreateTopicPlaced{CreateTopic: ct[0].(CreateTopic), BrokerSet: set})
			for j := 1; j < len(ct); j += 3 {
				cmds = append(cmds, ct[j]) // the AssignReplicas only
			}
		}
		cmd := Encode(Batch{Cmds: cmds})
		size = len(cmd)
		h.index++
		ents := []dbsm.Entry{{Index: h.index, Cmd: cmd}}
		b.StartTimer()
		if _, err := h.sm.Update(ents); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "cmd-bytes")
}
