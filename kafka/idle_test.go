package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// connections.max.idle.ms: a connection that sends nothing, or only part of
// a frame, is closed after the idle timeout; one that keeps sending
// requests is not.
func TestKafkaIdleConnectionsClosed(t *testing.T) {
	// One second is the smallest idle timeout Config.Validate accepts.
	ts := newTestServer(t, func(c *Config) { c.IdleTimeout = time.Second })

	silent := dialRaw(t, ts.addr)
	start := time.Now()
	silent.expectClosed()
	if d := time.Since(start); d < 950*time.Millisecond {
		t.Fatalf("silent connection closed after %s, before the idle timeout", d)
	}

	half := dialRaw(t, ts.addr)
	frame := encodeRequest(1, nil, kmsg.NewPtrApiVersionsRequest())
	half.write(frame[:len(frame)-3]) // a half-written request
	half.expectClosed()

	busy := dialRaw(t, ts.addr)
	for range 5 {
		busy.roundTrip(kmsg.NewPtrApiVersionsRequest())
		time.Sleep(300 * time.Millisecond) // the client's own pace between requests, under the timeout
	}
}
