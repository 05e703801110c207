// Package clustertest starts real Skiff brokers (real Dragonboat NodeHosts)
// in one process on loopback, for tests and benchmarks.
package clustertest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/cmd/broker"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/node/diskspace"
	"github.com/skiff-broker/skiff/topics"
)

// TB is what a Cluster needs from the test or benchmark that owns it;
// *testing.T and *testing.B satisfy it. It is declared here, not taken
// from package testing, so that binaries starting clusters (`skiff bench`)
// do not link the testing package.
type TB interface {
	Helper()
	Fatal(args ...any)
	Log(args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// Options tune a test cluster.
type Options struct {
	Racks             []string // Racks[i] is node i+1's rack
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	Topics            func(*topics.Config)
	Groups            func(*consumergroup.Config) // group coordinator settings (default: Kafka's)
	// Storage sets node i's (0-based) free-space guard; by default it
	// measures and never refuses. Tests inject a Usage source here.
	Storage func(i int, c *diskspace.Config)
	// Dir holds the nodes' data; default a t.TempDir (or os.MkdirTemp for
	// non-test users, removed by Close).
	Dir    string
	Logger *zerolog.Logger
	// LogDB is the nodes' Raft log store ("pebble" or "tan"); default
	// node.DefaultConfig's.
	LogDB string
	// MetricsInterval is how often the nodes recompute their cluster
	// gauges and consumer lag; default 300 ms under a test (so that tests
	// see changes quickly), the broker's default otherwise (benchmarks).
	MetricsInterval time.Duration
	// PartitionMetrics turns on the per-partition byte and message counters.
	PartitionMetrics bool
	// MaintenanceInterval is how often data-group leaders enforce
	// retention; default the broker's (30 s).
	MaintenanceInterval time.Duration
}

// Cluster is a set of brokers on loopback.
type Cluster struct {
	tb      TB
	dir     string
	ownsDir bool
	opts    Options
	mu      sync.Mutex
	cfgs    []broker.Config
	brokers []*broker.Broker // nil while stopped
	sets    []*metrics.Set
	used    map[string]bool // addresses handed out by freeAddr
}

// New starts an n-node cluster and waits until every broker is registered
// and alive. tb may be nil (benchmarks outside go test); then errors panic.
func New(tb TB, n int, opts Options) *Cluster {
	c := &Cluster{tb: tb, opts: opts}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = 200 * time.Millisecond
	}
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 2 * time.Second
	}
	c.opts = opts
	c.dir = opts.Dir
	if c.dir == "" {
		if tb != nil {
			c.dir = tb.TempDir()
		} else {
			d, err := os.MkdirTemp("", "skiff-cluster-")
			c.must(err)
			c.dir, c.ownsDir = d, true
		}
	}
	raftAddrs := make([]string, n)
	kafkaAddrs := make([]string, n)
	for i := range n {
		raftAddrs[i] = c.freeAddr()
		kafkaAddrs[i] = c.freeAddr()
	}
	members := map[uint64]string{}
	for i, a := range raftAddrs {
		members[uint64(i+1)] = a
	}
	var log zerolog.Logger
	switch {
	case opts.Logger != nil:
		log = *opts.Logger
	case tb != nil:
		log = zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.InfoLevel)
	default:
		log = zerolog.Nop()
	}
	for i := range n {
		nc := node.DefaultConfig()
		nc.NodeID = uint64(i + 1)
		nc.DataDir = filepath.Join(c.dir, fmt.Sprintf("node%d", i+1))
		nc.RaftAddr = raftAddrs[i]
		nc.KafkaAddr = kafkaAddrs[i]
		nc.InitialMembers = members
		nc.RTTMillisecond = 20
		nc.ElectionRTT = 10
		nc.HeartbeatRTT = 1
		nc.HeartbeatInterval = opts.HeartbeatInterval
		nc.SessionTimeout = opts.SessionTimeout
		if opts.LogDB != "" {
			nc.LogDB = opts.LogDB
		}
		if i < len(opts.Racks) {
			nc.Rack = opts.Racks[i]
		}
		tc := topics.DefaultConfig()
		if opts.Topics != nil {
			opts.Topics(&tc)
		}
		gc := consumergroup.DefaultConfig()
		if opts.Groups != nil {
			opts.Groups(&gc)
		}
		var sc diskspace.Config
		if opts.Storage != nil {
			opts.Storage(i, &sc)
		}
		c.cfgs = append(c.cfgs, broker.Config{
			Node:      nc,
			Topics:    tc,
			Groups:    gc,
			Storage:   sc,
			KafkaAddr: kafkaAddrs[i],
			HTTPAddr:  "127.0.0.1:0",
			Logger:    log.With().Uint64("node", uint64(i+1)).Logger(),
		})
		c.cfgs[i].MetricsInterval = opts.MetricsInterval
		if tb != nil {
			c.cfgs[i].MetricsInterval = cmp.Or(opts.MetricsInterval, 300*time.Millisecond)
		}
		c.cfgs[i].PartitionMetrics = opts.PartitionMetrics
		c.cfgs[i].MaintenanceInterval = opts.MaintenanceInterval
		c.sets = append(c.sets, metrics.NewSet())
		c.brokers = append(c.brokers, nil)
	}
	// Start all nodes concurrently: each waits for a quorum to elect.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		c.must(err)
	}
	if tb != nil {
		tb.Cleanup(c.Close)
	}
	c.WaitAlive(n, 30*time.Second)
	c.WaitDataGroupsLed(30 * time.Second)
	return c
}

