// Package broker wires one Skiff broker together: the node (NodeHost and
// metadata shard), the topics service, the Kafka listener and the HTTP
// listener. cmd/skiff maps flags onto its Config; tests and the bench start
// whole clusters with it.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/datapath"
	"github.com/skiff-broker/skiff/kafka"
	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/node/diskspace"
	"github.com/skiff-broker/skiff/topics"
)

// Config configures a broker.
type Config struct {
	Node   node.Config   // Node.KafkaAddr is the advertised address; filled from the listener when empty
	Topics topics.Config // Topics.Store is set by Start
	// Groups configures the group coordinator; zero values take Kafka's
	// defaults (consumergroup.DefaultConfig). Node, Topics and Logger are set by
	// Start.
	Groups consumergroup.Config
	// Storage is the free-space guard of the data dir: below its
	// threshold, Produce and OffsetCommit are refused before they are
	// proposed. Dir, NodeID, Logger and Metrics are set by Start; the zero
	// value measures and reports without refusing (cmd/skiff starts from
	// diskspace.DefaultConfig: 1 GiB).
	Storage diskspace.Config

	KafkaAddr       string        // Kafka listen address
	HTTPAddr        string        // HTTP listen address ("" disables HTTP)
	MaxRequestBytes int32         // socket.request.max.bytes (0: 100 MiB)
	IdleTimeout     time.Duration // connections.max.idle.ms (0: 10 minutes)
	ClusterID       string
	// MaintenanceInterval: how often data-group leaders enforce retention
	// (default 30 s).
	MaintenanceInterval time.Duration
	// MetricsInterval: how often the partition, data-group and consumer-lag
	// gauges are recomputed (0: DefaultMetricsInterval).
	MetricsInterval time.Duration
	// PartitionMetrics adds per-partition byte and message counters to the
	// per-topic ones (many series on big clusters; off by default).
	PartitionMetrics bool

	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots
	// (0: 1000; kafka.NoFetchSessions: none).
	FetchSessionCacheSlots int

	// Listeners, when set, are used instead of listening on the addresses.
	KafkaListener net.Listener
	HTTPListener  net.Listener

	Logger  zerolog.Logger
	Metrics *metrics.Set
}

// DefaultClusterID is the Kafka cluster ID reported by Metadata and
// DescribeCluster.
const DefaultClusterID = "skiff-cluster-0000000001"

// Broker is a running broker.
type Broker struct {
	cfg    Config
	log    zerolog.Logger
	node   *node.Node
	topics *topics.Service
	data   *datapath.Service
	disk   *diskspace.Guard
	groups *consumergroup.Service
	meter  *meteredRecords // the data path, metered per topic (topic_metrics.go)
	kafka  *kafka.Server
	stop   context.CancelFunc
	httpd  *http.Server

	kafkaLn net.Listener
	httpLn  net.Listener
	wg      sync.WaitGroup
	once    sync.Once
}

// Validate checks every setting of c with the Validate of the package that
// owns it (node, topics, consumergroup, kafka), before anything is
// acquired. cmd/skiff calls it after mapping its flags; Start calls it too.
func (c Config) Validate() error {
	nc := c.Node
	if nc.KafkaAddr == "" {
		nc.KafkaAddr = "127.0.0.1:0" // Start advertises the listener's address
	}
	if nc.Metrics == nil {
		nc.Metrics = c.Metrics // Start gives the node the broker's set
	}
	if nc.Metrics == nil {
		nc.Metrics = metrics.NewSet()
	}
	if err := nc.Validate(); err != nil {
		return err
	}
	if err := c.Topics.Validate(); err != nil {
		return err
	}
	if err := c.Groups.Validate(); err != nil {
		return err
	}
	if err := c.Storage.Validate(); err != nil {
		return err
	}
	return kafka.Config{MaxRequestBytes: c.MaxRequestBytes, IdleTimeout: c.IdleTimeout,
		FetchSessionCacheSlots: c.FetchSessionCacheSlots}.Validate()
}

