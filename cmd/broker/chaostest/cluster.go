// Package chaostest runs real `skiff` processes, built from ./cmd/skiff, on
// loopback and injects faults into them: SIGKILL and restart, and network
// partitions of the Raft traffic through a fault-injecting TCP proxy in
// front of each node (Network). Tests drive the processes with franz-go
// clients and check what they acknowledged against what the cluster holds.
package chaostest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Options tune a process cluster.
type Options struct {
	Nodes     int      // default 3
	RaftRTTMs int      // --raft-rtt-ms; default 20
	LogLevel  string   // --log-level; default info
	Args      []string // extra flags for every node
}

// Node is one skiff process slot: stable addresses and data directory; the
// process itself comes and goes.
type Node struct {
	ID             int32
	KafkaAddr      string
	RaftAddr       string // advertised: the proxy listens here
	RaftListenAddr string // where skiff's Raft transport listens
	HTTPAddr       string
	Dir            string // working directory; data in Dir/data
	LogPath        string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when the current process has exited
	waitErr  error
	expected bool // the harness killed or stopped it
	starts   int
	crashes  []string // unexpected exits
}

// Cluster is a set of skiff processes with a proxy in front of each Raft
// listener.
type Cluster struct {
	tb    testing.TB
	bin   string
	opts  Options
	Nodes []*Node
	Net   *Network

	mu      sync.Mutex
	clients map[int]*kgo.Client
}

// Start launches an opts.Nodes-node cluster of bin and waits until every
// node is ready (/readyz). Every process and proxy is gone when the test
// ends; on failure the tail of each node's log is printed and the whole
// logs are copied to a directory that is named in the test output.
func Start(tb testing.TB, bin string, opts Options) *Cluster {
	tb.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.RaftRTTMs == 0 {
		opts.RaftRTTMs = 20
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	c := &Cluster{tb: tb, bin: bin, opts: opts, clients: map[int]*kgo.Client{}}
	root := tb.TempDir()
	raftAddrs := make([]string, opts.Nodes)
	for i := range opts.Nodes {
		n := &Node{
			ID:             int32(i + 1),
			KafkaAddr:      freeAddr(tb),
			RaftListenAddr: freeAddr(tb),
			HTTPAddr:       freeAddr(tb),
			Dir:            filepath.Join(root, fmt.Sprintf("node%d", i+1)),
		}
		n.LogPath = filepath.Join(n.Dir, "skiff.log")
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		c.Nodes = append(c.Nodes, n)
	}
	// The proxies own the advertised Raft addresses from the start, so no
	// other test can take those ports.
	nw, err := NewNetwork(opts.Nodes, func(i int) string { return c.Nodes[i].RaftListenAddr }, c.pid)
	if err != nil {
		tb.Fatal(err)
	}
	c.Net = nw
	for i, n := range c.Nodes {
		n.RaftAddr = nw.Addr(i)
		raftAddrs[i] = n.RaftAddr
	}
	// Cleanups run last-in first-out: this one (registered first) checks
	// the logs after every process is gone.
	tb.Cleanup(c.checkLogs)
	tb.Cleanup(func() {
		c.mu.Lock()
		for _, cl := range c.clients {
			cl.Close()
		}
		c.mu.Unlock()
		for i := range c.Nodes {
			c.kill(i)
		}
		c.Net.Close()
	})
	var members []string
	for i, a := range raftAddrs {
		members = append(members, fmt.Sprintf("%d=%s", i+1, a))
	}
	c.opts.Args = append([]string{"--initial-members", strings.Join(members, ",")}, opts.Args...)
	for i := range c.Nodes {
		if err := c.startProcess(i); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range c.Nodes {
		c.WaitReady(i, 90*time.Second)
	}
	return c
}

// freeAddr returns a free loopback address whose port is below the
// ephemeral range, so that no outgoing connection (of a client, or of a
// node's Raft transport) takes it while its node is down between a kill and
// a restart.
func freeAddr(tb testing.TB) string {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 12000 {
				lo = v
			}
		}
	}
	for range 1000 {
		port := 10000 + rand.IntN(lo-10000-1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	tb.Fatal("no free port below the ephemeral range")
	return ""
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.Nodes) }

// KafkaAddrs lists every node's Kafka address.
func (c *Cluster) KafkaAddrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.KafkaAddr
	}
	return out
}

