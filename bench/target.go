package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/skiff-broker/skiff/cmd/broker/clustertest"
)

// Target names.
const (
	TargetSkiff = "skiff" // Skiff: --brokers, or an in-process cluster
	TargetSeed  = "seed"  // the seed broker's creation path (topics only): in-process cluster, bench/seed
	TargetKfake = "kfake" // franz-go's in-memory kfake cluster, in-process
	// Apache Kafka (KafkaVersion) in KRaft mode: Nodes combined
	// broker+controller JVMs on loopback; Kafka's defaults acknowledge
	// before fsync.
	TargetKafka = "kafka"
	// The same with flush.messages=1 (every append fsynced before it counts
	// as written), as Skiff's Raft log is: a like-for-like durability run.
	TargetKafkaFsync = "kafka-fsync"
)

// Options are common to every bench.
type Options struct {
	// Brokers are the Kafka addresses of a running cluster. Empty: start an
	// in-process cluster of Nodes nodes on loopback in a temporary
	// directory, removed afterwards.
	Brokers []string `json:"brokers,omitempty"`
	// MetricsAddrs are the HTTP addresses (host:port) of the Brokers'
	// /metrics endpoints, to count metadata proposals. Optional.
	MetricsAddrs []string `json:"metrics_addrs,omitempty"`
	Nodes        int      `json:"nodes,omitempty"`   // in-process cluster size, kfake and Kafka brokers; default 3
	LogDB        string   `json:"logdb,omitempty"`   // in-process cluster's LogDB: pebble (default) or tan
	Compare      []string `json:"compare,omitempty"` // also run: "seed" (topics only), "kfake", "kafka", "kafka-fsync"

	// Progress receives a live status line (the CLI passes stderr when it
	// is a terminal). Nil: none.
	Progress io.Writer `json:"-"`
}

func (o *Options) defaults() {
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.LogDB == "" {
		o.LogDB = "pebble"
	}
}

// targets returns the target names of a run, Skiff first, and checks them.
func (o *Options) targets(seedOK bool) ([]string, error) {
	switch o.LogDB {
	case "pebble", "tan":
	default:
		return nil, fmt.Errorf("--logdb must be pebble or tan, got %q", o.LogDB)
	}
	out := []string{TargetSkiff}
	seen := map[string]bool{}
	for _, c := range o.Compare {
		for _, c := range strings.Split(c, ",") {
			c = strings.TrimSpace(c)
			if c == "" || seen[c] {
				continue
			}
			seen[c] = true
			switch c {
			case TargetSeed:
				if !seedOK {
					return nil, fmt.Errorf("--compare seed applies to `bench topics` only")
				}
				if len(o.Brokers) > 0 {
					return nil, fmt.Errorf("--compare seed needs the in-process cluster (no --brokers): the seed path is not reachable over Kafka")
				}
			case TargetKfake, TargetKafka, TargetKafkaFsync:
			default:
				return nil, fmt.Errorf("unknown --compare %q (want seed, kfake, kafka or kafka-fsync)", c)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// target is a running cluster to benchmark.
type target struct {
	name    string
	desc    string   // how the cluster runs, for the report
	brokers []string // Kafka addresses
	cluster *clustertest.Cluster
	kfake   *kfake.Cluster
	kafka   *kafkaCluster
	metrics []string // external /metrics addresses
}

// open starts (or connects to) the cluster for target name.
func (o *Options) open(ctx context.Context, name string) (t *target, err error) {
	t = &target{name: name}
	switch {
	case name == TargetKfake:
		c, err := kfake.NewCluster(kfake.NumBrokers(o.Nodes))
		if err != nil {
			return nil, fmt.Errorf("kfake: %w", err)
		}
		t.kfake, t.brokers = c, c.ListenAddrs()
		t.desc = fmt.Sprintf("kfake in-process, %d brokers", o.Nodes)
	case name == TargetKafka || name == TargetKafkaFsync:
		fsync := name == TargetKafkaFsync
		c, err := startKafka(ctx, o.Nodes, fsync)
		if err != nil {
			return nil, fmt.Errorf("starting Apache Kafka: %w", err)
		}
		t.kafka, t.brokers = c, c.addrs()
		if err := kafkaWarmUp(ctx, t.brokers); err != nil {
			c.close()
			return nil, fmt.Errorf("Apache Kafka JVM warm-up: %w", err)
		}
		flush := "acks before fsync (Kafka's default)"
		if fsync {
			flush = "fsync per append (log.flush.interval.messages=1)"
		}
		t.desc = fmt.Sprintf("Apache Kafka %s, KRaft, %d broker+controller JVMs on loopback, heap %s, %s",
			KafkaVersion, o.Nodes, kafkaHeap, flush)
	case len(o.Brokers) > 0:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if t.brokers, err = discoverBrokers(ctx, o.Brokers); err != nil {
			return nil, err
		}
		t.metrics = o.MetricsAddrs
		t.desc = fmt.Sprintf("external, %d brokers: %s", len(t.brokers), strings.Join(t.brokers, ","))
	default:
		defer func() {
			if r := recover(); r != nil { // clustertest panics when tb is nil
				err = fmt.Errorf("starting the in-process cluster: %v", r)
			}
		}()
		t.cluster = clustertest.New(nil, o.Nodes, clustertest.Options{LogDB: o.LogDB})
		t.brokers = t.cluster.KafkaAddrs()
		t.desc = fmt.Sprintf("in-process, %d nodes on loopback, LogDB %s", o.Nodes, o.LogDB)
	}
	return t, nil
}

func (t *target) close() {
	if t.cluster != nil {
		t.cluster.Close()
	}
	if t.kfake != nil {
		t.kfake.Close()
	}
	if t.kafka != nil {
		t.kafka.close()
	}
}

// proposals returns the cluster's metadata proposals of kind so far, and
// whether they can be counted.
func (t *target) proposals(ctx context.Context, kind string) (float64, bool) {
	switch {
	case t.cluster != nil:
		sets := make([]*metrics.Set, t.cluster.Len())
		for i := range sets {
			sets[i] = t.cluster.Metrics(i)
		}
		return setProposals(sets, kind), true
	case len(t.metrics) > 0:
		n, err := httpProposals(ctx, t.metrics, kind)
		return n, err == nil
	}
	return 0, false
}
