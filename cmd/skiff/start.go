package main

import (
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/urfave/cli/v2"

	"github.com/skiff-broker/skiff/cmd/broker"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/kafka"
	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/node/diskspace"
	"github.com/skiff-broker/skiff/topics"
)

func startFlags() []cli.Flag {
	env := func(name string) []string { return []string{"SKIFF_" + name} }
	// The defaults shown and used are the packages' own (one home each).
	nd, td, gd := node.DefaultConfig(), topics.DefaultConfig(), consumergroup.DefaultConfig()
	ms := func(d time.Duration) int { return int(d.Milliseconds()) }
	return []cli.Flag{
		&cli.Uint64Flag{Name: "node-id", Value: nd.NodeID, EnvVars: env("NODE_ID"), Usage: "broker ID and Raft replica ID (positive, unique in the cluster)"},
		&cli.StringFlag{Name: "data-dir", Value: nd.DataDir, EnvVars: env("DATA_DIR"), Usage: "directory for the Raft log, snapshots and state"},
		&cli.StringFlag{Name: "kafka-addr", Value: nd.KafkaAddr, EnvVars: env("KAFKA_ADDR"), Usage: "Kafka listen address"},
		&cli.StringFlag{Name: "advertised-kafka-addr", EnvVars: env("ADVERTISED_KAFKA_ADDR"), Usage: "Kafka address given to clients (default: --kafka-addr)"},
		&cli.StringFlag{Name: "raft-addr", Value: nd.RaftAddr, EnvVars: env("RAFT_ADDR"), Usage: "Raft address; must not change after the first start"},
		&cli.StringFlag{Name: "raft-listen-addr", EnvVars: env("RAFT_LISTEN_ADDR"), Usage: "address the Raft transport listens on, when peers reach it through --raft-addr by another route (default: --raft-addr)"},
		&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:9644", EnvVars: env("HTTP_ADDR"), Usage: "HTTP address for /metrics, /healthz, /readyz, /debug/digest (empty disables)"},
		&cli.StringFlag{Name: "initial-members", EnvVars: env("INITIAL_MEMBERS"), Usage: "initial cluster as `ID=RAFTADDR,...` (same on every initial node; default: this node alone)"},
		&cli.StringFlag{Name: "join", EnvVars: env("JOIN"), Usage: "HTTP address of a running member, to add this new node to its cluster"},
		&cli.StringFlag{Name: "rack", EnvVars: env("RACK"), Usage: "rack of this broker, for rack-aware replica placement"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "auto", EnvVars: env("LOG_FORMAT"), Usage: "auto (console on a terminal, JSON otherwise), console or json"},
		&cli.BoolFlag{Name: "auto.create.topics.enable", Value: td.AutoCreateTopics, EnvVars: env("AUTO_CREATE_TOPICS_ENABLE"), Usage: "create unknown topics on Metadata requests that allow it"},
		&cli.IntFlag{Name: "num.partitions", Value: int(td.DefaultPartitions), EnvVars: env("NUM_PARTITIONS"), Usage: "default partition count of new topics"},
		&cli.IntFlag{Name: "default.replication.factor", Value: int(td.DefaultReplicationFactor), EnvVars: env("DEFAULT_REPLICATION_FACTOR"), Usage: "default replication factor of new topics (0: min(3, live brokers))"},
		&cli.IntFlag{Name: "max.partitions.per.request", Value: td.MaxPartitionsPerRequest, EnvVars: env("MAX_PARTITIONS_PER_REQUEST"), Usage: "partitions one CreateTopics/CreatePartitions request may create (POLICY_VIOLATION above)"},
		&cli.IntFlag{Name: "connections.max.idle.ms", Value: ms(kafka.DefaultIdleTimeout), EnvVars: env("CONNECTIONS_MAX_IDLE_MS"), Usage: "close Kafka connections that send no complete request for this long"},
		&cli.IntFlag{Name: "socket.request.max.bytes", Value: int(kafka.DefaultMaxRequestBytes), EnvVars: env("SOCKET_REQUEST_MAX_BYTES"), Usage: "largest Kafka request accepted; larger frames close the connection"},
		&cli.IntFlag{Name: "max.incremental.fetch.session.cache.slots", Value: kafka.DefaultFetchSessionCacheSlots, EnvVars: env("MAX_INCREMENTAL_FETCH_SESSION_CACHE_SLOTS"), Usage: "KIP-227 fetch sessions each broker keeps (0: none; every fetch is then a full fetch)"},
		&cli.IntFlag{Name: "offsets.topic.num.partitions", Value: int(gd.OffsetsTopicPartitions), EnvVars: env("OFFSETS_TOPIC_NUM_PARTITIONS"), Usage: "partitions of __consumer_offsets, created with the first group (cannot change afterwards)"},
		&cli.IntFlag{Name: "offsets.topic.replication.factor", Value: int(gd.OffsetsTopicReplicationFactor), EnvVars: env("OFFSETS_TOPIC_REPLICATION_FACTOR"), Usage: "replication factor of __consumer_offsets (capped to the live brokers at creation)"},
		&cli.IntFlag{Name: "offsets.retention.minutes", Value: int(gd.OffsetsRetention / time.Minute), EnvVars: env("OFFSETS_RETENTION_MINUTES"), Usage: "how long the committed offsets of a group without members are kept (0: the default)"},
		&cli.IntFlag{Name: "group.initial.rebalance.delay.ms", Value: ms(gd.InitialRebalanceDelay), EnvVars: env("GROUP_INITIAL_REBALANCE_DELAY_MS"), Usage: "how long a new consumer group waits for more members before its first generation"},
		&cli.IntFlag{Name: "group.min.session.timeout.ms", Value: ms(gd.MinSessionTimeout), EnvVars: env("GROUP_MIN_SESSION_TIMEOUT_MS"), Usage: "smallest session timeout a classic group member may ask for"},
		&cli.IntFlag{Name: "group.max.session.timeout.ms", Value: ms(gd.MaxSessionTimeout), EnvVars: env("GROUP_MAX_SESSION_TIMEOUT_MS"), Usage: "largest session timeout a classic group member may ask for"},
		&cli.StringFlag{Name: "logdb", Value: nd.LogDB, EnvVars: env("LOGDB"), Usage: "Raft log store: pebble or tan; fixed at the first start"},
		&cli.BoolFlag{Name: "metrics-per-partition", EnvVars: env("METRICS_PER_PARTITION"), Usage: "also export byte and message counters per partition on /metrics (one series per partition)"},
		&cli.DurationFlag{Name: "metrics-interval", Value: broker.DefaultMetricsInterval, EnvVars: env("METRICS_INTERVAL"), Usage: "how often partition health, data-group and consumer-lag gauges are recomputed"},
		&cli.Uint64Flag{Name: "raft-rtt-ms", Value: nd.RTTMillisecond, EnvVars: env("RAFT_RTT_MS"), Usage: "Raft tick in milliseconds (elections take 20-40 ticks)"},
		&cli.Uint64Flag{Name: "storage.min.free.bytes", Value: diskspace.DefaultMinFreeBytes, EnvVars: env("STORAGE_MIN_FREE_BYTES"), Usage: "refuse Produce and OffsetCommit (retriable) while the data dir's file system has less free space than this (0: never)"},
		&cli.Float64Flag{Name: "storage.min.free.percent", Value: 0, EnvVars: env("STORAGE_MIN_FREE_PERCENT"), Usage: "also refuse them while free space is below this percentage of the file system's size (0: off)"},
	}
}

