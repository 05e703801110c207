package admin

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/urfave/cli/v2"
)

func topicCommand() *cli.Command {
	return &cli.Command{
		Name:  "topic",
		Usage: "create, list, describe, delete topics and alter their configs",
		Description: "Examples:\n   skiff topic create orders -p 6 -r 3\n   skiff topic describe orders\n" +
			"   SKIFF_BROKERS=10.0.0.1:9092 skiff topic list --format json",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create topics",
				ArgsUsage: "TOPIC...",
				Description: "Examples:\n" +
					"   skiff topic create orders --partitions 6 --replication-factor 3\n" +
					"   skiff topic create audit -p 1 -r 3 --config retention.ms=86400000 --config cleanup.policy=compact",
				Flags: append(connFlags(),
					&cli.IntFlag{Name: "partitions", Aliases: []string{"p"}, Value: -1, Usage: "partitions (-1: the broker's default)"},
					&cli.IntFlag{Name: "replication-factor", Aliases: []string{"r"}, Value: -1, Usage: "replication factor (-1: the broker's default)"},
					&cli.StringSliceFlag{Name: "config", Aliases: []string{"c"}, Usage: "topic config `KEY=VALUE` (repeatable)"},
				),
				Action: run(topicCreate),
			},
			{
				Name:        "list",
				Usage:       "list topics with their partition count and replication factor",
				Description: "Examples:\n   skiff topic list\n   skiff topic list --internal --format json",
				Flags:       append(connFlags(), &cli.BoolFlag{Name: "internal", Usage: "include internal topics (__consumer_offsets)"}),
				Action:      run(topicList),
			},
			{
				Name:        "describe",
				Usage:       "show partitions (leader, epoch, replicas, ISR, offline replicas) and non-default configs",
				ArgsUsage:   "TOPIC...",
				Description: "Examples:\n   skiff topic describe orders\n   skiff topic describe orders audit --format json",
				Flags:       connFlags(),
				Action:      run(topicDescribe),
			},
			{
				Name:        "delete",
				Usage:       "delete topics",
				ArgsUsage:   "TOPIC...",
				Description: "Example:\n   skiff topic delete orders",
				Flags:       connFlags(),
				Action:      run(topicDelete),
			},
			{
				Name:      "alter-config",
				Usage:     "set or remove topic configs (incrementally; other configs are kept)",
				ArgsUsage: "TOPIC...",
				Description: "Examples:\n   skiff topic alter-config orders --set retention.ms=3600000\n" +
					"   skiff topic alter-config orders --delete retention.ms",
				Flags: append(connFlags(),
					&cli.StringSliceFlag{Name: "set", Usage: "config `KEY=VALUE` to set (repeatable)"},
					&cli.StringSliceFlag{Name: "delete", Usage: "config `KEY` to reset to its default (repeatable)"},
				),
				Action: run(topicAlterConfig),
			},
		},
	}
}

