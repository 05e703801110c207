package consumergroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/statemachine/grouplog"
)

// The records of __consumer_offsets use Kafka's own key and value schemas
// (kmsg's OffsetCommitKey/Value and GroupMetadataKey/Value), so that Kafka
// tools that decode the topic read ours too:
//   - key version 0 or 1: an offset commit, key (group, topic, partition),
//     value OffsetCommitValue v3 (offset, leader epoch, metadata, commit
//     time); a null value deletes the commit;
//   - key version 2: a classic group's metadata (protocol, generation,
//     leader, members with their subscription and assignment), value
//     GroupMetadataValue v3; a null value deletes the group.
// Values are written uncompressed, one batch per proposal.

const (
	offsetKeyVersion   int16 = 1
	groupKeyVersion    int16 = 2
	offsetValueVersion int16 = 3
	groupValueVersion  int16 = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// kv is one record: Value nil is a tombstone.
type kv struct {
	Key, Value []byte
}

// committed is a stored offset commit.
type committed struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitMs    int64
	// ExpireMs is the explicit expiry of an OffsetCommit v2-4 with a
	// retention time (0: none; offsets.retention.minutes applies). Such a
	// commit is stored as OffsetCommitValue v1, which has the field (and
	// no leader epoch), as Kafka stores it.
	ExpireMs  int64
	logOffset int64 // offset of the record in the offsets partition
}

func offsetKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

func offsetRecord(group, topic string, partition int32, c committed) kv {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = c.Offset, c.LeaderEpoch, c.Metadata, c.CommitMs
	if c.ExpireMs > 0 {
		v.Version = 1
		v.ExpireTimestamp = c.ExpireMs
	}
	return kv{Key: offsetKey(group, topic, partition), Value: v.AppendTo(nil)}
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

// logEntry is one decoded record of the offsets partition.
type logEntry struct {
	offset    int64
	isGroup   bool
	group     string
	topic     string // offset commits
	partition int32
	commit    *committed               // nil: tombstone (offset commits)
	meta      *kmsg.GroupMetadataValue // nil: tombstone (group metadata)
}

var errBadRecord = errors.New("consumergroup: undecodable __consumer_offsets record")

func decodeEntry(offset int64, key, value []byte) (logEntry, error) {
	e := logEntry{offset: offset}
	if len(key) < 2 {
		return e, errBadRecord
	}
	switch v := int16(binary.BigEndian.Uint16(key)); v {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return e, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		e.group, e.topic, e.partition = k.Group, k.Topic, k.Partition
		if value != nil {
			var ov kmsg.OffsetCommitValue
			if err := ov.ReadFrom(value); err != nil {
				return e, fmt.Errorf("%w: %v", errBadRecord, err)
			}
			le := ov.LeaderEpoch
			if ov.Version < 3 {
				le = -1
			}
			e.commit = &committed{Offset: ov.Offset, LeaderEpoch: le, Metadata: ov.Metadata, CommitMs: ov.CommitTimestamp, logOffset: offset}
			if ov.Version == 1 {
				e.commit.ExpireMs = ov.ExpireTimestamp
			}
		}
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return e, fmt.Errorf("%w: %v", errBadRecord, err)
		}
		e.isGroup, e.group = true, k.Group
		if value != nil {
			gv := new(kmsg.GroupMetadataValue)
			if err := gv.ReadFrom(value); err != nil {
				return e, fmt.Errorf("%w: %v", errBadRecord, err)
			}
			e.meta = gv
		}
	default:
		// Newer Kafka record types (KIP-848 group records, transaction
		// markers...) are not written by Skiff; skip them.
		return e, fmt.Errorf("%w: key version %d", errBadRecord, v)
	}
	return e, nil
}

