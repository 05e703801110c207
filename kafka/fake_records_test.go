package kafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
	"github.com/skiff-broker/skiff/topics"
)

// fakeRecords is an in-memory RecordService over the topics of a
// fakeTopics: kafka tests are about the wire. Each partition is a list of
// record batches whose base offsets it assigns by rewriting the first 8
// bytes (outside the CRC), as a broker does.
//
// Lock order: fakeRecords.mu, then fakeTopics.mu.
type fakeRecords struct {
	topics *fakeTopics

	mu      sync.Mutex
	logs    map[fakeTP]*fakeLog
	changed chan struct{} // closed and replaced on every append
	nextPID int64
	inject  map[string]error // per topic: every partition answers this
	short   bool             // answer no results at all (a broken service)
	calls   map[string]int
	fetches []datapath.FetchRequest
}

type fakeTP struct {
	topic string
	part  int32
}

type fakeLog struct {
	batches    [][]byte
	start, end int64 // log start offset, high watermark
}

func newFakeRecords(ft *fakeTopics) *fakeRecords {
	return &fakeRecords{topics: ft, logs: map[fakeTP]*fakeLog{}, changed: make(chan struct{}),
		nextPID: 1000, inject: map[string]error{}, calls: map[string]int{}}
}

// newDataTestServer is newTestServer with a fakeRecords as Config.Records.
func newDataTestServer(t *testing.T) (*testServer, *fakeRecords) {
	t.Helper()
	var fr *fakeRecords
	ts := newTestServer(t, func(c *Config) {
		fr = newFakeRecords(c.Topics.(*fakeTopics))
		c.Records = fr
	})
	return ts, fr
}

func (f *fakeRecords) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeRecords) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// log returns a partition's log (creating it), or the error to answer.
// f.mu must be held.
func (f *fakeRecords) log(name string, id datapath.TopicID, part int32) (string, *fakeLog, error) {
	var t *topics.Topic
	f.topics.with(func() {
		if name != "" {
			t = f.topics.topics[name]
			return
		}
		for _, c := range f.topics.topics {
			if c.ID == id {
				t = c
			}
		}
	})
	switch {
	case t == nil && name == "":
		return "", nil, fmt.Errorf("%w: %x", datapath.ErrUnknownTopicID, id)
	case t == nil:
		return name, nil, fmt.Errorf("%w: %s", datapath.ErrUnknownTopicOrPart, name)
	case f.inject[t.Name] != nil:
		return t.Name, nil, f.inject[t.Name]
	case part < 0 || int(part) >= len(t.Partitions):
		return t.Name, nil, fmt.Errorf("%w: %s[%d]", datapath.ErrUnknownTopicOrPart, t.Name, part)
	}
	k := fakeTP{t.Name, part}
	if f.logs[k] == nil {
		f.logs[k] = &fakeLog{}
	}
	return t.Name, f.logs[k], nil
}

// batches splits sent bytes into RecordBatch v2 batches.
func splitBatches(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 61 {
			return nil, fmt.Errorf("%w: %d trailing bytes", datapath.ErrCorruptMessage, len(b))
		}
		n := 12 + int(int32(binary.BigEndian.Uint32(b[8:])))
		if n < 61 || n > len(b) {
			return nil, fmt.Errorf("%w: batch length %d of %d", datapath.ErrCorruptMessage, n, len(b))
		}
		if b[16] != 2 {
			return nil, fmt.Errorf("%w: magic %d", datapath.ErrUnsupportedMagic, b[16])
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no batches", datapath.ErrInvalidRecord)
	}
	return out, nil
}

func lastOffsetDelta(b []byte) int64 { return int64(int32(binary.BigEndian.Uint32(b[23:]))) }
func batchBase(b []byte) int64       { return int64(binary.BigEndian.Uint64(b)) }
func batchMaxTS(b []byte) int64      { return int64(binary.BigEndian.Uint64(b[35:])) }

func (f *fakeRecords) Produce(_ context.Context, req datapath.ProduceRequest) []datapath.ProduceTopicResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Produce"]++
	if f.short {
		return nil
	}
	out := make([]datapath.ProduceTopicResult, len(req.Topics))
	ackErr := datapath.ValidateAcks(req.Acks) // the data path's own rule
	appended := false
	for i, rt := range req.Topics {
		out[i] = datapath.ProduceTopicResult{Name: rt.Name, TopicID: rt.TopicID}
		for _, rp := range rt.Partitions {
			r := datapath.ProducePartitionResult{Partition: rp.Partition, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
			_, l, err := f.log(rt.Name, rt.TopicID, rp.Partition)
			if ackErr != nil {
				err = ackErr
			}
			var bs [][]byte
			if err == nil {
				bs, err = splitBatches(rp.Records)
			}
			if err != nil {
				r.Err = err
				out[i].Partitions = append(out[i].Partitions, r)
				continue
			}
			r.BaseOffset, r.LogStartOffset = l.end, l.start
			for _, b := range bs {
				b = append([]byte(nil), b...)
				binary.BigEndian.PutUint64(b, uint64(l.end))
				l.batches = append(l.batches, b)
				l.end += lastOffsetDelta(b) + 1
			}
			appended = true
			out[i].Partitions = append(out[i].Partitions, r)
		}
	}
	if appended {
		close(f.changed)
		f.changed = make(chan struct{})
	}
	return out
}

