package topics

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicsValidateName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
		msg     string
	}{
		{"orders", false, ""},
		{"a.b_c-D9", false, ""},
		{"__consumer_offsets", false, ""},
		{"...", false, ""},
		{strings.Repeat("x", 249), false, ""},
		{"", true, "can't be empty"},
		{".", true, `cannot be "." or ".."`},
		{"..", true, `cannot be "." or ".."`},
		{strings.Repeat("x", 250), true, "longer than 249 characters"},
		{"a b", true, "contains a character other than ASCII alphanumerics"},
		{"a/b", true, "contains a character"},
		{"ünï", true, "contains a character"},
		{"a:b", true, "contains a character"},
	}
	for _, tt := range tests {
		err := validateName(tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("validateName(%q) = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidTopic) {
				t.Errorf("validateName(%q) = %v, not ErrInvalidTopic", tt.name, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("validateName(%q) message %q lacks %q", tt.name, err, tt.msg)
			}
		}
	}
}

func TestTopicsResolvePartitions(t *testing.T) {
	tests := []struct {
		n, def, want int32
		wantErr      bool
	}{
		{1, 1, 1, false},
		{12, 1, 12, false},
		{-1, 1, 1, false},
		{-1, 6, 6, false},
		{0, 1, 0, true},
		{-2, 1, 0, true},
		{-100, 1, 0, true},
		{1 << 20, 1, 1 << 20, false},
		{1<<20 + 1, 1, 0, true},
	}
	for _, tt := range tests {
		got, err := resolvePartitions(tt.n, tt.def)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("resolvePartitions(%d, %d) = %d, %v; want %d, err %v", tt.n, tt.def, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidPartitions) {
			t.Errorf("resolvePartitions(%d) error %v is not ErrInvalidPartitions", tt.n, err)
		}
	}
}

func TestTopicsResolveRF(t *testing.T) {
	tests := []struct {
		rf, def   int16
		live      int
		want      int16
		wantErrIs error
		msg       string
	}{
		{1, 0, 3, 1, nil, ""},
		{3, 0, 3, 3, nil, ""},
		{-1, 0, 1, 1, nil, ""},
		{-1, 0, 2, 2, nil, ""},
		{-1, 0, 3, 3, nil, ""},
		{-1, 0, 5, 3, nil, ""},
		{-1, 2, 5, 2, nil, ""},
		{-1, 3, 2, 0, ErrInvalidReplicationFactor, "Replication factor: 3 larger than available brokers: 2."},
		{-1, 0, 0, 0, ErrInvalidReplicationFactor, "Replication factor: 1 larger than available brokers: 0."},
		{4, 0, 3, 0, ErrInvalidReplicationFactor, "Replication factor: 4 larger than available brokers: 3."},
		{0, 0, 3, 0, ErrInvalidReplicationFactor, "must be larger than 0"},
		{-2, 0, 3, 0, ErrInvalidReplicationFactor, "must be larger than 0"},
	}
	for _, tt := range tests {
		got, err := resolveRF(tt.rf, tt.def, tt.live)
		if got != tt.want || (tt.wantErrIs == nil) != (err == nil) {
			t.Errorf("resolveRF(%d, %d, %d) = %d, %v; want %d, %v", tt.rf, tt.def, tt.live, got, err, tt.want, tt.wantErrIs)
			continue
		}
		if err != nil && (!errors.Is(err, tt.wantErrIs) || !strings.Contains(err.Error(), tt.msg)) {
			t.Errorf("resolveRF(%d, %d, %d) error %q, want %v containing %q", tt.rf, tt.def, tt.live, err, tt.wantErrIs, tt.msg)
		}
	}
}

func TestTopicsValidateAssignment(t *testing.T) {
	registered := map[int32]bool{1: true, 2: true, 3: true, 4: true}
	tests := []struct {
		name   string
		assign [][]int32
		rf     int
		want   int
		msg    string // "" = valid
	}{
		{"one partition", [][]int32{{1}}, 0, 1, ""},
		{"three by three", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, 0, 3, ""},
		{"fixed rf ok", [][]int32{{4, 1}}, 2, 2, ""},
		{"empty replicas", [][]int32{{1, 2}, {}}, 0, 0, "empty replica list"},
		{"unknown broker", [][]int32{{1, 9}}, 0, 0, "includes broker 9, but no such broker is registered"},
		{"duplicate broker", [][]int32{{1, 2, 1}}, 0, 0, "includes the broker 1 more than once"},
		{"uneven", [][]int32{{1, 2}, {1, 2, 3}}, 0, 0, "a partition with 3 replica(s), but this is not consistent with previous partitions, which have 2"},
		{"fixed rf mismatch", [][]int32{{1, 2, 3}}, 2, 0, "which have 2 replica(s)"},
	}
	for _, tt := range tests {
		got, err := validateAssignment(tt.assign, tt.rf, registered)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidReplicaAssignment) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want ErrInvalidReplicaAssignment containing %q", tt.name, err, tt.msg)
		}
	}
}

func TestTopicsOrderAssignment(t *testing.T) {
	a := [][]int32{{1}, {2}, {3}}
	tests := []struct {
		name    string
		indexes []int32
		want    []int32 // first replica per partition
		wantErr error
	}{
		{"nil indexes", nil, []int32{1, 2, 3}, nil},
		{"in order", []int32{0, 1, 2}, []int32{1, 2, 3}, nil},
		{"reordered", []int32{2, 0, 1}, []int32{2, 3, 1}, nil},
		{"duplicate index", []int32{0, 0, 1}, nil, ErrInvalidReplicaAssignment},
		{"gap", []int32{0, 1, 3}, nil, ErrInvalidReplicaAssignment},
		{"negative", []int32{-1, 0, 1}, nil, ErrInvalidReplicaAssignment},
		{"length mismatch", []int32{0, 1}, nil, ErrInvalidRequest},
	}
	for _, tt := range tests {
		got, err := orderAssignment(a, tt.indexes)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for p, r := range got {
			if r[0] != tt.want[p] {
				t.Errorf("%s: partition %d = %v, want first %d", tt.name, p, r, tt.want[p])
			}
		}
	}
}

func TestTopicsDuplicates(t *testing.T) {
	got := duplicates([]string{"a", "b", "a", "c", "b"})
	want := []bool{true, true, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("duplicates = %v, want %v", got, want)
		}
	}
}
