package datapath

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// Fetch reads committed batches (a data group's state machine only ever
// holds committed entries, so its end offset is the high watermark). Only
// the leader of a partition's group serves it: a replica that lags could
// otherwise answer OFFSET_OUT_OF_RANGE for data the client has already
// seen. The response holds whole batches from the one containing the fetch
// offset; the first batch is returned even when larger than the limits
// (Kafka's rule, so consumers always progress) and no other limit is
// exceeded. With fewer than MinBytes available it waits up to MaxWait for
// appends to the groups involved.
func (s *Service) Fetch(ctx context.Context, req FetchRequest) []FetchTopicResult {
	var names []string
	var ids []TopicID
	for _, rt := range req.Topics {
		if rt.Name != "" {
			names = append(names, rt.Name)
		} else {
			ids = append(ids, rt.TopicID)
		}
	}
	deadline := time.Now().Add(req.MaxWait)
	cat, err := s.catalog(ctx, names, ids)
	for {
		var waits []<-chan struct{}
		out, total := s.fetchOnce(req, cat, err, &waits)
		if total >= int(req.MinBytes) || len(waits) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return out
		}
		if !waitAny(ctx, waits, time.Until(deadline)) {
			out, _ = s.fetchOnce(req, cat, err, nil)
			return out
		}
	}
}

// fetchOnce reads every partition once. When waits is non-nil it collects
// the change channels of the groups read (taken before reading, so that an
// append between the read and the wait is not missed).
func (s *Service) fetchOnce(req FetchRequest, cat *topics.Catalog, catErr error, waits *[]<-chan struct{}) ([]FetchTopicResult, int) {
	out := make([]FetchTopicResult, len(req.Topics))
	total := 0
	maxBytes := int(req.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	seen := map[uint64]bool{}
	for i, rt := range req.Topics {
		out[i] = FetchTopicResult{Name: rt.Name, TopicID: rt.TopicID, Partitions: make([]FetchPartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			res := &out[i].Partitions[j]
			*res = FetchPartitionResult{Partition: rp.Partition, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1}
			if catErr != nil {
				res.Err = nodeErr(catErr)
				continue
			}
			t, err := lookup(cat, rt.Name, rt.TopicID)
			if err != nil {
				res.Err = err
				continue
			}
			out[i].Name, out[i].TopicID = t.Name, t.ID
			shard, term, err := s.leaderOf(t, rp.Partition)
			if err == nil {
				err = checkEpoch(rp.CurrentLeaderEpoch, term)
			}
			if err != nil {
				res.Err = err
				continue
			}
			sm, ok := s.cfg.Node.DataGroupReplica(shard)
			if !ok {
				res.Err = ErrNotLeader
				continue
			}
			if waits != nil && !seen[shard] {
				seen[shard] = true
				*waits = append(*waits, sm.Changed())
			}
			limit := int(rp.PartitionMaxBytes)
			if rem := maxBytes - total; rem < limit {
				limit = rem
			}
			k := datagroup.PartitionKey{Topic: t.ID, Partition: rp.Partition}
			var data []byte
			var hwm, start int64
			if limit > 0 || total == 0 {
				data, hwm, start, err = sm.Read(k, rp.FetchOffset, max(limit, 1))
			} else {
				start, hwm = sm.Offsets(k)
				if rp.FetchOffset < start || rp.FetchOffset > hwm {
					err = datagroup.ErrOffsetOutOfRange
				}
			}
			switch {
			case errors.Is(err, datagroup.ErrUnknownPartition):
				// never written: an empty log at offset 0
				start, hwm = 0, 0
				if rp.FetchOffset != 0 {
					res.Err = ErrOffsetOutOfRange
				}
			case errors.Is(err, datagroup.ErrOffsetOutOfRange):
				start, hwm = sm.Offsets(k)
				res.Err = ErrOffsetOutOfRange
			case err != nil:
				res.Err = ErrNotLeader
				continue
			}
			if total > 0 && len(data) > maxBytes-total {
				data = nil // only the first batch of a response may exceed the limit
			}
			res.HighWatermark, res.LastStableOffset, res.LogStartOffset = hwm, hwm, start
			res.Records = data
			total += len(data)
		}
	}
	return out, total
}

// waitAny waits until one of chans is closed, ctx ends or d passes. It
// reports whether a channel fired.
func waitAny(ctx context.Context, chans []<-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)})
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	i, _, _ := reflect.Select(cases)
	return i >= 2
}
