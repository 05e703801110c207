package datapath

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/statemachine/grouplog"
	"github.com/skiff-broker/skiff/topics"
)

// Produce appends the request's batches. Every partition is checked here
// (topic, partition, this node leads its data group, batch framing and CRC,
// max.message.bytes, free space in the data dir) and the request becomes at
// most one proposal per data group it touches, proposed concurrently.
// acks=1 and acks=-1 both answer once a majority of the group has the entry
// (there is no weaker acknowledgement in Raft worth having); acks=0
// proposes and returns.
func (s *Service) Produce(ctx context.Context, req ProduceRequest) []ProduceTopicResult {
	out := make([]ProduceTopicResult, len(req.Topics))
	for i, rt := range req.Topics {
		out[i] = ProduceTopicResult{Name: rt.Name, TopicID: rt.TopicID, Partitions: make([]ProducePartitionResult, len(rt.Partitions))}
		for j, rp := range rt.Partitions {
			out[i].Partitions[j] = ProducePartitionResult{Partition: rp.Partition, BaseOffset: -1, LogAppendTime: -1, LogStartOffset: -1}
		}
	}
	fail := func(err error) []ProduceTopicResult {
		for i := range out {
			for j := range out[i].Partitions {
				if out[i].Partitions[j].Err == nil {
					out[i].Partitions[j].Err = err
				}
			}
		}
		return out
	}
	if err := ValidateAcks(req.Acks); err != nil {
		return fail(err)
	}
	var names []string
	var ids []TopicID
	for _, rt := range req.Topics {
		if rt.Name != "" {
			names = append(names, rt.Name)
		} else {
			ids = append(ids, rt.TopicID)
		}
	}
	// One linearizable read, not the local replica: Produce is the only
	// command that creates a partition's log in a data group, and the data
	// group cannot check the metadata shard, so a topic whose deletion has
	// committed must not be found here (node/doc.go, "Which reads are
	// local").
	cat, err := topics.ReadCatalog(ctx, s.cfg.Node, names, ids)
	if err != nil {
		return fail(nodeErr(err))
	}

	type ref struct{ t, p int }
	type work struct {
		cmd  datagroup.Produce
		refs []ref
	}
	groups := map[uint64]*work{}
	var order []uint64
	now := s.cfg.Now().UnixMilli()
	// The disk check comes once per request, when the first partition is
	// about to be proposed (a request that proposes nothing is not a
	// refusal). Only the proposer can refuse: followers must apply.
	var diskChecked bool
	var diskErr error
	admit := func() error {
		if !diskChecked && s.cfg.Disk != nil {
			if err := s.cfg.Disk.AdmitWrite("Produce"); err != nil {
				diskErr = fmt.Errorf("%w: %v", ErrLowDiskSpace, err)
			}
		}
		diskChecked = true
		return diskErr
	}
	for i, rt := range req.Topics {
		t, err := lookup(cat, rt.Name, rt.TopicID)
		if err != nil {
			for j := range rt.Partitions {
				out[i].Partitions[j].Err = err
			}
			continue
		}
		out[i].Name, out[i].TopicID = t.Name, t.ID
		logAppend := false
		if v, _ := topics.TopicConfig(t, "message.timestamp.type"); v == "LogAppendTime" {
			logAppend = true
		}
		maxMsg := topics.TopicConfigInt(t, "max.message.bytes")
		segBytes := topics.TopicConfigInt(t, "segment.bytes")
		segMs := topics.TopicConfigInt(t, "segment.ms")
		_, compacted := topics.CleanupPolicy(t)
		for j, rp := range rt.Partitions {
			res := &out[i].Partitions[j]
			shard, term, err := s.leaderOf(t, rp.Partition)
			if err != nil {
				res.Err = err
				continue
			}
			if err := precheck(rp.Records, maxMsg, compacted); err != nil {
				res.Err = err
				continue
			}
			if err := admit(); err != nil {
				res.Err = err
				continue
			}
			w := groups[shard]
			if w == nil {
				w = &work{cmd: datagroup.Produce{TimestampMs: now, LeaderEpoch: int32(min(term, 1<<31-1))}}
				groups[shard] = w
				order = append(order, shard)
			}
			w.cmd.Parts = append(w.cmd.Parts, datagroup.ProducePart{
				Key: key(t, rp.Partition), LogAppendTime: logAppend,
				MaxMessageBytes: int32(min(maxMsg, 1<<31-1)), SegmentBytes: segBytes, SegmentMs: segMs, Records: rp.Records,
			})
			w.refs = append(w.refs, ref{i, j})
		}
	}
	if req.Acks == 0 {
		for _, shard := range order {
			if err := s.cfg.Node.ProposeDataGroupAsync(shard, groups[shard].cmd, 30*time.Second); err != nil {
				s.log.Debug().Err(err).Uint64("shard", shard).Msg("acks=0 produce not proposed")
			}
		}
		return out
	}
	var wg sync.WaitGroup
	for _, shard := range order {
		w := groups[shard]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.cfg.Node.ProposeDataGroup(ctx, shard, w.cmd)
			for k, rf := range w.refs {
				res := &out[rf.t].Partitions[rf.p]
				switch {
				case err != nil:
					res.Err = nodeErr(err)
				case k >= len(r.Parts):
					res.Err = ErrInvalidRecord
				default:
					pr := r.Parts[k]
					if res.Err = codeErr(pr.Code); res.Err == nil {
						res.BaseOffset, res.LogAppendTime, res.LogStartOffset = pr.BaseOffset, pr.LogAppendTime, pr.LogStartOffset
					}
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// ValidateAcks is the one check of a Produce's acks: 0, 1 or -1 (Kafka's
// ReplicaManager.isValidRequiredAcks). Anything else fails every partition
// of the request with ErrInvalidRequiredAcks and Kafka's message, before
// any proposal.
func ValidateAcks(acks int16) error {
	if acks == 0 || acks == 1 || acks == -1 {
		return nil
	}
	return &messageError{kind: ErrInvalidRequiredAcks, msg: fmt.Sprintf("Invalid required acks %d: must be -1, 0 or 1.", acks)}
}

// messageError is an outcome whose text is a human message for Kafka's
// ErrorMessage field, wrapping one sentinel.
type messageError struct {
	kind error
	msg  string
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.kind }

// precheck rejects, before they cost a proposal, batches that the data
// group would reject anyway (it checks again: the state machine decides).
func precheck(records []byte, maxMessageBytes int64, compacted bool) error {
	if len(records) == 0 {
		return ErrInvalidRecord
	}
	hs, err := grouplog.ParseBatches(records)
	switch {
	case errors.Is(err, grouplog.ErrUnsupportedMagic):
		return ErrUnsupportedMagic
	case err != nil:
		return ErrCorruptMessage
	}
	for _, h := range hs {
		if int64(h.Size()) > maxMessageBytes {
			return ErrMessageTooLarge
		}
		if h.RecordCount == 0 || h.IsControl() || h.IsTransactional() {
			return ErrInvalidRecord
		}
		if err := validateRecords(records[h.Start:h.End], h, compacted); err != nil {
			if errors.Is(err, errRecords) {
				return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
			}
			return fmt.Errorf("%w: %v", ErrCorruptMessage, err)
		}
	}
	return nil
}
