package kafka

// Fetch: v4-18
//
// v0-3 are not offered: Kafka 4 removed them (KIP-896), and they would need
// down-conversion to MessageSet v0/v1.
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - The whole request is one RecordService.Fetch call. The service waits
//     up to MaxWaitMillis (capped at maxFetchWait) for MinBytes; the
//     handler's context allows that wait plus readTimeout (deadline.go).
//     MaxBytes, PartitionMaxBytes and IsolationLevel are passed through.
//   - Fetch sessions (KIP-227, v7+), fetchsession.go: epoch 0 is a full
//     fetch that opens a session (its ID in the response; 0 if the cache
//     has no room), -1 a full fetch without one; later epochs are
//     incremental (only changed partitions in the request, ForgottenTopics
//     removed, only partitions with news in the answer). Session errors
//     are top-level with no topics.
//   - A full fetch answers partitions in request order; an incremental one
//     in the session's order, which puts answered partitions last. LastStableOffset is the high
//     watermark (no transactions); AbortedTransactions is an empty list for
//     read_committed and null otherwise, as Kafka sends it;
//     PreferredReadReplica is -1. A failed partition has high watermark,
//     LastStableOffset and LogStartOffset -1 (Kafka). RecordBatches is never
//     null (librdkafka reads a null as a bad MessageSet size; kfake).
//   - Records are returned as stored: RecordBatch v2. There is no
//     down-conversion for v0-3, which pre-0.11 clients would need.
//   - ReplicaID/ReplicaState (follower fetches) and Rack are ignored.
//
// Version notes:
//   - v1: ThrottleMillis; v3: MaxBytes; v4: IsolationLevel,
//     LastStableOffset, AbortedTransactions; v5: LogStartOffset
//   - v7: sessions (see above); v9: CurrentLeaderEpoch (checked by the
//     service); v11: Rack, PreferredReadReplica; v12: flexible
//   - v13: topics by TopicID (an unknown ID is UNKNOWN_TOPIC_ID from the
//     service); the response echoes the ID
//   - v15: ReplicaState; v17: ReplicaDirectoryID; v18: HighWatermark tag
//     (broker-to-broker fields, ignored)

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/datapath"
)

func init() { registerData(kmsg.Fetch, 4, 18, (*Server).handleFetch) }

// Kafka's FetchMetadata epochs that mean a full fetch.
const (
	fetchInitialEpoch int32 = 0  // full fetch that opens a session
	fetchFinalEpoch   int32 = -1 // full fetch without a session
)

func (s *Server) handleFetch(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.Version < 7 || req.SessionEpoch == fetchInitialEpoch || req.SessionEpoch == fetchFinalEpoch {
		if req.Version >= 7 && req.SessionID != 0 {
			s.sessions.remove(req.SessionID)
		}
		s.fullFetch(ctx, req, resp)
		return resp, nil
	}
	return s.incrementalFetch(ctx, req, resp), nil
}

