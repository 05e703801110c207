package statemachine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// digest hashes the persisted state: SHA-256 over every key and value in
// key order, each framed as uvarint(len(key)) key uvarint(len(value)) value,
// skipping the applied index and heartbeat counters. Index and Topics come
// from the same pebble view. The caller holds mu.RLock (so pebble is open).
func (sm *StateMachine) digest() (Digest, error) {
	var d Digest
	h := sha256.New()
	var frame []byte
	it := sm.db.NewIter(&pebble.IterOptions{LowerBound: keyMin, UpperBound: keyMax})
	for valid := it.First(); valid; valid = it.Next() {
		k, v := it.Key(), it.Value()
		switch k[0] {
		case prefixApplied:
			idx, err := parseU64(v)
			if err != nil {
				_ = it.Close()
				return Digest{}, fmt.Errorf("statemachine: digest: %w", err)
			}
			d.Index = idx
			continue
		case prefixHeartbeat:
			continue
		case prefixTopic:
			d.Topics++
		}
		frame = binary.AppendUvarint(frame[:0], uint64(len(k)))
		frame = append(frame, k...)
		frame = binary.AppendUvarint(frame, uint64(len(v)))
		h.Write(frame)
		h.Write(v)
	}
	if err := it.Close(); err != nil {
		return Digest{}, fmt.Errorf("statemachine: digest: %w", err)
	}
	d.Sum = hex.EncodeToString(h.Sum(nil))
	return d, nil
}
