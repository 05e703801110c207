package chaostest

import (
	"encoding/binary"
	"hash/crc32"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// codeCase is a well-framed request with a bad field: it must get one of
// want in every per-item error code, and the connection stays usable.
type codeCase struct {
	name string
	req  func() kmsg.Request
	body []byte // sent instead of req's encoding when set
	// frameVersion, when set, is the version in the request header
	// instead of req's (whose version decodes the response)
	frameVersion *int16
	codes        func(kmsg.Response) []int16
	want         []int16
}

// closeCase is a frame the broker cannot answer: it must close the
// connection and log a line holding log with the connection's address.
type closeCase struct {
	name   string
	prefix func(*rawConn) []byte
	log    string
}

var (
	cNone               = int16(0)
	cCorrupt            = kerr.CorruptMessage.Code
	cUnknownTopic       = kerr.UnknownTopicOrPartition.Code
	cUnknownTopicID     = kerr.UnknownTopicID.Code
	cInvalidTopic       = kerr.InvalidTopicException.Code
	cInvalidPartitions  = kerr.InvalidPartitions.Code
	cInvalidRF          = kerr.InvalidReplicationFactor.Code
	cInvalidAssignment  = kerr.InvalidReplicaAssignment.Code
	cInvalidConfig      = kerr.InvalidConfig.Code
	cInvalidRequest     = kerr.InvalidRequest.Code
	cPolicy             = kerr.PolicyViolation.Code
	cInvalidAcks        = kerr.InvalidRequiredAcks.Code
	cUnsupportedFormat  = kerr.UnsupportedForMessageFormat.Code
	cInvalidRecord      = kerr.InvalidRecord.Code
	cTxnAuth            = kerr.TransactionalIDAuthorizationFailed.Code
	cOffsetRange        = kerr.OffsetOutOfRange.Code
	cUnknownEpoch       = kerr.UnknownLeaderEpoch.Code
	cFencedEpoch        = kerr.FencedLeaderEpoch.Code
	cSessionNotFound    = kerr.FetchSessionIDNotFound.Code
	cUnsupportedVersion = kerr.UnsupportedVersion.Code
	cInvalidEpoch       = kerr.InvalidProducerEpoch.Code
	cUnknownProducer    = kerr.UnknownProducerID.Code
	cOutOfOrder         = kerr.OutOfOrderSequenceNumber.Code
	cInvalidTimestamp   = kerr.InvalidTimestamp.Code
)

func oneOf(c ...int16) []int16 { return c }

// --- per-API builders ---

func createTopics(mod func(*kmsg.CreateTopicsRequestTopic), extra ...string) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.SetVersion(7)
		req.TimeoutMillis = 5000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "chaos-bad-create", 1, 1
		mod(&rt)
		req.Topics = append(req.Topics, rt)
		for _, name := range extra {
			x := rt
			x.Topic = name
			req.Topics = append(req.Topics, x)
		}
		return req
	}
}

func createCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.CreateTopicsResponse).Topics {
		out = append(out, t.ErrorCode)
	}
	return out
}

func produceReq(acks int16, txn *string, topic string, partition int32, records []byte) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(9) // topics by name
		req.Acks, req.TimeoutMillis, req.TransactionID = acks, 5000, txn
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = partition, records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func produceCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.ProduceResponse).Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

// batchWith returns a valid batch changed by mod (on the encoded bytes);
// fixCRC recomputes the CRC afterwards.
func batchWith(mod func([]byte) []byte, fixCRC bool) []byte {
	b := mod(recordBatch(-1, -1, -1, "a", "b"))
	if fixCRC && len(b) >= 21 {
		binary.BigEndian.PutUint32(b[17:], crc32c(b[21:]))
	}
	return b
}

func fetchReq(mod func(*kmsg.FetchRequest, *kmsg.FetchRequestTopicPartition)) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(12)
		req.MaxWaitMillis, req.MaxBytes = 10, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = badTopic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		mod(req, &rp)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func fetchCodes(r kmsg.Response) []int16 {
	resp := r.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return []int16{resp.ErrorCode}
	}
	var out []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func listOffsetsReq(partition int32, ts int64, epoch int32) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrListOffsetsRequest()
		req.SetVersion(7)
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = badTopic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, ts, epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func listOffsetsCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.ListOffsetsResponse).Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func deleteRecordsReq(topic string, partition int32, offset int64) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.SetVersion(2)
		req.TimeoutMillis = 5000
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = partition, offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func deleteRecordsCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.DeleteRecordsResponse).Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func describeConfigsReq(typ kmsg.ConfigResourceType, name string) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(4)
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = typ, name
		req.Resources = append(req.Resources, rr)
		return req
	}
}

