package admin

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/urfave/cli/v2"
)

func groupCommand() *cli.Command {
	return &cli.Command{
		Name:        "group",
		Usage:       "list, describe (with lag), delete consumer groups and reset their offsets",
		Description: "Examples:\n   skiff group list\n   skiff group describe billing --format json",
		Subcommands: []*cli.Command{
			{
				Name:        "list",
				Usage:       "list consumer groups with their state and coordinator",
				Description: "Example:\n   skiff group list --format json",
				Flags:       connFlags(),
				Action:      run(groupList),
			},
			{
				Name:        "describe",
				Usage:       "show state, members and per-partition committed offset, end offset and lag",
				ArgsUsage:   "GROUP...",
				Description: "Example:\n   skiff group describe billing",
				Flags:       connFlags(),
				Action:      run(groupDescribe),
			},
			{
				Name:        "delete",
				Usage:       "delete consumer groups (they must have no members)",
				ArgsUsage:   "GROUP...",
				Description: "Example:\n   skiff group delete billing",
				Flags:       connFlags(),
				Action:      run(groupDelete),
			},
			{
				Name:      "reset-offsets",
				Usage:     "move a group's committed offsets (the group must have no members); a dry run unless --execute",
				ArgsUsage: "GROUP",
				Description: "Examples:\n   skiff group reset-offsets billing --topic orders --to-earliest            # show the plan\n" +
					"   skiff group reset-offsets billing --topic orders --to-latest --execute\n" +
					"   skiff group reset-offsets billing --topic orders --to-offset 42 --execute",
				Flags: append(connFlags(),
					&cli.StringSliceFlag{Name: "topic", Usage: "`TOPIC` to reset (repeatable; default: every topic the group has offsets for)"},
					&cli.BoolFlag{Name: "to-earliest", Usage: "reset to the log start offset"},
					&cli.BoolFlag{Name: "to-latest", Usage: "reset to the log end offset"},
					&cli.Int64Flag{Name: "to-offset", Value: -1, Usage: "reset to this `OFFSET` (clamped to the log's start and end)"},
					&cli.BoolFlag{Name: "execute", Usage: "commit the new offsets (without it, only print them)"},
				),
				Action: run(groupResetOffsets),
			},
		},
	}
}

type groupSummary struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func groupList(e *env) error {
	if e.c.NArg() > 0 {
		return usagef("group list takes no arguments")
	}
	lgs, err := e.adm.ListGroups(e.ctx)
	if err != nil {
		return err
	}
	out := []groupSummary{}
	for _, g := range lgs.Sorted() {
		out = append(out, groupSummary{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType, Coordinator: g.Coordinator})
	}
	return e.emit(out, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "GROUP\tSTATE\tPROTOCOL-TYPE\tCOORDINATOR")
		for _, g := range out {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", g.Group, g.State, g.ProtocolType, g.Coordinator)
		}
	})
}

type groupMember struct {
	MemberID   string `json:"member_id"`
	InstanceID string `json:"instance_id,omitempty"`
	ClientID   string `json:"client_id"`
	Host       string `json:"host"`
}

type partitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"` // -1: no commit
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Member    string `json:"member,omitempty"`
	Error     string `json:"error,omitempty"`
}

type groupDesc struct {
	groupSummary
	Protocol   string         `json:"protocol"`
	Members    []groupMember  `json:"members"`
	TotalLag   int64          `json:"total_lag"`
	Partitions []partitionLag `json:"partitions"`
}

func groupDescribe(e *env) error {
	if err := needArgs(e.c, 1, "GROUP"); err != nil {
		return err
	}
	names := e.c.Args().Slice()
	lags, err := e.adm.Lag(e.ctx, names...)
	if err != nil {
		return err
	}
	var out []groupDesc
	for _, n := range names {
		l, ok := lags[n]
		if !ok {
			return fmt.Errorf("group %q: no answer", n)
		}
		if err := l.Error(); err != nil {
			return fmt.Errorf("group %q: %w", n, err)
		}
		if l.State == "Dead" {
			return fmt.Errorf("group %q: not found", n)
		}
		d := groupDesc{groupSummary: groupSummary{Group: n, State: l.State, ProtocolType: l.ProtocolType,
			Coordinator: l.Coordinator.NodeID}, Protocol: l.Protocol, Members: []groupMember{}, Partitions: []partitionLag{}}
		for _, m := range l.Members {
			gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
			if m.InstanceID != nil {
				gm.InstanceID = *m.InstanceID
			}
			d.Members = append(d.Members, gm)
		}
		for _, ml := range l.Lag.Sorted() {
			pl := partitionLag{Topic: ml.Topic, Partition: ml.Partition, Committed: ml.Commit.At, End: ml.End.Offset,
				Lag: ml.Lag, Error: errString(ml.Err)}
			if ml.Member != nil {
				pl.Member = ml.Member.MemberID
			}
			if ml.Lag > 0 {
				d.TotalLag += ml.Lag
			}
			d.Partitions = append(d.Partitions, pl)
		}
		out = append(out, d)
	}
	return e.emit(out, func(w *tabwriter.Writer) {
		for i, d := range out {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "Group: %s  State: %s  Coordinator: %d  Members: %d  TotalLag: %d\n",
				d.Group, d.State, d.Coordinator, len(d.Members), d.TotalLag)
			fmt.Fprintln(w, "TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tMEMBER\tERROR")
			for _, p := range d.Partitions {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%s\n", p.Topic, p.Partition, p.Committed, p.End, p.Lag, p.Member, p.Error)
			}
		}
	})
}

