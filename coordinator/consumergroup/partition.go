package consumergroup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// offsetsSegmentBytes is offsets.topic.segment.bytes (Kafka's 100 MiB).
const offsetsSegmentBytes = 100 << 20

// readChunk is how much of the log one replay step reads.
const readChunk = 1 << 20

// partition is one partition of __consumer_offsets that this node leads:
// its groups, loaded from the log at term `term`.
type partition struct {
	s       *Service
	index   int32
	topicID TopicID
	shard   uint64
	term    uint64
	key     datagroup.PartitionKey
	done    chan struct{} // closed by unload

	// writeMu: writes hold it shared while they propose; compaction holds
	// it exclusively, so that nothing is appended between the state it
	// snapshots and the snapshot.
	writeMu    sync.RWMutex
	compacting bool // guarded by mu

	// loaded and broken are atomic: refresh and request routing read them
	// without waiting for a replay that holds mu.
	loaded atomic.Bool
	broken atomic.Bool // loading failed: refresh drops it and starts over

	mu      sync.Mutex
	closed  bool
	next    int64 // next log offset to apply
	groups  map[string]*group
	skipped int // batches replay could not read (logged once)
}

func newPartition(s *Service, index int32, topicID TopicID, shard uint64, term uint64) *partition {
	return &partition{
		s: s, index: index, topicID: topicID, shard: shard, term: term,
		key:    datagroup.PartitionKey{Topic: topicID, Partition: index},
		done:   make(chan struct{}),
		groups: map[string]*group{},
	}
}

// isLoaded reports whether the partition's groups may be served (the
// handlers check closed under mu).
func (p *partition) isLoaded() bool { return p.loaded.Load() }

func (p *partition) failed() bool { return p.broken.Load() }

// load makes the local replica current and replays the partition's log:
// a no-op proposal first (once it is applied here, everything committed
// before this node became leader is applied too), then the log from its
// start. Members of groups that were stable get a fresh session timeout.
func (p *partition) load(ctx context.Context) {
	start := time.Now()
	log := p.s.log.With().Int32("partition", p.index).Uint64("shard", p.shard).Uint64("term", p.term).Logger()
	backoff := 20 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := p.s.cfg.Node.ProposeDataGroup(pctx, p.shard, datagroup.Produce{})
		cancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-p.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if err := p.catchUp(true); err != nil {
		log.Warn().Err(err).Msg("loading offsets partition failed; retrying")
		p.broken.Store(true)
		p.s.wake()
		return
	}
	now := p.s.cfg.Now()
	for _, g := range p.groups {
		g.afterLoad(now)
	}
	p.loaded.Store(true)
	log.Info().Int("groups", len(p.groups)).Int64("end_offset", p.next).Dur("took", time.Since(start)).
		Msg("coordinator for offsets partition")
}

// unload drops the partition's state: waiting requests get
// NOT_COORDINATOR and every timer stops. Caller holds Service.mu.
func (p *partition) unload() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.done)
	for _, g := range p.groups {
		g.stopTimers()
		g.failWaiters(ErrNotCoordinator)
	}
}

// catchUp applies the log from p.next to the local high watermark. While
// loading, group metadata records rebuild the groups; afterwards the
// in-memory groups are the authority for membership and only offset
// records are applied (including those of this node's own writes). Caller
// holds p.mu.
func (p *partition) catchUp(loading bool) error {
	sm, ok := p.s.cfg.Node.DataGroupReplica(p.shard)
	if !ok {
		return errors.New("consumergroup: no local replica of the offsets partition's data group")
	}
	for {
		data, hwm, logStart, err := sm.Read(p.key, p.next, readChunk)
		switch {
		case errors.Is(err, datagroup.ErrUnknownPartition):
			return nil // never written
		case errors.Is(err, datagroup.ErrOffsetOutOfRange) && p.next < logStart:
			p.next = logStart // records before the log start were deleted
			continue
		case err != nil:
			return err
		}
		if len(data) == 0 {
			return nil
		}
		next, skipped, err := decodeBatches(data, func(off int64, key, value []byte) {
			if off < p.next {
				return
			}
			e, err := decodeEntry(off, key, value)
			if err != nil {
				p.skipped++
				if p.skipped == 1 {
					p.s.log.Warn().Err(err).Int32("partition", p.index).Int64("offset", off).Msg("skipping records of __consumer_offsets")
				}
				return
			}
			p.apply(e, loading)
		})
		if err != nil {
			return fmt.Errorf("consumergroup: offsets partition %d at offset %d: %w", p.index, p.next, err)
		}
		p.skipped += skipped
		if next <= p.next {
			return fmt.Errorf("consumergroup: offsets partition %d: replay made no progress at %d", p.index, p.next)
		}
		p.next = next
		if p.next >= hwm {
			return nil
		}
	}
}