func (c *Cluster) must(err error) {
	if err == nil {
		return
	}
	if c.tb != nil {
		c.tb.Helper()
		c.tb.Fatal(err)
	}
	panic(err)
}

// freeAddr returns a loopback address that no other node of this cluster
// got: the kernel may hand out a port again once its listener is closed, so
// every address ever returned is remembered.
func (c *Cluster) freeAddr() string {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		c.must(err)
		addr := ln.Addr().String()
		ln.Close()
		if !c.used[addr] {
			if c.used == nil {
				c.used = map[string]bool{}
			}
			c.used[addr] = true
			return addr
		}
	}
	c.must(errors.New("no free loopback port"))
	return ""
}

func (c *Cluster) start(i int) error {
	cfg := c.cfgs[i]
	cfg.Metrics = c.sets[i]
	b, err := broker.Start(cfg)
	if err != nil {
		return fmt.Errorf("node %d: %w", i+1, err)
	}
	c.mu.Lock()
	c.brokers[i] = b
	c.mu.Unlock()
	return nil
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.cfgs) }

// Broker returns node i (0-based), or nil while it is stopped.
func (c *Cluster) Broker(i int) *broker.Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[i]
}

// KafkaAddrs lists every node's Kafka address (stable across restarts).
func (c *Cluster) KafkaAddrs() []string {
	out := make([]string, len(c.cfgs))
	for i, cfg := range c.cfgs {
		out[i] = cfg.KafkaAddr
	}
	return out
}

// Metrics returns node i's metrics set.
func (c *Cluster) Metrics(i int) *metrics.Set { return c.sets[i] }

// Stop closes node i (its NodeHost and listeners).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	b := c.brokers[i]
	c.brokers[i] = nil
	c.mu.Unlock()
	if b != nil {
		b.Close()
	}
}

// Restart starts a stopped node i again from its data, with the same flags.
func (c *Cluster) Restart(i int) {
	c.must(c.start(i))
}

// RestartErr is Restart for goroutines other than the test's (where a
// test may not call Fatal): it returns the error instead.
func (c *Cluster) RestartErr(i int) error {
	return c.start(i)
}

// Leader returns the index of the node that leads the metadata shard, or -1.
func (c *Cluster) Leader() int {
	for i := range c.cfgs {
		if b := c.Broker(i); b != nil && b.Node().IsLeader() {
			return i
		}
	}
	return -1
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.cfgs {
		c.Stop(i)
	}
	if c.ownsDir {
		os.RemoveAll(c.dir)
	}
}

