package admin_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/urfave/cli/v2"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
	"github.com/skiff-broker/skiff/cmd/skiff/admin"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// shared is one 3-node cluster for the tests that do not stop nodes,
// started by the first test that needs it and closed by TestMain.
var (
	sharedOnce sync.Once
	shared     *clustertest.Cluster
)

func TestMain(m *testing.M) {
	os.Unsetenv("SKIFF_BROKERS")
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

func sharedCluster(t *testing.T) *clustertest.Cluster {
	t.Helper()
	sharedOnce.Do(func() { shared = clustertest.New(nil, 3, clustertest.Options{}) })
	return shared
}

// skiff runs the CLI in-process and returns stdout, stderr and the exit code.
func skiff(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{Name: "skiff", Commands: admin.Commands(), Writer: &out, ErrWriter: &errb, Reader: strings.NewReader(stdin)}
	code := admin.Run(app, append([]string{"skiff"}, args...))
	return out.String(), errb.String(), code
}

// ok runs a command against c that must succeed.
func ok(t *testing.T, c *clustertest.Cluster, stdin string, args ...string) string {
	t.Helper()
	out, errs, code := skiff(t, stdin, append(args, "--brokers", strings.Join(c.KafkaAddrs(), ","))...)
	if code != 0 {
		t.Fatalf("skiff %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// fails runs a command against c that must exit with code.
func fails(t *testing.T, c *clustertest.Cluster, code int, args ...string) string {
	t.Helper()
	out, errs, got := skiff(t, "", append(args, "--brokers", strings.Join(c.KafkaAddrs(), ","), "--timeout", "10s")...)
	if got != code {
		t.Fatalf("skiff %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out, errs)
	}
	return errs
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, s)
	}
	return v
}

// Usage mistakes exit 2, failures 1, help 0, without needing a cluster.
func TestCmdExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"topic", "--help"}, 0},
		{[]string{"topic", "create", "--help"}, 0},
		{[]string{"group", "reset-offsets", "--help"}, 0},
		{[]string{"bogus"}, 2},
		{[]string{"topic"}, 2},
		{[]string{"topic", "bogus"}, 2},
		{[]string{"topic", "list", "--nope"}, 2},
		{[]string{"topic", "create"}, 2},
		{[]string{"topic", "create", "t", "--partitions", "0"}, 2},
		{[]string{"topic", "create", "t", "--config", "novalue"}, 2},
		{[]string{"topic", "list", "--format", "yaml"}, 2},
		{[]string{"topic", "alter-config", "t"}, 2},
		{[]string{"group", "reset-offsets", "g"}, 2},
		{[]string{"group", "reset-offsets", "g", "--to-earliest", "--to-latest"}, 2},
		{[]string{"consume"}, 2},
		{[]string{"consume", "t", "--offset", "middle"}, 2},
		{[]string{"produce", "t", "--acks", "2"}, 2},
		{[]string{"topic", "list", "--brokers", "127.0.0.1:1", "--timeout", "2s"}, 1},
	}
	for _, tc := range cases {
		out, errs, code := skiff(t, "", tc.args...)
		if code != tc.code {
			t.Errorf("skiff %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, tc.code, out, errs)
		}
		if code != 0 && errs == "" {
			t.Errorf("skiff %s: exit %d without a message on stderr", strings.Join(tc.args, " "), code)
		}
	}
	// Examples are part of every leaf command's help.
	for _, cmd := range admin.Commands() {
		for _, leaf := range append(cmd.Subcommands, cmd) {
			if !strings.Contains(leaf.Description, "skiff ") {
				t.Errorf("%s %s: no example in its help", cmd.Name, leaf.Name)
			}
		}
	}
}

type topicJSON struct {
	Topic             string            `json:"topic"`
	ID                string            `json:"id"`
	Partitions        int               `json:"partitions"`
	ReplicationFactor int               `json:"replication_factor"`
	Internal          bool              `json:"internal"`
	Configs           map[string]string `json:"configs"`
	PartitionDetail   []struct {
		Partition       int32   `json:"partition"`
		Leader          int32   `json:"leader"`
		LeaderEpoch     int32   `json:"leader_epoch"`
		Replicas        []int32 `json:"replicas"`
		ISR             []int32 `json:"isr"`
		OfflineReplicas []int32 `json:"offline_replicas"`
		Error           string  `json:"error"`
	} `json:"partition_detail"`
}