func startCommand() *cli.Command {
	return &cli.Command{
		Name:   "start",
		Usage:  "start a broker (no flags: a one-node cluster on 127.0.0.1:9092 with data in ./data)",
		Flags:  startFlags(),
		Action: runStart,
	}
}

func runStart(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", c.Args().Slice())
	}
	log, err := newLogger(c.String("log-level"), c.String("log-format"), c.Uint64("node-id"))
	if err != nil {
		return err
	}
	cfg, err := brokerConfig(c)
	if err != nil {
		return err
	}
	raiseFileLimit(log)
	cfg.Logger = log
	cfg.Metrics = metrics.NewSet()
	if join := c.String("join"); join != "" {
		if err := joinCluster(join, cfg.Node, log); err != nil {
			return err
		}
	}
	b, err := broker.Start(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Info().Str("signal", s.String()).Msg("shutting down")
	done := make(chan struct{})
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		log.Error().Msg("shutdown took over 30s; exiting")
	}
	return nil
}

// brokerConfig maps the start flags onto broker.Config and validates it:
// the ranges are the owning packages' Validate (node, topics, kafka,
// consumergroup), whose messages name the flags. Here a flag is only
// converted, and refused when its value does not fit the field's type.
func brokerConfig(c *cli.Context) (broker.Config, error) {
	nc := node.DefaultConfig()
	nc.NodeID = c.Uint64("node-id")
	nc.DataDir = c.String("data-dir")
	nc.RaftAddr = c.String("raft-addr")
	nc.RaftListenAddr = c.String("raft-listen-addr")
	nc.KafkaAddr = c.String("advertised-kafka-addr")
	if nc.KafkaAddr == "" {
		nc.KafkaAddr = c.String("kafka-addr")
	}
	nc.Rack = c.String("rack")
	nc.RTTMillisecond = c.Uint64("raft-rtt-ms")
	nc.LogDB = c.String("logdb")
	members, err := parseMembers(c.String("initial-members"))
	if err != nil {
		return broker.Config{}, err
	}
	nc.InitialMembers = members
	nc.Join = c.String("join") != ""

	var f flagReader
	tc := topics.DefaultConfig()
	tc.AutoCreateTopics = c.Bool("auto.create.topics.enable")
	tc.DefaultPartitions = int32Flag(c, &f, "num.partitions")
	tc.DefaultReplicationFactor = int16Flag(c, &f, "default.replication.factor")
	tc.MaxPartitionsPerRequest = c.Int("max.partitions.per.request")

	gc := consumergroup.DefaultConfig()
	gc.OffsetsTopicPartitions = int32Flag(c, &f, "offsets.topic.num.partitions")
	gc.OffsetsTopicReplicationFactor = int16Flag(c, &f, "offsets.topic.replication.factor")
	gc.InitialRebalanceDelay = msFlag(c, &f, "group.initial.rebalance.delay.ms")
	if gc.InitialRebalanceDelay == 0 {
		gc.InitialRebalanceDelay = consumergroup.NoInitialRebalanceDelay // 0 would mean the default
	}
	gc.MinSessionTimeout = msFlag(c, &f, "group.min.session.timeout.ms")
	gc.MaxSessionTimeout = msFlag(c, &f, "group.max.session.timeout.ms")
	gc.OffsetsRetention = minutesFlag(c, &f, "offsets.retention.minutes")

	sc := diskspace.DefaultConfig()
	sc.MinFreeBytes = c.Uint64("storage.min.free.bytes")
	sc.MinFreePercent = c.Float64("storage.min.free.percent")
	cfg := broker.Config{
		Node:            nc,
		Topics:          tc,
		Groups:          gc,
		Storage:         sc,
		KafkaAddr:       c.String("kafka-addr"),
		HTTPAddr:        c.String("http-addr"),
		MaxRequestBytes: int32Flag(c, &f, "socket.request.max.bytes"),
		IdleTimeout:     msFlag(c, &f, "connections.max.idle.ms"),

		FetchSessionCacheSlots: fetchSessionSlots(c.Int("max.incremental.fetch.session.cache.slots")),
	}
	cfg.PartitionMetrics = c.Bool("metrics-per-partition")
	cfg.MetricsInterval = c.Duration("metrics-interval")
	if f.err != nil {
		return broker.Config{}, f.err
	}
	if err := cfg.Validate(); err != nil {
		return broker.Config{}, err
	}
	return cfg, nil
}

