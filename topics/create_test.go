package topics

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-broker/skiff/statemachine"
)

// seqIDs returns a NewID that hands out 1, 2, 3, ... in the first byte.
func seqIDs() func() TopicID {
	var n byte
	return func() TopicID { n++; return TopicID{n} }
}

func createIn(specs ...CreateSpec) createInput {
	return createInput{
		specs:         specs,
		brokers:       brokersN(3),
		numPartitions: 1,
		maxPartitions: 100000,
		nowMs:         1700000000000,
		newID:         seqIDs(),
	}
}

func auto(name string, parts int32, rf int16) CreateSpec {
	return CreateSpec{Name: name, NumPartitions: parts, ReplicationFactor: rf}
}

func TestTopicsPlanCreateOneBatch(t *testing.T) {
	in := createIn(auto("a", 3, 3), auto("b", 1, 2), auto("c", -1, -1))
	in.start = 4
	p := planCreate(in)
	// 3 topics: 3 CreateTopic + one AssignReplicas for each of 3+1+1
	// partitions, and nothing else: leaders and ISRs are not proposed.
	if got, want := len(p.batch.Cmds), 3+5; got != want {
		t.Fatalf("batch has %d commands, want %d", got, want)
	}
	wantParts := []int32{3, 1, 1}
	wantRF := []int16{3, 2, 3} // c: -1 -> min(3, 3 live)
	c := in.start
	for i, r := range p.results {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Name, r.Err)
		}
		if r.NumPartitions != wantParts[i] || r.ReplicationFactor != wantRF[i] || r.ID != (TopicID{byte(i + 1)}) {
			t.Errorf("result %d = %+v", i, r)
		}
		at := p.at[i]
		ct, ok := p.batch.Cmds[at].(statemachine.CreateTopic)
		if !ok || ct.Name != r.Name || ct.ID != r.ID || ct.PartitionCount != wantParts[i] || ct.CreatedMs != in.nowMs {
			t.Fatalf("cmd %d = %#v", at, p.batch.Cmds[at])
		}
		for part := int32(0); part < ct.PartitionCount; part++ {
			base := at + 1 + int(part)
			ar, ok := p.batch.Cmds[base].(statemachine.AssignReplicas)
			if !ok {
				t.Fatalf("partition %d of %s: command %T", part, r.Name, p.batch.Cmds[base])
			}
			want := placeReplicas(placementRing(in.brokers), int(wantRF[i]), c)
			c++
			if ar.Topic != ct.ID || ar.Partition != part || !slices.Equal(ar.Replicas, want) {
				t.Errorf("AssignReplicas = %+v, want replicas %v", ar, want)
			}
			if k := groupKeyOf(want); !slices.Equal(ar.DataGroup.Members, k.Members) || ar.DataGroup.Slot != k.Slot {
				t.Errorf("group = %+v, want %+v", ar.DataGroup, k)
			}
		}
	}
}

func TestTopicsPlanCreateValidation(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		spec CreateSpec
		want error
		msg  string
	}{
		{"ok", auto("t", 1, 1), nil, ""},
		{"bad name", auto("a b", 1, 1), ErrInvalidTopic, "illegal"},
		{"zero partitions", auto("t", 0, 1), ErrInvalidPartitions, "non-positive"},
		{"partitions -2", auto("t", -2, 1), ErrInvalidPartitions, ""},
		{"rf 0", auto("t", 1, 0), ErrInvalidReplicationFactor, ""},
		{"rf too big", auto("t", 1, 4), ErrInvalidReplicationFactor, "Replication factor: 4 larger than available brokers: 3."},
		{"manual ok", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1, 2}, {2, 3}}}, nil, ""},
		{"manual on dead broker ok", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{4}}}, nil, ""},
		{"manual and partitions", CreateSpec{Name: "t", NumPartitions: 2, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}}, ErrInvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set"},
		{"manual and rf", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: 1, Assignment: [][]int32{{1}}}, ErrInvalidRequest, ""},
		{"manual unknown broker", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{9}}}, ErrInvalidReplicaAssignment, "no such broker"},
		{"manual duplicate broker", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1, 1}}}, ErrInvalidReplicaAssignment, "more than once"},
		{"manual uneven", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1, 2}, {1}}}, ErrInvalidReplicaAssignment, "not consistent"},
		// The exact texts Kafka answers (and kafka/ used to build itself):
		// clients see them unchanged now that only topics/ checks them.
		{"manual duplicate index", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}, PartitionIndexes: []int32{1, 1}}, ErrInvalidReplicaAssignment, "Found multiple manual partition assignments for partition 1."},
		{"manual index gap", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}, PartitionIndexes: []int32{0, 2}}, ErrInvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence, found partition 2 of 2."},
		{"manual index negative", CreateSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}, PartitionIndexes: []int32{-1, 0}}, ErrInvalidReplicaAssignment, "found partition -1 of 2."},
		{"manual and partitions, bad indexes", CreateSpec{Name: "t", NumPartitions: 2, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}, PartitionIndexes: []int32{1, 1}}, ErrInvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."},
		{"bad config", CreateSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: []ConfigValue{{Key: "retention.ms", Value: str("x")}}}, ErrInvalidConfig, "retention.ms"},
		{"unknown config", CreateSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: []ConfigValue{{Key: "nope", Value: str("1")}}}, ErrInvalidConfig, "Unknown topic config name: nope"},
	}
	for _, tt := range tests {
		in := createIn(tt.spec)
		in.brokers = append(brokersN(3), &Broker{ID: 4}) // 4 is registered but not alive
		p := planCreate(in)
		r := p.results[0]
		if tt.want == nil {
			if r.Err != nil || p.at[0] != 0 {
				t.Errorf("%s: %v (at %d)", tt.name, r.Err, p.at[0])
			}
			continue
		}
		if !errors.Is(r.Err, tt.want) || !strings.Contains(r.Err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want %v containing %q", tt.name, r.Err, tt.want, tt.msg)
		}
		if strings.HasPrefix(r.Err.Error(), "topics:") {
			t.Errorf("%s: message %q should be human, without the package prefix", tt.name, r.Err)
		}
		if r.NumPartitions != -1 || r.ReplicationFactor != -1 || p.at[0] != -1 || len(p.batch.Cmds) != 0 {
			t.Errorf("%s: failed result %+v, at %d, %d cmds", tt.name, r, p.at[0], len(p.batch.Cmds))
		}
	}
}