// fullFetch answers every partition of req and, for epoch 0, opens a
// session (fetchsession.go) whose ID goes in the response; SessionID 0
// means none (no room, or sessions disabled).
func (s *Server) fullFetch(ctx context.Context, req *kmsg.FetchRequest, resp *kmsg.FetchResponse) {
	fr := fetchRequest(req)
	parts := 0
	for _, t := range fr.Topics {
		parts += len(t.Partitions)
	}
	s.m.fetchFull.Inc()
	s.m.fetchFullParts.Add(parts)
	fctx, cancel := fetchContext(ctx, fr.MaxWait)
	results := s.cfg.Records.Fetch(fctx, fr)
	cancel()

	readCommitted := req.IsolationLevel == 1
	var sess *fetchSession
	if req.Version >= 7 && req.SessionEpoch == fetchInitialEpoch && s.sessions.slots > 0 {
		sess = &fetchSession{epoch: 1, topicIDs: req.Version >= 13, parts: map[sessionKey]*sessionPartition{}}
	}
	resp.Topics = make([]kmsg.FetchResponseTopic, 0, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		tr, _ := at(results, i)
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, 0, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != rp.Partition {
				pr = datapath.FetchPartitionResult{Partition: rp.Partition, Err: errRecordResults}
			}
			sp := s.fetchPartition(pr, readCommitted)
			if sess != nil {
				p := sess.upsert(sessionKeyOf(req.Version, rt.Topic, rt.TopicID, rp.Partition),
					rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch)
				p.hwm, p.lso, p.logStart = sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if sess != nil && s.sessions.create(sess, time.Now()) {
		resp.SessionID = sess.id
	}
}

// incrementalFetch serves a request of an existing session: it applies the
// request's changes to the session, fetches every partition of it and
// answers those with something new.
func (s *Server) incrementalFetch(ctx context.Context, req *kmsg.FetchRequest, resp *kmsg.FetchResponse) *kmsg.FetchResponse {
	fail := func(code int16) *kmsg.FetchResponse {
		resp.ErrorCode = s.countCode(kmsg.Fetch, code)
		return resp
	}
	sess := s.sessions.get(req.SessionID)
	if sess == nil {
		return fail(kerr.FetchSessionIDNotFound.Code)
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	switch {
	case !s.sessions.cached(sess):
		return fail(kerr.FetchSessionIDNotFound.Code)
	case req.SessionEpoch != sess.epoch:
		return fail(kerr.InvalidFetchSessionEpoch.Code)
	case sess.topicIDs != (req.Version >= 13):
		return fail(kerr.FetchSessionTopicIDError.Code)
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		for _, rp := range rt.Partitions {
			sess.upsert(sessionKeyOf(req.Version, rt.Topic, rt.TopicID, rp.Partition),
				rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch)
		}
	}
	var forgotten []sessionKey
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			forgotten = append(forgotten, sessionKeyOf(req.Version, ft.Topic, ft.TopicID, p))
		}
	}
	sess.forget(forgotten)
	sess.epoch = nextSessionEpoch(sess.epoch)

	// The service request: the session's partitions in its order, grouped
	// by topic (first appearance).
	fr := datapath.FetchRequest{
		MaxWait:        fetchWait(req.MaxWaitMillis),
		MinBytes:       req.MinBytes,
		MaxBytes:       req.MaxBytes,
		IsolationLevel: req.IsolationLevel,
	}
	var byTopic [][]*sessionPartition
	topicIdx := map[sessionKey]int{}
	for _, p := range sess.order {
		tk := sessionKey{topic: p.key.topic, id: p.key.id}
		i, ok := topicIdx[tk]
		if !ok {
			i = len(byTopic)
			topicIdx[tk] = i
			byTopic = append(byTopic, nil)
			fr.Topics = append(fr.Topics, datapath.FetchTopic{Name: p.key.topic, TopicID: datapath.TopicID(p.key.id)})
		}
		byTopic[i] = append(byTopic[i], p)
		fr.Topics[i].Partitions = append(fr.Topics[i].Partitions, datapath.FetchPartition{
			Partition: p.key.partition, FetchOffset: p.fetchOffset,
			PartitionMaxBytes: p.maxBytes, CurrentLeaderEpoch: p.leaderEpoch,
		})
	}
	s.m.fetchIncremental.Inc()
	s.m.fetchIncrementalParts.Add(len(sess.order))
	s.m.fetchIncrementalReqParts.Add(countFetchPartitions(req))
	var results []datapath.FetchTopicResult
	if len(fr.Topics) > 0 {
		fctx, cancel := fetchContext(ctx, fr.MaxWait)
		results = s.cfg.Records.Fetch(fctx, fr)
		cancel()
	}

	readCommitted := req.IsolationLevel == 1
	answered := map[*sessionPartition]bool{}
	resp.Topics = []kmsg.FetchResponseTopic{}
	for i, ps := range byTopic {
		tr, _ := at(results, i)
		var st *kmsg.FetchResponseTopic
		for j, p := range ps {
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != p.key.partition {
				pr = datapath.FetchPartitionResult{Partition: p.key.partition, Err: errRecordResults}
			}
			sp := s.fetchPartition(pr, readCommitted)
			if len(sp.RecordBatches) == 0 && sp.ErrorCode == 0 && sp.HighWatermark == p.hwm &&
				sp.LastStableOffset == p.lso && sp.LogStartOffset == p.logStart {
				continue
			}
			p.hwm, p.lso, p.logStart = sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset
			answered[p] = true
			if st == nil {
				t := kmsg.NewFetchResponseTopic()
				t.Topic, t.TopicID = p.key.topic, p.key.id
				resp.Topics = append(resp.Topics, t)
				st = &resp.Topics[len(resp.Topics)-1]
			}
			st.Partitions = append(st.Partitions, sp)
		}
	}
	sess.moveToEnd(answered)
	s.sessions.touch(sess, len(sess.parts), time.Now())
	resp.SessionID = sess.id
	return resp
}

// sessionKeyOf names a partition the way the request version does.
func sessionKeyOf(version int16, topic string, id [16]byte, partition int32) sessionKey {
	if version >= 13 {
		return sessionKey{id: id, partition: partition}
	}
	return sessionKey{topic: topic, partition: partition}
}

func countFetchPartitions(req *kmsg.FetchRequest) int {
	n := 0
	for _, t := range req.Topics {
		n += len(t.Partitions)
	}
	return n
}

// fetchPartition is one partition of the answer.
func (s *Server) fetchPartition(pr datapath.FetchPartitionResult, readCommitted bool) kmsg.FetchResponseTopicPartition {
	sp := kmsg.NewFetchResponseTopicPartition()
	sp.Partition = pr.Partition
	sp.RecordBatches = []byte{}
	if readCommitted {
		sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
	}
	if pr.Err != nil {
		sp.ErrorCode = s.errCode(kmsg.Fetch, pr.Err)
		sp.HighWatermark = -1
		return sp
	}
	sp.HighWatermark = pr.HighWatermark
	sp.LastStableOffset = pr.HighWatermark
	sp.LogStartOffset = pr.LogStartOffset
	if len(pr.Records) > 0 {
		sp.RecordBatches = pr.Records
		s.m.fetchBytes.Add(len(pr.Records))
	}
	return sp
}

// fetchRequest converts the request for the service: topics by name, or by
// ID from v13. Fields a version lacks keep kmsg's defaults (MaxBytes
// unlimited before v3, read_uncommitted before v4, CurrentLeaderEpoch -1
// before v9).
func fetchRequest(req *kmsg.FetchRequest) datapath.FetchRequest {
	out := datapath.FetchRequest{
		MaxWait:        fetchWait(req.MaxWaitMillis),
		MinBytes:       req.MinBytes,
		MaxBytes:       req.MaxBytes,
		IsolationLevel: req.IsolationLevel,
		Topics:         make([]datapath.FetchTopic, len(req.Topics)),
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := datapath.FetchTopic{Partitions: make([]datapath.FetchPartition, len(rt.Partitions))}
		if req.Version >= 13 {
			t.TopicID = datapath.TopicID(rt.TopicID)
		} else {
			t.Name = rt.Topic
		}
		for j, rp := range rt.Partitions {
			t.Partitions[j] = datapath.FetchPartition{
				Partition:          rp.Partition,
				FetchOffset:        rp.FetchOffset,
				PartitionMaxBytes:  rp.PartitionMaxBytes,
				CurrentLeaderEpoch: rp.CurrentLeaderEpoch,
			}
		}
		out.Topics[i] = t
	}
	return out
}
