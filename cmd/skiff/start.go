package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/urfave/cli/v2"

	"github.com/skiff-broker/skiff/cmd/broker"
	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/diskspace"
	"github.com/skiff-broker/skiff/node"
	"github.com/skiff-broker/skiff/topics"
)

func startFlags() []cli.Flag {
	env := func(name string) []string { return []string{"SKIFF_" + name} }
	return []cli.Flag{
		&cli.Uint64Flag{Name: "node-id", Value: 1, EnvVars: env("NODE_ID"), Usage: "broker ID and Raft replica ID (positive, unique in the cluster)"},
		&cli.StringFlag{Name: "data-dir", Value: "./data", EnvVars: env("DATA_DIR"), Usage: "directory for the Raft log, snapshots and state"},
		&cli.StringFlag{Name: "kafka-addr", Value: "127.0.0.1:9092", EnvVars: env("KAFKA_ADDR"), Usage: "Kafka listen address"},
		&cli.StringFlag{Name: "advertised-kafka-addr", EnvVars: env("ADVERTISED_KAFKA_ADDR"), Usage: "Kafka address given to clients (default: --kafka-addr)"},
		&cli.StringFlag{Name: "raft-addr", Value: "127.0.0.1:7946", EnvVars: env("RAFT_ADDR"), Usage: "Raft address; must not change after the first start"},
		&cli.StringFlag{Name: "raft-listen-addr", EnvVars: env("RAFT_LISTEN_ADDR"), Usage: "address the Raft transport listens on, when peers reach it through --raft-addr by another route (default: --raft-addr)"},
		&cli.StringFlag{Name: "http-addr", Value: "127.0.0.1:9644", EnvVars: env("HTTP_ADDR"), Usage: "HTTP address for /metrics, /healthz, /readyz, /debug/digest (empty disables)"},
		&cli.StringFlag{Name: "initial-members", EnvVars: env("INITIAL_MEMBERS"), Usage: "initial cluster as `ID=RAFTADDR,...` (same on every initial node; default: this node alone)"},
		&cli.StringFlag{Name: "join", EnvVars: env("JOIN"), Usage: "HTTP address of a running member, to add this new node to its cluster"},
		&cli.StringFlag{Name: "rack", EnvVars: env("RACK"), Usage: "rack of this broker, for rack-aware replica placement"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "auto", EnvVars: env("LOG_FORMAT"), Usage: "auto (console on a terminal, JSON otherwise), console or json"},
		&cli.BoolFlag{Name: "auto.create.topics.enable", Value: true, EnvVars: env("AUTO_CREATE_TOPICS_ENABLE"), Usage: "create unknown topics on Metadata requests that allow it"},
		&cli.IntFlag{Name: "num.partitions", Value: 1, EnvVars: env("NUM_PARTITIONS"), Usage: "default partition count of new topics"},
		&cli.IntFlag{Name: "default.replication.factor", Value: 0, EnvVars: env("DEFAULT_REPLICATION_FACTOR"), Usage: "default replication factor of new topics (0: min(3, live brokers))"},
		&cli.IntFlag{Name: "max.partitions.per.request", Value: 100000, EnvVars: env("MAX_PARTITIONS_PER_REQUEST"), Usage: "partitions one CreateTopics/CreatePartitions request may create (POLICY_VIOLATION above)"},
		&cli.IntFlag{Name: "connections.max.idle.ms", Value: 600000, EnvVars: env("CONNECTIONS_MAX_IDLE_MS"), Usage: "close Kafka connections that send no complete request for this long"},
		&cli.IntFlag{Name: "socket.request.max.bytes", Value: 100 << 20, EnvVars: env("SOCKET_REQUEST_MAX_BYTES"), Usage: "largest Kafka request accepted; larger frames close the connection"},
		&cli.IntFlag{Name: "offsets.topic.num.partitions", Value: 50, EnvVars: env("OFFSETS_TOPIC_NUM_PARTITIONS"), Usage: "partitions of __consumer_offsets, created with the first group (cannot change afterwards)"},
		&cli.IntFlag{Name: "offsets.topic.replication.factor", Value: 3, EnvVars: env("OFFSETS_TOPIC_REPLICATION_FACTOR"), Usage: "replication factor of __consumer_offsets (capped to the live brokers at creation)"},
		&cli.IntFlag{Name: "group.initial.rebalance.delay.ms", Value: 3000, EnvVars: env("GROUP_INITIAL_REBALANCE_DELAY_MS"), Usage: "how long a new consumer group waits for more members before its first generation"},
		&cli.IntFlag{Name: "group.min.session.timeout.ms", Value: 6000, EnvVars: env("GROUP_MIN_SESSION_TIMEOUT_MS"), Usage: "smallest session timeout a classic group member may ask for"},
		&cli.IntFlag{Name: "group.max.session.timeout.ms", Value: 1800000, EnvVars: env("GROUP_MAX_SESSION_TIMEOUT_MS"), Usage: "largest session timeout a classic group member may ask for"},
		&cli.StringFlag{Name: "logdb", Value: "pebble", EnvVars: env("LOGDB"), Usage: "Raft log store: pebble or tan; fixed at the first start"},
		&cli.Uint64Flag{Name: "storage.min.free.bytes", Value: diskspace.DefaultMinFreeBytes, EnvVars: env("STORAGE_MIN_FREE_BYTES"), Usage: "refuse Produce and OffsetCommit (retriable) while the data dir's file system has less free space than this (0: never)"},
		&cli.Float64Flag{Name: "storage.min.free.percent", Value: 0, EnvVars: env("STORAGE_MIN_FREE_PERCENT"), Usage: "also refuse them while free space is below this percentage of the file system's size (0: off)"},
		&cli.Uint64Flag{Name: "raft-rtt-ms", Value: 50, EnvVars: env("RAFT_RTT_MS"), Usage: "Raft tick in milliseconds (elections take 20-40 ticks)"},
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
	nc.Metrics = metrics.NewSet() // replaced by Start; Validate needs one
	if err := nc.Validate(); err != nil {
		return broker.Config{}, err
	}

	tc := topics.DefaultConfig()
	tc.AutoCreateTopics = c.Bool("auto.create.topics.enable")
	np := c.Int("num.partitions")
	if np < 1 || np > 1<<20 {
		return broker.Config{}, fmt.Errorf("--num.partitions must be between 1 and %d, got %d", 1<<20, np)
	}
	tc.DefaultPartitions = int32(np)
	rf := c.Int("default.replication.factor")
	if rf < 0 || rf > 32767 {
		return broker.Config{}, fmt.Errorf("--default.replication.factor must be 0 (automatic) or positive, got %d", rf)
	}
	tc.DefaultReplicationFactor = int16(rf)
	mp := c.Int("max.partitions.per.request")
	if mp < 1 {
		return broker.Config{}, fmt.Errorf("--max.partitions.per.request must be positive, got %d", mp)
	}
	tc.MaxPartitionsPerRequest = mp
	idle := c.Int("connections.max.idle.ms")
	if idle < 1000 {
		return broker.Config{}, fmt.Errorf("--connections.max.idle.ms must be at least 1000, got %d", idle)
	}
	mb := c.Int("socket.request.max.bytes")
	if mb < 1024 || mb > 1<<30 {
		return broker.Config{}, fmt.Errorf("--socket.request.max.bytes must be between 1 KiB and 1 GiB, got %d", mb)
	}
	gc := consumergroup.DefaultConfig()
	op := c.Int("offsets.topic.num.partitions")
	if op < 1 || op > 1<<16 {
		return broker.Config{}, fmt.Errorf("--offsets.topic.num.partitions must be between 1 and %d, got %d", 1<<16, op)
	}
	gc.OffsetsTopicPartitions = int32(op)
	orf := c.Int("offsets.topic.replication.factor")
	if orf < 1 || orf > 32767 {
		return broker.Config{}, fmt.Errorf("--offsets.topic.replication.factor must be positive, got %d", orf)
	}
	gc.OffsetsTopicReplicationFactor = int16(orf)
	delay := c.Int("group.initial.rebalance.delay.ms")
	if delay < 0 {
		return broker.Config{}, fmt.Errorf("--group.initial.rebalance.delay.ms must not be negative, got %d", delay)
	}
	gc.InitialRebalanceDelay = time.Duration(delay) * time.Millisecond
	if delay == 0 {
		gc.InitialRebalanceDelay = -1 // no delay (0 would mean the default)
	}
	minST, maxST := c.Int("group.min.session.timeout.ms"), c.Int("group.max.session.timeout.ms")
	if minST < 1 || maxST < minST {
		return broker.Config{}, fmt.Errorf("--group.min.session.timeout.ms (%d) must be positive and at most --group.max.session.timeout.ms (%d)", minST, maxST)
	}
	gc.MinSessionTimeout = time.Duration(minST) * time.Millisecond
	gc.MaxSessionTimeout = time.Duration(maxST) * time.Millisecond
	sc := diskspace.DefaultConfig()
	sc.MinFreeBytes = c.Uint64("storage.min.free.bytes")
	sc.MinFreePercent = c.Float64("storage.min.free.percent")
	if err := sc.Validate(); err != nil {
		return broker.Config{}, err
	}
	return broker.Config{
		Node:            nc,
		Topics:          tc,
		Groups:          gc,
		Storage:         sc,
		KafkaAddr:       c.String("kafka-addr"),
		HTTPAddr:        c.String("http-addr"),
		MaxRequestBytes: int32(mb),
		IdleTimeout:     time.Duration(idle) * time.Millisecond,
	}, nil
}
