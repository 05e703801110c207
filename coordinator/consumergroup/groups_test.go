package consumergroup

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Java's String.hashCode and Kafka's partitionFor, so that Skiff and Kafka
// tools agree on where a group lives.
func TestGroupsPartitionFor(t *testing.T) {
	for _, c := range []struct {
		s    string
		hash int32
	}{
		{"", 0},
		{"hello", 99162322},
		{"polygenelubricants", -1 << 31},   // Integer.MIN_VALUE: Utils.abs gives 0
		{"\U0001F600", 0xD83D*31 + 0xDE00}, // a surrogate pair: two UTF-16 units
		{"é", 0xE9},
	} {
		if h := JavaHashCode(c.s); h != c.hash {
			t.Errorf("JavaHashCode(%q) = %d, want %d", c.s, h, c.hash)
		}
	}
	if p := PartitionFor("polygenelubricants", 50); p != 0 {
		t.Errorf("PartitionFor(MIN_VALUE hash) = %d, want 0", p)
	}
	// "hello" % 50 = 99162322 % 50 = 22; a negative hash uses its absolute value.
	if p := PartitionFor("hello", 50); p != 22 {
		t.Errorf("PartitionFor(hello, 50) = %d, want 22", p)
	}
	neg := "group-with-negative-hash-0"
	for i := 0; JavaHashCode(neg) >= 0; i++ {
		neg = fmt.Sprintf("group-with-negative-hash-%d", i)
	}
	if p, want := PartitionFor(neg, 50), (-JavaHashCode(neg))%50; p != want {
		t.Errorf("PartitionFor(%q) = %d, want %d", neg, p, want)
	}
}

// Records written to __consumer_offsets decode back, in Kafka's formats,
// and a batch survives the data group's parser.
func TestGroupsLogRecordsRoundTrip(t *testing.T) {
	md := "meta"
	g := &group{protocolType: "consumer", protocol: "range", generation: 7, leader: "m1", members: map[string]*member{}}
	inst := "i1"
	g.members["m1"] = &member{id: "m1", instanceID: &inst, clientID: "c", clientHost: "/h", sessionTimeout: 6e9, rebalanceTimeout: 6e10,
		protocols: []Protocol{{Name: "range", Metadata: []byte{1, 2}}}, assignment: []byte{3}, seq: 1}
	recs := []kv{
		offsetRecord("grp", "topic", 3, committed{Offset: 42, LeaderEpoch: 5, Metadata: md, CommitMs: 1000}),
		{Key: offsetKey("grp", "topic", 4)},
		{Key: groupKey("grp"), Value: groupValue(g, 2000)},
		{Key: groupKey("gone")},
	}
	batch := encodeBatch(1000, recs)
	var got []logEntry
	next, skipped, err := decodeBatches(batch, func(off int64, k, v []byte) {
		e, err := decodeEntry(off, k, v)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	})
	if err != nil || skipped != 0 || next != 4 || len(got) != 4 {
		t.Fatalf("decode: next %d skipped %d err %v, %d entries", next, skipped, err, len(got))
	}
	if e := got[0]; e.isGroup || e.group != "grp" || e.topic != "topic" || e.partition != 3 || e.commit == nil ||
		e.commit.Offset != 42 || e.commit.LeaderEpoch != 5 || e.commit.Metadata != md || e.offset != 0 {
		t.Errorf("offset commit: %+v %+v", e, e.commit)
	}
	if e := got[1]; e.isGroup || e.commit != nil || e.partition != 4 || e.offset != 1 {
		t.Errorf("offset tombstone: %+v", e)
	}
	e := got[2]
	if !e.isGroup || e.meta == nil || e.meta.Generation != 7 || *e.meta.Protocol != "range" || *e.meta.Leader != "m1" ||
		len(e.meta.Members) != 1 || *e.meta.Members[0].InstanceID != "i1" || e.meta.Members[0].SessionTimeoutMillis != 6000 ||
		e.meta.Members[0].RebalanceTimeoutMillis != 60000 || string(e.meta.Members[0].Subscription) != "\x01\x02" {
		t.Errorf("group metadata: %+v", e.meta)
	}
	if e := got[3]; !e.isGroup || e.meta != nil || e.group != "gone" {
		t.Errorf("group tombstone: %+v", e)
	}
	// Replaying the metadata rebuilds a stable group with the member.
	p := &partition{groups: map[string]*group{}}
	rg := p.newGroup("grp")
	rg.loadMetadata(got[2].meta)
	if rg.state != stateStable || rg.generation != 7 || rg.members["m1"] == nil || rg.static["i1"] != "m1" ||
		string(rg.members["m1"].assignment) != "\x03" {
		t.Errorf("loaded group: %+v", rg)
	}
	// Unknown key versions (newer Kafka record types) are an error the
	// replay skips.
	k := kmsg.OffsetCommitKey{Version: 9, Group: "g"}
	if _, err := decodeEntry(0, k.AppendTo(nil), nil); err == nil {
		t.Error("decoded a key version 9 record")
	}
}