func describeConfigsCodes(r kmsg.Response) (out []int16) {
	for _, x := range r.(*kmsg.DescribeConfigsResponse).Resources {
		out = append(out, x.ErrorCode)
	}
	return out
}

func alterConfigsReq(typ kmsg.ConfigResourceType, name, key string, value *string) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.SetVersion(2)
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = typ, name
		cfg := kmsg.NewAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Value = key, value
		rr.Configs = append(rr.Configs, cfg)
		req.Resources = append(req.Resources, rr)
		return req
	}
}

func alterConfigsCodes(r kmsg.Response) (out []int16) {
	for _, x := range r.(*kmsg.AlterConfigsResponse).Resources {
		out = append(out, x.ErrorCode)
	}
	return out
}

func incAlterReq(name, key string, op kmsg.IncrementalAlterConfigOp, value *string) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.SetVersion(1)
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, name
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Op, cfg.Value = key, op, value
		rr.Configs = append(rr.Configs, cfg)
		req.Resources = append(req.Resources, rr)
		return req
	}
}

func incAlterCodes(r kmsg.Response) (out []int16) {
	for _, x := range r.(*kmsg.IncrementalAlterConfigsResponse).Resources {
		out = append(out, x.ErrorCode)
	}
	return out
}

func deleteTopicsReq(name *string, id [16]byte) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.SetVersion(6)
		req.TimeoutMillis = 5000
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic, rt.TopicID = name, id
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func deleteTopicsCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.DeleteTopicsResponse).Topics {
		out = append(out, t.ErrorCode)
	}
	return out
}

func createPartitionsReq(topic string, count int32) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.SetVersion(3)
		req.TimeoutMillis = 5000
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = topic, count
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func createPartitionsCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.CreatePartitionsResponse).Topics {
		out = append(out, t.ErrorCode)
	}
	return out
}

func metadataReq(names []string, ids [][16]byte, auto bool) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(12)
		req.AllowAutoTopicCreation = auto
		for _, n := range names {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(n)
			req.Topics = append(req.Topics, rt)
		}
		for _, id := range ids {
			rt := kmsg.NewMetadataRequestTopic()
			rt.TopicID = id
			req.Topics = append(req.Topics, rt)
		}
		return req
	}
}

func metadataCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.MetadataResponse).Topics {
		out = append(out, t.ErrorCode)
	}
	return out
}

func offsetForEpochReq(topic string, partition, current, epoch int32) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.SetVersion(4)
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = partition, current, epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return req
	}
}