func (f *fakeRecords) Fetch(ctx context.Context, req datapath.FetchRequest) []datapath.FetchTopicResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Fetch"]++
	f.fetches = append(f.fetches, req)
	if f.short {
		return nil
	}
	timer := time.NewTimer(req.MaxWait)
	defer timer.Stop()
	for {
		out, n, failed := f.fetchOnce(req)
		if failed || n >= int(req.MinBytes) {
			return out
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
			f.mu.Lock()
		case <-timer.C:
			f.mu.Lock()
			out, _, _ = f.fetchOnce(req)
			return out
		case <-ctx.Done():
			f.mu.Lock()
			return out
		}
	}
}

// fetchOnce reads what is there now: at least one batch per partition
// with data, up to PartitionMaxBytes and MaxBytes.
func (f *fakeRecords) fetchOnce(req datapath.FetchRequest) ([]datapath.FetchTopicResult, int, bool) {
	out := make([]datapath.FetchTopicResult, len(req.Topics))
	total, failed := 0, false
	for i, rt := range req.Topics {
		out[i] = datapath.FetchTopicResult{Name: rt.Name, TopicID: rt.TopicID}
		for _, rp := range rt.Partitions {
			r := datapath.FetchPartitionResult{Partition: rp.Partition}
			_, l, err := f.log(rt.Name, rt.TopicID, rp.Partition)
			if err == nil && (rp.FetchOffset < l.start || rp.FetchOffset > l.end) {
				err = fmt.Errorf("%w: %d not in [%d, %d]", datapath.ErrOffsetOutOfRange, rp.FetchOffset, l.start, l.end)
			}
			if err != nil {
				r.Err, failed = err, true
				out[i].Partitions = append(out[i].Partitions, r)
				continue
			}
			r.HighWatermark, r.LastStableOffset, r.LogStartOffset = l.end, l.end, l.start
			pbytes := 0
			for _, b := range l.batches {
				if batchBase(b)+lastOffsetDelta(b) < rp.FetchOffset {
					continue
				}
				if (pbytes > 0 && pbytes+len(b) > int(rp.PartitionMaxBytes)) || (total > 0 && total+len(b) > int(req.MaxBytes)) {
					break
				}
				r.Records = append(r.Records, b...)
				pbytes += len(b)
				total += len(b)
			}
			out[i].Partitions = append(out[i].Partitions, r)
		}
	}
	return out, total, failed
}

func (f *fakeRecords) ListOffsets(_ context.Context, _ int8, ts []datapath.ListOffsetsTopic) []datapath.ListOffsetsTopicResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["ListOffsets"]++
	if f.short {
		return nil
	}
	out := make([]datapath.ListOffsetsTopicResult, len(ts))
	for i, rt := range ts {
		out[i].Name = rt.Name
		for _, rp := range rt.Partitions {
			r := datapath.ListOffsetsPartitionResult{Partition: rp.Partition, Timestamp: -1, Offset: -1, LeaderEpoch: -1}
			_, l, err := f.log(rt.Name, datapath.TopicID{}, rp.Partition)
			switch {
			case err != nil:
				r.Err = err
			case rp.Timestamp == datapath.TimestampEarliest:
				r.Offset, r.LeaderEpoch = l.start, 0
			case rp.Timestamp == datapath.TimestampLatest:
				r.Offset, r.LeaderEpoch = l.end, 0
			default: // the first batch at or after the timestamp (max timestamp: any)
				for _, b := range l.batches {
					if rp.Timestamp == datapath.TimestampMax || batchMaxTS(b) >= rp.Timestamp {
						r.Offset, r.Timestamp, r.LeaderEpoch = max(batchBase(b), l.start), batchMaxTS(b), 0
						if rp.Timestamp != datapath.TimestampMax {
							break
						}
					}
				}
			}
			out[i].Partitions = append(out[i].Partitions, r)
		}
	}
	return out
}

