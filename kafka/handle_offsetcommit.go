package kafka

// OffsetCommit: v2-10
//
// v0-1 are not offered: Kafka 4 removed them (KIP-896).
// A request at such a version closes the connection (conn.go).
//
// Behavior:
//   - One GroupService.Commit call: the valid partitions become one batch
//     of records in the group's __consumer_offsets partition, proposed once
//     through Raft; the answer comes after the commit (a majority has it).
//   - Anyone may commit to a group without members (Generation -1 and an
//     empty MemberID: consumers outside group management, admin tools);
//     otherwise the member and generation must match (UNKNOWN_MEMBER_ID,
//     ILLEGAL_GENERATION, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS while
//     the leader's assignment is pending). For a KIP-848 group the
//     generation is the member epoch (STALE_MEMBER_EPOCH, FENCED_MEMBER_EPOCH).
//   - Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION (v10:
//     unknown IDs UNKNOWN_TOPIC_ID); metadata above offset.metadata.max.bytes
//     OFFSET_METADATA_TOO_LARGE. Coordinator failures fail every partition
//     with NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE /
//     COORDINATOR_LOAD_IN_PROGRESS, which clients retry after finding the
//     coordinator again.
//   - Offsets expire after offsets.retention.minutes once the group has no
//     members (coordinator/consumergroup/expiry.go). RetentionTimeMillis
//     of v2-4 (-1: the broker's retention) sets an explicit expiry, as in
//     Kafka; 0 is read as -1.
//
// Version notes:
//   - v1: Generation, MemberID, per-partition Timestamp (ignored)
//   - v2-4: RetentionTimeMillis; v3: ThrottleMillis
//   - v6: LeaderEpoch; v7: InstanceID; v8: flexible
//   - v9: member epochs of KIP-848 groups; v10: topics by ID

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

func init() { registerGroup(kmsg.OffsetCommit, 2, 10, (*Server).handleOffsetCommit) }

func (s *Server) handleOffsetCommit(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	cr := consumergroup.CommitRequest{Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID, Generation: req.Generation}
	if req.Version < 1 {
		cr.MemberID, cr.Generation = "", -1
	}
	if req.Version >= 2 && req.Version <= 4 {
		cr.RetentionMs = req.RetentionTimeMillis
	}
	if req.Version < 7 {
		cr.InstanceID = nil
	}
	for _, t := range req.Topics {
		ct := consumergroup.CommitTopic{Name: t.Topic}
		if req.Version >= 10 {
			ct = consumergroup.CommitTopic{ID: t.TopicID}
		}
		for _, p := range t.Partitions {
			le := p.LeaderEpoch
			if req.Version < 6 {
				le = -1
			}
			ct.Partitions = append(ct.Partitions, consumergroup.CommitPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: le, Metadata: p.Metadata})
		}
		cr.Topics = append(cr.Topics, ct)
	}
	ctx, cancel := readContext(ctx)
	defer cancel()
	results := s.cfg.Groups.Commit(ctx, cr)
	for i, t := range req.Topics {
		tr, _ := at(results, i)
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = t.Topic, t.TopicID
		for j, p := range t.Partitions {
			pr, ok := at(tr.Partitions, j)
			if !ok || pr.Partition != p.Partition {
				pr = consumergroup.PartitionError{Partition: p.Partition, Err: errGroupResults}
			}
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = p.Partition
			sp.ErrorCode = s.errCode(kmsg.OffsetCommit, pr.Err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