// encodeBatch builds one uncompressed v2 record batch (base offset 0, no
// producer ID) holding recs, all stamped nowMs.
func encodeBatch(nowMs int64, recs []kv) []byte {
	b := make([]byte, grouplog.BatchHeaderSize, grouplog.BatchHeaderSize+64*len(recs))
	for i, r := range recs {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, 0)        // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, int64(len(r.Key)))
		body = append(body, r.Key...)
		if r.Value == nil {
			body = binary.AppendVarint(body, -1)
		} else {
			body = binary.AppendVarint(body, int64(len(r.Value)))
			body = append(body, r.Value...)
		}
		body = binary.AppendVarint(body, 0) // headers
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	be := binary.BigEndian
	be.PutUint64(b[0:], 0)                    // base offset
	be.PutUint32(b[8:], uint32(len(b)-12))    // batch length
	be.PutUint32(b[12:], 0xffffffff)          // partition leader epoch (-1; the group sets it)
	b[16] = 2                                 // magic
	be.PutUint16(b[21:], 0)                   // attributes
	be.PutUint32(b[23:], uint32(len(recs)-1)) // last offset delta
	be.PutUint64(b[27:], uint64(nowMs))       // base timestamp
	be.PutUint64(b[35:], uint64(nowMs))       // max timestamp
	be.PutUint64(b[43:], 0xffffffffffffffff)  // producer ID -1
	be.PutUint16(b[51:], 0xffff)              // producer epoch -1
	be.PutUint32(b[53:], 0xffffffff)          // base sequence -1
	be.PutUint32(b[57:], uint32(len(recs)))   // record count
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// decodeBatches calls fn for every record of the batches in data (as
// returned by a data group's Read) and returns the offset after the last
// batch. Compressed, control and transactional batches are skipped: Skiff
// writes none, and a client has no business producing them here.
func decodeBatches(data []byte, fn func(offset int64, key, value []byte)) (next int64, skipped int, err error) {
	hs, err := grouplog.ParseBatches(data)
	if err != nil {
		return 0, 0, err
	}
	for _, h := range hs {
		next = h.LastOffset() + 1
		if h.Compression() != 0 || h.IsControl() || h.IsTransactional() {
			skipped++
			continue
		}
		rs := data[h.Start+grouplog.BatchHeaderSize : h.End]
		for i := int32(0); i < h.RecordCount; i++ {
			var off int64
			var key, val []byte
			rs, off, key, val, err = readRecord(rs)
			if err != nil {
				return 0, skipped, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
			}
			fn(h.BaseOffset+off, key, val)
		}
	}
	return next, skipped, nil
}

var errShortRecord = errors.New("consumergroup: truncated record")

// readRecord parses one record off b: its offset delta, key and value
// (nil when null). The slices alias b.
func readRecord(b []byte) (rest []byte, offsetDelta int64, key, value []byte, err error) {
	n, w := binary.Varint(b)
	if w <= 0 || n < 0 || int64(len(b)-w) < n {
		return nil, 0, nil, nil, errShortRecord
	}
	body := b[w : w+int(n)]
	rest = b[w+int(n):]
	if len(body) < 1 {
		return nil, 0, nil, nil, errShortRecord
	}
	body = body[1:] // attributes
	var ok bool
	if _, body, ok = varint(body); !ok { // timestamp delta
		return nil, 0, nil, nil, errShortRecord
	}
	if offsetDelta, body, ok = varint(body); !ok {
		return nil, 0, nil, nil, errShortRecord
	}
	if key, body, ok = bytesField(body); !ok {
		return nil, 0, nil, nil, errShortRecord
	}
	if value, _, ok = bytesField(body); !ok {
		return nil, 0, nil, nil, errShortRecord
	}
	return rest, offsetDelta, key, value, nil
}

func varint(b []byte) (int64, []byte, bool) {
	v, w := binary.Varint(b)
	if w <= 0 {
		return 0, nil, false
	}
	return v, b[w:], true
}

func bytesField(b []byte) ([]byte, []byte, bool) {
	n, b, ok := varint(b)
	switch {
	case !ok:
		return nil, nil, false
	case n < 0:
		return nil, b, true
	case int64(len(b)) < n:
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