func groupDelete(e *env) error {
	if err := needArgs(e.c, 1, "GROUP"); err != nil {
		return err
	}
	resp, err := e.adm.DeleteGroups(e.ctx, e.c.Args().Slice()...)
	if err != nil {
		return err
	}
	var rs []result
	for _, n := range e.c.Args().Slice() {
		r, ok := resp[n]
		msg := "no answer"
		if ok {
			msg = errString(r.Err)
		}
		rs = append(rs, result{Name: n, Error: msg})
	}
	return e.results("deleted", rs)
}

type offsetReset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Old       int64  `json:"old"` // -1: no commit
	New       int64  `json:"new"`
	Error     string `json:"error,omitempty"`
}

func groupResetOffsets(e *env) error {
	c := e.c
	if c.NArg() != 1 {
		return usagef("group reset-offsets takes exactly one GROUP")
	}
	group := c.Args().First()
	modes := 0
	for _, f := range []string{"to-earliest", "to-latest", "to-offset"} {
		if c.IsSet(f) {
			modes++
		}
	}
	if modes != 1 {
		return usagef("give exactly one of --to-earliest, --to-latest, --to-offset")
	}
	if c.IsSet("to-offset") && c.Int64("to-offset") < 0 {
		return usagef("--to-offset must be >= 0")
	}
	committed, err := e.adm.FetchOffsets(e.ctx, group)
	if err != nil {
		return err
	}
	if err := committed.Error(); err != nil {
		return err
	}
	topics := splitList(c.StringSlice("topic"))
	if len(topics) == 0 {
		for t := range committed {
			topics = append(topics, t)
		}
		sort.Strings(topics)
	}
	if len(topics) == 0 {
		return fmt.Errorf("group %q has no committed offsets; name the topics with --topic", group)
	}
	starts, err := e.adm.ListStartOffsets(e.ctx, topics...)
	if err != nil {
		return err
	}
	ends, err := e.adm.ListEndOffsets(e.ctx, topics...)
	if err != nil {
		return err
	}
	var plan []offsetReset
	toCommit := kadm.Offsets{}
	for _, t := range topics {
		ps, ok := ends[t]
		if !ok {
			return fmt.Errorf("topic %q: not found", t)
		}
		var parts []int32
		for p := range ps {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		for _, p := range parts {
			end := ps[p]
			start, _ := starts.Lookup(t, p)
			r := offsetReset{Topic: t, Partition: p, Old: -1}
			if o, ok := committed.Lookup(t, p); ok && o.Err == nil {
				r.Old = o.At
			}
			if end.Err != nil || start.Err != nil {
				r.Error = errString(end.Err)
				if r.Error == "" {
					r.Error = errString(start.Err)
				}
				plan = append(plan, r)
				continue
			}
			switch {
			case c.Bool("to-earliest"):
				r.New = start.Offset
			case c.Bool("to-latest"):
				r.New = end.Offset
			default:
				r.New = min(max(c.Int64("to-offset"), start.Offset), end.Offset)
			}
			toCommit.AddOffset(t, p, r.New, -1)
			plan = append(plan, r)
		}
	}
	for _, r := range plan {
		if r.Error != "" {
			return fmt.Errorf("%s[%d]: %s", r.Topic, r.Partition, r.Error)
		}
	}
	if c.Bool("execute") {
		resp, err := e.adm.CommitOffsets(e.ctx, group, toCommit)
		if err != nil {
			return err
		}
		for i, r := range plan {
			if o, ok := resp.Lookup(r.Topic, r.Partition); ok && o.Err != nil {
				plan[i].Error = o.Err.Error()
			}
		}
	}
	failed := 0
	err = e.emit(plan, func(w *tabwriter.Writer) {
		if !c.Bool("execute") {
			fmt.Fprintln(w, "Dry run: add --execute to commit these offsets.")
		}
		fmt.Fprintln(w, "TOPIC\tPARTITION\tOLD\tNEW\tERROR")
		for _, r := range plan {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\n", r.Topic, r.Partition, r.Old, r.New, r.Error)
		}
	})
	for _, r := range plan {
		if r.Error != "" {
			failed++
		}
	}
	if err == nil && failed > 0 {
		err = fmt.Errorf("%d offsets not committed", failed)
	}
	return err
}
