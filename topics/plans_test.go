package topics

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-broker/skiff/statemachine"
)

// topicWith returns a topic with n partitions of replication factor rf.
func topicWith(name string, id byte, n, rf int) *Topic {
	t := &Topic{Name: name, ID: TopicID{id}}
	ring := placementRing(brokersN(3))
	for p := 0; p < n; p++ {
		t.Partitions = append(t.Partitions, Partition{Replicas: placeReplicas(ring, rf, p)})
	}
	return t
}

func TestTopicsPlanPartitions(t *testing.T) {
	view := &View{
		Brokers:        append(brokersN(3), &Broker{ID: 4}),
		Topics:         []*Topic{topicWith("a", 1, 3, 2), topicWith("b", 2, 1, 3)},
		PartitionCount: 4,
	}
	tests := []struct {
		name string
		spec PartitionsSpec
		want error
		msg  string
	}{
		{"grow", PartitionsSpec{Name: "a", Count: 5}, nil, ""},
		{"same", PartitionsSpec{Name: "a", Count: 3}, ErrInvalidPartitions, "Topic already has 3 partitions."},
		{"shrink", PartitionsSpec{Name: "a", Count: 2}, ErrInvalidPartitions, "Topic currently has 3 partitions, which is higher than the requested 2."},
		{"missing", PartitionsSpec{Name: "zz", Count: 2}, ErrUnknownTopic, "Topic 'zz' does not exist."},
		{"manual ok", PartitionsSpec{Name: "a", Count: 4, Assignment: [][]int32{{4, 1}}}, nil, ""},
		{"manual count", PartitionsSpec{Name: "a", Count: 5, Assignment: [][]int32{{1, 2}}}, ErrInvalidReplicaAssignment, "by 2 but 1 assignments"},
		{"manual rf", PartitionsSpec{Name: "a", Count: 4, Assignment: [][]int32{{1, 2, 3}}}, ErrInvalidReplicaAssignment, "which have 2 replica(s)"},
		{"manual unknown broker", PartitionsSpec{Name: "a", Count: 4, Assignment: [][]int32{{1, 8}}}, ErrInvalidReplicaAssignment, "no such broker"},
		{"cap", PartitionsSpec{Name: "a", Count: 1000}, ErrPolicyViolation, "limit of 100"},
	}
	for _, tt := range tests {
		p := planPartitions(partitionsInput{specs: []PartitionsSpec{tt.spec}, view: view, maxPartitions: 100})
		r := p.results[0]
		if tt.want != nil {
			if !errors.Is(r.Err, tt.want) || !strings.Contains(r.Err.Error(), tt.msg) {
				t.Errorf("%s: %v, want %v containing %q", tt.name, r.Err, tt.want, tt.msg)
			}
			if len(p.batch.Cmds) != 0 {
				t.Errorf("%s: %d commands", tt.name, len(p.batch.Cmds))
			}
			continue
		}
		if r.Err != nil {
			t.Errorf("%s: %v", tt.name, r.Err)
			continue
		}
		add, ok := p.batch.Cmds[0].(statemachine.AddPartitions)
		if !ok || add.Topic != (TopicID{1}) || add.ExpectCount != 3 || add.NewCount != tt.spec.Count {
			t.Errorf("%s: first command %#v", tt.name, p.batch.Cmds[0])
		}
		if got, want := len(p.batch.Cmds), 1+int(tt.spec.Count-3); got != want {
			t.Errorf("%s: %d commands, want %d", tt.name, got, want)
		}
		for i := 1; i < len(p.batch.Cmds); i++ {
			ar := p.batch.Cmds[i].(statemachine.AssignReplicas)
			if ar.Partition != int32(3+i-1) || len(ar.Replicas) != 2 {
				t.Errorf("%s: %+v", tt.name, ar)
			}
		}
		if r.NumPartitions != tt.spec.Count || r.ReplicationFactor != 2 {
			t.Errorf("%s: result %+v", tt.name, r)
		}
	}
}

func TestTopicsPlanPartitionsBatch(t *testing.T) {
	view := &View{Brokers: brokersN(3), Topics: []*Topic{topicWith("a", 1, 1, 3), topicWith("b", 2, 2, 1)}, PartitionCount: 3}
	p := planPartitions(partitionsInput{
		specs: []PartitionsSpec{{Name: "a", Count: 3}, {Name: "b", Count: 4}, {Name: "b", Count: 5}},
		view:  view, maxPartitions: 100,
	})
	if p.results[0].Err != nil || !errors.Is(p.results[1].Err, ErrDuplicateTopic) || !errors.Is(p.results[2].Err, ErrDuplicateTopic) {
		t.Fatalf("results %v %v %v", p.results[0].Err, p.results[1].Err, p.results[2].Err)
	}
	if len(p.batch.Cmds) != 1+2 {
		t.Errorf("%d commands", len(p.batch.Cmds))
	}
	// Placement continues the ring at the cluster's partition count.
	if ar := p.batch.Cmds[1].(statemachine.AssignReplicas); !slices.Equal(ar.Replicas, placeReplicas([]int32{1, 2, 3}, 3, 3)) {
		t.Errorf("replicas %v", ar.Replicas)
	}
}

