package datapath

import (
	"testing"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Retention deletes from delete and compact,delete topics, never from a
// compact-only one (__consumer_offsets included, whatever its retention
// settings say), and leaves out topics without any limit.
func TestRecordsRetentionPlan(t *testing.T) {
	topic := func(kv ...string) *topics.Topic {
		tp := &topics.Topic{Name: "t"}
		for i := 0; i < len(kv); i += 2 {
			tp.Configs = append(tp.Configs, topics.ConfigEntry{Key: kv[i], Value: kv[i+1]})
		}
		return tp
	}
	k := datagroup.PartitionKey{Partition: 3}
	cases := []struct {
		name   string
		t      *topics.Topic
		ok     bool
		ms, by int64
	}{
		{"defaults (delete, 7 days)", topic(), true, 604800000, -1},
		{"delete", topic("cleanup.policy", "delete", "retention.ms", "1"), true, 1, -1},
		{"compact,delete", topic("cleanup.policy", "compact,delete", "retention.ms", "1", "retention.bytes", "10"), true, 1, 10},
		{"compact with the default retention", topic("cleanup.policy", "compact"), false, 0, 0},
		{"compact with tiny limits", topic("cleanup.policy", "compact", "retention.ms", "1", "retention.bytes", "0"), false, 0, 0},
		{"__consumer_offsets", topic("cleanup.policy", "compact", "retention.ms", "-1", "retention.bytes", "-1"), false, 0, 0},
		{"delete without limits", topic("retention.ms", "-1"), false, 0, 0},
	}
	for _, c := range cases {
		rp, ok := retentionPart(c.t, k)
		if ok != c.ok {
			t.Errorf("%s: planned %v, want %v", c.name, ok, c.ok)
			continue
		}
		if ok && (rp.Key != k || rp.RetentionMs != c.ms || rp.RetentionBytes != c.by || rp.SegmentMs != 604800000) {
			t.Errorf("%s: part %+v, want ms %d bytes %d segment.ms 604800000", c.name, rp, c.ms, c.by)
		}
	}
}