// result is the outcome for one named topic or group.
type result struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// results prints per-name outcomes and returns an error if any failed.
func (e *env) results(verb string, rs []result) error {
	failed := 0
	for _, r := range rs {
		if r.Error != "" {
			failed++
		}
	}
	err := e.emit(rs, func(w *tabwriter.Writer) {
		for _, r := range rs {
			if r.Error != "" {
				fmt.Fprintf(w, "%s\tfailed: %s\n", r.Name, r.Error)
			} else {
				fmt.Fprintf(w, "%s\t%s\n", r.Name, verb)
			}
		}
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d failed", failed, len(rs))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func topicCreate(e *env) error {
	c := e.c
	if err := needArgs(c, 1, "TOPIC"); err != nil {
		return err
	}
	configs, err := parseKV("config", c.StringSlice("config"))
	if err != nil {
		return err
	}
	p, rf := c.Int("partitions"), c.Int("replication-factor")
	if p == 0 || p < -1 || rf == 0 || rf < -1 {
		return usagef("--partitions and --replication-factor must be positive (or -1 for the default)")
	}
	resp, err := e.adm.CreateTopics(e.ctx, int32(p), int16(rf), configs, c.Args().Slice()...)
	if err != nil {
		return err
	}
	var rs []result
	for _, name := range c.Args().Slice() {
		r := resp[name]
		rs = append(rs, result{Name: name, Error: errString(r.Err)})
	}
	return e.results("created", rs)
}

type topicSummary struct {
	Topic             string `json:"topic"`
	ID                string `json:"id"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func topicList(e *env) error {
	if e.c.NArg() > 0 {
		return usagef("topic list takes no arguments")
	}
	var (
		tds kadm.TopicDetails
		err error
	)
	if e.c.Bool("internal") {
		tds, err = e.adm.ListTopicsWithInternal(e.ctx)
	} else {
		tds, err = e.adm.ListTopics(e.ctx)
	}
	if err != nil {
		return err
	}
	if err := tds.Error(); err != nil {
		return err
	}
	out := []topicSummary{}
	for _, td := range tds.Sorted() {
		out = append(out, topicSummary{Topic: td.Topic, ID: td.ID.String(), Partitions: len(td.Partitions),
			ReplicationFactor: td.Partitions.NumReplicas(), Internal: td.IsInternal})
	}
	return e.emit(out, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "TOPIC\tPARTITIONS\tREPLICAS\tINTERNAL")
		for _, t := range out {
			fmt.Fprintf(w, "%s\t%d\t%d\t%v\n", t.Topic, t.Partitions, t.ReplicationFactor, t.Internal)
		}
	})
}

type partitionDesc struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	OfflineReplicas []int32 `json:"offline_replicas"`
	Error           string  `json:"error,omitempty"`
}

type topicDesc struct {
	topicSummary
	Configs         map[string]string `json:"configs"` // non-default configs
	PartitionDetail []partitionDesc   `json:"partition_detail"`
}

func topicDescribe(e *env) error {
	c := e.c
	if err := needArgs(c, 1, "TOPIC"); err != nil {
		return err
	}
	names := c.Args().Slice()
	tds, err := e.adm.ListTopicsWithInternal(e.ctx, names...)
	if err != nil {
		return err
	}
	for _, n := range names {
		td, ok := tds[n]
		if !ok {
			return fmt.Errorf("topic %q: not found", n)
		}
		if td.Err != nil {
			return fmt.Errorf("topic %q: %w", n, td.Err)
		}
	}
	rcs, err := e.adm.DescribeTopicConfigs(e.ctx, names...)
	if err != nil {
		return err
	}
	var out []topicDesc
	for _, n := range names {
		td := tds[n]
		d := topicDesc{
			topicSummary: topicSummary{Topic: n, ID: td.ID.String(), Partitions: len(td.Partitions),
				ReplicationFactor: td.Partitions.NumReplicas(), Internal: td.IsInternal},
			Configs: map[string]string{},
		}
		if rc, err := rcs.On(n, nil); err == nil && rc.Err == nil {
			for _, cfg := range rc.Configs {
				if cfg.Source == kmsg.ConfigSourceDynamicTopicConfig && cfg.Value != nil {
					d.Configs[cfg.Key] = *cfg.Value
				}
			}
		}
		for _, p := range td.Partitions.Sorted() {
			d.PartitionDetail = append(d.PartitionDetail, partitionDesc{
				Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: nonNil(p.Replicas), ISR: nonNil(p.ISR), OfflineReplicas: nonNil(p.OfflineReplicas),
				Error: errString(p.Err),
			})
		}
		out = append(out, d)
	}
	return e.emit(out, func(w *tabwriter.Writer) {
		for i, d := range out {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "Topic: %s  ID: %s  Partitions: %d  ReplicationFactor: %d\n", d.Topic, d.ID, d.Partitions, d.ReplicationFactor)
			keys := make([]string, 0, len(d.Configs))
			for k := range d.Configs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "Config: %s=%s\n", k, d.Configs[k])
			}
			fmt.Fprintln(w, "PARTITION\tLEADER\tEPOCH\tREPLICAS\tISR\tOFFLINE\tERROR")
			for _, p := range d.PartitionDetail {
				fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Partition, p.Leader, p.LeaderEpoch,
					ints(p.Replicas), ints(p.ISR), ints(p.OfflineReplicas), p.Error)
			}
		}
	})
}

func nonNil(is []int32) []int32 {
	if is == nil {
		return []int32{}
	}
	return is
}

func topicDelete(e *env) error {
	if err := needArgs(e.c, 1, "TOPIC"); err != nil {
		return err
	}
	resp, err := e.adm.DeleteTopics(e.ctx, e.c.Args().Slice()...)
	if err != nil {
		return err
	}
	var rs []result
	for _, name := range e.c.Args().Slice() {
		rs = append(rs, result{Name: name, Error: errString(resp[name].Err)})
	}
	return e.results("deleted", rs)
}

func topicAlterConfig(e *env) error {
	c := e.c
	if err := needArgs(c, 1, "TOPIC"); err != nil {
		return err
	}
	set, err := parseKV("set", c.StringSlice("set"))
	if err != nil {
		return err
	}
	var alters []kadm.AlterConfig
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: set[k]})
	}
	for _, k := range c.StringSlice("delete") {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(alters) == 0 {
		return usagef("topic alter-config needs --set or --delete")
	}
	resp, err := e.adm.AlterTopicConfigs(e.ctx, alters, c.Args().Slice()...)
	if err != nil {
		return err
	}
	byName := map[string]error{}
	for _, r := range resp {
		byName[r.Name] = r.Err
	}
	var rs []result
	for _, name := range c.Args().Slice() {
		err, ok := byName[name]
		if !ok {
			err = fmt.Errorf("no answer")
		}
		rs = append(rs, result{Name: name, Error: errString(err)})
	}
	return e.results("altered", rs)
}