// topic create, list, describe, alter-config and delete.
func TestCmdTopic(t *testing.T) {
	c := sharedCluster(t)
	golden(t, "topic_create.golden", ok(t, c, "", "topic", "create", "cmd-orders", "cmd-audit", "-p", "3", "-r", "3", "--config", "retention.ms=3600000"))
	fails(t, c, 1, "topic", "create", "cmd-orders", "-p", "3", "-r", "3") // exists

	list := ok(t, c, "", "topic", "list")
	if !strings.Contains(list, "cmd-orders") || !strings.Contains(list, "cmd-audit") || !strings.HasPrefix(list, "TOPIC") {
		t.Fatalf("topic list:\n%s", list)
	}
	var found bool
	for _, tl := range decode[[]topicJSON](t, ok(t, c, "", "topic", "list", "--format", "json")) {
		if tl.Topic == "cmd-orders" {
			found = tl.Partitions == 3 && tl.ReplicationFactor == 3 && !tl.Internal
		}
	}
	if !found {
		t.Fatal("topic list --format json: cmd-orders missing or wrong")
	}

	// Describe: wait for every partition to have a leader and a full ISR,
	// then compare with the golden file, leaving out what varies between
	// runs (topic ID, which node leads, epochs; replicas sorted).
	var d []topicJSON
	err := clustertest.WaitFor(30*time.Second, func() error {
		d = decode[[]topicJSON](t, ok(t, c, "", "topic", "describe", "cmd-orders", "--format", "json"))
		for _, p := range d[0].PartitionDetail {
			if p.Leader < 0 || len(p.ISR) != 3 {
				return fmt.Errorf("partition %d: leader %d isr %v", p.Partition, p.Leader, p.ISR)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d[0].PartitionDetail {
		p := &d[0].PartitionDetail[i]
		if !slices.Contains(p.Replicas, p.Leader) || p.LeaderEpoch < 0 {
			t.Errorf("partition %d: leader %d not a replica %v, or epoch %d", p.Partition, p.Leader, p.Replicas, p.LeaderEpoch)
		}
		p.Leader, p.LeaderEpoch = 0, 0
		slices.Sort(p.Replicas)
		slices.Sort(p.ISR)
	}
	if d[0].ID == "" || d[0].ID == (kadm.TopicID{}).String() {
		t.Errorf("topic ID %q", d[0].ID)
	}
	d[0].ID = ""
	norm, _ := json.MarshalIndent(d, "", "  ")
	golden(t, "topic_describe.json.golden", string(norm)+"\n")
	table := ok(t, c, "", "topic", "describe", "cmd-orders")
	if !strings.Contains(table, "Config: retention.ms=3600000") || !strings.Contains(table, "PARTITION") {
		t.Errorf("topic describe table:\n%s", table)
	}
	fails(t, c, 1, "topic", "describe", "cmd-no-such-topic")

	ok(t, c, "", "topic", "alter-config", "cmd-orders", "--set", "cleanup.policy=compact", "--delete", "retention.ms")
	d = decode[[]topicJSON](t, ok(t, c, "", "topic", "describe", "cmd-orders", "--format", "json"))
	if d[0].Configs["cleanup.policy"] != "compact" || d[0].Configs["retention.ms"] != "" {
		t.Errorf("configs after alter-config: %v", d[0].Configs)
	}
	fails(t, c, 1, "topic", "alter-config", "cmd-orders", "--set", "no.such.config=1")

	golden(t, "topic_delete.golden", ok(t, c, "", "topic", "delete", "cmd-audit"))
	err = clustertest.WaitFor(30*time.Second, func() error {
		if strings.Contains(ok(t, c, "", "topic", "list"), "cmd-audit") {
			return fmt.Errorf("cmd-audit still listed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fails(t, c, 1, "topic", "delete", "cmd-audit")
}

type lagJSON struct {
	Group      string `json:"group"`
	State      string `json:"state"`
	TotalLag   int64  `json:"total_lag"`
	Partitions []struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Committed int64  `json:"committed"`
		End       int64  `json:"end"`
		Lag       int64  `json:"lag"`
	} `json:"partitions"`
}

// produce, consume (plain and as a group), group list, describe (lag),
// reset-offsets and delete.
func TestCmdProduceConsumeGroup(t *testing.T) {
	c := sharedCluster(t)
	ok(t, c, "", "topic", "create", "cmd-events", "-p", "2", "-r", "3")
	out := ok(t, c, "", "produce", "cmd-events", "a", "b", "c", "--partition", "0")
	if out != "produced 3 records to cmd-events\n" {
		t.Fatalf("produce: %q", out)
	}
	js := ok(t, c, "one\ntwo\n", "produce", "cmd-events", "--partition", "1", "--key", "k", "--format", "json")
	type prod struct {
		Partition int32
		Offset    int64
	}
	if ps := decode[[]prod](t, js); len(ps) != 2 || ps[0].Partition != 1 || ps[1].Offset != ps[0].Offset+1 {
		t.Fatalf("produce --format json from stdin: %s", js)
	}

	// consume stops at the end offsets seen at its start: 5 records.
	lines := strings.Split(strings.TrimSpace(ok(t, c, "", "consume", "cmd-events", "--format", "json")), "\n")
	if len(lines) != 5 {
		t.Fatalf("consume: %d records, want 5:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	type rec struct {
		Partition int32
		Offset    int64
		Key       string
		Value     string
	}
	var values []string
	for _, l := range lines {
		r := decode[rec](t, l)
		values = append(values, fmt.Sprintf("%d/%d/%s=%s", r.Partition, r.Offset, r.Key, r.Value))
	}
	slices.Sort(values)
	if want := "0/0/=a 0/1/=b 0/2/=c 1/0/k=one 1/1/k=two"; strings.Join(values, " ") != want {
		t.Fatalf("consumed %v, want %s", values, want)
	}
	if got := strings.Count(ok(t, c, "", "consume", "cmd-events", "--count", "2"), "\n"); got != 3 {
		t.Errorf("consume --count 2: %d lines, want header + 2", got)
	}
	if got := ok(t, c, "", "consume", "cmd-events", "--offset", "end"); got != "PARTITION  OFFSET  KEY  VALUE\n" {
		t.Errorf("consume --offset end: %q", got)
	}

	// --count with --group commits only what was printed.
	ok(t, c, "", "consume", "cmd-events", "--group", "cmd-h", "--count", "2")
	if l := decode[[]lagJSON](t, ok(t, c, "", "group", "describe", "cmd-h", "--format", "json"))[0]; l.TotalLag != 3 {
		t.Errorf("lag after consuming 2 of 5 as cmd-h: %+v, want 3", l)
	}

	// As a group: reads everything and commits.
	if got := strings.Count(ok(t, c, "", "consume", "cmd-events", "--group", "cmd-g"), "\n"); got != 6 {
		t.Fatalf("consume --group: %d lines, want header + 5", got)
	}
	if !strings.Contains(ok(t, c, "", "group", "list"), "cmd-g") {
		t.Error("group list lacks cmd-g")
	}
	lag := func() lagJSON {
		return decode[[]lagJSON](t, ok(t, c, "", "group", "describe", "cmd-g", "--format", "json"))[0]
	}
	if l := lag(); l.TotalLag != 0 || len(l.Partitions) != 2 || l.State != "Empty" {
		t.Fatalf("group describe after consuming everything: %+v", l)
	}
	ok(t, c, "", "produce", "cmd-events", "x", "y", "z", "--partition", "1")
	if l := lag(); l.TotalLag != 3 {
		t.Fatalf("lag after 3 more records: %+v", l)
	}
	table := ok(t, c, "", "group", "describe", "cmd-g")
	if !strings.Contains(table, "TotalLag: 3") || !strings.Contains(table, "COMMITTED") {
		t.Errorf("group describe table:\n%s", table)
	}

	// reset-offsets: a dry run changes nothing; --execute does.
	dry := ok(t, c, "", "group", "reset-offsets", "cmd-g", "--topic", "cmd-events", "--to-earliest")
	if !strings.Contains(dry, "Dry run") {
		t.Errorf("dry run output:\n%s", dry)
	}
	if l := lag(); l.TotalLag != 3 {
		t.Fatalf("a dry run changed the lag: %+v", l)
	}
	ok(t, c, "", "group", "reset-offsets", "cmd-g", "--topic", "cmd-events", "--to-earliest", "--execute")
	if l := lag(); l.TotalLag != 8 {
		t.Fatalf("lag after reset to earliest: %+v, want 8", l)
	}
	ok(t, c, "", "group", "reset-offsets", "cmd-g", "--to-offset", "1", "--execute")
	for _, p := range lag().Partitions {
		if p.Committed != 1 {
			t.Errorf("partition %d committed %d after --to-offset 1", p.Partition, p.Committed)
		}
	}

	ok(t, c, "", "group", "delete", "cmd-g")
	fails(t, c, 1, "group", "describe", "cmd-g")
	fails(t, c, 1, "group", "delete", "cmd-g")
}

type statusJSON struct {
	Controller int32 `json:"controller"`
	Nodes      []struct {
		ID         int32  `json:"id"`
		Rack       string `json:"rack"`
		Alive      bool   `json:"alive"`
		Controller bool   `json:"controller"`
	} `json:"nodes"`
	UnderReplicated int `json:"under_replicated"`
	Offline         int `json:"offline"`
	DataGroups      []struct {
		Replicas   []int32 `json:"replicas"`
		Leader     int32   `json:"leader"`
		Partitions int     `json:"partitions"`
	} `json:"data_groups"`
	DigestsAgree *bool `json:"digests_agree"`
}

// cluster status: nodes with racks, the controller, data groups and digest
// agreement; --check fails while a node is down.
func TestCmdClusterStatus(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Options{Racks: []string{"r1", "r2", "r3"}})
	ok(t, c, "", "topic", "create", "cmd-status", "-p", "6", "-r", "3")
	var https []string
	for i := range 3 {
		https = append(https, c.Broker(i).HTTPAddr())
	}
	status := func(extra ...string) (statusJSON, int) {
		out, errs, code := skiff(t, "", append([]string{"cluster", "status", "--format", "json",
			"--brokers", strings.Join(c.KafkaAddrs(), ","), "--timeout", "10s"}, extra...)...)
		if code == 2 || out == "" {
			t.Fatalf("cluster status: exit %d\n%s", code, errs)
		}
		return decode[statusJSON](t, out), code
	}
	err := clustertest.WaitFor(30*time.Second, func() error {
		s, code := status("--http-addrs", strings.Join(https, ","), "--check")
		if code != 0 {
			return fmt.Errorf("--check exit %d: %+v", code, s)
		}
		if len(s.Nodes) != 3 || s.Controller != int32(c.Leader()+1) || s.DigestsAgree == nil || !*s.DigestsAgree {
			return fmt.Errorf("status %+v (metadata leader is node %d)", s, c.Leader()+1)
		}
		parts := 0
		for _, g := range s.DataGroups {
			parts += g.Partitions
			if g.Leader < 0 {
				return fmt.Errorf("data group %v has no leader", g.Replicas)
			}
		}
		if parts < 6 {
			return fmt.Errorf("data groups hold %d partitions, want >= 6", parts)
		}
		for i, n := range s.Nodes {
			if n.ID != int32(i+1) || !n.Alive || n.Rack != fmt.Sprintf("r%d", i+1) || n.Controller != (n.ID == s.Controller) {
				return fmt.Errorf("node %+v", n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	table := ok(t, c, "", "cluster", "status")
	for _, want := range []string{"Controller:", "NODE", "DATA GROUP", "r2"} {
		if !strings.Contains(table, want) {
			t.Errorf("cluster status table lacks %q:\n%s", want, table)
		}
	}

	c.Stop(2)
	err = clustertest.WaitFor(30*time.Second, func() error {
		s, code := status("--check")
		if code != 1 {
			return fmt.Errorf("--check exit %d with node 3 stopped", code)
		}
		if len(s.Nodes) != 3 || s.Nodes[2].Alive || s.UnderReplicated == 0 {
			return fmt.Errorf("status with node 3 stopped: %+v", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
