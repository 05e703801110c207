// Package grouplog stores the partitions of one data-group replica in one
// group log (DESIGN §3), the shape of BookKeeper's DbLedgerStorage: append-
// only segment files that interleave the record batches of all the
// group's partitions, and a per-partition index in the group's pebble.
//
// # Layout
//
//   - Segment files (<16 hex digits>.seg) hold records: partition key,
//     batch length, batch. One is active (appended to); one spare is
//     created ahead by a preparer goroutine (and by Open), so a roll inside
//     Update only switches to a file that already exists. Without a spare
//     ready Update keeps appending to the active segment (SegmentBytes is a
//     soft bound): Update never creates or opens a file. Every segment
//     stays open (one descriptor per group segment, none per partition).
//   - Pebble keys 'i' (partition, base offset) → segment, position, length,
//     last offset, max timestamp: the index Fetch, ListOffsets and the
//     digest read. 'g' (segment) → end (bytes the index covers), live
//     bytes, synced end. 'l' (partition, base offset) → logical segment.
//
// Where batches sit (segment IDs and positions) is local to a replica;
// what is replicated, and compared by digests, is the logical content:
// per partition the batches, offsets and logical segments.
//
// # segment.bytes and segment.ms
//
// Kafka's segment.bytes and segment.ms bound a partition's segments, the
// unit retention deletes. Here they bound a partition's logical segments:
// a run of its batches starting at a base offset, with its byte count, max
// timestamp and creation time (the proposer's clock, from the command).
// An append rolls to a new logical segment when the active one would pass
// segment.bytes or is segment.ms old; Retention also closes an active
// logical segment that is segment.ms old, so a partition that stopped
// receiving data still expires. retention.ms deletes closed logical
// segments whose max timestamp is older; retention.bytes deletes the
// oldest closed ones while the partition stays at least that large.
// Deleting (also DeleteRecords and topic deletion) only removes index
// entries and lowers the live bytes of the group segments that held them.
//
// # Reclaim
//
// Reclaim runs outside Update (the state machine's reclaimer goroutine,
// under the apply lock, so never concurrently with Update): a closed group
// segment with no live byte is deleted; one whose live share fell below
// Config.ReclaimLiveShare has its live batches (those the index still
// points at) copied to the active segment first. Copies are fsynced, then
// the new index entries and the segment's removal are committed in one
// synced pebble batch, then the file is removed once no reader holds it.
// Stats report the bytes reclaimed and rewritten (write amplification).
//
// # Sync points (Dragonboat's on-disk state machine contract)
//
//   - Update: batches are written to the active segment without fsync
//     (the Raft log is the durable copy); their index entries, the
//     logical-segment and segment records, the partitions' records and the
//     applied index are committed in one pebble batch without fsync.
//   - Sync: fsync every segment written since the last Sync and the
//     directory if files were created, then record their synced ends and
//     fsync pebble (a synced batch, which also makes every earlier NoSync
//     batch durable). Segments first: once an index entry is durable, so
//     are its bytes. Dragonboat calls Sync before it compacts its log.
//   - Open: returns the applied index persisted with the index. Each
//     segment is cut back to the end its record covers (bytes appended by
//     Updates whose pebble batch was lost), its bytes after the last synced
//     end are checked (framing and CRC), and files the index does not know
//     are removed. Bytes the index covers that are missing or damaged (a
//     power loss took segment writes that pebble's WAL kept) are
//     ErrDataLost: the state machine marks the replica failed (see
//     node/rebuild.go for what the node does with it).
//   - PrepareSnapshot (exclusive with Update): a pebble snapshot and a View
//     holding its own descriptors of every segment with its covered end.
//   - SaveSnapshot (concurrent with Update and Reclaim): the records, then
//     each segment up to its covered end (Write).
//   - RecoverFromSnapshot: segments restored into a staging directory and
//     fsynced (Restore), the stream checked to its checksum, then the
//     directories swapped and the records written in one synced batch.
package grouplog
