package node

import (
	"context"
	"errors"
	"time"

	"github.com/lni/dragonboat/v4"
)

// defaultTimeout bounds requests whose context has no deadline: Dragonboat
// requires one.
const defaultTimeout = 10 * time.Second

// attemptTimeout bounds one Dragonboat call. A request forwarded to a leader
// that has just died is lost without an error and would otherwise wait for
// the caller's whole deadline; three election timeouts leave time to notice
// the failure and elect a new leader.
func (n *Node) attemptTimeout() time.Duration {
	d := 3 * time.Duration(n.cfg.RTTMillisecond*n.cfg.ElectionRTT) * time.Millisecond
	return max(d, 500*time.Millisecond)
}

// retry runs f until it succeeds, fails permanently or ctx ends, each
// attempt with at most attemptTimeout. Errors after which the request
// certainly did not take effect (no leader yet, busy, dropped) are retried
// with back-off (dragonboat#266). An attempt that times out is retried only
// when safe is set: for a proposal the outcome is then unknown, so Propose
// returns ErrTimeout and leaves the decision to the caller. The final error
// is mapped to ErrNotReady, ErrTimeout or ErrClosed.
func (n *Node) retry(ctx context.Context, safe bool, f func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	backoff := time.Millisecond
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, n.attemptTimeout())
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		timedOut := errors.Is(err, dragonboat.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
		switch {
		case timedOut && ctx.Err() == nil:
			if !safe {
				return ErrTimeout
			}
		case !isRetriable(err):
			return mapError(err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return mapError(last)
		case <-n.ctx.Done():
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// isRetriable reports errors after which the request certainly did not take
// effect, so that running it again is safe. ErrTimeout is not one of them:
// a proposal may still commit (notes-dragonboat.md §1.6).
func isRetriable(err error) bool {
	return errors.Is(err, dragonboat.ErrSystemBusy) ||
		errors.Is(err, dragonboat.ErrShardNotReady) ||
		errors.Is(err, dragonboat.ErrShardNotInitialized) ||
		errors.Is(err, dragonboat.ErrAborted)
}

func mapError(err error) error {
	switch {
	case errors.Is(err, dragonboat.ErrClosed), errors.Is(err, dragonboat.ErrShardClosed):
		return ErrClosed
	case errors.Is(err, dragonboat.ErrTimeout), errors.Is(err, dragonboat.ErrTimeoutTooSmall),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ErrTimeout
	case errors.Is(err, dragonboat.ErrShardNotReady), errors.Is(err, dragonboat.ErrSystemBusy),
		errors.Is(err, dragonboat.ErrShardNotFound), errors.Is(err, dragonboat.ErrAborted),
		errors.Is(err, dragonboat.ErrRejected), errors.Is(err, dragonboat.ErrShardNotInitialized):
		return ErrNotReady
	}
	return err
}