// flagReader keeps the first conversion error of int flags.
type flagReader struct{ err error }

func (f *flagReader) outOfRange(name string, v int) {
	if f.err == nil {
		f.err = fmt.Errorf("--%s: %d is out of range", name, v)
	}
}

func int32Flag(c *cli.Context, f *flagReader, name string) int32 {
	v := c.Int(name)
	if v < math.MinInt32 || v > math.MaxInt32 {
		f.outOfRange(name, v)
	}
	return int32(v)
}

func int16Flag(c *cli.Context, f *flagReader, name string) int16 {
	v := c.Int(name)
	if v < math.MinInt16 || v > math.MaxInt16 {
		f.outOfRange(name, v)
	}
	return int16(v)
}

// msFlag reads a flag in milliseconds as a Duration.
func minutesFlag(c *cli.Context, f *flagReader, name string) time.Duration {
	v := c.Int(name)
	if limit := int(math.MaxInt64 / int64(time.Minute)); v < -limit || v > limit {
		f.outOfRange(name, v)
	}
	return time.Duration(v) * time.Minute
}

func msFlag(c *cli.Context, f *flagReader, name string) time.Duration {
	v := c.Int(name)
	if limit := int(math.MaxInt64 / int64(time.Millisecond)); v < -limit || v > limit {
		f.outOfRange(name, v)
	}
	return time.Duration(v) * time.Millisecond
}

// fetchSessionSlots maps the flag to kafka.Config: Kafka's 0 (no sessions)
// is kafka.NoFetchSessions, since 0 means the default there; a negative
// value stays negative (below NoFetchSessions) for Validate to reject.
func fetchSessionSlots(v int) int {
	switch {
	case v == 0:
		return kafka.NoFetchSessions
	case v < 0:
		return min(v, kafka.NoFetchSessions-1)
	}
	return v
}
