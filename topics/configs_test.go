package topics

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

func TestTopicsConfigTableSorted(t *testing.T) {
	if !sort.SliceIsSorted(topicConfigs, func(i, j int) bool { return topicConfigs[i].Name < topicConfigs[j].Name }) {
		t.Fatal("topicConfigs is not sorted by name")
	}
	for _, d := range topicConfigs {
		// Every default must be valid and canonical.
		if v, err := d.normalize(d.Default); err != nil || v != d.Default {
			t.Errorf("%s: default %q normalizes to %q, %v", d.Name, d.Default, v, err)
		}
		if d.BrokerName == "" || d.Doc == "" {
			t.Errorf("%s: missing broker name or doc", d.Name)
		}
	}
}

func TestTopicsConfigValidation(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // canonical value; "" = invalid
		msg        string
	}{
		{"retention.ms", "1000", "1000", ""},
		{"retention.ms", " -1 ", "-1", ""},
		{"retention.ms", "-2", "", "Invalid value -2 for configuration retention.ms: Value must be at least -1"},
		{"retention.ms", "abc", "", "Not a number of type LONG"},
		{"retention.ms", "9223372036854775808", "", "Not a number of type LONG"},
		{"retention.bytes", "-1", "-1", ""},
		{"retention.bytes", "1073741824000", "1073741824000", ""},
		{"retention.bytes", "-5", "", "at least -1"},
		{"max.message.bytes", "0", "0", ""},
		{"max.message.bytes", "2097152", "2097152", ""},
		{"max.message.bytes", "-1", "", "at least 0"},
		{"max.message.bytes", "3000000000", "", "Not a number of type INT"},
		{"cleanup.policy", "delete", "delete", ""},
		{"cleanup.policy", "compact", "compact", ""},
		{"cleanup.policy", "compact, delete", "compact,delete", ""},
		{"cleanup.policy", "delete,delete", "delete", ""},
		{"cleanup.policy", "", "", "must not be empty"},
		{"cleanup.policy", "delete,foo", "", "Invalid value foo"},
		{"segment.bytes", "14", "14", ""},
		{"segment.bytes", "13", "", "at least 14"},
		{"message.timestamp.type", "CreateTime", "CreateTime", ""},
		{"message.timestamp.type", "LogAppendTime", "LogAppendTime", ""},
		{"message.timestamp.type", "logappendtime", "", "String must be one of: CreateTime, LogAppendTime"},
		{"min.insync.replicas", "2", "2", ""},
		{"min.insync.replicas", "0", "", "at least 1"},
		{"compression.type", "zstd", "zstd", ""},
		{"compression.type", "brotli", "", "String must be one of"},
		{"segment.ms", "0", "", "at least 1"},
		{"segment.ms", "3600000", "3600000", ""},
		{"delete.retention.ms", "0", "0", ""},
		{"min.compaction.lag.ms", "-1", "", "at least 0"},
		{"unclean.leader.election.enable", "TRUE", "true", ""},
		{"unclean.leader.election.enable", "yes", "", "either true or false"},
		{"message.timestamp.difference.max.ms", "1000", "1000", ""},
		{"min.cleanable.dirty.ratio", "0.25", "0.25", ""},
		{"min.cleanable.dirty.ratio", "1.5", "", "between 0 and 1"},
		{"min.cleanable.dirty.ratio", "NaN", "", "Not a number of type DOUBLE"},
		{"no.such.config", "1", "", "Unknown topic config name: no.such.config"},
	}
	for _, tt := range tests {
		got, err := normalizeConfig(tt.key, tt.value)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("%s=%q: got %q, %v; want %q", tt.key, tt.value, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s=%q: error %v, want ErrInvalidConfig containing %q", tt.key, tt.value, err, tt.msg)
		}
	}
}

