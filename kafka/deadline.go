package kafka

import (
	"context"
	"time"
)

const (
	// readTimeout bounds requests without a timeout field (Metadata,
	// DescribeConfigs, DescribeCluster, AlterConfigs), including a
	// Metadata auto-creation. It stays below kgo's default
	// RequestTimeoutOverhead (10s), so the client gets our answer rather
	// than its own timeout.
	readTimeout = 8 * time.Second
	// defaultAdminTimeout replaces a TimeoutMillis <= 0. Kafka reads 0 as
	// "do not wait for completion", but Skiff always answers after the
	// commit (DESIGN §4); clients wait TimeoutMillis plus their overhead,
	// so the default matches readTimeout.
	defaultAdminTimeout = readTimeout
	// maxAdminTimeout caps a client's TimeoutMillis.
	maxAdminTimeout = 2 * time.Minute
)

// adminContext derives a handler context from a request's TimeoutMillis.
func adminContext(parent context.Context, timeoutMillis int32) (context.Context, context.CancelFunc) {
	d := defaultAdminTimeout
	if timeoutMillis > 0 {
		d = min(time.Duration(timeoutMillis)*time.Millisecond, maxAdminTimeout)
	}
	return context.WithTimeout(parent, d)
}

// readContext is the context for requests without a timeout field.
func readContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, readTimeout)
}

// maxFetchWait caps a Fetch's MaxWaitMillis, like maxAdminTimeout.
const maxFetchWait = maxAdminTimeout

// fetchWait is a Fetch's MaxWaitMillis as a duration in [0, maxFetchWait].
func fetchWait(maxWaitMillis int32) time.Duration {
	return min(time.Duration(max(maxWaitMillis, 0))*time.Millisecond, maxFetchWait)
}

// fetchContext is the context for a Fetch that may wait maxWait for data:
// the wait plus readTimeout to read and answer. kgo gives a fetch
// MaxWait plus its RequestTimeoutOverhead (10s), which is more.
func fetchContext(parent context.Context, maxWait time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, maxWait+readTimeout)
}
