package chaostest

import (
	"errors"
	"fmt"
	"time"
)

// permanent marks an error that WaitFor must not wait out.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that WaitFor returns it at once.
func Permanent(err error) error { return permanent{err} }

// WaitFor polls cond every 20 ms until it returns nil or timeout passes,
// and returns the last error then. A Permanent error ends the wait early.
func WaitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %s: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for state
	}
}
