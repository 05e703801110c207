package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/skiff-broker/skiff/bench"
)

// benchCommand is `skiff bench topics|produce|consume`; the workloads live
// in package bench.
func benchCommand() *cli.Command {
	common := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringSliceFlag{Name: "brokers", Usage: "Kafka `ADDRS` (host:port,...) of a running cluster (default: start a 3-node cluster in-process on loopback, in a temporary directory removed afterwards)"},
			&cli.StringSliceFlag{Name: "metrics-addrs", Usage: "with --brokers: the brokers' HTTP `ADDRS` (host:port,...), to count metadata proposals from their /metrics"},
			&cli.StringSliceFlag{Name: "compare", Usage: "also run the workload against: seed (topics only: the earlier per-partition proposal path, in-process), kfake (franz-go's in-memory cluster), kafka (Apache Kafka, KRaft, one JVM per node; jars fetched once with mvn into the user cache), kafka-fsync (the same with flush.messages=1)"},
			&cli.StringFlag{Name: "logdb", Value: "pebble", Usage: "Raft log store of the in-process cluster: pebble or tan"},
			&cli.IntFlag{Name: "nodes", Value: 3, Usage: "nodes of the in-process cluster (and kfake and Kafka brokers)"},
			&cli.DurationFlag{Name: "duration", Usage: "run for this long instead of a count"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole run (client and in-process cluster) to `FILE`"},
		}
	}
	recordFlags := func(countUsage string) []cli.Flag {
		return append(common(),
			&cli.Int64Flag{Name: "count", Usage: countUsage},
			&cli.IntFlag{Name: "partitions", Value: 6, Usage: "partitions of the benchmark topic"},
			&cli.IntFlag{Name: "replication-factor", Value: 3, Usage: "replication factor of the benchmark topic"},
			&cli.IntFlag{Name: "record-size", Value: 1024, Usage: "value bytes per record"},
			&cli.StringFlag{Name: "acks", Value: "all", Usage: "all, 1 or 0"},
			&cli.StringFlag{Name: "compression", Value: "none", Usage: "none, gzip, snappy, lz4 or zstd"},
			&cli.DurationFlag{Name: "linger", Value: 10 * time.Millisecond, Usage: "producer linger (franz-go's default 10ms)"},
			&cli.IntFlag{Name: "max-buffered", Usage: "records each producer may have buffered or in flight (franz-go MaxBufferedRecords; 0: its default, 50000); produce latency is measured from the Produce call, so it includes this queue"},
			&cli.IntFlag{Name: "producers", Value: 1, Usage: "producer clients", Aliases: []string{"concurrency"}},
			&cli.StringFlag{Name: "rate", Usage: "target value `BYTES` per second over all producers, e.g. 20MB/s (MB = 10^6, MiB = 2^20) or 2000000; latency is then measured at this load (default: as fast as possible)"},
		)
	}
	return &cli.Command{
		Name:  "bench",
		Usage: "benchmark topic creation, produce and consume (against --brokers or a cluster started in-process)",
		Subcommands: []*cli.Command{
			{
				Name:  "topics",
				Usage: "create topics; report topics/s, partitions/s, CreateTopics latency, proposals per request and time to ready",
				Flags: append(common(),
					&cli.IntFlag{Name: "topics", Value: 1000, Usage: "topics to create (ignored with --duration)"},
					&cli.IntFlag{Name: "partitions", Value: 3, Usage: "partitions per topic"},
					&cli.IntFlag{Name: "replication-factor", Value: 3, Usage: "replication factor"},
					&cli.IntFlag{Name: "topics-per-request", Value: 1, Usage: "topics per CreateTopics request"},
					&cli.IntFlag{Name: "concurrency", Value: 1, Usage: "requests in flight (one client connection each)"},
					&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "CreateTopics timeout per request"},
					&cli.BoolFlag{Name: "skip-ready", Usage: "do not check readiness (Metadata on every broker, a produce to every partition)"},
				),
				Action: func(c *cli.Context) error {
					cfg := bench.TopicsConfig{
						Options:           benchOptions(c),
						Topics:            c.Int("topics"),
						Duration:          c.Duration("duration"),
						Partitions:        int32(c.Int("partitions")),
						ReplicationFactor: int16(c.Int("replication-factor")),
						TopicsPerRequest:  c.Int("topics-per-request"),
						Concurrency:       c.Int("concurrency"),
						Timeout:           c.Duration("timeout"),
						SkipReady:         c.Bool("skip-ready"),
					}
					return runBench(c, func(ctx context.Context) (*bench.Report, error) { return bench.RunTopics(ctx, cfg) })
				},
			},
			{
				Name:  "produce",
				Usage: "produce records with franz-go; report records/s, MiB/s and produce latency",
				Flags: recordFlags("records to produce (default: --duration, 10s)"),
				Action: func(c *cli.Context) error {
					cfg, err := recordsConfig(c)
					if err != nil {
						return err
					}
					return runBench(c, func(ctx context.Context) (*bench.Report, error) { return bench.RunProduce(ctx, cfg) })
				},
			},
			{
				Name:  "consume",
				Usage: "produce records, then consume them all from the start with franz-go; report records/s and MiB/s",
				Flags: append(recordFlags("records to produce and read back (default: produce for --duration, 10s)"),
					&cli.IntFlag{Name: "consumers", Value: 1, Usage: "consumer clients (partitions split among them)"},
					&cli.BoolFlag{Name: "no-fetch-sessions", Usage: "consumers send full fetches only (no KIP-227 sessions), to compare request sizes"},
					&cli.DurationFlag{Name: "tail", Usage: "after reading everything, keep polling this long and report the Fetch traffic of caught-up consumers"}),
				Action: func(c *cli.Context) error {
					cfg, err := recordsConfig(c)
					if err != nil {
						return err
					}
					cfg.Consumers = c.Int("consumers")
					cfg.NoFetchSessions = c.Bool("no-fetch-sessions")
					cfg.Tail = c.Duration("tail")
					return runBench(c, func(ctx context.Context) (*bench.Report, error) { return bench.RunConsume(ctx, cfg) })
				},
			},
		},
	}
}

// splitList flattens repeated and comma-separated flag values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func benchOptions(c *cli.Context) bench.Options {
	o := bench.Options{
		Brokers:      splitList(c.StringSlice("brokers")),
		MetricsAddrs: splitList(c.StringSlice("metrics-addrs")),
		Compare:      splitList(c.StringSlice("compare")),
		LogDB:        c.String("logdb"),
		Nodes:        c.Int("nodes"),
	}
	if f := os.Stderr; isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()) {
		o.Progress = f
	}
	return o
}

func recordsConfig(c *cli.Context) (bench.RecordsConfig, error) {
	rate, err := bench.ParseRate(c.String("rate"))
	if err != nil {
		return bench.RecordsConfig{}, err
	}
	return bench.RecordsConfig{
		Options:           benchOptions(c),
		Records:           c.Int64("count"),
		Duration:          c.Duration("duration"),
		Partitions:        int32(c.Int("partitions")),
		ReplicationFactor: int16(c.Int("replication-factor")),
		RecordSize:        c.Int("record-size"),
		Acks:              c.String("acks"),
		Compression:       c.String("compression"),
		Linger:            c.Duration("linger"),
		Producers:         c.Int("producers"),
		MaxBuffered:       c.Int("max-buffered"),
		Rate:              rate,
	}, nil
}

func runBench(c *cli.Context, run func(context.Context) (*bench.Report, error)) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", c.Args().Slice())
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := c.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := run(ctx)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteTable(os.Stdout)
}
