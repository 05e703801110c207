package broker_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// A node added later with --join serves the cluster's metadata and can
// create topics that every node sees.
func TestClusterJoinAddsANode(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	requestTo(t, c.KafkaAddrs()[0], createTopicsReq([]string{"before-join"}, 2, 3))
	i := c.AddNode()
	c.WaitAlive(4, 30*time.Second)
	checkTopicEverywhere(t, c, []string{"before-join"}, 2, 3)
	requestTo(t, c.KafkaAddrs()[i], createTopicsReq([]string{"after-join"}, 4, 2))
	checkTopicEverywhere(t, c, []string{"after-join"}, 4, 2)
	md := metadataFrom(t, c.KafkaAddrs()[0])
	if len(md.Brokers) != 4 {
		t.Fatalf("%d brokers in metadata after the join, want 4", len(md.Brokers))
	}
}

// Topic configs written through one node are read back through another;
// broker configs are read-only; DescribeCluster lists every broker and the
// controller is the metadata leader.
func TestClusterConfigsAndDescribeCluster(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a0 := kadm.NewClient(nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(10)))
	a2 := kadm.NewClient(nodeClient(t, c.KafkaAddrs()[2], kgo.RequestRetries(10)))
	if _, err := a0.CreateTopic(ctx, 2, 3, map[string]*string{"retention.ms": kmsg.StringPtr("3600000")}, "configured"); err != nil {
		t.Fatal(err)
	}
	alter, err := a0.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("compact")},
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kmsg.StringPtr("2000000")},
	}, "configured")
	if err != nil || alter[0].Err != nil {
		t.Fatalf("alter: %v %+v", err, alter)
	}
	bad, err := a0.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such.config", Value: kmsg.StringPtr("1")}}, "configured")
	if err == nil && bad[0].Err == nil {
		t.Fatal("unknown config key accepted")
	}
	rcs, err := a2.DescribeTopicConfigs(ctx, "configured")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("configured", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2000000", "segment.bytes": "1073741824"}
	for _, cfg := range rc.Configs {
		if w, ok := want[cfg.Key]; ok {
			if cfg.Value == nil || *cfg.Value != w {
				t.Errorf("%s = %v, want %s", cfg.Key, cfg.MaybeValue(), w)
			}
			delete(want, cfg.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("configs missing from DescribeConfigs: %v", want)
	}

	dc := requestTo(t, c.KafkaAddrs()[2], kmsg.NewPtrDescribeClusterRequest()).(*kmsg.DescribeClusterResponse)
	if dc.ErrorCode != 0 || len(dc.Brokers) != 3 || dc.ControllerID != int32(c.Leader()+1) {
		t.Fatalf("DescribeCluster: code %d, %d brokers, controller %d (metadata leader is node %d)", dc.ErrorCode, len(dc.Brokers), dc.ControllerID, c.Leader()+1)
	}
}

// /metrics, /healthz and /readyz on a running node.
func TestClusterHTTPEndpoints(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	requestTo(t, c.KafkaAddrs()[1], createTopicsReq([]string{"observed"}, 1, 3))
	metadataFrom(t, c.KafkaAddrs()[1], "observed")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + c.Broker(1).HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	_, m := get("/metrics")
	for _, want := range []string{
		`skiff_kafka_requests_total{api="CreateTopics",node="2"}`,
		`skiff_kafka_requests_total{api="Metadata",node="2"}`,
		`skiff_metadata_proposals_total{node="2",kind="create_topics"}`,
		`skiff_metadata_read_seconds_bucket{node="2"`,
		`dragonboat_raftnode_has_leader{shardid="1",replicaid="2"}`,
		`skiff_data_dir_total_bytes{node="2"}`,
		`skiff_data_dir_low_space{node="2"} 0`,
		`skiff_writes_refused_low_disk_total{node="2",api="Produce"} 0`,
		`skiff_writes_refused_low_disk_total{node="2",api="OffsetCommit"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Values that must be plausible, not only present.
	value := func(name string) float64 {
		for _, line := range strings.Split(m, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return f
			}
		}
		t.Errorf("/metrics lacks %s", name)
		return -1
	}
	if free := value(`skiff_data_dir_free_bytes{node="2"}`); free <= 0 {
		t.Errorf("data dir free bytes %v", free)
	}
	if runtime.GOOS == "linux" {
		open, limit := value(`skiff_process_open_fds{node="2"}`), value(`skiff_process_max_fds{node="2"}`)
		if open < 10 || open >= limit {
			t.Errorf("open fds %v against a limit of %v: three NodeHosts hold more than 10, and fewer than the limit", open, limit)
		}
	}
}
