package datagroup

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// ProducerExpirationMs is how long a producer ID's idempotence state is kept
// after its last append (Kafka's producer.id.expiration.ms default). A
// Retention command removes the expired states of its partitions, using
// its NowMs; a producer that appends after that is treated as new.
const ProducerExpirationMs int64 = 24 * 60 * 60 * 1000

// apply applies one decoded command. Errors are storage failures only.
func (s *StateMachine) apply(t *tx, cmd Command, _ uint64) ([]PartResult, error) {
	switch c := cmd.(type) {
	case Produce:
		return s.applyProduce(t, &c)
	case DeleteRecords:
		return s.applyDeleteRecords(t, &c)
	case Retention:
		return s.applyRetention(t, &c)
	case DeletePartitions:
		return s.applyDeletePartitions(t, &c)
	}
	return nil, fmt.Errorf("datagroup: no apply function for %T", cmd)
}

func failed(code Code, p *partition) PartResult {
	r := PartResult{Code: code, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
	if p != nil {
		r.LogStartOffset = p.start
	}
	return r
}

func (s *StateMachine) applyProduce(t *tx, c *Produce) ([]PartResult, error) {
	res := make([]PartResult, len(c.Parts))
	for i := range c.Parts {
		r, err := s.producePart(t, c, &c.Parts[i])
		if err != nil {
			return nil, fmt.Errorf("produce to %s: %w", dirName(c.Parts[i].Key), err)
		}
		res[i] = r
	}
	return res, nil
}

// batchPlan is the fate of one batch of a ProducePart.
type batchPlan struct {
	h    grouplog.BatchHeader
	dup  bool  // a retry of an appended batch: not appended again
	base int64 // the offset assigned, or the duplicate's original one
}

// pidState is a producer's state as the part's batches are planned.
type pidState struct {
	pid   int64
	cur   *producer // nil: unknown producer
	owned bool      // cur is a private copy holding this part's changes
}

// planProduce validates every batch of a part against the partition's
// state (p may be nil: not created yet) without changing anything, and
// assigns offsets. A code other than CodeOK rejects the whole part.
func planProduce(p *partition, pt *ProducePart) (Code, []batchPlan, []pidState) {
	if len(pt.Records) == 0 {
		return CodeInvalidRecord, nil, nil
	}
	hs, err := grouplog.ParseBatches(pt.Records)
	if errors.Is(err, grouplog.ErrUnsupportedMagic) {
		return CodeUnsupportedMagic, nil, nil
	}
	if err != nil || len(hs) == 0 {
		return CodeCorruptMessage, nil, nil
	}
	next := int64(0)
	var known map[int64]*producer
	if p != nil {
		next, known = p.next, p.producers
	}
	plans := make([]batchPlan, len(hs))
	var pids []pidState
	for i, h := range hs {
		switch {
		case pt.MaxMessageBytes > 0 && h.Size() > int(pt.MaxMessageBytes):
			return CodeMessageTooLarge, nil, nil
		case h.RecordCount == 0 || h.IsTransactional() || h.IsControl():
			return CodeInvalidRecord, nil, nil
		case next > math.MaxInt64-int64(h.LastOffsetDelta)-1:
			return CodeInvalidRecord, nil, nil
		}
		plans[i] = batchPlan{h: h, base: next}
		if h.ProducerID >= 0 {
			if h.ProducerEpoch < 0 || h.BaseSequence < 0 {
				return CodeInvalidRecord, nil, nil
			}
			j := slices.IndexFunc(pids, func(x pidState) bool { return x.pid == h.ProducerID })
			if j < 0 {
				pids = append(pids, pidState{pid: h.ProducerID, cur: known[h.ProducerID]})
				j = len(pids) - 1
			}
			ps := &pids[j]
			lastSeq := incSeq(h.BaseSequence, h.LastOffsetDelta)
			switch cur := ps.cur; {
			case cur == nil || len(cur.batches) == 0:
				// Unknown producer (or its state expired): any sequence.
				ps.cur, ps.owned = &producer{epoch: h.ProducerEpoch}, true
			case h.ProducerEpoch < cur.epoch:
				return CodeInvalidProducerEpoch, nil, nil
			case h.ProducerEpoch > cur.epoch:
				if h.BaseSequence != 0 {
					return CodeOutOfOrderSequence, nil, nil
				}
				ps.cur, ps.owned = &producer{epoch: h.ProducerEpoch}, true
			default:
				if k := slices.IndexFunc(cur.batches, func(e seqEntry) bool {
					return e.firstSeq == h.BaseSequence && e.lastSeq == lastSeq
				}); k >= 0 {
					plans[i].dup, plans[i].base = true, cur.batches[k].base
					continue
				}
				if h.BaseSequence != incSeq(cur.batches[len(cur.batches)-1].lastSeq, 1) {
					return CodeOutOfOrderSequence, nil, nil
				}
				if !ps.owned {
					ps.cur, ps.owned = cur.clone(), true
				}
			}
			last := next + int64(h.LastOffsetDelta)
			ps.cur.batches = append(ps.cur.batches, seqEntry{firstSeq: h.BaseSequence, lastSeq: lastSeq, base: next, last: last})
			if n := len(ps.cur.batches); n > maxSeqEntries {
				ps.cur.batches = slices.Delete(ps.cur.batches, 0, n-maxSeqEntries)
			}
		}
		next += int64(h.LastOffsetDelta) + 1
	}
	return CodeOK, plans, pids
}

// incSeq adds n to a producer sequence number, wrapping from MaxInt32 to 0
// as Kafka does (DefaultRecordBatch.incrementSequence).
func incSeq(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

func (s *StateMachine) producePart(t *tx, c *Produce, pt *ProducePart) (PartResult, error) {
	p := s.parts[pt.Key]
	code, plans, pids := planProduce(p, pt)
	if code != CodeOK {
		return failed(code, p), nil
	}
	res := PartResult{Code: CodeOK, BaseOffset: plans[0].base, LogAppendTime: -1}
	if pt.LogAppendTime {
		res.LogAppendTime = c.TimestampMs
	}
	first := slices.IndexFunc(plans, func(b batchPlan) bool { return !b.dup })
	if first < 0 { // every batch is a retry of an appended one
		res.LogStartOffset = p.start
		return res, nil
	}
	if p == nil {
		p = s.createPartition(t, pt.Key)
	}
	segBytes := pt.SegmentBytes
	if segBytes <= 0 {
		segBytes = 1 << 30
	}
	// The leader epoch written into batches never goes backwards, even if a
	// proposal made in an older term commits after one of a newer term.
	epoch := c.LeaderEpoch
	if n := len(p.epochs); n > 0 && p.epochs[n-1].epoch > epoch {
		epoch = p.epochs[n-1].epoch
	}
	// The entry's bytes belong to Dragonboat: modify a copy.
	buf := bytes.Clone(pt.Records)
	for _, b := range plans {
		if b.dup {
			continue
		}
		batch := buf[b.h.Start:b.h.End]
		grouplog.SetBaseOffset(batch, b.base)
		grouplog.SetPartitionLeaderEpoch(batch, epoch)
		if pt.LogAppendTime {
			grouplog.SetLogAppendTime(batch, c.TimestampMs)
		}
		h := b.h
		h.BaseOffset = b.base
		if pt.LogAppendTime {
			h.MaxTimestamp = c.TimestampMs
		}
		if err := s.gl.Append(t.b, p.key, batch, h, c.TimestampMs, segBytes, pt.SegmentMs); err != nil {
			return res, err
		}
		p.next = b.base + int64(b.h.LastOffsetDelta) + 1
	}
	if n := len(p.epochs); epoch >= 0 && (n == 0 || epoch > p.epochs[n-1].epoch) {
		s.setEpochs(p, append(slices.Clone(p.epochs), epochEntry{epoch: epoch, start: plans[first].base}))
	}
	for _, ps := range pids {
		if ps.owned {
			ps.cur.lastMs = c.TimestampMs
			p.producers[ps.pid] = ps.cur
			t.markProducer(p, ps.pid)
		}
	}
	t.markPart(p)
	t.appended = true
	res.LogStartOffset = p.start
	return res, nil
}

// createPartition starts a partition's state on its first append. It
// writes nothing to disk but the partition's record, in the Update's batch.
func (s *StateMachine) createPartition(t *tx, k PartitionKey) *partition {
	p := &partition{key: k, producers: map[int64]*producer{}}
	s.addPartition(p)
	t.markPart(p)
	return p
}

func (s *StateMachine) applyDeleteRecords(t *tx, c *DeleteRecords) ([]PartResult, error) {
	res := make([]PartResult, len(c.Parts))
	for i, dp := range c.Parts {
		p := s.parts[dp.Key]
		if p == nil {
			res[i] = failed(CodeUnknownPartition, nil)
			continue
		}
		off := dp.Offset
		if off == -1 {
			off = p.next
		}
		if off < 0 || off > p.next {
			res[i] = failed(CodeOffsetOutOfRange, p)
			continue
		}
		if off > p.start {
			if err := s.gl.DeleteBefore(t.b, p.key, off); err != nil {
				return nil, fmt.Errorf("delete records of %s: %w", dirName(p.key), err)
			}
			s.moveStart(t, p, off)
		}
		res[i] = PartResult{Code: CodeOK, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: p.start}
	}
	return res, nil
}

// moveStart records the log's new start offset (after DeleteRecords or
// retention) and drops the epoch history below it, as Kafka does.
func (s *StateMachine) moveStart(t *tx, p *partition, start int64) {
	if start <= p.start {
		return
	}
	p.start = start
	if es := trimEpochs(p.epochs, start); es != nil {
		s.setEpochs(p, es)
	}
	t.markPart(p)
	t.dropped = true
}

func (s *StateMachine) applyRetention(t *tx, c *Retention) ([]PartResult, error) {
	res := make([]PartResult, len(c.Parts))
	for i, rp := range c.Parts {
		p := s.parts[rp.Key]
		if p == nil {
			res[i] = failed(CodeUnknownPartition, nil)
			continue
		}
		first, err := s.gl.Retention(t.b, p.key, c.NowMs, rp.RetentionMs, rp.RetentionBytes, rp.SegmentMs, p.next)
		if err != nil {
			return nil, fmt.Errorf("retention of %s: %w", dirName(p.key), err)
		}
		if first >= 0 {
			s.moveStart(t, p, first)
		}
		s.expireProducers(t, p, c.NowMs)
		res[i] = PartResult{Code: CodeOK, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: p.start}
	}
	return res, nil
}

// expireProducers drops the states of p's producers idle for longer than
// ProducerExpirationMs at nowMs.
func (s *StateMachine) expireProducers(t *tx, p *partition, nowMs int64) {
	if nowMs < math.MinInt64+ProducerExpirationMs {
		return
	}
	cutoff := nowMs - ProducerExpirationMs
	var pids []int64
	for pid, pr := range p.producers {
		if pr.lastMs < cutoff {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		delete(p.producers, pid)
		t.markProducer(p, pid)
	}
}

func (s *StateMachine) applyDeletePartitions(t *tx, c *DeletePartitions) ([]PartResult, error) {
	res := make([]PartResult, len(c.Keys))
	for i, k := range c.Keys {
		p := s.parts[k]
		if p == nil {
			res[i] = failed(CodeUnknownPartition, nil)
			continue
		}
		if err := s.gl.DropPartition(t.b, k); err != nil {
			return nil, fmt.Errorf("delete %s: %w", dirName(k), err)
		}
		s.dropPartition(p)
		t.deleted = append(t.deleted, k)
		t.dropped = true
		res[i] = PartResult{Code: CodeOK, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
	}
	return res, nil
}

// trimEpochs returns the epoch history without the epochs that end at or
// before start, the first remaining one starting at start at the earliest;
// nil if nothing changes.
func trimEpochs(es []epochEntry, start int64) []epochEntry {
	i := 0
	for i+1 < len(es) && es[i+1].start <= start {
		i++
	}
	if len(es) == 0 || (i == 0 && es[0].start >= start) {
		return nil
	}
	out := slices.Clone(es[i:])
	out[0].start = max(out[0].start, start)
	return out
}