func (f *fakeRecords) DeleteRecords(_ context.Context, ts []datapath.DeleteRecordsTopic) []datapath.DeleteRecordsTopicResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DeleteRecords"]++
	if f.short {
		return nil
	}
	out := make([]datapath.DeleteRecordsTopicResult, len(ts))
	for i, rt := range ts {
		out[i].Name = rt.Name
		for _, rp := range rt.Partitions {
			r := datapath.DeleteRecordsPartitionResult{Partition: rp.Partition}
			_, l, err := f.log(rt.Name, datapath.TopicID{}, rp.Partition)
			off := rp.Offset
			if err == nil && off == -1 {
				off = l.end
			}
			if err == nil && (off < 0 || off > l.end) {
				err = fmt.Errorf("%w: %d beyond %d", datapath.ErrOffsetOutOfRange, off, l.end)
			}
			if err != nil {
				r.Err = err
			} else {
				l.start = max(l.start, off)
				for len(l.batches) > 0 && batchBase(l.batches[0])+lastOffsetDelta(l.batches[0]) < l.start {
					l.batches = l.batches[1:]
				}
				r.LowWatermark = l.start
			}
			out[i].Partitions = append(out[i].Partitions, r)
		}
	}
	return out
}

func (f *fakeRecords) OffsetForLeaderEpoch(_ context.Context, ts []datapath.EpochTopic) []datapath.EpochTopicResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["OffsetForLeaderEpoch"]++
	if f.short {
		return nil
	}
	out := make([]datapath.EpochTopicResult, len(ts))
	for i, rt := range ts {
		out[i].Name = rt.Name
		for _, rp := range rt.Partitions {
			r := datapath.EpochPartitionResult{Partition: rp.Partition, LeaderEpoch: -1, EndOffset: -1}
			_, l, err := f.log(rt.Name, datapath.TopicID{}, rp.Partition)
			switch {
			case err != nil:
				r.Err = err
			case rp.CurrentLeaderEpoch > 0:
				r.Err = fmt.Errorf("%w: %d", datapath.ErrUnknownLeaderEpoch, rp.CurrentLeaderEpoch)
			case rp.LeaderEpoch >= 0: // every record was written in epoch 0
				r.LeaderEpoch, r.EndOffset = 0, l.end
			}
			out[i].Partitions = append(out[i].Partitions, r)
		}
	}
	return out
}

func (f *fakeRecords) InitProducerID(_ context.Context, txnID *string, id int64, epoch int16) (int64, int16, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["InitProducerID"]++
	switch {
	case txnID != nil:
		return -1, -1, fmt.Errorf("%w: transactional ID %q", datapath.ErrTransactionsDisabled, *txnID)
	case id >= 0:
		return id, epoch + 1, nil
	}
	f.nextPID++
	return f.nextPID, 0, nil
}

// stored returns the offsets of a partition's records, in order, and their
// values if no batch is compressed (nil otherwise).
func (f *fakeRecords) stored(t *testing.T, topic string, part int32) (offsets []int64, values []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.logs[fakeTP{topic, part}]
	if l == nil {
		return nil, nil
	}
	compressed := false
	for _, b := range l.batches {
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b); err != nil {
			t.Fatalf("stored batch: %v", err)
		}
		for i := range batch.NumRecords {
			offsets = append(offsets, batch.FirstOffset+int64(i))
		}
		if batch.Attributes&7 != 0 {
			compressed = true
			continue
		}
		rs := batch.Records
		for range batch.NumRecords {
			var r kmsg.Record
			length, used := kbin.Varint(rs)
			if used <= 0 || int(length)+used > len(rs) {
				t.Fatalf("stored record: bad length")
			}
			if err := r.ReadFrom(rs[:used+int(length)]); err != nil {
				t.Fatalf("stored record: %v", err)
			}
			rs = rs[used+int(length):]
			values = append(values, string(r.Value))
		}
	}
	if compressed {
		values = nil
	}
	return offsets, values
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// testBatch encodes an uncompressed RecordBatch v2 with one record per
// value, as a non-idempotent producer sends it (base offset 0 unless
// given).
func testBatch(baseOffset int64, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		var body []byte
		body = append(body, 0)                        // attributes
		body = kbin.AppendVarlong(body, 0)            // timestamp delta
		body = kbin.AppendVarint(body, int32(i))      // offset delta
		body = kbin.AppendVarint(body, -1)            // null key
		body = kbin.AppendVarint(body, int32(len(v))) // value
		body = append(body, v...)
		body = kbin.AppendVarint(body, 0) // no headers
		recs = kbin.AppendVarint(recs, int32(len(body)))
		recs = append(recs, body...)
	}
	now := time.Now().UnixMilli()
	b := (&kmsg.RecordBatch{
		FirstOffset: baseOffset, PartitionLeaderEpoch: -1, Magic: 2,
		LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: recs,
	}).AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
	return b
}
