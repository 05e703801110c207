package datagroup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// Queries accepted by Lookup (values or pointers), e.g. through SyncRead.

// QueryOffsets returns OffsetsResult for one partition (0, 0 if it has no
// log).
type QueryOffsets struct{ Key PartitionKey }

// OffsetsResult is the answer to QueryOffsets.
type OffsetsResult struct{ LogStart, HWM int64 }

// QueryDigest returns a string: the hex SHA-256 of the replicated state, so
// that replicas that applied the same entries can be compared. It covers,
// per partition in key order, the key, log start, next offset, epoch
// history, a SHA-256 of the log's bytes from its start, its logical
// segments (retention's units), and the producer states in producer-ID
// order; not the applied index nor where the group log placed the bytes
// (group segments and positions are local to a replica). It runs between
// two Updates and reads every log: a test and debugging tool.
type QueryDigest struct{}

// Lookup answers the Query* types. It runs concurrently with Update and may
// be called after Close (ErrClosed).
func (s *StateMachine) Lookup(query interface{}) (interface{}, error) {
	switch q := query.(type) {
	case QueryOffsets:
		return s.lookupOffsets(q.Key)
	case *QueryOffsets:
		if q != nil {
			return s.lookupOffsets(q.Key)
		}
	case QueryDigest, *QueryDigest:
		return s.digest()
	}
	return nil, fmt.Errorf("%w: %T", ErrUnknownQuery, query)
}

func (s *StateMachine) lookupOffsets(k PartitionKey) (interface{}, error) {
	var r OffsetsResult
	err := s.view(k, func(p *partition, _ *grouplog.Store) error {
		if p != nil {
			r.LogStart, r.HWM = p.pubStart.Load(), p.pubNext.Load()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// digest computes QueryDigest's answer.
func (s *StateMachine) digest() (string, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.db == nil {
		return "", ErrClosed
	}
	h := sha256.New()
	lh := sha256.New()
	var buf []byte
	for _, k := range s.keys {
		p := s.parts[k]
		buf = appendKey(buf[:0], prefixPartition, k)
		buf = append(buf, encodePartition(p)...)
		h.Write(buf)
		lh.Reset()
		for off := p.start; off < p.next; {
			data, err := s.gl.Read(k, off, 1<<20)
			if err != nil {
				return "", fmt.Errorf("datagroup: digest %s: %w", dirName(k), err)
			}
			if len(data) == 0 {
				break
			}
			lh.Write(data)
			hs, err := grouplog.ParseBatches(data)
			if err != nil || len(hs) == 0 {
				return "", fmt.Errorf("datagroup: digest %s: bad log data: %v", dirName(k), err)
			}
			off = hs[len(hs)-1].LastOffset() + 1
		}
		h.Write(lh.Sum(nil))
		h.Write(s.gl.LogicalDigest(k))
		pids := make([]int64, 0, len(p.producers))
		for pid := range p.producers {
			pids = append(pids, pid)
		}
		slices.Sort(pids)
		for _, pid := range pids {
			buf = binary.BigEndian.AppendUint64(buf[:0], uint64(pid))
			buf = append(buf, encodeProducer(p.producers[pid])...)
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