// Alive returns the IDs of brokers the metadata shard lists as alive, read
// linearizably through node i.
func (c *Cluster) Alive(ctx context.Context, i int) ([]int32, error) {
	b := c.Broker(i)
	if b == nil {
		return nil, fmt.Errorf("node %d is stopped", i+1)
	}
	v, err := b.Node().ReadBrokers(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int32
	for _, br := range v.Brokers {
		if br.Alive {
			ids = append(ids, br.ID)
		}
	}
	return ids, nil
}

// WaitAlive waits until every running node sees n alive brokers.
func (c *Cluster) WaitAlive(n int, timeout time.Duration) {
	err := WaitFor(timeout, func() error {
		for i := range c.cfgs {
			if c.Broker(i) == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			ids, err := c.Alive(ctx, i)
			cancel()
			if err != nil {
				return err
			}
			if len(ids) != n {
				return fmt.Errorf("node %d sees alive brokers %v, want %d", i+1, ids, n)
			}
		}
		return nil
	})
	c.must(err)
}

// WaitDataGroupsLed waits until every running node reads (linearizably)
// the data groups that the metadata leader forms for the live brokers
// (topics.PreparedGroupKeys) with a live leader recorded for each: from then
// on a create places partitions into led groups and writes metadata only.
// New calls it, so a new cluster is ready for its first create.
func (c *Cluster) WaitDataGroupsLed(timeout time.Duration) {
	rf := int16(0)
	if len(c.cfgs) > 0 {
		rf = c.cfgs[0].Topics.DefaultReplicationFactor
	}
	err := WaitFor(timeout, func() error {
		for i := range c.cfgs {
			b := c.Broker(i)
			if b == nil {
				continue
			}
			bv, err := b.Node().LocalBrokers()
			if err != nil {
				return err
			}
			groups, err := b.Node().LocalDataGroupTable()
			if err != nil {
				return err
			}
			brokers := bv.Brokers
			alive := topics.AliveBrokers(brokers)
			for _, k := range topics.PreparedGroupKeys(brokers, rf) {
				led := false
				for _, g := range groups {
					if g.Slot == k.Slot && slices.Equal(g.Members, k.Members) {
						led = g.Leader >= 0 && alive[g.Leader]
					}
				}
				if !led {
					return fmt.Errorf("node %d: data group %v slot %d not formed or not led", i+1, k.Members, k.Slot)
				}
			}
		}
		return nil
	})
	c.must(err)
}

// Digest fetches node i's /debug/digest over HTTP.
func (c *Cluster) Digest(i int) (broker.DigestResponse, error) {
	b := c.Broker(i)
	if b == nil {
		return broker.DigestResponse{}, fmt.Errorf("node %d is stopped", i+1)
	}
	resp, err := http.Get("http://" + b.HTTPAddr() + "/debug/digest")
	if err != nil {
		return broker.DigestResponse{}, err
	}
	defer resp.Body.Close()
	var d broker.DigestResponse
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("node %d digest: %s", i+1, resp.Status)
	}
	return d, json.NewDecoder(resp.Body).Decode(&d)
}

// WaitFor polls cond every 20 ms until it returns nil or timeout passes,
// and returns the last error then.
func WaitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %s: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for state
	}
}

// AddNode starts a new node that joins the running cluster the way
// `skiff start --join` does: it asks node 0 over HTTP to add it to the
// metadata shard, then starts as a joining member. It returns the new
// node's index.
func (c *Cluster) AddNode() int {
	i := len(c.cfgs)
	base := c.cfgs[0]
	nc := base.Node
	nc.NodeID = uint64(i + 1)
	nc.DataDir = filepath.Join(c.dir, fmt.Sprintf("node%d", i+1))
	nc.RaftAddr = c.freeAddr()
	nc.KafkaAddr = c.freeAddr()
	nc.InitialMembers = nil
	nc.Join = true
	nc.Rack = ""
	if i < len(c.opts.Racks) {
		nc.Rack = c.opts.Racks[i]
	}
	cfg := base
	cfg.Node = nc
	cfg.KafkaAddr = nc.KafkaAddr
	cfg.Logger = base.Logger.With().Uint64("joined", nc.NodeID).Logger()
	url := fmt.Sprintf("http://%s/cluster/join?id=%d&raft_addr=%s", c.Broker(0).HTTPAddr(), nc.NodeID, nc.RaftAddr)
	resp, err := http.Post(url, "text/plain", nil)
	c.must(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.must(fmt.Errorf("join: %s", resp.Status))
	}
	c.mu.Lock()
	c.cfgs = append(c.cfgs, cfg)
	c.sets = append(c.sets, metrics.NewSet())
	c.brokers = append(c.brokers, nil)
	c.mu.Unlock()
	c.must(c.start(i))
	return i
}
