package kafka

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTopicPartitions (KIP-966) through franz-go: pages of at most
// ResponsePartitionLimit partitions, in topic name order, continued from
// NextCursor until it is null; every partition exactly once.
func TestKafkaDescribeTopicPartitions(t *testing.T) {
	ts := newTestServer(t, nil)
	a := ts.fake.put("a", false, 1, 2, -1, 1, 1) // partition 1: fenced leader; 2: none
	ts.fake.put("c", false, 1, 1)
	ts.fake.put("b", false, 1, 1, 1)
	cl, _ := ts.clients(t)
	describe := func(limit int32, cursor *kmsg.DescribeTopicPartitionsRequestCursor, names ...string) *kmsg.DescribeTopicPartitionsResponse {
		t.Helper()
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit, req.Cursor = limit, cursor
		for _, n := range names {
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: n})
		}
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	page := func(resp *kmsg.DescribeTopicPartitionsResponse) []string {
		var out []string
		for _, rt := range resp.Topics {
			for _, p := range rt.Partitions {
				out = append(out, fmt.Sprintf("%s/%d", *rt.Topic, p.Partition))
			}
		}
		return out
	}

	// Every topic, 4 partitions a page: the cursor cuts a, then points at
	// c (b ended exactly at the limit), then the last page has none.
	var got []string
	var cursors []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for range 10 {
		resp := describe(4, cursor)
		got = append(got, page(resp)...)
		if resp.NextCursor == nil {
			break
		}
		cursors = append(cursors, fmt.Sprintf("%s/%d", resp.NextCursor.Topic, resp.NextCursor.Partition))
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	want := []string{"a/0", "a/1", "a/2", "a/3", "a/4", "b/0", "b/1", "b/2", "c/0", "c/1"}
	if !slices.Equal(got, want) || !slices.Equal(cursors, []string{"a/4", "c/0"}) {
		t.Errorf("pages %v with cursors %v, want %v with [a/4 c/0]", got, cursors, want)
	}

	// Named topics, sorted, each once; missing and illegal names take no
	// room; partitions as Metadata reports them.
	resp := describe(100, nil, "c", "a", "missing", "bad name", "a")
	var names []string
	for _, rt := range resp.Topics {
		names = append(names, *rt.Topic)
	}
	if !slices.Equal(names, []string{"a", "bad name", "c", "missing"}) || resp.NextCursor != nil {
		t.Fatalf("topics %v, next %+v", names, resp.NextCursor)
	}
	ra, bad, miss := resp.Topics[0], resp.Topics[1], resp.Topics[3]
	if ra.ErrorCode != 0 || ra.TopicID != a.ID || len(ra.Partitions) != 5 || ra.IsInternal {
		t.Errorf("a: %+v", ra)
	}
	if p := ra.Partitions[0]; p.LeaderID != testNode || p.ErrorCode != 0 || !slices.Equal(p.Replicas, []int32{1, 2}) || !slices.Equal(p.ISR, []int32{1}) ||
		p.EligibleLeaderReplicas == nil || p.LastKnownELR == nil {
		t.Errorf("a/0: %+v", p)
	}
	if p := ra.Partitions[1]; p.LeaderID != -1 || p.ErrorCode != kerr.LeaderNotAvailable.Code || !slices.Equal(p.OfflineReplicas, []int32{2}) {
		t.Errorf("a/1 (fenced leader): %+v", p)
	}
	if bad.ErrorCode != kerr.InvalidTopicException.Code || miss.ErrorCode != kerr.UnknownTopicOrPartition.Code ||
		miss.TopicID != [16]byte{} || len(miss.Partitions) != 0 {
		t.Errorf("bad name %+v, missing %+v", bad, miss)
	}

	// A cursor inside the named topics skips the topics before it.
	resp = describe(100, &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "b", Partition: 2}, "a", "b", "c")
	if got := page(resp); !slices.Equal(got, []string{"b/2", "c/0", "c/1"}) {
		t.Errorf("from b/2: %v", got)
	}
	// A cursor outside them, or negative, is INVALID_REQUEST.
	for _, c := range []kmsg.DescribeTopicPartitionsRequestCursor{{Topic: "z"}, {Topic: "a", Partition: -1}} {
		resp = describe(100, &c, "a", "b")
		if len(resp.Topics) != 2 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code || resp.Topics[1].ErrorCode != kerr.InvalidRequest.Code {
			t.Errorf("cursor %+v: %+v", c, resp.Topics)
		}
	}
	// The page size is capped at 2000 whatever the client asks.
	if got := page(describe(1<<30, nil)); len(got) != 10 {
		t.Errorf("unbounded limit: %d partitions", len(got))
	}
}
