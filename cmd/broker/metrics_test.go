package broker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// gauge sums the series of name (exactly, any labels) over the running nodes.
func gaugeSum(c *clustertest.Cluster, name string) float64 {
	var sum float64
	for i := range c.Len() {
		if c.Broker(i) != nil {
			sum += counterValue(c.Metrics(i), "", name+"{")
		}
	}
	return sum
}

func httpMetrics(t *testing.T, c *clustertest.Cluster, i int) string {
	t.Helper()
	resp, err := http.Get("http://" + c.Broker(i).HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The cluster gauges follow a node's stop and restart: under-replicated
// partitions appear while it is down and go back to 0; leaders cover every
// partition; per-topic counters and consumer lag move with traffic; and
// every metric the Grafana dashboard queries is exported.
func TestClusterMetricsFollowNodeStop(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := nodeClient(t, c.KafkaAddrs()[0], kgo.SeedBrokers(c.KafkaAddrs()...), kgo.RequestRetries(20))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 4, 3, nil, "metered"); err != nil {
		t.Fatal(err)
	}
	checkTopicEverywhere(t, c, []string{"metered"}, 4, 3)

	// Traffic: 20 records, 10 consumed and committed by group "lagging".
	prod := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20), kgo.DefaultProduceTopic("metered"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 20 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "record-%02d", i), Partition: int32(i % 4)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := nodeClient(t, c.KafkaAddrs()[1], kgo.RequestRetries(20), kgo.ConsumeTopics("metered"),
		kgo.ConsumerGroup("lagging"), kgo.DisableAutoCommit(), kgo.MaxConcurrentFetches(1))
	var got []*kgo.Record
	for len(got) < 20 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of 20: %v", len(got), err)
		}
		got = append(got, fs.Records()...)
	}
	// Commit offset 0 everywhere but the first record of each partition:
	// lag = 20 - 4.
	offs := kadm.Offsets{}
	for p := range int32(4) {
		offs.AddOffset("metered", p, 1, -1)
	}
	cons.Close()
	if err := adm.CommitAllOffsets(ctx, "lagging", offs); err != nil {
		t.Fatal(err)
	}

	wait := func(what string, f func() error) {
		t.Helper()
		if err := clustertest.WaitFor(60*time.Second, f); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wait("steady state", func() error {
		total := gaugeSum(c, "skiff_global_partitions")
		if total < 4 || gaugeSum(c, "skiff_active_controller") != 1 || gaugeSum(c, "skiff_alive_brokers") != 3 {
			return fmt.Errorf("global partitions %v, controllers %v, alive %v", total,
				gaugeSum(c, "skiff_active_controller"), gaugeSum(c, "skiff_alive_brokers"))
		}
		if l := gaugeSum(c, "skiff_leader_partitions"); l != total {
			return fmt.Errorf("leaders cover %v of %v partitions", l, total)
		}
		if h := gaugeSum(c, "skiff_partitions"); h < 3*4 {
			return fmt.Errorf("%v replicas hosted", h)
		}
		if u, o := gaugeSum(c, "skiff_under_replicated_partitions"), gaugeSum(c, "skiff_offline_partitions"); u != 0 || o != 0 {
			return fmt.Errorf("under-replicated %v, offline %v", u, o)
		}
		if lag := gaugeSum(c, `skiff_consumergroup_lag`); lag != 16 {
			return fmt.Errorf("consumer lag %v, want 16", lag)
		}
		return nil
	})
	var in, msgs, out float64
	for i := range 3 {
		in += counterValue(c.Metrics(i), `topic="metered"`, "skiff_topic_bytes_in_total{")
		msgs += counterValue(c.Metrics(i), `topic="metered"`, "skiff_topic_messages_in_total{")
		out += counterValue(c.Metrics(i), `topic="metered"`, "skiff_topic_bytes_out_total{")
		if n := counterValue(c.Metrics(i), "", "skiff_partition_bytes_in_total{"); n != 0 {
			t.Errorf("node %d: per-partition series without PartitionMetrics", i+1)
		}
	}
	if msgs != 20 || in < 20*9 || out < in {
		t.Errorf("metered: %v messages in (want 20), %v bytes in, %v bytes out", msgs, in, out)
	}

	// The dashboard's metrics, from the nodes' /metrics.
	exported := map[string]bool{}
	for i := range 3 {
		for _, line := range strings.Split(httpMetrics(t, c, i), "\n") {
			if name, _, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") {
				exported[name] = true
			} else if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				exported[name] = true
			}
		}
	}
	queried := dashboardMetrics(t, "../../ops/grafana/skiff.json")
	if len(queried) < 10 {
		t.Fatalf("only %d metrics found in the dashboard: %v", len(queried), queried)
	}
	for _, name := range queried {
		if !exported[name] {
			t.Errorf("the dashboard queries %s, which no node exports", name)
		}
	}

	// Stop node 3: the partitions it replicated are under-replicated on
	// their new leaders; after the restart, none are.
	c.Stop(2)
	wait("under-replicated while node 3 is down", func() error {
		if u := gaugeSum(c, "skiff_under_replicated_partitions"); u == 0 {
			return fmt.Errorf("no under-replicated partitions")
		}
		if a := gaugeSum(c, "skiff_alive_brokers"); a != 2 {
			return fmt.Errorf("alive brokers %v", a)
		}
		return nil
	})
	c.Restart(2)
	wait("healthy after node 3's restart", func() error {
		if u, o := gaugeSum(c, "skiff_under_replicated_partitions"), gaugeSum(c, "skiff_offline_partitions"); u != 0 || o != 0 {
			return fmt.Errorf("under-replicated %v, offline %v", u, o)
		}
		if a := gaugeSum(c, "skiff_alive_brokers"); a != 3 {
			return fmt.Errorf("alive brokers %v", a)
		}
		if t, l := gaugeSum(c, "skiff_global_partitions"), gaugeSum(c, "skiff_leader_partitions"); l != t {
			return fmt.Errorf("leaders cover %v of %v partitions", l, t)
		}
		return nil
	})
	// Data-group gauges on the restarted node.
	wait("data-group gauges on node 3", func() error {
		if n := counterValue(c.Metrics(2), "", "skiff_datagroup_term{"); n == 0 {
			return fmt.Errorf("node 3 reports no data-group term")
		}
		if n := counterValue(c.Metrics(2), "", "skiff_datagroup_applied_index{"); n == 0 {
			return fmt.Errorf("node 3 reports no applied index")
		}
		if n := counterValue(c.Metrics(2), "", "skiff_grouplog_bytes{"); n == 0 {
			return fmt.Errorf("node 3 reports no group-log bytes")
		}
		return nil
	})
}