func offsetForEpochCodes(r kmsg.Response) (out []int16) {
	for _, t := range r.(*kmsg.OffsetForLeaderEpochResponse).Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

func initPIDReq(txn *string, pid int64, epoch int16) func() kmsg.Request {
	return func() kmsg.Request {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.SetVersion(4)
		req.TransactionalID, req.TransactionTimeoutMillis = txn, 60000
		req.ProducerID, req.ProducerEpoch = pid, epoch
		return req
	}
}

func initPIDCodes(r kmsg.Response) []int16 {
	return []int16{r.(*kmsg.InitProducerIDResponse).ErrorCode}
}

func apiVersionsCodes(r kmsg.Response) []int16 {
	return []int16{r.(*kmsg.ApiVersionsResponse).ErrorCode}
}

func describeClusterCodes(r kmsg.Response) []int16 {
	return []int16{r.(*kmsg.DescribeClusterResponse).ErrorCode}
}

// codeCases are the bad fields, per API.
func codeCases() []codeCase {
	s := kmsg.StringPtr
	badCRC := func(b []byte) []byte { b[20] ^= 0xff; return b }
	magic := func(m byte) func([]byte) []byte { return func(b []byte) []byte { b[16] = m; return b } }
	length := func(v int32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], uint32(v)); return b }
	}
	count := func(v int32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[57:], uint32(v)); return b }
	}
	attrs := func(v uint16) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], v); return b }
	}
	cutRecords := func(b []byte) []byte { // the batch length still counts the cut bytes
		return b[:len(b)-3]
	}
	var cases []codeCase
	add := func(name string, req func() kmsg.Request, codes func(kmsg.Response) []int16, want ...int16) {
		cases = append(cases, codeCase{name: name, req: req, codes: codes, want: want})
	}
	ct := func(mod func(*kmsg.CreateTopicsRequestTopic)) func() kmsg.Request { return createTopics(mod) }

	// CreateTopics
	add("create-negative-partitions", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.NumPartitions = -5 }), createCodes, cInvalidPartitions)
	add("create-zero-partitions", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.NumPartitions = 0 }), createCodes, cInvalidPartitions)
	add("create-zero-rf", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.ReplicationFactor = 0 }), createCodes, cInvalidRF)
	add("create-negative-rf", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.ReplicationFactor = -7 }), createCodes, cInvalidRF)
	add("create-rf-above-brokers", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.ReplicationFactor = 4 }), createCodes, cInvalidRF)
	add("create-empty-name", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.Topic = "" }), createCodes, cInvalidTopic)
	add("create-bad-chars", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.Topic = "bad name!" }), createCodes, cInvalidTopic)
	add("create-dotdot", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.Topic = ".." }), createCodes, cInvalidTopic)
	add("create-long-name", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.Topic = strings.Repeat("x", 250) }), createCodes, cInvalidTopic)
	add("create-duplicate-in-request", createTopics(func(*kmsg.CreateTopicsRequestTopic) {}, "chaos-bad-create"), createCodes, cInvalidRequest)
	add("create-unknown-config", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "no.such.config", Value: s("1")}}
	}), createCodes, cInvalidConfig)
	add("create-bad-config-value", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: s("soon")}}
	}), createCodes, cInvalidConfig)
	add("create-null-config-value", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: nil}}
	}), createCodes, cInvalidConfig, cNone)
	add("create-assignment-unknown-broker", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.NumPartitions, t.ReplicationFactor = -1, -1
		t.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{99}}}
	}), createCodes, cInvalidAssignment)
	add("create-assignment-and-count", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1}}}
	}), createCodes, cInvalidRequest)
	add("create-assignment-gap", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.NumPartitions, t.ReplicationFactor = -1, -1
		t.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1}}, {Partition: 5, Replicas: []int32{1}}}
	}), createCodes, cInvalidAssignment, cInvalidRequest)
	add("create-assignment-duplicate-replica", ct(func(t *kmsg.CreateTopicsRequestTopic) {
		t.NumPartitions, t.ReplicationFactor = -1, -1
		t.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 1}}}
	}), createCodes, cInvalidAssignment)
	add("create-too-many-partitions", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.NumPartitions = 5000 }), createCodes, cPolicy)
	add("create-existing", ct(func(t *kmsg.CreateTopicsRequestTopic) { t.Topic = badTopic }), createCodes, kerr.TopicAlreadyExists.Code)

	// DeleteTopics
	add("delete-unknown-name", deleteTopicsReq(s("no-such-topic"), [16]byte{}), deleteTopicsCodes, cUnknownTopic)
	add("delete-unknown-id", deleteTopicsReq(nil, [16]byte{9, 9, 9}), deleteTopicsCodes, cUnknownTopicID)
	add("delete-empty-name", deleteTopicsReq(s(""), [16]byte{}), deleteTopicsCodes, cUnknownTopic, cInvalidTopic, cInvalidRequest)
	add("delete-no-name-no-id", deleteTopicsReq(nil, [16]byte{}), deleteTopicsCodes, cUnknownTopicID, cInvalidRequest)

	// CreatePartitions
	add("partitions-unknown-topic", createPartitionsReq("no-such-topic", 3), createPartitionsCodes, cUnknownTopic)
	add("partitions-decrease", createPartitionsReq(badTopic, 1), createPartitionsCodes, cInvalidPartitions)
	add("partitions-same", createPartitionsReq(badTopic, 2), createPartitionsCodes, cInvalidPartitions)
	add("partitions-negative", createPartitionsReq(badTopic, -3), createPartitionsCodes, cInvalidPartitions)
	add("partitions-too-many", createPartitionsReq(badTopic, 10000), createPartitionsCodes, cPolicy, cInvalidPartitions)

	// Metadata
	add("metadata-invalid-name", metadataReq([]string{"bad name!"}, nil, true), metadataCodes, cInvalidTopic)
	add("metadata-unknown-no-auto", metadataReq([]string{"chaos-absent"}, nil, false), metadataCodes, cUnknownTopic)
	add("metadata-unknown-id", metadataReq(nil, [][16]byte{{7, 7, 7}}, false), metadataCodes, cUnknownTopicID)

	// Produce
	good := recordBatch(-1, -1, -1, "a")
	add("produce-bad-acks", produceReq(5, nil, badTopic, 0, good), produceCodes, cInvalidAcks)
	add("produce-transactional", produceReq(-1, s("txn"), badTopic, 0, good), produceCodes, cTxnAuth)
	add("produce-unknown-partition", produceReq(-1, nil, badTopic, 99, good), produceCodes, cUnknownTopic)
	add("produce-negative-partition", produceReq(-1, nil, badTopic, -1, good), produceCodes, cUnknownTopic)
	add("produce-unknown-topic", produceReq(-1, nil, "chaos-absent-produce", 0, good), produceCodes, cUnknownTopic)
	add("produce-bad-crc", produceReq(-1, nil, badTopic, 0, batchWith(badCRC, false)), produceCodes, cCorrupt)
	add("produce-magic-1", produceReq(-1, nil, badTopic, 0, batchWith(magic(1), false)), produceCodes, cUnsupportedFormat, cCorrupt, cInvalidRecord)
	add("produce-magic-0", produceReq(-1, nil, badTopic, 0, batchWith(magic(0), false)), produceCodes, cUnsupportedFormat, cCorrupt, cInvalidRecord)
	add("produce-magic-3", produceReq(-1, nil, badTopic, 0, batchWith(magic(3), false)), produceCodes, cUnsupportedFormat, cCorrupt, cInvalidRecord)
	add("produce-negative-length", produceReq(-1, nil, badTopic, 0, batchWith(length(-5), false)), produceCodes, cCorrupt)
	add("produce-length-beyond-data", produceReq(-1, nil, badTopic, 0, batchWith(length(1<<20), false)), produceCodes, cCorrupt)
	add("produce-records-cut", produceReq(-1, nil, badTopic, 0, batchWith(cutRecords, false)), produceCodes, cCorrupt)
	add("produce-negative-count", produceReq(-1, nil, badTopic, 0, batchWith(count(-1), true)), produceCodes, cCorrupt, cInvalidRecord)
	add("produce-count-too-high", produceReq(-1, nil, badTopic, 0, batchWith(count(1000), true)), produceCodes, cCorrupt, cInvalidRecord)
	add("produce-zero-count", produceReq(-1, nil, badTopic, 0, batchWith(count(0), true)), produceCodes, cCorrupt, cInvalidRecord)
	// Batches with a valid CRC that no consumer can read (unknown codec,
	// payload that does not decompress, record lengths beyond the batch):
	// TestChaosProduceRejectsBatchesConsumersCannotRead.
	add("produce-transactional-batch", produceReq(-1, nil, badTopic, 0, batchWith(attrs(1<<4), true)), produceCodes, cInvalidRecord, cCorrupt)
	add("produce-control-batch", produceReq(-1, nil, badTopic, 0, batchWith(attrs(1<<5), true)), produceCodes, cInvalidRecord, cCorrupt)
	add("produce-empty-records", produceReq(-1, nil, badTopic, 0, []byte{}), produceCodes, cCorrupt, cInvalidRecord)
	add("produce-null-records", produceReq(-1, nil, badTopic, 0, nil), produceCodes, cCorrupt, cInvalidRecord)
	add("produce-garbage-records", produceReq(-1, nil, badTopic, 0, []byte("definitely not a record batch at all")), produceCodes, cCorrupt, cUnsupportedFormat, cInvalidRecord)
	add("produce-idempotent-negative-epoch", produceReq(-1, nil, badTopic, 0, recordBatch(4242, -1, 0, "x")), produceCodes, cInvalidRecord, cInvalidEpoch, cUnknownProducer)
	add("produce-idempotent-negative-seq", produceReq(-1, nil, badTopic, 0, recordBatch(4243, 0, -5, "x")), produceCodes, cInvalidRecord, cOutOfOrder)

	// Fetch
	fr := fetchReq
	add("fetch-unknown-partition", fr(func(_ *kmsg.FetchRequest, p *kmsg.FetchRequestTopicPartition) { p.Partition = 99 }), fetchCodes, cUnknownTopic)
	add("fetch-offset-beyond-end", fr(func(_ *kmsg.FetchRequest, p *kmsg.FetchRequestTopicPartition) { p.FetchOffset = 1 << 40 }), fetchCodes, cOffsetRange)
	add("fetch-negative-offset", fr(func(_ *kmsg.FetchRequest, p *kmsg.FetchRequestTopicPartition) { p.FetchOffset = -5 }), fetchCodes, cOffsetRange)
	add("fetch-future-epoch", fr(func(_ *kmsg.FetchRequest, p *kmsg.FetchRequestTopicPartition) { p.CurrentLeaderEpoch = 1 << 30 }), fetchCodes, cUnknownEpoch)
	add("fetch-session-epoch", fr(func(r *kmsg.FetchRequest, _ *kmsg.FetchRequestTopicPartition) { r.SessionEpoch = 5 }), fetchCodes, cSessionNotFound)
	add("fetch-negative-max-bytes", fr(func(r *kmsg.FetchRequest, p *kmsg.FetchRequestTopicPartition) {
		r.MaxBytes, p.PartitionMaxBytes = -1, -1
	}), fetchCodes, cNone, cInvalidRequest)
	add("fetch-negative-wait", fr(func(r *kmsg.FetchRequest, _ *kmsg.FetchRequestTopicPartition) { r.MaxWaitMillis, r.MinBytes = -100, -1 }), fetchCodes, cNone, cInvalidRequest)

	// ListOffsets
	add("list-unknown-partition", listOffsetsReq(99, -1, -1), listOffsetsCodes, cUnknownTopic)
	add("list-future-epoch", listOffsetsReq(0, -1, 1<<30), listOffsetsCodes, cUnknownEpoch)
	add("list-bad-timestamp", listOffsetsReq(0, -77, -1), listOffsetsCodes, cNone, cInvalidRequest, cInvalidTimestamp, cUnsupportedVersion)

	// DeleteRecords
	add("delete-records-beyond-end", deleteRecordsReq(badTopic, 0, 1<<40), deleteRecordsCodes, cOffsetRange)
	add("delete-records-negative", deleteRecordsReq(badTopic, 0, -7), deleteRecordsCodes, cOffsetRange)
	add("delete-records-unknown", deleteRecordsReq("chaos-absent", 0, 1), deleteRecordsCodes, cUnknownTopic)

	// DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
	add("describe-configs-bad-type", describeConfigsReq(kmsg.ConfigResourceType(99), "x"), describeConfigsCodes, cInvalidRequest)
	add("describe-configs-bad-broker", describeConfigsReq(kmsg.ConfigResourceTypeBroker, "abc"), describeConfigsCodes, cInvalidRequest)
	add("describe-configs-other-broker", describeConfigsReq(kmsg.ConfigResourceTypeBroker, "77"), describeConfigsCodes, cInvalidRequest)
	add("describe-configs-unknown-topic", describeConfigsReq(kmsg.ConfigResourceTypeTopic, "chaos-absent"), describeConfigsCodes, cUnknownTopic)
	add("alter-configs-unknown-key", alterConfigsReq(kmsg.ConfigResourceTypeTopic, badTopic, "no.such", s("1")), alterConfigsCodes, cInvalidConfig)
	add("alter-configs-bad-value", alterConfigsReq(kmsg.ConfigResourceTypeTopic, badTopic, "retention.ms", s("-99x")), alterConfigsCodes, cInvalidConfig)
	add("alter-configs-unknown-topic", alterConfigsReq(kmsg.ConfigResourceTypeTopic, "chaos-absent", "retention.ms", s("1")), alterConfigsCodes, cUnknownTopic)
	add("alter-configs-bad-type", alterConfigsReq(kmsg.ConfigResourceType(99), "x", "retention.ms", s("1")), alterConfigsCodes, cInvalidRequest)
	add("inc-alter-bad-op", incAlterReq(badTopic, "retention.ms", kmsg.IncrementalAlterConfigOp(9), s("1")), incAlterCodes, cInvalidRequest)
	add("inc-alter-unknown-key", incAlterReq(badTopic, "no.such", kmsg.IncrementalAlterConfigOpSet, s("1")), incAlterCodes, cInvalidConfig)
	add("inc-alter-append-scalar", incAlterReq(badTopic, "retention.ms", kmsg.IncrementalAlterConfigOpAppend, s("1")), incAlterCodes, cInvalidConfig, cInvalidRequest)

	// InitProducerID, OffsetForLeaderEpoch, ApiVersions, DescribeCluster
	add("init-pid-transactional", initPIDReq(s("txn"), -1, -1), initPIDCodes, cTxnAuth)
	add("init-pid-unknown-producer", initPIDReq(nil, 987654321, 3), initPIDCodes, cNone, cInvalidEpoch, cUnknownProducer, kerr.ProducerFenced.Code)
	add("epoch-unknown-topic", offsetForEpochReq("chaos-absent", 0, -1, 0), offsetForEpochCodes, cUnknownTopic)
	add("epoch-unknown-partition", offsetForEpochReq(badTopic, 99, -1, 0), offsetForEpochCodes, cUnknownTopic)
	add("epoch-future-current", offsetForEpochReq(badTopic, 0, 1<<30, 0), offsetForEpochCodes, cUnknownEpoch)
	add("epoch-negative-epoch", offsetForEpochReq(badTopic, 0, -1, -9), offsetForEpochCodes, cNone, cInvalidRequest)
	v99 := int16(99)
	cases = append(cases, codeCase{name: "apiversions-unsupported", req: func() kmsg.Request {
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(0) // Kafka answers an unknown ApiVersions version at v0
		return req
	}, frameVersion: &v99, codes: apiVersionsCodes, want: []int16{cUnsupportedVersion}})
	add("apiversions-bad-software-name", func() kmsg.Request {
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(3)
		req.ClientSoftwareName, req.ClientSoftwareVersion = "!!bad name!!", "1"
		return req
	}, apiVersionsCodes, cInvalidRequest, cNone)
	add("describe-cluster-bad-endpoint", func() kmsg.Request {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.SetVersion(1)
		req.EndpointType = 9
		return req
	}, describeClusterCodes, kerr.UnsupportedEndpointType.Code, cInvalidRequest)
	return cases
}