// Start starts a broker. On error everything started so far is stopped.
func Start(cfg Config) (_ *Broker, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = DefaultClusterID
	}
	b := &Broker{cfg: cfg, log: cfg.Logger.With().Str("component", "broker").Logger()}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()

	b.kafkaLn = cfg.KafkaListener
	if b.kafkaLn == nil {
		if b.kafkaLn, err = net.Listen("tcp", cfg.KafkaAddr); err != nil {
			return nil, fmt.Errorf("kafka listener: %w", err)
		}
	}
	if cfg.Node.KafkaAddr == "" {
		cfg.Node.KafkaAddr = b.kafkaLn.Addr().String()
	}
	cfg.Node.Metrics = cfg.Metrics
	cfg.Node.Logger = cfg.Logger
	if b.node, err = node.Start(cfg.Node); err != nil {
		return nil, err
	}

	registerProcessMetrics(cfg.Metrics, cfg.Node.NodeID)
	sc := cfg.Storage
	sc.Dir = cfg.Node.DataDir
	sc.NodeID = cfg.Node.NodeID
	sc.Logger = cfg.Logger.With().Str("component", "diskspace").Logger()
	sc.Metrics = cfg.Metrics
	if b.disk, err = diskspace.New(sc); err != nil {
		return nil, err
	}

	cfg.Topics.Store = b.node
	cfg.Topics.Metrics = cfg.Metrics
	cfg.Topics.NodeID = b.node.ID()
	cfg.Topics.Logger = cfg.Logger.With().Str("component", "topics").Logger()
	if b.topics, err = topics.New(cfg.Topics); err != nil {
		return nil, err
	}
	if b.data, err = datapath.New(datapath.Config{
		Node:                b.node,
		Disk:                b.disk,
		Logger:              cfg.Logger.With().Str("component", "records").Logger(),
		MaintenanceInterval: cfg.MaintenanceInterval,
	}); err != nil {
		return nil, err
	}
	gc := cfg.Groups
	gc.Node = b.node
	gc.Disk = b.disk
	gc.Topics = b.topics
	gc.Logger = cfg.Logger.With().Str("component", "coordinator").Logger()
	if b.groups, err = consumergroup.New(gc); err != nil {
		return nil, err
	}
	var runCtx context.Context
	runCtx, b.stop = context.WithCancel(context.Background())
	b.meter = newMeteredRecords(b.data, cfg.Metrics, b.node.ID(), cfg.PartitionMetrics)
	interval := cfg.MetricsInterval
	if interval <= 0 {
		interval = DefaultMetricsInterval
	}
	clusterMetrics := func(ctx context.Context) { newClusterMetrics(b).run(ctx, interval) }
	for _, run := range []func(context.Context){b.data.Run, b.topics.RunDataGroupPreparer, b.disk.Run, b.groups.Run, clusterMetrics} {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			run(runCtx)
		}()
	}
	b.kafka, err = kafka.NewServer(kafka.Config{
		NodeID:          b.node.ID(),
		ClusterID:       cfg.ClusterID,
		Topics:          b.topics,
		Records:         b.meter,
		Groups:          b.groups,
		Cluster:         b.node,
		AutoCreate:      cfg.Topics.AutoCreateTopics,
		MaxRequestBytes: cfg.MaxRequestBytes,
		IdleTimeout:     cfg.IdleTimeout,
		Logger:          cfg.Logger.With().Str("component", "kafka").Logger(),
		Metrics:         cfg.Metrics,

		FetchSessionCacheSlots: cfg.FetchSessionCacheSlots,
	})
	if err != nil {
		return nil, err
	}
	b.goServe("kafka", func() error { return b.kafka.Serve(b.kafkaLn) })

	b.httpLn = cfg.HTTPListener
	if b.httpLn == nil && cfg.HTTPAddr != "" {
		if b.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("http listener: %w", err)
		}
	}
	if b.httpLn != nil {
		b.httpd = &http.Server{Handler: b.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		b.goServe("http", func() error {
			if err := b.httpd.Serve(b.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	b.log.Info().Str("kafka", b.kafkaLn.Addr().String()).Str("advertised", cfg.Node.KafkaAddr).
		Str("raft", cfg.Node.RaftAddr).Str("http", b.HTTPAddr()).Msg("broker started")
	return b, nil
}

func (b *Broker) goServe(name string, f func() error) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := f(); err != nil {
			b.log.Error().Err(err).Str("listener", name).Msg("listener stopped")
		}
	}()
}

// Node returns the broker's node.
func (b *Broker) Node() *node.Node { return b.node }

// Disk returns the broker's free-space guard.
func (b *Broker) Disk() *diskspace.Guard { return b.disk }

// Groups returns the broker's group coordinator.
func (b *Broker) Groups() *consumergroup.Service { return b.groups }

// Topics returns the broker's topics service.
func (b *Broker) Topics() *topics.Service { return b.topics }

// KafkaAddr is the address the Kafka listener is bound to.
func (b *Broker) KafkaAddr() string { return b.kafkaLn.Addr().String() }

// HTTPAddr is the address the HTTP listener is bound to, or "".
func (b *Broker) HTTPAddr() string {
	if b.httpLn == nil {
		return ""
	}
	return b.httpLn.Addr().String()
}

// Close stops accepting, closes connections and stops the node. Safe to call
// more than once.
func (b *Broker) Close() {
	b.once.Do(func() {
		if b.httpd != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = b.httpd.Shutdown(ctx)
			cancel()
		} else if b.httpLn != nil {
			b.httpLn.Close()
		}
		if b.kafka != nil {
			_ = b.kafka.Close()
		} else if b.kafkaLn != nil {
			b.kafkaLn.Close()
		}
		if b.stop != nil {
			b.stop()
		}
		b.wg.Wait()
		if b.node != nil {
			b.node.Close()
		}
	})
}