func TestTopicsResolveCreateConfigs(t *testing.T) {
	str := func(s string) *string { return &s }
	got, err := resolveCreateConfigs([]ConfigValue{
		{Key: "segment.bytes", Value: str("1048576")},
		{Key: "retention.ms", Value: nil}, // nil: default, skipped
		{Key: "cleanup.policy", Value: str("compact")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ConfigEntry{{Key: "cleanup.policy", Value: "compact"}, {Key: "segment.bytes", Value: "1048576"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v, want %v (sorted, nil skipped)", got, want)
	}
	if _, err := resolveCreateConfigs([]ConfigValue{{Key: "retention.ms", Value: str("1")}, {Key: "retention.ms", Value: str("2")}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("duplicate key: %v, want ErrInvalidConfig", err)
	}
	if _, err := resolveCreateConfigs([]ConfigValue{{Key: "bogus", Value: nil}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("unknown key with nil value: %v, want ErrInvalidConfig", err)
	}
}

func TestTopicsTopicConfigs(t *testing.T) {
	s := &Service{cfg: DefaultConfig()}
	got := s.TopicConfigs(&Topic{Configs: []ConfigEntry{{Key: "future.config", Value: "x"}, {Key: "retention.ms", Value: "1000"}}})
	if len(got) != len(topicConfigs)+1 {
		t.Fatalf("got %d configs, want %d", len(got), len(topicConfigs)+1)
	}
	for i, c := range got {
		if i > 0 && got[i-1].Key >= c.Key {
			t.Fatalf("not sorted at %s", c.Key)
		}
		switch c.Key {
		case "retention.ms":
			if c.Value != "1000" || c.Source != SourceTopic || c.Type != TypeLong {
				t.Errorf("retention.ms = %+v", c)
			}
		case "future.config":
			if c.Source != SourceTopic {
				t.Errorf("future.config = %+v", c)
			}
		case "segment.bytes":
			if c.Value != "1073741824" || c.Source != SourceDefault {
				t.Errorf("segment.bytes = %+v", c)
			}
		}
	}
}

func TestTopicsBrokerConfigs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DefaultPartitions = 3
	s := &Service{cfg: cfg}
	got := map[string]ResolvedConfig{}
	for _, c := range s.BrokerConfigs() {
		if !c.ReadOnly {
			t.Errorf("%s is not read-only", c.Key)
		}
		got[c.Key] = c
	}
	want := map[string]string{
		"num.partitions":             "3",
		"default.replication.factor": "0",
		"auto.create.topics.enable":  "true",
		"log.retention.ms":           "604800000",
		"log.retention.bytes":        "-1",
		"message.max.bytes":          "1048588",
		"log.cleanup.policy":         "delete",
		"log.segment.bytes":          "1073741824",
		"log.message.timestamp.type": "CreateTime",
		"min.insync.replicas":        "1",
	}
	if len(got) != len(want) {
		t.Errorf("got %d broker configs, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k].Value != v {
			t.Errorf("%s = %q, want %q", k, got[k].Value, v)
		}
	}
	if got["num.partitions"].Source != SourceStaticBroker || got["auto.create.topics.enable"].Source != SourceDefault {
		t.Errorf("sources: %+v", got)
	}
}

// TopicConfigInt reads the one table of defaults: the data path's limits
// come from here, so a default changed in topicConfigs changes them too.
func TestTopicsConfigInt(t *testing.T) {
	explicit := &Topic{Configs: []ConfigEntry{{Key: "max.message.bytes", Value: "2048"}, {Key: "retention.bytes", Value: "junk"}}}
	cases := []struct {
		t    *Topic
		key  string
		want int64
	}{
		{nil, "max.message.bytes", 1048588},
		{nil, "segment.bytes", 1 << 30},
		{nil, "retention.ms", 604800000},
		{nil, "retention.bytes", -1},
		{explicit, "max.message.bytes", 2048},
		{explicit, "segment.bytes", 1 << 30},
		{explicit, "retention.bytes", -1}, // unparsable: the default
	}
	for _, c := range cases {
		if got := TopicConfigInt(c.t, c.key); got != c.want {
			t.Errorf("TopicConfigInt(%v, %s) = %d, want %d", c.t != nil, c.key, got, c.want)
		}
	}
	for _, key := range []string{"nope", "cleanup.policy"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TopicConfigInt(%s) did not panic", key)
				}
			}()
			TopicConfigInt(nil, key)
		}()
	}
}

// cleanup.policy decides whether retention may delete (delete) and whether
// the topic is compacted (compact); the default is delete.
func TestTopicsCleanupPolicy(t *testing.T) {
	with := func(v string) *Topic { return &Topic{Configs: []ConfigEntry{{Key: "cleanup.policy", Value: v}}} }
	cases := []struct {
		t                 *Topic
		deletes, compacts bool
	}{
		{nil, true, false},
		{&Topic{}, true, false},
		{with("delete"), true, false},
		{with("compact"), false, true},
		{with("compact,delete"), true, true},
		{with("delete,compact"), true, true},
		{with(""), true, false},
	}
	for _, c := range cases {
		d, k := CleanupPolicy(c.t)
		if d != c.deletes || k != c.compacts {
			name := "default"
			if c.t != nil && len(c.t.Configs) > 0 {
				name = c.t.Configs[0].Value
			}
			t.Errorf("CleanupPolicy(%q) = delete %v compact %v, want %v %v", name, d, k, c.deletes, c.compacts)
		}
	}
}