func (c *Cluster) startProcess(i int) error {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		return fmt.Errorf("node %d is already running", n.ID)
	}
	args := []string{"start",
		"--node-id", strconv.Itoa(int(n.ID)),
		"--data-dir", filepath.Join(n.Dir, "data"),
		"--kafka-addr", n.KafkaAddr,
		"--raft-addr", n.RaftAddr,
		"--raft-listen-addr", n.RaftListenAddr,
		"--http-addr", n.HTTPAddr,
		"--raft-rtt-ms", strconv.Itoa(c.opts.RaftRTTMs),
		"--log-format", "json",
		"--log-level", c.opts.LogLevel,
	}
	args = append(args, c.opts.Args...)
	f, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	n.starts++
	fmt.Fprintf(f, "=== chaostest: start #%d of node %d at %s\n", n.starts, n.ID, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = n.Dir // no dragonboat-*-settings.json from the caller's directory
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	// Own process group, so that a kill reaches every child; and killed if
	// the test process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start node %d: %w", n.ID, err)
	}
	f.Close() // the child has its own copy
	done := make(chan struct{})
	n.cmd, n.done, n.expected, n.waitErr = cmd, done, false, nil
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.waitErr = err
		if !n.expected {
			n.crashes = append(n.crashes, fmt.Sprintf("node %d (pid %d) exited on its own: %v", n.ID, cmd.Process.Pid, err))
		}
		n.mu.Unlock()
		close(done)
	}()
	return nil
}

// pid is node i's process ID, 0 when it is not running.
func (c *Cluster) pid(i int) int {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	select {
	case <-n.done:
		return 0
	default:
	}
	return n.cmd.Process.Pid
}

// PID is node i's process ID, 0 when it is not running.
func (c *Cluster) PID(i int) int { return c.pid(i) }

// Running reports whether node i's process is up.
func (c *Cluster) Running(i int) bool { return c.pid(i) != 0 }

// Kill sends SIGKILL to node i's process group and waits for it to exit.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	if !c.kill(i) {
		c.tb.Fatalf("node %d: not running", i+1)
	}
}

func (c *Cluster) kill(i int) bool {
	n := c.Nodes[i]
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	if cmd == nil {
		n.mu.Unlock()
		return false
	}
	n.expected = true
	n.cmd = nil
	n.mu.Unlock()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		c.tb.Errorf("node %d (pid %d) did not exit 30s after SIGKILL", n.ID, cmd.Process.Pid)
	}
	return true
}

// Stop sends SIGTERM (graceful shutdown) to node i and waits for it to
// exit; it returns the process's exit error (nil for status 0).
func (c *Cluster) Stop(i int, timeout time.Duration) error {
	n := c.Nodes[i]
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	if cmd == nil {
		n.mu.Unlock()
		return fmt.Errorf("node %d: not running", n.ID)
	}
	n.expected = true
	n.mu.Unlock()
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		c.kill(i)
		return fmt.Errorf("node %d did not exit within %s of SIGTERM", n.ID, timeout)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cmd = nil
	return n.waitErr
}

// Restart starts node i again with the same flags and data, and waits until
// it is ready.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	if err := c.startProcess(i); err != nil {
		c.tb.Fatal(err)
	}
	c.WaitReady(i, 90*time.Second)
}

// StartNode starts node i again without waiting for it to be ready.
func (c *Cluster) StartNode(i int) {
	c.tb.Helper()
	if err := c.startProcess(i); err != nil {
		c.tb.Fatal(err)
	}
}

// Crashes lists the processes that exited without the harness asking.
func (c *Cluster) Crashes() []string {
	var out []string
	for _, n := range c.Nodes {
		n.mu.Lock()
		out = append(out, n.crashes...)
		n.mu.Unlock()
	}
	return out
}