// With PartitionMetrics the byte and message counters exist per partition.
func TestClusterMetricsPerPartition(t *testing.T) {
	c := clustertest.New(t, 1, clustertest.Options{PartitionMetrics: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := nodeClient(t, c.KafkaAddrs()[0], kgo.RequestRetries(20), kgo.DefaultProduceTopic("parted"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "parted"); err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v"), Partition: p}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for p := range 2 {
		if n := counterValue(c.Metrics(0), fmt.Sprintf(`partition="%d"`, p), `skiff_partition_messages_in_total{node="1",topic="parted"`); n != 1 {
			t.Errorf("partition %d: %v messages in, want 1", p, n)
		}
	}
}

// dashboardMetrics lists the metric names in the dashboard's PromQL
// expressions: identifiers left once strings, label matchers, by/without
// clauses, range selectors and function calls are removed.
func dashboardMetrics(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	strip := []*regexp.Regexp{
		regexp.MustCompile(`"[^"]*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\b(by|without|on|ignoring)\s*\([^)]*\)`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\b[a-zA-Z_]\w*\s*\(`),
	}
	ident := regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b`)
	set := map[string]bool{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			e := tg.Expr
			for _, re := range strip {
				e = re.ReplaceAllString(e, " ")
			}
			for _, name := range ident.FindAllString(e, -1) {
				switch name {
				case "and", "or", "unless", "bool", "offset":
					continue
				}
				set[name] = true
			}
		}
	}
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
