package datagroup

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// tx collects what an Update changed. b is an indexed pebble batch: the
// group log writes its index entries into it as batches are appended, and
// deletions read it, so they see the entries appended earlier in the same
// Update.
type tx struct {
	b        *pebble.Batch
	parts    []*partition // partition records to rewrite, in first-touch order
	partSet  map[*partition]bool
	prods    []prodRef // producer records to rewrite or delete
	prodSet  map[prodRef]bool
	deleted  []PartitionKey // partitions whose records go
	appended bool
	dropped  bool // data was deleted: wake the reclaimer
}

type prodRef struct {
	p   *partition
	pid int64
}

func newTx(db *pebble.DB) *tx {
	return &tx{b: db.NewIndexedBatch(), partSet: map[*partition]bool{}, prodSet: map[prodRef]bool{}}
}

func (t *tx) markPart(p *partition) {
	if !t.partSet[p] {
		t.partSet[p] = true
		t.parts = append(t.parts, p)
	}
}

func (t *tx) markProducer(p *partition, pid int64) {
	r := prodRef{p, pid}
	if !t.prodSet[r] {
		t.prodSet[r] = true
		t.prods = append(t.prods, r)
	}
}

// Update applies committed entries. Each entry's Result has Value = number
// of parts and Data = EncodeResult. An entry that does not decode is logged
// and gets a result of zero parts; an unknown op (a newer binary proposed
// it) fails Update, which stops the node rather than let replicas diverge.
// Batches are appended to the group log's active segment without fsync
// (the Raft log is the durable copy); the index entries, every record
// change and the last index go to pebble in one batch (NoSync). Update
// creates no file: the group log rolls to a segment prepared ahead. An
// error is returned only if storage fails; the replica is then marked
// failed (FailedMarker) so that it is rebuilt rather than fail again at the
// same entry on every restart.
func (s *StateMachine) Update(ents []sm.Entry) ([]sm.Entry, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	if len(ents) == 0 {
		return ents, nil
	}
	out, err := s.update(ents)
	if err != nil && !errors.Is(err, ErrUnknownOp) {
		// An unknown op is fixed by upgrading the binary, not by
		// discarding the replica.
		s.markFailed(err)
	}
	return out, err
}

func (s *StateMachine) update(ents []sm.Entry) ([]sm.Entry, error) {
	t := newTx(s.db)
	defer t.b.Close()
	last := s.applied
	for i := range ents {
		e := &ents[i]
		if e.Index <= last {
			panic(fmt.Sprintf("datagroup: entry index %d after applied index %d", e.Index, last))
		}
		last = e.Index
		var parts []PartResult
		cmd, err := Decode(e.Cmd)
		switch {
		case errors.Is(err, ErrUnknownOp):
			return nil, fmt.Errorf("datagroup: entry %d: %w: this binary is older than the one that proposed it; upgrade it", e.Index, err)
		case err != nil:
			s.log.Error().Err(err).Uint64("index", e.Index).Int("bytes", len(e.Cmd)).
				Msg("undecodable data-group command; answering with no parts")
		default:
			if parts, err = s.apply(t, cmd, e.Index); err != nil {
				return nil, fmt.Errorf("datagroup: entry %d: %w", e.Index, err)
			}
		}
		e.Result = sm.Result{Value: uint64(len(parts)), Data: EncodeResult(Result{Parts: parts})}
	}
	if err := s.commit(t, last); err != nil {
		return nil, err
	}
	s.applied = last
	s.appliedIdx.Store(last)
	for _, p := range t.parts {
		p.publish()
	}
	if t.appended {
		s.notify()
	}
	if t.dropped {
		s.kickReclaim()
	}
	return ents, nil
}

// notify closes the Changed channel and replaces it.
func (s *StateMachine) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// commit writes t's records, the group log's changed records and the
// applied index in t's pebble batch and commits it (NoSync).
func (s *StateMachine) commit(t *tx, index uint64) error {
	b := t.b
	err := func() error {
		for _, k := range t.deleted {
			if err := b.Delete(partitionKey(k), nil); err != nil {
				return err
			}
			lo, hi := producerRange(k)
			if err := b.DeleteRange(lo, hi, nil); err != nil {
				return err
			}
		}
		for _, p := range t.parts {
			if s.parts[p.key] != p {
				continue // deleted since
			}
			if err := b.Set(partitionKey(p.key), encodePartition(p), nil); err != nil {
				return err
			}
		}
		for _, r := range t.prods {
			if s.parts[r.p.key] != r.p {
				continue
			}
			k := producerKey(r.p.key, r.pid)
			var err error
			if pr := r.p.producers[r.pid]; pr != nil {
				err = b.Set(k, encodeProducer(pr), nil)
			} else {
				err = b.Delete(k, nil)
			}
			if err != nil {
				return err
			}
		}
		if err := s.gl.Stage(b); err != nil {
			return err
		}
		if err := b.Set(keyApplied, u64Value(index), nil); err != nil {
			return err
		}
		return b.Commit(pebble.NoSync)
	}()
	if err != nil {
		return fmt.Errorf("datagroup: write entries up to %d: %w", index, err)
	}
	return nil
}

// addPartition publishes a new partition.
func (s *StateMachine) addPartition(p *partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parts[p.key] = p
	i, _ := slices.BinarySearchFunc(s.keys, p.key, compareKeys)
	s.keys = slices.Insert(s.keys, i, p.key)
}

// dropPartition unpublishes a partition.
func (s *StateMachine) dropPartition(p *partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.parts, p.key)
	if i, ok := slices.BinarySearchFunc(s.keys, p.key, compareKeys); ok {
		s.keys = slices.Delete(s.keys, i, i+1)
	}
}

// setEpochs replaces p's epoch history (readers copy the slice header
// under s.mu).
func (s *StateMachine) setEpochs(p *partition, es []epochEntry) {
	s.mu.Lock()
	p.epochs = es
	s.mu.Unlock()
}
