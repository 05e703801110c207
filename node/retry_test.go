package node

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/lni/dragonboat/v4"
)

// bareNode is enough of a Node for retry: a config for attemptTimeout and
// the node's own context.
func bareNode(t *testing.T) (*Node, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := &Node{cfg: Config{RTTMillisecond: 1, ElectionRTT: 10}, ctx: ctx, m: newNodeMetrics(metrics.NewSet())}
	n.m.init(1)
	return n, cancel
}

// script returns f that answers errs in order (nil after the last) and
// counts its calls.
func script(calls *atomic.Int32, errs ...error) func(context.Context) error {
	return func(context.Context) error {
		i := int(calls.Add(1)) - 1
		if i < len(errs) {
			return errs[i]
		}
		return nil
	}
}

func TestNodeRetry(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name      string
		safe      bool
		errs      []error
		want      error // nil: success
		wantCalls int32
	}{
		{"success", false, nil, nil, 1},
		{"not ready, busy, aborted, not initialized are retried", false,
			[]error{dragonboat.ErrShardNotReady, dragonboat.ErrSystemBusy, dragonboat.ErrAborted, dragonboat.ErrShardNotInitialized}, nil, 5},
		{"wrapped retriable errors are retried", false, []error{fmt.Errorf("x: %w", dragonboat.ErrSystemBusy)}, nil, 2},
		{"unknown error is returned at once", false, []error{boom}, boom, 1},
		{"rejected is not retried", false, []error{dragonboat.ErrRejected}, ErrNotReady, 1},
		{"closed is not retried", true, []error{dragonboat.ErrClosed}, ErrClosed, 1},
		{"timeout of an unsafe request: outcome unknown", false, []error{dragonboat.ErrTimeout}, ErrTimeout, 1},
		{"attempt deadline of an unsafe request: outcome unknown", false, []error{context.DeadlineExceeded}, ErrTimeout, 1},
		{"timeout of a safe request is retried", true, []error{dragonboat.ErrTimeout, context.DeadlineExceeded}, nil, 3},
		{"busy then timeout, unsafe", false, []error{dragonboat.ErrSystemBusy, dragonboat.ErrTimeout}, ErrTimeout, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := bareNode(t)
			var calls atomic.Int32
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := n.retry(ctx, tc.safe, script(&calls, tc.errs...))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("retry = %v, want %v", err, tc.want)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d attempts, want %d", got, tc.wantCalls)
			}
		})
	}
}

// Every attempt gets its own deadline, at most attemptTimeout away, even
// when the caller's context has none; an attempt that hangs until that
// deadline is retried when safe and reported as ErrTimeout when not.
func TestNodeRetryAttemptDeadline(t *testing.T) {
	n, _ := bareNode(t)
	limit := n.attemptTimeout()
	for _, safe := range []bool{false, true} {
		var calls atomic.Int32
		start := time.Now()
		err := n.retry(context.Background(), safe, func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > limit {
				t.Errorf("attempt deadline %v (set %v), want at most %v away", time.Until(dl), ok, limit)
			}
			if calls.Add(1) == 1 {
				<-ctx.Done() // a request lost on its way to a dead leader
				return ctx.Err()
			}
			return nil
		})
		switch {
		case safe && (err != nil || calls.Load() != 2):
			t.Errorf("safe: %v after %d attempts, want success after 2", err, calls.Load())
		case !safe && (!errors.Is(err, ErrTimeout) || calls.Load() != 1):
			t.Errorf("unsafe: %v after %d attempts, want ErrTimeout after 1", err, calls.Load())
		}
		if d := time.Since(start); d < limit {
			t.Errorf("the hanging attempt ended after %v, before its deadline %v", d, limit)
		}
	}
}

// Retriable errors are retried until the caller's context ends; the last
// error is then mapped.
func TestNodeRetryUntilContextEnds(t *testing.T) {
	n, _ := bareNode(t)
	for _, tc := range []struct {
		last error
		want error
	}{
		{dragonboat.ErrShardNotReady, ErrNotReady},
		{dragonboat.ErrSystemBusy, ErrNotReady},
	} {
		var calls atomic.Int32
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := n.retry(ctx, false, func(context.Context) error { calls.Add(1); return tc.last })
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%v until the deadline: %v, want %v", tc.last, err, tc.want)
		}
		if calls.Load() < 2 {
			t.Errorf("%v: %d attempts before the deadline, want several", tc.last, calls.Load())
		}
	}
	// A safe request whose attempts time out until the caller's deadline
	// reports ErrTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := n.retry(ctx, true, func(context.Context) error { return dragonboat.ErrTimeout }); !errors.Is(err, ErrTimeout) {
		t.Errorf("safe timeouts until the deadline: %v, want ErrTimeout", err)
	}
	// A cancelled caller stops the retries too.
	cctx, ccancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := n.retry(cctx, false, func(context.Context) error {
		if calls.Add(1) == 3 {
			ccancel()
		}
		return dragonboat.ErrShardNotReady
	})
	if !errors.Is(err, ErrNotReady) || calls.Load() != 3 {
		t.Errorf("cancelled: %v after %d attempts, want ErrNotReady after 3", err, calls.Load())
	}
}

// Closing the node ends a retrying request with ErrClosed.
func TestNodeRetryNodeClosed(t *testing.T) {
	n, closeNode := bareNode(t)
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := n.retry(ctx, false, func(context.Context) error {
		if calls.Add(1) == 2 {
			closeNode()
		}
		return dragonboat.ErrSystemBusy
	})
	if !errors.Is(err, ErrClosed) || calls.Load() != 2 {
		t.Errorf("node closed while retrying: %v after %d attempts, want ErrClosed after 2", err, calls.Load())
	}
}

func TestNodeMapError(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		in, want error
	}{
		{dragonboat.ErrClosed, ErrClosed},
		{dragonboat.ErrShardClosed, ErrClosed},
		{dragonboat.ErrTimeout, ErrTimeout},
		{dragonboat.ErrTimeoutTooSmall, ErrTimeout},
		{context.DeadlineExceeded, ErrTimeout},
		{context.Canceled, ErrTimeout},
		{dragonboat.ErrShardNotReady, ErrNotReady},
		{dragonboat.ErrSystemBusy, ErrNotReady},
		{dragonboat.ErrShardNotFound, ErrNotReady},
		{dragonboat.ErrAborted, ErrNotReady},
		{dragonboat.ErrRejected, ErrNotReady},
		{dragonboat.ErrShardNotInitialized, ErrNotReady},
		{fmt.Errorf("wrapped: %w", dragonboat.ErrShardNotReady), ErrNotReady},
		{boom, boom},
	} {
		if got := mapError(tc.in); got != tc.want {
			t.Errorf("mapError(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// Only errors after which the request certainly did not take effect
	// are retriable; a timeout is not (a proposal may still commit).
	for err, want := range map[error]bool{
		dragonboat.ErrShardNotReady: true, dragonboat.ErrSystemBusy: true, dragonboat.ErrAborted: true,
		dragonboat.ErrShardNotInitialized: true, dragonboat.ErrTimeout: false, dragonboat.ErrRejected: false,
		dragonboat.ErrClosed: false, context.DeadlineExceeded: false, boom: false,
	} {
		if got := isRetriable(err); got != want {
			t.Errorf("isRetriable(%v) = %v, want %v", err, got, want)
		}
	}
}
