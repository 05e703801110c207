package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The binary, built once for the process-level tests.
var skiffBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skiff-bin-")
	if err != nil {
		panic(err)
	}
	skiffBin = filepath.Join(dir, "skiff")
	out, err := exec.Command("go", "build", "-o", skiffBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building skiff: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Bad flags: a clear error and exit status 1, before anything starts.
func TestCmdBadFlagsExitOne(t *testing.T) {
	roDir := filepath.Join(t.TempDir(), "ro")
	if err := os.MkdirAll(roDir, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"duplicate IDs", []string{"--initial-members", "1=127.0.0.1:7001,1=127.0.0.1:7002"}, "appears twice"},
		{"malformed members", []string{"--initial-members", "1=nohostport"}, "bad address"},
		{"self missing", []string{"--initial-members", "2=127.0.0.1:7002"}, "do not include this node"},
		{"shared address", []string{"--raft-addr", "127.0.0.1:7001", "--initial-members", "1=127.0.0.1:7001,2=127.0.0.1:7001"}, "share the address"},
		{"zero node id", []string{"--node-id", "0"}, "positive"},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"bad partitions", []string{"--num.partitions", "0"}, "--num.partitions"},
		// Each range lives in the owning package's Config.Validate; the
		// message still names the flag.
		{"partitions overflow", []string{"--num.partitions", "99999999999"}, "--num.partitions"},
		{"bad replication factor", []string{"--default.replication.factor", "300"}, "--default.replication.factor"},
		{"bad max partitions", []string{"--max.partitions.per.request", "-1"}, "--max.partitions.per.request"},
		{"bad idle", []string{"--connections.max.idle.ms", "5"}, "--connections.max.idle.ms"},
		{"bad request size", []string{"--socket.request.max.bytes", "10"}, "--socket.request.max.bytes"},
		{"negative fetch session slots", []string{"--max.incremental.fetch.session.cache.slots", "-1"}, "--max.incremental.fetch.session.cache.slots"},
		{"negative offsets retention", []string{"--offsets.retention.minutes", "-1"}, "--offsets.retention.minutes"},
		{"bad offsets partitions", []string{"--offsets.topic.num.partitions", "70000"}, "--offsets.topic.num.partitions"},
		{"bad offsets rf", []string{"--offsets.topic.replication.factor", "-1"}, "--offsets.topic.replication.factor"},
		{"bad rebalance delay", []string{"--group.initial.rebalance.delay.ms", "-1"}, "--group.initial.rebalance.delay.ms"},
		{"bad session timeouts", []string{"--group.min.session.timeout.ms", "10", "--group.max.session.timeout.ms", "5"}, "--group.min.session.timeout.ms"},
		{"bad free-space percent", []string{"--storage.min.free.percent", "100"}, "--storage.min.free.percent"},
		{"unwritable data dir", []string{"--data-dir", filepath.Join(roDir, "sub", "x")}, "data dir"},
	}
	if os.Geteuid() == 0 {
		// root writes anywhere; use a path under a regular file instead
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		cases[len(cases)-1].args = []string{"--data-dir", filepath.Join(f, "x")}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"start", "--kafka-addr", freePort(t), "--http-addr", "", "--raft-addr", "127.0.0.1:7001"}, tc.args...)
			// later flags win, so a case may override --raft-addr
			cmd := exec.Command(skiffBin, args...)
			cmd.Dir = t.TempDir()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 1 {
					t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("did not exit; stderr:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not mention %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestCmdHelpDocumentsDefaults(t *testing.T) {
	out, err := exec.Command(skiffBin, "start", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"127.0.0.1:9092", "./data", "SKIFF_NODE_ID", "--initial-members", "--join", "--rack",
		"auto.create.topics.enable", "num.partitions", "default.replication.factor", "SKIFF_LOG_FORMAT", "SKIFF_STORAGE_MIN_FREE_BYTES"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("skiff start --help does not mention %q", want)
		}
	}
}

// The binary as an operator runs it: flags from SKIFF_* variables, a topic
// created with a standard client, a restart with the same flags keeps it.
func TestCmdProcessStartCreateRestart(t *testing.T) {
	dir := t.TempDir()
	kafkaAddr, raftAddr := freePort(t), freePort(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(skiffBin, "start")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"SKIFF_KAFKA_ADDR="+kafkaAddr, "SKIFF_RAFT_ADDR="+raftAddr, "SKIFF_HTTP_ADDR=",
			"SKIFF_LOG_FORMAT=json", "SKIFF_NUM_PARTITIONS=4")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("skiff stderr:\n%s", stderr.String())
			}
		})
		return cmd
	}
	cmd := start()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var resp kadm.CreateTopicResponse
	for {
		resp, err = adm.CreateTopic(ctx, -1, -1, nil, "orders")
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the broker is still starting: retry the request
	}
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if resp.NumPartitions != 4 || resp.ReplicationFactor != 1 {
		t.Fatalf("created %+v, want 4 partitions (SKIFF_NUM_PARTITIONS) and RF 1", resp)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Fatalf("no ./data in the working directory: %v", err)
	}
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	cl.Close()
	start()
	cl2, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	adm = kadm.NewClient(cl2)
	for {
		var td kadm.TopicDetails
		td, err = adm.ListTopics(ctx, "orders")
		if err == nil && td["orders"].Err == nil && len(td["orders"].Partitions) == 4 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("topic not back after restart: %v %+v", err, td)
		}
		time.Sleep(100 * time.Millisecond) // the broker is restarting: retry the request
	}
}
