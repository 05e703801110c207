package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

func produceCommand() *cli.Command {
	return &cli.Command{
		Name:      "produce",
		Usage:     "produce records for a quick test: the VALUE arguments, or else one record per line of stdin",
		ArgsUsage: "TOPIC [VALUE...]",
		Description: "Examples:\n   skiff produce orders hello world          # two records\n" +
			"   seq 100 | skiff produce orders --key k1  # 100 records, one per line\n" +
			"   skiff produce orders -p 2 --format json  # prints partition and offset of each record",
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "record `KEY` (default: none)"},
			&cli.IntFlag{Name: "partition", Aliases: []string{"p"}, Value: -1, Usage: "write to this partition (-1: by key hash, or round robin)"},
			&cli.StringFlag{Name: "acks", Value: "all", Usage: "all, 1 or 0"},
		),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, "TOPIC"); err != nil {
				return err
			}
			var acks kgo.Acks
			switch c.String("acks") {
			case "all", "-1":
				acks = kgo.AllISRAcks()
			case "1":
				acks = kgo.LeaderAck()
			case "0":
				acks = kgo.NoAck()
			default:
				return usagef("--acks must be all, 1 or 0")
			}
			opts := []kgo.Opt{kgo.DefaultProduceTopic(c.Args().First()), kgo.RequiredAcks(acks)}
			if acks != kgo.AllISRAcks() {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			if c.Int("partition") >= 0 {
				opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			}
			return run(produce, opts...)(c)
		},
	}
}

type produced struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Error     string `json:"error,omitempty"`
}

func produce(e *env) error {
	c := e.c
	var values []string
	if c.NArg() > 1 {
		values = c.Args().Slice()[1:]
	} else {
		sc := bufio.NewScanner(c.App.Reader)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			values = append(values, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Value: []byte(v), Partition: int32(c.Int("partition"))}
		if c.IsSet("key") {
			recs[i].Key = []byte(c.String("key"))
		}
	}
	res := e.cl.ProduceSync(e.ctx, recs...)
	out := make([]produced, len(res))
	failed := 0
	for i, r := range res {
		out[i] = produced{Partition: r.Record.Partition, Offset: r.Record.Offset, Error: errString(r.Err)}
		if r.Err != nil {
			failed++
		}
	}
	if e.json {
		if err := e.emit(out, nil); err != nil {
			return err
		}
	} else if failed == 0 {
		fmt.Fprintf(e.out, "produced %d records to %s\n", len(out), c.Args().First())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d records failed: %w", failed, len(out), res.FirstErr())
	}
	return nil
}

func consumeCommand() *cli.Command {
	return &cli.Command{
		Name:      "consume",
		Usage:     "print a topic's records for a quick test, from the start (or --offset) to the end offsets seen when it starts",
		ArgsUsage: "TOPIC",
		Description: "Without --follow it stops at the end offsets read when it starts, or after --count records.\n" +
			"   With --group it commits what it read as that consumer group.\n\n" +
			"Examples:\n   skiff consume orders\n" +
			"   skiff consume orders --count 10 --format json\n" +
			"   skiff consume orders --group billing --follow",
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "group", Aliases: []string{"g"}, Usage: "consume as consumer `GROUP` (from its committed offsets) and commit"},
			&cli.StringFlag{Name: "offset", Value: "start", Usage: "start, end, or a number: where to begin in every partition (without --group)"},
			&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Usage: "stop after this many records (0: no limit)"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep waiting for new records until interrupted, --count or --timeout"},
		),
		Action: consume,
	}
}

type consumed struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Timestamp int64  `json:"timestamp_ms"`
	Key       string `json:"key,omitempty"`
	Value     string `json:"value"`
}

func consume(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("consume takes exactly one TOPIC")
	}
	topic := c.Args().First()
	var start kgo.Offset
	switch o := c.String("offset"); o {
	case "start":
		start = kgo.NewOffset().AtStart()
	case "end":
		start = kgo.NewOffset().AtEnd()
	default:
		var n int64
		if _, err := fmt.Sscanf(o, "%d", &n); err != nil || n < 0 {
			return usagef("--offset must be start, end or a number >= 0")
		}
		start = kgo.NewOffset().At(n)
	}
	if c.Int("count") < 0 {
		return usagef("--count must be >= 0")
	}
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(start)}
	if g := c.String("group"); g != "" {
		opts = append(opts, kgo.ConsumerGroup(g), kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Hour))
	}
	return run(func(e *env) error { return consumeRun(e, topic) }, opts...)(c)
}

func consumeRun(e *env, topic string) error {
	c := e.c
	// The end offsets now bound a run without --follow.
	ends, err := e.adm.ListEndOffsets(e.ctx, topic)
	if err != nil {
		return err
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("topic %q: %w", topic, err)
	}
	remaining := map[int32]int64{} // partition -> end offset still to reach
	if !c.Bool("follow") {
		if remaining, err = e.toReach(topic, ends); err != nil {
			return err
		}
	}
	limit := c.Int("count")
	n := 0
	var w *tabwriter.Writer
	if !e.json {
		w = tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "PARTITION\tOFFSET\tKEY\tVALUE")
		defer w.Flush()
	}
	done := func() bool {
		return (limit > 0 && n >= limit) || (!c.Bool("follow") && len(remaining) == 0)
	}
	for !done() {
		fs := e.cl.PollFetches(e.ctx)
		if err := e.ctx.Err(); err != nil {
			if c.Bool("follow") && errors.Is(err, context.DeadlineExceeded) {
				break // --timeout ends a --follow run normally
			}
			return fmt.Errorf("stopped after %d records: %w", n, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) && !kerr.IsRetriable(err) {
				ferr = err
			}
		})
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			if limit > 0 && n >= limit {
				break
			}
			n++
			if c.String("group") != "" {
				e.cl.MarkCommitRecords(r) // commit what was printed, not all that was fetched
			}
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
			if e.json {
				if err := e.emitLine(consumed{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(),
					Key: string(r.Key), Value: string(r.Value)}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "%d\t%d\t%s\t%s\n", r.Partition, r.Offset, printable(r.Key), printable(r.Value))
			}
		}
	}
	if c.String("group") != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.cl.CommitMarkedOffsets(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	return nil
}

// toReach returns the partitions with records between where this run
// starts reading and the end offsets, by partition.
func (e *env) toReach(topic string, ends kadm.ListedOffsets) (map[int32]int64, error) {
	starts, err := e.adm.ListStartOffsets(e.ctx, topic)
	if err != nil {
		return nil, err
	}
	var committed kadm.OffsetResponses
	if g := e.c.String("group"); g != "" {
		if committed, err = e.adm.FetchOffsets(e.ctx, g); err != nil {
			return nil, err
		}
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		from := int64(0)
		if s, ok := starts.Lookup(topic, o.Partition); ok {
			from = s.Offset
		}
		switch at := e.c.String("offset"); {
		case committed != nil:
			if cm, ok := committed.Lookup(topic, o.Partition); ok && cm.Err == nil && cm.At >= 0 {
				from = max(from, cm.At)
			}
		case at == "end":
			from = o.Offset
		case at != "start":
			var n int64
			fmt.Sscanf(at, "%d", &n)
			from = max(from, n)
		}
		if o.Offset > from {
			out[o.Partition] = o.Offset
		}
	})
	return out, nil
}

// emitLine writes v as one line of JSON.
func (e *env) emitLine(v any) error { return json.NewEncoder(e.out).Encode(v) }

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, string(b))
}