func TestGroupsAssignors(t *testing.T) {
	a, b := TopicID{1}, TopicID{2}
	ts := []topicInfo{{name: "a", id: a, partitions: 7}, {name: "b", id: b, partitions: 3}}
	all := map[string]bool{"a": true, "b": true}
	members := []assignMember{{id: "m1", topics: all}, {id: "m2", topics: all}, {id: "m3", topics: all}}
	check := func(name string, out map[string]tpSet, wantCounts map[string]int) {
		t.Helper()
		seen := tpSet{}
		for id, s := range out {
			if want, ok := wantCounts[id]; ok && s.count() != want {
				t.Errorf("%s: %s has %d partitions, want %d", name, id, s.count(), want)
			}
			for tid, ps := range s {
				for _, p := range ps {
					if seen.has(tid, p) {
						t.Errorf("%s: %x/%d assigned twice", name, tid[:1], p)
					}
					seen.add(tid, p)
				}
			}
		}
		if seen.count() != 10 {
			t.Errorf("%s: %d partitions assigned, want 10", name, seen.count())
		}
	}
	u := assignUniform(ts, members)
	for _, s := range u {
		if n := s.count(); n < 3 || n > 4 {
			t.Errorf("uniform: a member has %d partitions", n)
		}
	}
	check("uniform", u, nil)
	// Sticky: a fourth member takes partitions without moving the others'.
	members[0].previous, members[1].previous, members[2].previous = u["m1"], u["m2"], u["m3"]
	members = append(members, assignMember{id: "m4", topics: all})
	u2 := assignUniform(ts, members)
	check("uniform+1", u2, nil)
	for _, id := range []string{"m1", "m2", "m3"} {
		if kept := u2[id].intersect(u[id]).count(); kept != u2[id].count() {
			t.Errorf("uniform+1: %s got partitions it did not have before: %v -> %v", id, u[id], u2[id])
		}
	}
	// Heterogeneous subscriptions: b only to m4.
	members = []assignMember{{id: "m1", topics: map[string]bool{"a": true}}, {id: "m2", topics: map[string]bool{"a": true}},
		{id: "m4", topics: map[string]bool{"b": true}}}
	check("uniform/hetero", assignUniform(ts, members), map[string]int{"m4": 3})

	// Range: contiguous ranges per topic, static members first.
	s1 := "s1"
	members = []assignMember{{id: "z", topics: all}, {id: "m", topics: all}, {id: "a", instance: &s1, topics: all}}
	r := assignRange(ts, members)
	check("range", r, map[string]int{"a": 4, "m": 3, "z": 3})
	if fmt.Sprint(r["a"][a], r["m"][a], r["z"][a]) != "[0 1 2] [3 4] [5 6]" {
		t.Errorf("range over a: a %v m %v z %v", r["a"][a], r["m"][a], r["z"][a])
	}
}