// closeCases are frames that cannot be answered.
func closeCases() []closeCase {
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	id := "chaostest"
	hdr := func(key, version int16) []byte { return header(key, version, 1, &id, false) }
	long := strings.Repeat("y", 60)
	return []closeCase{
		{"negative-size", func(*rawConn) []byte { return u32(0xffffffff) }, "request size out of range"},
		{"min-int-size", func(*rawConn) []byte { return u32(0x80000000) }, "request size out of range"},
		{"oversize", func(*rawConn) []byte { return append(u32(maxReqBytes+1), hdr(3, 9)...) }, "request size out of range"},
		{"huge-size", func(*rawConn) []byte { return u32(0x7fffffff) }, "request size out of range"},
		{"zero-size", func(*rawConn) []byte { return u32(0) }, "truncated request"},
		{"short-header", func(*rawConn) []byte { return sized([]byte{0, 3, 0}) }, "truncated request"},
		{"client-id-beyond-frame", func(*rawConn) []byte {
			b := binary.BigEndian.AppendUint16(nil, 3)
			b = binary.BigEndian.AppendUint16(b, 9)
			b = binary.BigEndian.AppendUint32(b, 1)
			b = binary.BigEndian.AppendUint16(b, 5000)
			return sized(append(b, long...))
		}, "truncated request"},
		{"unknown-api-key", func(*rawConn) []byte { return sized(hdr(9999, 0)) }, "unknown api key"},
		{"negative-api-key", func(*rawConn) []byte { return sized(hdr(-1, 0)) }, "unknown api key"},
		{"unsupported-version", func(*rawConn) []byte { return sized(hdr(kmsg.Metadata.Int16(), 99)) }, "unsupported api version"},
		{"negative-version", func(*rawConn) []byte { return sized(hdr(kmsg.Produce.Int16(), -1)) }, "unsupported api version"},
		{"fetch-unsupported-version", func(*rawConn) []byte { return sized(hdr(kmsg.Fetch.Int16(), 99)) }, "unsupported api version"},
		{"request-after-garbage", func(r *rawConn) []byte {
			// A valid request, then a broken one: the first is answered,
			// the second closes the connection.
			req := kmsg.NewPtrMetadataRequest()
			req.SetVersion(1)
			f, _ := r.frameOf(req.Key(), req.GetVersion(), false, encode(req))
			return append(f, sized(hdr(9999, 0))...)
		}, "unknown api key"},
		{"acks0-failed-produce", func(r *rawConn) []byte {
			req := produceReq(0, nil, badTopic, 0, batchWith(func(b []byte) []byte { b[20] ^= 0xff; return b }, false))()
			f, _ := r.frameOf(req.Key(), req.GetVersion(), req.IsFlexible(), encode(req))
			return f
		}, "closing connection"},
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
