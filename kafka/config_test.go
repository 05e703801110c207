package kafka

import (
	"strings"
	"testing"
	"time"
)

// Validate is the one home of the connection settings' ranges; its
// messages name the broker flag, since cmd/skiff reports them as they are.
func TestKafkaConfigValidate(t *testing.T) {
	for _, ok := range []Config{
		DefaultConfig(),
		{}, // zero values: the defaults
		{MaxRequestBytes: 1 << 10, IdleTimeout: time.Second},
		{MaxRequestBytes: 1 << 30},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	for _, c := range []struct {
		cfg  Config
		flag string
	}{
		{Config{MaxRequestBytes: 1023}, "--socket.request.max.bytes"},
		{Config{MaxRequestBytes: 1<<30 + 1}, "--socket.request.max.bytes"},
		{Config{MaxRequestBytes: -1}, "--socket.request.max.bytes"},
		{Config{IdleTimeout: 999 * time.Millisecond}, "--connections.max.idle.ms"},
		{Config{IdleTimeout: -time.Second}, "--connections.max.idle.ms"},
		{Config{FetchSessionCacheSlots: NoFetchSessions - 1}, "--max.incremental.fetch.session.cache.slots"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.flag)
		}
		if _, err := NewServer(c.cfg); err == nil {
			t.Errorf("%+v: NewServer accepted it", c.cfg)
		}
	}
}