// apply folds one log record into the in-memory state.
func (p *partition) apply(e logEntry, loading bool) {
	g := p.groups[e.group]
	if !e.isGroup {
		if g == nil {
			if e.commit == nil {
				return
			}
			g = p.newGroup(e.group)
		}
		if e.commit == nil {
			g.deleteOffset(e.topic, e.partition)
			p.maybeForget(g)
			return
		}
		c := *e.commit
		g.setOffset(e.topic, e.partition, &c)
		return
	}
	if !loading {
		// This coordinator's own writes: memory is ahead of them for
		// membership; only the stored record is kept (for compaction).
		if g != nil {
			g.metaValue = e.meta
		}
		return
	}
	if e.meta == nil {
		if g != nil {
			g.resetMembership()
			g.hasMeta = false
			g.metaValue = nil
			p.maybeForget(g)
		}
		return
	}
	if g == nil {
		g = p.newGroup(e.group)
	}
	g.loadMetadata(e.meta)
	g.metaValue = e.meta
}

// maybeForget drops a group that holds nothing: no members, no offsets
// and no stored metadata.
func (p *partition) maybeForget(g *group) {
	if g.isEmptyShell() {
		g.stopTimers()
		delete(p.groups, g.name)
	}
}

// write appends recs to the partition as one proposal (one batch), waits
// for the commit and applies the records in memory. The caller does not
// hold p.mu.
func (p *partition) write(ctx context.Context, recs []kv) error {
	if len(recs) == 0 {
		return nil
	}
	p.writeMu.RLock()
	defer p.writeMu.RUnlock()
	_, err := p.append(ctx, recs)
	return err
}

// append proposes recs as one batch and returns its base offset. The
// caller holds writeMu.
func (p *partition) append(ctx context.Context, recs []kv) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	now := p.s.cfg.Now().UnixMilli()
	cmd := datagroup.Produce{
		TimestampMs: now,
		LeaderEpoch: int32(min(p.term, 1<<31-1)),
		Parts: []datagroup.ProducePart{{
			Key: p.key, MaxMessageBytes: 1<<31 - 1, SegmentBytes: offsetsSegmentBytes,
			Records: encodeBatch(now, recs),
		}},
	}
	res, err := p.s.cfg.Node.ProposeDataGroup(ctx, p.shard, cmd)
	if err != nil {
		return 0, writeErr(err)
	}
	if len(res.Parts) != 1 {
		return 0, fmt.Errorf("%w: offsets write returned %d results", ErrCoordinatorNotAvailable, len(res.Parts))
	}
	switch res.Parts[0].Code {
	case datagroup.CodeOK:
	case datagroup.CodeMessageTooLarge:
		return 0, ErrInvalidCommitOffsetSize
	default:
		return 0, fmt.Errorf("%w: offsets write failed with data-group code %d", ErrCoordinatorNotAvailable, res.Parts[0].Code)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.catchUp(false); err != nil {
		p.s.log.Warn().Err(err).Int32("partition", p.index).Msg("reading back offsets write failed")
	}
	return res.Parts[0].BaseOffset, nil
}

// writeTimeout bounds one write to the offsets log.
const writeTimeout = 15 * time.Second

// compactBatch is the most records one compaction proposal carries.
const compactBatch = 5000

// liveRecords counts the records the partition's state needs.
func (p *partition) liveRecords() int64 {
	var n int64
	for _, g := range p.groups {
		for _, ps := range g.offsets {
			n += int64(len(ps))
		}
		if g.metaValue != nil {
			n++
		}
	}
	return n
}

