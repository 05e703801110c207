package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fuzzSeeds are valid frames for every registered API and version, plus a
// few with content.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	id := "seed"
	for _, k := range registeredAPIs(allFeatures) {
		for v := lookupAPI(k.ApiKey, allFeatures).minV; v <= k.MaxVersion; v++ { // served versions

			req := kmsg.RequestForKey(k.ApiKey)
			if d, ok := req.(interface{ Default() }); ok {
				d.Default()
			}
			req.SetVersion(v)
			seeds = append(seeds, encodeRequest(int32(v), &id, req))
		}
	}
	full := []kmsg.Request{
		&kmsg.MetadataRequest{Version: 12, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("a")}, {TopicID: [16]byte{1}}}, AllowAutoTopicCreation: true},
		&kmsg.CreateTopicsRequest{Version: 7, TimeoutMillis: 1000, Topics: []kmsg.CreateTopicsRequestTopic{{
			Topic: "t", NumPartitions: -1, ReplicationFactor: -1,
			ReplicaAssignment: []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1, 2}}},
			Configs:           []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1")}},
		}}},
		&kmsg.DeleteTopicsRequest{Version: 6, Topics: []kmsg.DeleteTopicsRequestTopic{{TopicID: [16]byte{2}}}},
		&kmsg.IncrementalAlterConfigsRequest{Version: 1, Resources: []kmsg.IncrementalAlterConfigsRequestResource{{
			ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "t",
			Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "k", Op: 1}},
		}}},
		&kmsg.ProduceRequest{Version: 9, Acks: -1, TimeoutMillis: 1000, TransactionID: kmsg.StringPtr("tx"),
			Topics: []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{
				{Partition: 0, Records: testBatch(0, "a", "b")}, {Partition: 1, Records: nil}}}}},
		&kmsg.ProduceRequest{Version: 13, Acks: 0, TimeoutMillis: 1000,
			Topics: []kmsg.ProduceRequestTopic{{TopicID: [16]byte{3}, Partitions: []kmsg.ProduceRequestTopicPartition{
				{Partition: 2, Records: testBatch(0, "c")}}}}},
		&kmsg.ProduceRequest{Version: 3, Acks: 1, TimeoutMillis: 1000,
			Topics: []kmsg.ProduceRequestTopic{{Topic: "old", Partitions: []kmsg.ProduceRequestTopicPartition{
				{Partition: 0, Records: testBatch(0, "d")}}}}},
		&kmsg.FetchRequest{Version: 11, ReplicaID: -1, MaxWaitMillis: 500, MinBytes: 1, MaxBytes: 1 << 20,
			IsolationLevel: 1, SessionEpoch: -1, Rack: "r",
			Topics: []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{
				{Partition: 0, CurrentLeaderEpoch: 3, FetchOffset: 42, LogStartOffset: -1, PartitionMaxBytes: 1 << 16}}}},
			ForgottenTopics: []kmsg.FetchRequestForgottenTopic{{Topic: "gone", Partitions: []int32{1}}}},
		&kmsg.FetchRequest{Version: 18, ReplicaID: -1, MaxWaitMillis: 500, MinBytes: 1, MaxBytes: 1 << 20,
			SessionID: 7, SessionEpoch: 2,
			Topics: []kmsg.FetchRequestTopic{{TopicID: [16]byte{4}, Partitions: []kmsg.FetchRequestTopicPartition{
				{Partition: 1, CurrentLeaderEpoch: -1, FetchOffset: 0, LastFetchedEpoch: -1, LogStartOffset: -1,
					PartitionMaxBytes: 1 << 16, HighWatermark: 10}}}}},
		&kmsg.FetchRequest{Version: 4, ReplicaID: -1, MaxWaitMillis: 10, MaxBytes: 100,
			Topics: []kmsg.FetchRequestTopic{{Topic: "t", Partitions: []kmsg.FetchRequestTopicPartition{{Partition: 0}}}}},
	}
	for _, req := range full {
		seeds = append(seeds, encodeRequest(9, nil, req))
	}
	// Two frames back to back, and garbage.
	seeds = append(seeds, append(bytes.Clone(seeds[0]), seeds[1]...),
		[]byte{0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff},
		[]byte{0xff, 0xff, 0xff, 0xff},
		[]byte{0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 1, 0xff, 0xff})
	return seeds
}

// FuzzKafkaFrame feeds arbitrary bytes through the frame, request-header
// and body decoding path. Invariants: no panic, and a request that decodes
// re-encodes to bytes that decode to an equal request.
func FuzzKafkaFrame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			frame, err := readFrame(r, 1<<20)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errFrameSize) && !errors.Is(err, errTruncated) {
					t.Fatalf("readFrame: unexpected error class: %v", err)
				}
				return
			}
			hdr, req, err := parseRequest(frame, allFeatures)
			if err != nil {
				return
			}
			if api := lookupAPI(hdr.key, allFeatures); !api.supports(hdr.version) {
				continue // ApiVersions above our version: body not decoded
			}
			again := encodeRequest(hdr.corr, hdr.clientID, req)
			hdr2, req2, err := parseRequest(again[4:], allFeatures)
			if err != nil {
				t.Fatalf("re-encoded %s v%d does not decode: %v", kmsg.NameForKey(hdr.key), hdr.version, err)
			}
			if hdr2.key != hdr.key || hdr2.version != hdr.version || hdr2.corr != hdr.corr ||
				!reflect.DeepEqual(hdr2.clientID, hdr.clientID) {
				t.Fatalf("header changed: %+v -> %+v", hdr, hdr2)
			}
			if !reflect.DeepEqual(req, req2) {
				t.Fatalf("%s v%d changed on re-encoding:\n%#v\n%#v", kmsg.NameForKey(hdr.key), hdr.version, req, req2)
			}
		}
	})
}

func TestKafkaFrameSeedsDecode(t *testing.T) {
	for i, s := range fuzzSeeds()[:len(fuzzSeeds())-4] {
		if int(binary.BigEndian.Uint32(s)) != len(s)-4 {
			t.Fatalf("seed %d: bad size prefix", i)
		}
		if _, _, err := parseRequest(s[4:], allFeatures); err != nil {
			t.Errorf("seed %d does not decode: %v", i, err)
		}
	}
}
