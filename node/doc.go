// Package node is one broker's Dragonboat NodeHost: the metadata shard
// (shard 1) and its proposals and reads, the broker's registration,
// heartbeats and (on the metadata leader) fencing, and the replicas of the
// data groups this broker belongs to. It is the only package that imports
// Dragonboat.
//
// # Reads
//
// The metadata shard is read through typed methods (read.go), one per query
// and guarantee:
//
//   - ReadTopics, ReadBrokers: linearizable (Dragonboat SyncRead: a
//     ReadIndex round through the leader, then a Lookup once this replica
//     has applied up to that index). They work on followers, retry
//     temporary errors until the context ends, and are measured by
//     skiff_metadata_read_seconds and skiff_metadata_read_errors_total.
//   - LocalTopics, LocalBrokers, LocalDataGroupTable, LocalDigest: this
//     replica's state as applied so far (Dragonboat StaleRead), with no
//     round trip. It may lag the committed state, and on a broker cut off
//     from the metadata leader it may lag without bound.
//
// topics.LocalCatalog reads locally first and falls back to one
// linearizable read when a name or ID is missing locally (a topic created
// a moment ago); topics.ReadCatalog always reads linearizably.
//
// # Which reads are local
//
// Linearizable, because the answer states a fact to a client or decides a
// write that nothing re-checks later:
//
//   - Metadata, DescribeCluster, DescribeConfigs and the answers of
//     CreateTopics (topics.Service.Describe and the read before every
//     topics proposal; apply re-checks existence anyway).
//   - Produce (datapath, topics.ReadCatalog). Produce is the only command
//     that creates a partition's log in a data group, and a data group's
//     state machine knows nothing of the metadata shard: it appends to
//     whatever partition key the proposer names. A Produce resolved from a
//     lagging replica would write to, or re-create, the log of a topic
//     whose deletion has committed. Resolved linearizably, a Produce that
//     arrives after DeleteTopics answered finds the topic gone
//     (UNKNOWN_TOPIC_ID by ID, UNKNOWN_TOPIC_OR_PARTITION by name); one
//     that overlaps the delete may still be applied after it, and
//     maintenance drops that log (topic IDs are never reused, so the
//     records never show up in a re-created topic).
//   - The deleted-topic checks of datapath maintenance and of the group
//     coordinator's cleanup: a lagging replica would take a topic created a
//     moment ago for a deleted one and drop its data.
//   - Creating __consumer_offsets (FindCoordinator), the broker count for
//     its replication factor, and /readyz.
//
// Local, because a stale answer is harmless or checked elsewhere:
//
//   - Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords (datapath,
//     topics.LocalCatalog). They never create a partition's log (a data
//     group reads a partition it does not hold as empty and refuses to
//     DeleteRecords on it), leadership is this node's view of the data group's own Raft, and
//     offsets come from the data group's replica, not from metadata. A
//     stale view can serve a topic deleted a moment ago until maintenance
//     drops its log; Kafka brokers, which apply metadata asynchronously,
//     do the same. A partition added a moment ago answers
//     UNKNOWN_TOPIC_OR_PARTITION, which clients retry.
//   - The group coordinator: which offsets partitions this node leads and
//     the __consumer_offsets topic ID (re-read every poll), the topics of
//     OffsetCommit, OffsetFetch and OffsetDelete, and KIP-848
//     subscriptions (re-read on every heartbeat). Offsets are group
//     state: a commit for a topic deleted a moment ago is removed by the
//     cleanup pass, as Kafka removes them. Deleting __consumer_offsets
//     itself while groups commit can leave commits in its old partitions'
//     logs until maintenance drops them.
//   - This package's loops. Fencing runs on the metadata leader and its
//     FenceBroker is conditional on the heartbeat counter it saw (apply
//     re-checks). The data-group loop re-reads every 100 ms; starting a
//     replica needs only the group's members, and SetDataGroupLeader is
//     conditional on the term (apply refuses a stale or second claim).
//   - /debug/digest (LocalDigest): comparing replicas is its purpose.
package node