// maybeCompact starts a compaction when the log holds more than
// CompactMinRecords and over twice the live records (Kafka's default
// min.cleanable.dirty.ratio, 0.5). Caller holds Service.mu.
func (p *partition) maybeCompact() {
	if !p.loaded.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.compacting {
		return
	}
	sm, ok := p.s.cfg.Node.DataGroupReplica(p.shard)
	if !ok {
		return
	}
	start, end := sm.Offsets(p.key)
	span := end - start
	if span <= p.s.cfg.CompactMinRecords || span <= 2*p.liveRecords() {
		return
	}
	p.compacting = true
	p.s.wg.Add(1)
	go func() {
		defer p.s.wg.Done()
		err := p.compact(p.s.ctx)
		p.mu.Lock()
		p.compacting = false
		p.mu.Unlock()
		if err != nil && p.s.ctx.Err() == nil {
			p.s.log.Warn().Err(err).Int32("partition", p.index).Msg("compacting offsets partition failed")
		}
	}()
}

// compact rewrites the partition's live state (every commit and the last
// stored metadata of every group) at the end of its log, then deletes the
// records before it: Kafka compacts __consumer_offsets to bound the time a
// new coordinator spends replaying; this does the same in the log's own
// terms. Writes wait while it runs.
func (p *partition) compact(ctx context.Context) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	if err := p.catchUp(false); err != nil {
		p.mu.Unlock()
		return err
	}
	var recs []kv
	for _, name := range sortedKeys(p.groups) {
		g := p.groups[name]
		if g.metaValue != nil {
			recs = append(recs, kv{Key: groupKey(name), Value: g.metaValue.AppendTo(nil)})
		}
		for _, topic := range sortedKeys(g.offsets) {
			for part, c := range g.offsets[topic] {
				recs = append(recs, offsetRecord(name, topic, part, *c))
			}
		}
	}
	before := p.next
	p.mu.Unlock()
	first := int64(-1)
	for len(recs) > 0 {
		n := min(len(recs), compactBatch)
		base, err := p.append(ctx, recs[:n])
		if err != nil {
			return err
		}
		if first < 0 {
			first = base
		}
		recs = recs[n:]
	}
	if first < 0 {
		first = before // nothing live: everything before goes
	}
	dctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	res, err := p.s.cfg.Node.ProposeDataGroup(dctx, p.shard, datagroup.DeleteRecords{Parts: []datagroup.DeleteRecordsPart{{Key: p.key, Offset: first}}})
	if err != nil {
		return writeErr(err)
	}
	if len(res.Parts) != 1 || res.Parts[0].Code != datagroup.CodeOK {
		return fmt.Errorf("%w: deleting compacted records: %+v", ErrCoordinatorNotAvailable, res.Parts)
	}
	p.s.log.Info().Int32("partition", p.index).Int64("log_start", res.Parts[0].LogStartOffset).Int64("before", before).
		Msg("compacted offsets partition")
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeErr maps a proposal failure the way Kafka maps a failed append to
// the offsets topic: nothing written (not leader) is NOT_COORDINATOR, an
// unknown outcome COORDINATOR_NOT_AVAILABLE; both make clients find the
// coordinator again and retry.
func writeErr(err error) error {
	switch {
	case errors.Is(err, node.ErrNotReady), errors.Is(err, node.ErrClosed):
		return fmt.Errorf("%w: %v", ErrNotCoordinator, err)
	case errors.Is(err, node.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return fmt.Errorf("%w: %v", ErrCoordinatorNotAvailable, err)
}

// groupValue is the GroupMetadataValue record of g with the given
// assignments (member ID -> assignment).
func groupValue(g *group, nowMs int64) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		v.Protocol = kmsg.StringPtr(g.protocol)
	}
	if g.leader != "" {
		v.Leader = kmsg.StringPtr(g.leader)
	}
	v.CurrentStateTimestamp = nowMs
	for _, m := range g.sortedMembers() {
		mv := kmsg.NewGroupMetadataValueMember()
		mv.MemberID, mv.InstanceID, mv.ClientID, mv.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		mv.RebalanceTimeoutMillis = int32(m.rebalanceTimeout / time.Millisecond)
		mv.SessionTimeoutMillis = int32(m.sessionTimeout / time.Millisecond)
		mv.Subscription = m.metadataFor(g.protocol)
		mv.Assignment = m.assignment
		v.Members = append(v.Members, mv)
	}
	return v.AppendTo(nil)
}
