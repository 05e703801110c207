package kafka

// Fetch sessions (KIP-227), as Kafka's FetchSession.scala keeps them:
//
//   - A Fetch v7+ with SessionEpoch 0 is a full fetch that asks for a
//     session: after answering every partition, the broker caches the
//     partitions (fetch offset, limits, and the high watermark, last stable
//     and log start offsets it answered) under a new random SessionID.
//     Epoch -1 is a full fetch without a session. Either closes the session
//     named by a non-zero SessionID.
//   - A later request names the session and its next epoch (1, 2, ...,
//     wrapping to 1). It lists only the partitions whose fetch state
//     changed (added or updated), and ForgottenTopics removes partitions;
//     the broker fetches every partition of the session and answers only
//     those with something new: records, a changed high watermark, last
//     stable or log start offset, or an error. Answered partitions move to
//     the end of the session's order, so that MaxBytes does not starve the
//     others.
//   - An unknown SessionID is FETCH_SESSION_ID_NOT_FOUND and a wrong epoch
//     INVALID_FETCH_SESSION_EPOCH (top level, no topics): the client then
//     starts over with a full fetch. A session opened with topic names (v12
//     and before) cannot continue with topic IDs (v13+) and vice versa:
//     FETCH_SESSION_TOPIC_ID_ERROR.
//   - The cache holds max.incremental.fetch.session.cache.slots sessions
//     (1000) per broker. When it is full a new session takes the place of
//     the least recently used one if that one was idle for
//     min.incremental.fetch.session.eviction.ms (2 min), otherwise of the
//     smallest session if the new one has more partitions; otherwise the
//     full fetch is answered with SessionID 0 (no session), as Kafka does.

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// DefaultFetchSessionCacheSlots is Kafka's
// max.incremental.fetch.session.cache.slots default.
const DefaultFetchSessionCacheSlots = 1000

// fetchSessionEvictAfter is Kafka's min.incremental.fetch.session.eviction.ms.
const fetchSessionEvictAfter = 2 * time.Minute

// sessionKey names a partition of a session: by topic name (v7-12) or by
// topic ID (v13+), never both.
type sessionKey struct {
	topic     string
	id        [16]byte
	partition int32
}

// sessionPartition is a partition's fetch state in a session.
type sessionPartition struct {
	key         sessionKey
	fetchOffset int64
	maxBytes    int32
	leaderEpoch int32
	// What the last answer that included the partition said (-1 before).
	hwm, lso, logStart int64
}

// fetchSession is one cached session. mu is held while a request of the
// session runs, so requests of one session are serialized (a client sends
// the next only after the answer anyway).
type fetchSession struct {
	id int32

	mu       sync.Mutex
	epoch    int32 // the epoch the next request must carry
	topicIDs bool  // keyed by topic ID (opened at v13+)
	parts    map[sessionKey]*sessionPartition
	order    []*sessionPartition // fetch order

	// Guarded by the cache's mu.
	evicted  bool
	lastUsed time.Time
	size     int // partitions, as of the last request (eviction)
}

// fetchSessionCache is a broker's sessions, keyed by SessionID.
type fetchSessionCache struct {
	slots int // 0: no sessions

	mu       sync.Mutex
	sessions map[int32]*fetchSession
	evicted  int64 // sessions evicted to make room
}

func newFetchSessionCache(slots int) *fetchSessionCache {
	return &fetchSessionCache{slots: slots, sessions: map[int32]*fetchSession{}}
}

// get returns the session id, or nil.
func (c *fetchSessionCache) get(id int32) *fetchSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}

// remove drops session id, if cached.
func (c *fetchSessionCache) remove(id int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[id]; s != nil {
		s.evicted = true
		delete(c.sessions, id)
	}
}

// len is the number of cached sessions.
func (c *fetchSessionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

// touch records a use of s with size partitions.
func (c *fetchSessionCache) touch(s *fetchSession, size int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.lastUsed, s.size = now, size
}

// create caches s under a new ID if there is room (evicting a session if
// Kafka's rules allow) and reports whether it did.
func (c *fetchSessionCache) create(s *fetchSession, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots <= 0 {
		return false
	}
	if len(c.sessions) >= c.slots && !c.evictFor(len(s.parts), now) {
		return false
	}
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id := int32(binary.BigEndian.Uint32(b[:]) &^ (1 << 31))
		if id != 0 && c.sessions[id] == nil {
			s.id = id
			break
		}
	}
	s.lastUsed, s.size = now, len(s.parts)
	c.sessions[s.id] = s
	return true
}

// evictFor frees a slot for a new session of size partitions: the least
// recently used session if it is stale, otherwise the smallest one if it
// is smaller than the new one. Caller holds c.mu.
func (c *fetchSessionCache) evictFor(size int, now time.Time) bool {
	var lru, smallest *fetchSession
	for _, s := range c.sessions {
		if lru == nil || s.lastUsed.Before(lru.lastUsed) {
			lru = s
		}
		if smallest == nil || s.size < smallest.size || (s.size == smallest.size && s.lastUsed.Before(smallest.lastUsed)) {
			smallest = s
		}
	}
	victim := smallest
	switch {
	case lru == nil:
		return false
	case now.Sub(lru.lastUsed) > fetchSessionEvictAfter:
		victim = lru
	case smallest.size >= size:
		return false
	}
	victim.evicted = true
	delete(c.sessions, victim.id)
	c.evicted++
	return true
}

// nextSessionEpoch is Kafka's FetchMetadata.nextEpoch: 1 after
// MaxInt32 (0 and -1 are the full-fetch epochs).
func nextSessionEpoch(e int32) int32 {
	if e == 1<<31-1 {
		return 1
	}
	return e + 1
}

// upsert adds or updates a partition; a new one goes to the end of the
// order with nothing answered yet.
func (s *fetchSession) upsert(k sessionKey, fetchOffset int64, maxBytes, leaderEpoch int32) *sessionPartition {
	p := s.parts[k]
	if p == nil {
		p = &sessionPartition{key: k, hwm: -1, lso: -1, logStart: -1}
		s.parts[k] = p
		s.order = append(s.order, p)
	}
	p.fetchOffset, p.maxBytes, p.leaderEpoch = fetchOffset, maxBytes, leaderEpoch
	return p
}

// forget removes the partitions of keys from the session.
func (s *fetchSession) forget(keys []sessionKey) {
	if len(keys) == 0 {
		return
	}
	for _, k := range keys {
		delete(s.parts, k)
	}
	kept := s.order[:0]
	for _, p := range s.order {
		if s.parts[p.key] == p {
			kept = append(kept, p)
		}
	}
	clear(s.order[len(kept):])
	s.order = kept
}

// moveToEnd puts the answered partitions after the others, keeping the
// relative order of each set.
func (s *fetchSession) moveToEnd(answered map[*sessionPartition]bool) {
	if len(answered) == 0 {
		return
	}
	out := make([]*sessionPartition, 0, len(s.order))
	for _, p := range s.order {
		if !answered[p] {
			out = append(out, p)
		}
	}
	for _, p := range s.order {
		if answered[p] {
			out = append(out, p)
		}
	}
	s.order = out
}

// cached reports whether s is still in the cache (not evicted or closed).
func (c *fetchSessionCache) cached(s *fetchSession) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !s.evicted
}

// evictions is the number of sessions evicted to make room so far.
func (c *fetchSessionCache) evictions() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evicted
}
