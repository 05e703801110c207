package chaostest

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce must refuse a record batch that no consumer can read (Kafka's
// LogValidator decompresses and walks every record on the leader, and
// answers CORRUPT_MESSAGE or INVALID_RECORD). A batch with a correct CRC
// but an unknown compression codec, a compressed payload that does not
// decompress, or records whose lengths do not fit the batch, once stored,
// either stops every consumer of the partition for good (kgo retries
// "unable to decompress batch" forever and never reaches later records)
// or silently hides the batch's records.
func TestChaosProduceRejectsBatchesConsumersCannotRead(t *testing.T) {
	c := Start(t, skiffBin, Options{Nodes: 1})
	addr := c.Nodes[0].KafkaAddr
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		want *kerr.Error
	}{
		// The payload cannot be read at all (no codec, or it does not
		// decompress): CORRUPT_MESSAGE, as for a failed decompression in
		// Kafka (datapath/validate.go).
		{"unknown-codec", func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], 7); return b }, kerr.CorruptMessage},
		{"gzip-not-gzip", func(b []byte) []byte { binary.BigEndian.PutUint16(b[21:], 1); return b }, kerr.CorruptMessage},
		// The payload reads but its records do not fit the batch:
		// INVALID_RECORD (Kafka's InvalidRecordException).
		{"record-length-beyond-batch", func(b []byte) []byte { b[61] = 0x7e; return b }, kerr.InvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "poison-" + tc.name
			createTopic(t, c, 0, topic, 1, 1, nil)
			rc := dialRaw(t, addr)
			resp, err := rc.roundTrip(produceReq(-1, nil, topic, 0, batchWith(tc.mod, true))(), nil)
			if err != nil {
				t.Fatal(err)
			}
			code := produceCodes(resp)[0]
			if code != 0 {
				if code != tc.want.Code {
					t.Errorf("refused with %v, want %v", kerr.ErrorForCode(code), tc.want)
				}
				return
			}
			t.Errorf("Produce accepted a batch no consumer can read (want %v)", tc.want)
			// What it does to consumers: a good record written after it.
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
				kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("good")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			var fetchErr error
			var got []string
			for ctx.Err() == nil && len(got) == 0 {
				fs := cl.PollFetches(ctx)
				fs.EachError(func(_ string, _ int32, err error) {
					if ctx.Err() == nil {
						fetchErr = err
					}
				})
				fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
			}
			switch {
			case len(got) == 0:
				t.Errorf("the partition is poisoned: a consumer never gets the good record written after the bad batch (last fetch error: %v)", fetchErr)
			default:
				t.Errorf("the consumer skipped the bad batch silently: got only %q (its 2 records are lost to consumers)", got)
			}
		})
	}
}