func TestTopicsPlanDelete(t *testing.T) {
	view := &View{Topics: []*Topic{topicWith("a", 1, 1, 1), topicWith("b", 2, 1, 1)}}
	specs := []DeleteSpec{
		{Name: "a"},                 // ok, ID from view
		{ID: TopicID{2}},            // ok, resolved to b
		{Name: "zz"},                // not in view: still proposed, apply decides
		{ID: TopicID{9}},            // unknown ID
		{},                          // neither
		{Name: "c"},                 // duplicate with next
		{Name: "c"},                 // duplicate
		{Name: "a", ID: TopicID{1}}, // same topic as spec 0
	}
	p := planDelete(specs, view)
	check := func(i int, want error) {
		t.Helper()
		if want == nil && p.results[i].Err != nil || want != nil && !errors.Is(p.results[i].Err, want) {
			t.Errorf("spec %d: %v, want %v", i, p.results[i].Err, want)
		}
	}
	check(0, ErrDuplicateTopic)
	check(1, nil)
	check(2, nil)
	check(3, ErrUnknownTopicID)
	check(3, ErrUnknownTopic)
	check(4, ErrInvalidRequest)
	check(5, ErrDuplicateTopic)
	check(6, ErrDuplicateTopic)
	check(7, ErrDuplicateTopic)
	want := []statemachine.Command{
		statemachine.DeleteTopic{Name: "b", ID: TopicID{2}},
		statemachine.DeleteTopic{Name: "zz"},
	}
	if len(p.batch.Cmds) != len(want) {
		t.Fatalf("commands %v", p.batch.Cmds)
	}
	for i := range want {
		if p.batch.Cmds[i] != want[i] {
			t.Errorf("cmd %d = %#v, want %#v", i, p.batch.Cmds[i], want[i])
		}
	}
	if p.results[1].Name != "b" || p.results[1].ID != (TopicID{2}) {
		t.Errorf("result 1 = %+v", p.results[1])
	}

	p = planDelete([]DeleteSpec{{Name: "a"}}, view)
	if p.results[0].ID != (TopicID{1}) || p.batch.Cmds[0] != (statemachine.DeleteTopic{Name: "a", ID: TopicID{1}}) {
		t.Errorf("delete by name: %+v %#v", p.results[0], p.batch.Cmds[0])
	}
}