// WaitReady waits until node i answers /readyz with 200 (registered, and a
// linearizable read works), failing the test if the process exits.
func (c *Cluster) WaitReady(i int, timeout time.Duration) {
	c.tb.Helper()
	n := c.Nodes[i]
	err := WaitFor(timeout, func() error {
		if !c.Running(i) {
			return Permanent(fmt.Errorf("node %d is not running: %s", n.ID, strings.Join(c.Crashes(), "; ")))
		}
		return c.httpGet(i, "/readyz", nil)
	})
	if err != nil {
		c.tb.Fatalf("node %d not ready: %v", n.ID, err)
	}
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

func (c *Cluster) httpGet(i int, path string, into any) error {
	resp, err := httpClient.Get("http://" + c.Nodes[i].HTTPAddr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("node %d %s: %s: %s", i+1, path, resp.Status, bytes.TrimSpace(body))
	}
	if into != nil {
		return json.Unmarshal(body, into)
	}
	return nil
}

// Digest is /debug/digest: a node's own view of the metadata state.
type Digest struct {
	Node   int32  `json:"node"`
	Index  uint64 `json:"index"`
	Digest string `json:"digest"`
	Topics int    `json:"topics"`
}

// Digest fetches node i's /debug/digest.
func (c *Cluster) Digest(i int) (Digest, error) {
	var d Digest
	err := c.httpGet(i, "/debug/digest", &d)
	return d, err
}

// Metrics returns node i's /metrics text.
func (c *Cluster) Metrics(i int) (string, error) {
	resp, err := httpClient.Get("http://" + c.Nodes[i].HTTPAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// MetricSum adds up the samples of every series whose line starts with
// prefix (a metric name, optionally with a label start).
func MetricSum(text, prefix string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// WaitConverged waits until every running node serves the same metadata
// digest, and returns it.
func (c *Cluster) WaitConverged(timeout time.Duration) (Digest, error) {
	var last Digest
	err := WaitFor(timeout, func() error {
		var ds []Digest
		for i := range c.Nodes {
			if !c.Running(i) {
				continue
			}
			d, err := c.Digest(i)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		for _, d := range ds[1:] {
			if d.Digest != ds[0].Digest || d.Topics != ds[0].Topics {
				return fmt.Errorf("digests differ: %+v", ds)
			}
		}
		last = ds[0]
		return nil
	})
	return last, err
}

// Client returns a franz-go client that talks to node i only (its seed
// broker), without retries; it is closed when the test ends.
func (c *Cluster) Client(i int) *kgo.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[i]; cl != nil {
		return cl
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Nodes[i].KafkaAddr), kgo.RequestRetries(0),
		kgo.DialTimeout(2*time.Second), kgo.RequestTimeoutOverhead(2*time.Second))
	if err != nil {
		c.tb.Fatal(err)
	}
	c.clients[i] = cl
	return cl
}

// Request sends req to node i itself (not to whichever broker a client
// would route it to).
func (c *Cluster) Request(ctx context.Context, i int, req kmsg.Request) (kmsg.Response, error) {
	return c.Client(i).SeedBrokers()[0].Request(ctx, req)
}

// Read sends a request that changes nothing to node i, again on a new
// connection while the connection breaks (a node restarted since the last
// request), until ctx ends.
func (c *Cluster) Read(ctx context.Context, i int, req kmsg.Request) (kmsg.Response, error) {
	for {
		resp, err := c.Request(ctx, i, req)
		if err == nil || ctx.Err() != nil || !c.Running(i) {
			return resp, err
		}
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, err
		case <-time.After(50 * time.Millisecond): // back-off between attempts
		}
	}
}

// ControllerOf asks node i (a Metadata request for no topics, which is a
// linearizable read) which broker leads the metadata shard.
func (c *Cluster) ControllerOf(ctx context.Context, i int) (int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := c.Read(ctx, i, req)
	if err != nil {
		return -1, err
	}
	return resp.(*kmsg.MetadataResponse).ControllerID, nil
}

// MetadataLeader waits until a running node says it leads the metadata
// shard and returns its index.
func (c *Cluster) MetadataLeader(timeout time.Duration) (int, error) {
	leader := -1
	err := WaitFor(timeout, func() error {
		for i := range c.Nodes {
			if !c.Running(i) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			id, err := c.ControllerOf(ctx, i)
			cancel()
			if err == nil && id == c.Nodes[i].ID {
				leader = i
				return nil
			}
		}
		return errors.New("no running node leads the metadata shard")
	})
	return leader, err
}

// WaitBrokers waits until each of the nodes lists n live brokers in its
// Metadata.
func (c *Cluster) WaitBrokers(nodes []int, n int, timeout time.Duration) error {
	return WaitFor(timeout, func() error {
		for _, i := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{}
			resp, err := c.Read(ctx, i, req)
			cancel()
			if err != nil {
				return err
			}
			if got := len(resp.(*kmsg.MetadataResponse).Brokers); got != n {
				return fmt.Errorf("node %d lists %d live brokers, want %d", i+1, got, n)
			}
		}
		return nil
	})
}

// PartitionLeaders asks node i for the leaders of topic's partitions
// (broker IDs; -1 where unknown).
func (c *Cluster) PartitionLeaders(ctx context.Context, i int, topic string) (map[int32]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := c.Read(ctx, i, req)
	if err != nil {
		return nil, err
	}
	md := resp.(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return nil, fmt.Errorf("metadata of %s from node %d: %+v", topic, i+1, md.Topics)
	}
	out := map[int32]int32{}
	for _, p := range md.Topics[0].Partitions {
		out[p.Partition] = p.Leader
	}
	return out, nil
}

// TopicNames lists the topics node i's Metadata (all topics) returns.
func (c *Cluster) TopicNames(ctx context.Context, i int) (map[string][16]byte, error) {
	resp, err := c.Read(ctx, i, kmsg.NewPtrMetadataRequest()) // null topics: all
	if err != nil {
		return nil, err
	}
	out := map[string][16]byte{}
	for _, t := range resp.(*kmsg.MetadataResponse).Topics {
		if t.Topic != nil && t.ErrorCode == 0 {
			out[*t.Topic] = t.TopicID
		}
	}
	return out, nil
}

// FDCount counts node i's open file descriptors (/proc/<pid>/fd).
func (c *Cluster) FDCount(i int) (int, error) {
	pid := c.pid(i)
	if pid == 0 {
		return 0, fmt.Errorf("node %d is not running", i+1)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// LogContains reports whether node i's log has a line holding every one of
// the strings.
func (c *Cluster) LogContains(i int, all ...string) bool {
	f, err := os.Open(c.Nodes[i].LogPath)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		ok := true
		for _, s := range all {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return true
		}
	}
	return false
}

// CountLog counts the lines holding s in every node's log.
func (c *Cluster) CountLog(s string) int {
	n := 0
	for _, nd := range c.Nodes {
		b, err := os.ReadFile(nd.LogPath)
		if err == nil {
			n += bytes.Count(b, []byte(s))
		}
	}
	return n
}

// badLogMarkers are lines that mean a product bug whatever the test does.
var badLogMarkers = []string{"panic:", "fatal error:", `"level":"fatal"`, `"level":"panic"`, "WARNING: DATA RACE"}

// checkLogs fails the test on unexpected exits or panics in any log, and on
// failure prints the tail of every log and keeps a copy of the logs (always
// with SKIFF_CHAOS_KEEP_LOGS=1).
func (c *Cluster) checkLogs() {
	for _, s := range c.Crashes() {
		c.tb.Errorf("%s", s)
	}
	for i, n := range c.Nodes {
		for _, m := range badLogMarkers {
			if line, ok := grepFirst(n.LogPath, m); ok {
				c.tb.Errorf("node %d log has %q: %s", i+1, m, truncate(line, 2000))
			}
		}
	}
	keepAll := os.Getenv("SKIFF_CHAOS_KEEP_LOGS") != ""
	if !c.tb.Failed() && !keepAll {
		return
	}
	keep, err := os.MkdirTemp("", "skiff-chaos-logs-")
	for i, n := range c.Nodes {
		if c.tb.Failed() {
			c.tb.Logf("---- node %d log tail (%s) ----\n%s", i+1, n.LogPath, tail(n.LogPath, 40))
		}
		if err == nil {
			if b, rerr := os.ReadFile(n.LogPath); rerr == nil {
				_ = os.WriteFile(filepath.Join(keep, fmt.Sprintf("node%d.log", i+1)), b, 0o644)
			}
		}
	}
	if err == nil {
		c.tb.Logf("full logs kept in %s", keep)
	}
}

func grepFirst(path, s string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	k := bytes.Index(b, []byte(s))
	if k < 0 {
		return "", false
	}
	start := bytes.LastIndexByte(b[:k], '\n') + 1
	end := min(len(b), k+4000)
	return string(b[start:end]), true
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	for i, l := range ls {
		ls[i] = truncate(l, 400)
	}
	return strings.Join(ls, "\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
