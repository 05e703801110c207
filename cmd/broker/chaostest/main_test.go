package chaostest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The long versions run with -chaos.long or SKIFF_CHAOS_LONG=1 (make chaos).
var longFlag = flag.Bool("chaos.long", false, "run the long chaos versions (also SKIFF_CHAOS_LONG=1)")

func long() bool { return *longFlag || os.Getenv("SKIFF_CHAOS_LONG") != "" }

// pick returns short, or long in the long versions; SKIFF_CHAOS_<name>
// overrides both.
func pick(name string, short, long_ int) int {
	if v, err := strconv.Atoi(os.Getenv("SKIFF_CHAOS_" + name)); err == nil && v > 0 {
		return v
	}
	if long() {
		return long_
	}
	return short
}

// skiffBin is the binary under test, built once without -race (the race
// detector would slow the brokers down several times; the test process
// itself runs with it).
var skiffBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "skiff-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	skiffBin = filepath.Join(dir, "skiff")
	if bin := os.Getenv("SKIFF_CHAOS_BIN"); bin != "" {
		skiffBin = bin
	} else {
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", skiffBin, "github.com/skiff-broker/skiff/cmd/skiff")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building skiff: %v\n%s", err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		if testing.Verbose() {
			fmt.Printf("built %s in %s\n", skiffBin, time.Since(start).Round(time.Millisecond))
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// createTopic creates a topic through node i, retrying retriable outcomes
// until the deadline; TOPIC_ALREADY_EXISTS after an ambiguous attempt
// counts as success.
func createTopic(t *testing.T, c *Cluster, i int, name string, partitions int32, rf int16, configs map[string]string) {
	t.Helper()
	if err := tryCreateTopic(c, i, name, partitions, rf, configs, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func tryCreateTopic(c *Cluster, i int, name string, partitions int32, rf int16, configs map[string]string, timeout time.Duration) error {
	retried := false
	return WaitFor(timeout, func() error {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 5000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
		for k, v := range configs {
			cfg := kmsg.NewCreateTopicsRequestTopicConfig()
			cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, cfg)
		}
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		resp, err := c.Request(ctx, i, req)
		var code int16
		if err == nil {
			code = resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode
		}
		switch out := Classify(err, code); {
		case out == Done, retried && code == kerr.TopicAlreadyExists.Code:
			return nil
		case out == Ambiguous:
			retried = true
			return fmt.Errorf("create %s via node %d: %s", name, i+1, describe(err, code))
		default:
			return Permanent(fmt.Errorf("create %s via node %d: %s", name, i+1, describe(err, code)))
		}
	})
}

// partitionsOf lists topic's partitions 0..n-1.
func partitionsOf(topic string, n int32) []TP {
	var out []TP
	for p := range n {
		out = append(out, TP{topic, p})
	}
	return out
}

// checkRecords reads everything p produced back and fails the test on any
// lost, duplicated, reordered or foreign record.
func checkRecords(t *testing.T, c *Cluster, p *Producer) Report {
	t.Helper()
	r, err := p.Verify(c.KafkaAddrs(), 2*time.Minute)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !r.OK() {
		for _, pr := range r.Problems {
			t.Log(pr)
		}
		t.Errorf("records: %s", r)
	}
	return r
}