func TestTopicsPlanAlter(t *testing.T) {
	str := func(s string) *string { return &s }
	base := topicWith("a", 1, 2, 3)
	base.Configs = []ConfigEntry{{Key: "cleanup.policy", Value: "compact"}, {Key: "retention.ms", Value: "1000"}}
	view := &View{Brokers: brokersN(3), Topics: []*Topic{base}}
	tests := []struct {
		name    string
		spec    AlterSpec
		wantCmd statemachine.AlterConfigs
		want    error
		msg     string
	}{
		{"replace", AlterSpec{Name: "a", Replace: true, Ops: []ConfigOp{{Key: "segment.ms", Value: str("10")}, {Key: "retention.bytes", Value: str("5")}}},
			statemachine.AlterConfigs{Topic: TopicID{1}, Replace: true, Set: []ConfigEntry{{Key: "retention.bytes", Value: "5"}, {Key: "segment.ms", Value: "10"}}}, nil, ""},
		{"replace empty", AlterSpec{Name: "a", Replace: true},
			statemachine.AlterConfigs{Topic: TopicID{1}, Replace: true}, nil, ""},
		{"set and delete", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Op: OpDelete}, {Key: "segment.ms", Value: str(" 10")}}},
			statemachine.AlterConfigs{Topic: TopicID{1}, Set: []ConfigEntry{{Key: "segment.ms", Value: "10"}}, Delete: []string{"retention.ms"}}, nil, ""},
		{"append", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "cleanup.policy", Op: OpAppend, Value: str("delete,compact")}}},
			statemachine.AlterConfigs{Topic: TopicID{1}, Set: []ConfigEntry{{Key: "cleanup.policy", Value: "compact,delete"}}}, nil, ""},
		{"subtract", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "cleanup.policy", Op: OpSubtract, Value: str("delete")}}},
			statemachine.AlterConfigs{Topic: TopicID{1}, Set: []ConfigEntry{{Key: "cleanup.policy", Value: "compact"}}}, nil, ""},
		{"subtract to empty", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "cleanup.policy", Op: OpSubtract, Value: str("compact")}}},
			statemachine.AlterConfigs{}, ErrInvalidConfig, "must not be empty"},
		{"append non-list", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Op: OpAppend, Value: str("1")}}},
			statemachine.AlterConfigs{}, ErrInvalidConfig, "Config value append is not allowed for config key: retention.ms"},
		{"bad value", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Value: str("-7")}}},
			statemachine.AlterConfigs{}, ErrInvalidConfig, "at least -1"},
		{"unknown key", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "nope", Op: OpDelete}}},
			statemachine.AlterConfigs{}, ErrInvalidConfig, "Unknown topic config name: nope"},
		{"null set", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "retention.ms"}}},
			statemachine.AlterConfigs{}, ErrInvalidRequest, "Null value"},
		{"duplicate key", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Value: str("1")}, {Key: "retention.ms", Op: OpDelete}}},
			statemachine.AlterConfigs{}, ErrInvalidRequest, "duplicate config keys"},
		{"replace with delete op", AlterSpec{Name: "a", Replace: true, Ops: []ConfigOp{{Key: "retention.ms", Op: OpDelete}}},
			statemachine.AlterConfigs{}, ErrInvalidRequest, ""},
		{"missing topic", AlterSpec{Name: "zz"}, statemachine.AlterConfigs{}, ErrUnknownTopic, "Topic 'zz' does not exist."},
		// An unknown op is INVALID_REQUEST before the key or the topic is
		// looked at (the text kafka/ used to build itself).
		{"unknown op", AlterSpec{Name: "a", Ops: []ConfigOp{{Key: "nope", Op: 9, Value: str("1")}}},
			statemachine.AlterConfigs{}, ErrInvalidRequest, "Unknown operation 9 for config nope"},
		{"unknown op, missing topic", AlterSpec{Name: "zz", Ops: []ConfigOp{{Key: "retention.ms", Value: str("1")}, {Key: "x", Op: -1}}},
			statemachine.AlterConfigs{}, ErrInvalidRequest, "Unknown operation -1 for config x"},
	}
	for _, tt := range tests {
		p := planAlter([]AlterSpec{tt.spec}, view)
		r := p.results[0]
		if tt.want != nil {
			if !errors.Is(r.Err, tt.want) || !strings.Contains(r.Err.Error(), tt.msg) || len(p.batch.Cmds) != 0 {
				t.Errorf("%s: %v, want %v containing %q", tt.name, r.Err, tt.want, tt.msg)
			}
			continue
		}
		if r.Err != nil || len(p.batch.Cmds) != 1 {
			t.Errorf("%s: %v, %d commands", tt.name, r.Err, len(p.batch.Cmds))
			continue
		}
		got := p.batch.Cmds[0].(statemachine.AlterConfigs)
		if got.Topic != tt.wantCmd.Topic || got.Replace != tt.wantCmd.Replace || !slices.Equal(got.Set, tt.wantCmd.Set) || !slices.Equal(got.Delete, tt.wantCmd.Delete) {
			t.Errorf("%s: cmd %+v, want %+v", tt.name, got, tt.wantCmd)
		}
	}

	// Result configs reflect the change.
	p := planAlter([]AlterSpec{{Name: "a", Ops: []ConfigOp{{Key: "retention.ms", Op: OpDelete}, {Key: "segment.ms", Value: str("10")}}}}, view)
	for _, c := range p.results[0].Configs {
		switch c.Key {
		case "retention.ms":
			if c.Source != SourceDefault || c.Value != "604800000" {
				t.Errorf("retention.ms after delete: %+v", c)
			}
		case "segment.ms", "cleanup.policy":
			if c.Source != SourceTopic {
				t.Errorf("%s: %+v", c.Key, c)
			}
		}
	}

	// Duplicated topic, and an incremental no-op (no command).
	p = planAlter([]AlterSpec{{Name: "a"}, {Name: "a"}}, view)
	if !errors.Is(p.results[0].Err, ErrDuplicateTopic) || !errors.Is(p.results[1].Err, ErrDuplicateTopic) {
		t.Errorf("duplicates: %v %v", p.results[0].Err, p.results[1].Err)
	}
	p = planAlter([]AlterSpec{{Name: "a"}}, view)
	if p.results[0].Err != nil || len(p.batch.Cmds) != 0 {
		t.Errorf("no-op: %v, %d commands", p.results[0].Err, len(p.batch.Cmds))
	}
}
