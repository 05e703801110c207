package consumergroup

import (
	"strings"
	"testing"
	"time"
)

// Validate is the one home of the group settings' ranges; its messages name
// the broker flag, since cmd/skiff reports them as they are.
func TestGroupsConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero values take the defaults: %v", err)
	}
	ok := DefaultConfig()
	ok.InitialRebalanceDelay = NoInitialRebalanceDelay
	if err := ok.Validate(); err != nil {
		t.Fatalf("no initial delay: %v", err)
	}
	for _, c := range []struct {
		mod  func(*Config)
		flag string
	}{
		{func(c *Config) { c.OffsetsTopicPartitions = -1 }, "--offsets.topic.num.partitions"},
		{func(c *Config) { c.OffsetsTopicPartitions = maxOffsetsPartitions + 1 }, "--offsets.topic.num.partitions"},
		{func(c *Config) { c.OffsetsTopicReplicationFactor = -1 }, "--offsets.topic.replication.factor"},
		{func(c *Config) { c.InitialRebalanceDelay = -time.Millisecond }, "--group.initial.rebalance.delay.ms"},
		{func(c *Config) { c.MinSessionTimeout = -time.Millisecond }, "--group.min.session.timeout.ms"},
		{func(c *Config) { c.MinSessionTimeout, c.MaxSessionTimeout = 2*time.Second, time.Second }, "--group.max.session.timeout.ms"},
		{func(c *Config) { c.ConsumerAssignors = []string{"sticky"} }, "assignor"},
	} {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: error %v, want one naming %s", cfg, err, c.flag)
		}
	}
	if _, err := New(DefaultConfig()); err == nil {
		t.Error("New accepted a config without Node and Topics")
	}
}