func TestTopicsPlanCreateDuplicates(t *testing.T) {
	p := planCreate(createIn(auto("a", 1, 1), auto("b", 1, 1), auto("a", 2, 1), auto("c", 1, 1), auto("a", 1, 1)))
	for i, wantDup := range []bool{true, false, true, false, true} {
		if got := errors.Is(p.results[i].Err, ErrDuplicateTopic); got != wantDup {
			t.Errorf("result %d (%s): %v, want duplicate %v", i, p.results[i].Name, p.results[i].Err, wantDup)
		}
	}
	var created []string
	for _, c := range p.batch.Cmds {
		if ct, ok := c.(statemachine.CreateTopic); ok {
			created = append(created, ct.Name)
		}
	}
	if !slices.Equal(created, []string{"b", "c"}) {
		t.Errorf("created %v, want [b c]", created)
	}
}

func TestTopicsPlanCreatePolicyCap(t *testing.T) {
	in := createIn(auto("a", 60, 1), auto("b", 50, 1), auto("bad name", 1, 1))
	in.maxPartitions = 100
	p := planCreate(in)
	for i := 0; i < 2; i++ {
		if !errors.Is(p.results[i].Err, ErrPolicyViolation) {
			t.Errorf("result %d: %v, want ErrPolicyViolation", i, p.results[i].Err)
		}
	}
	if !errors.Is(p.results[2].Err, ErrInvalidTopic) {
		t.Errorf("invalid topic keeps its own error, got %v", p.results[2].Err)
	}
	if len(p.batch.Cmds) != 0 {
		t.Errorf("%d commands, want none", len(p.batch.Cmds))
	}
	in.maxPartitions = 110
	if p := planCreate(in); p.results[0].Err != nil || p.results[1].Err != nil {
		t.Errorf("at the cap: %v, %v", p.results[0].Err, p.results[1].Err)
	}
}

func TestTopicsPlanCreateValidateOnly(t *testing.T) {
	in := createIn(auto("a", 2, 3))
	in.validateOnly = true
	p := planCreate(in)
	r := p.results[0]
	if r.Err != nil || r.NumPartitions != 2 || r.ReplicationFactor != 3 || !r.ID.IsZero() || len(r.Configs) == 0 {
		t.Errorf("result = %+v", r)
	}
	if len(p.batch.Cmds) != 0 || p.at[0] != -1 {
		t.Errorf("validate only built %d commands", len(p.batch.Cmds))
	}
}

func TestTopicsPlanCreateManualAssignment(t *testing.T) {
	in := createIn(CreateSpec{Name: "m", NumPartitions: -1, ReplicationFactor: -1,
		Assignment: [][]int32{{3, 1}, {1, 2}}, PartitionIndexes: []int32{1, 0}})
	in.internalTopics = true
	p := planCreate(in)
	if err := p.results[0].Err; err != nil {
		t.Fatal(err)
	}
	if !p.batch.Cmds[0].(statemachine.CreateTopic).Internal {
		t.Error("Internal not set")
	}
	a0 := p.batch.Cmds[1].(statemachine.AssignReplicas)
	a1 := p.batch.Cmds[2].(statemachine.AssignReplicas)
	if !slices.Equal(a0.Replicas, []int32{1, 2}) || !slices.Equal(a1.Replicas, []int32{3, 1}) {
		t.Errorf("replicas %v %v", a0.Replicas, a1.Replicas)
	}
	if a1.DataGroup.Slot != 1 || !slices.Equal(a1.DataGroup.Members, []int32{1, 3}) {
		t.Errorf("group %+v", a1.DataGroup)
	}
	if a1.Replicas[0] != 3 {
		t.Errorf("preferred leader %d, want 3", a1.Replicas[0])
	}
}

func TestTopicsPlanCreateDeterministic(t *testing.T) {
	specs := []CreateSpec{auto("a", 7, 3), auto("b", 5, 2)}
	p1, p2 := planCreate(createIn(specs...)), planCreate(createIn(specs...))
	if len(p1.batch.Cmds) != len(p2.batch.Cmds) {
		t.Fatal("different lengths")
	}
	for i := range p1.batch.Cmds {
		if a, ok := p1.batch.Cmds[i].(statemachine.AssignReplicas); ok {
			if b := p2.batch.Cmds[i].(statemachine.AssignReplicas); !slices.Equal(a.Replicas, b.Replicas) {
				t.Fatalf("cmd %d: %v vs %v", i, a.Replicas, b.Replicas)
			}
		}
	}
}
