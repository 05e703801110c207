package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func clusterCommand() *cli.Command {
	return &cli.Command{
		Name:        "cluster",
		Usage:       "cluster-wide views",
		Description: "Example:\n   skiff cluster status --http-addrs 127.0.0.1:9644 --check",
		Subcommands: []*cli.Command{
			{
				Name: "status",
				Usage: "nodes (rack, liveness), the metadata leader (controller), data groups with leaders and " +
					"replica health, and, with --http-addrs, whether the nodes' metadata digests agree",
				Description: "Data groups are shown as Kafka metadata reveals them: the partitions sharing a\n" +
					"   replica set and a preferred leader (the first replica) are one data group.\n" +
					"   A node is down when partitions name it as a replica (or it answers on --http-addrs)\n" +
					"   but the cluster does not list it as alive.\n\n" +
					"Examples:\n   skiff cluster status\n" +
					"   skiff cluster status --http-addrs 10.0.0.1:9644,10.0.0.2:9644,10.0.0.3:9644 --check",
				Flags: append(connFlags(),
					&cli.StringSliceFlag{Name: "http-addrs", Usage: "the nodes' HTTP `ADDRS` (host:port,...), to compare their /debug/digest"},
					&cli.BoolFlag{Name: "check", Usage: "exit 1 unless every node is alive, no partition is under-replicated or offline, and the digests agree"},
				),
				Action: run(clusterStatus),
			},
		},
	}
}

type nodeStatus struct {
	ID         int32  `json:"id"`
	Addr       string `json:"addr,omitempty"`
	Rack       string `json:"rack,omitempty"`
	Alive      bool   `json:"alive"`
	Controller bool   `json:"controller"`
}

type groupStatus struct {
	Replicas        []int32 `json:"replicas"`
	PreferredLeader int32   `json:"preferred_leader"`
	Leader          int32   `json:"leader"` // -1: none
	Epoch           int32   `json:"epoch"`
	Partitions      int     `json:"partitions"`
	UnderReplicated int     `json:"under_replicated"`
	Offline         int     `json:"offline"`
}

type digestStatus struct {
	Addr   string `json:"addr"`
	Node   int32  `json:"node"`
	Index  uint64 `json:"index"`
	Digest string `json:"digest"`
	Error  string `json:"error,omitempty"`
}

type clusterStatusOut struct {
	ClusterID       string         `json:"cluster_id"`
	Controller      int32          `json:"controller"`
	Nodes           []nodeStatus   `json:"nodes"`
	Topics          int            `json:"topics"`
	Partitions      int            `json:"partitions"`
	UnderReplicated int            `json:"under_replicated"`
	Offline         int            `json:"offline"`
	DataGroups      []groupStatus  `json:"data_groups"`
	Digests         []digestStatus `json:"digests,omitempty"`
	DigestsAgree    *bool          `json:"digests_agree,omitempty"`
}

func clusterStatus(e *env) error {
	if e.c.NArg() > 0 {
		return usagef("cluster status takes no arguments")
	}
	md, err := e.adm.Metadata(e.ctx)
	if err != nil {
		return err
	}
	out := clusterStatusOut{ClusterID: md.Cluster, Controller: md.Controller, Nodes: []nodeStatus{}, DataGroups: []groupStatus{}}
	nodes := map[int32]*nodeStatus{}
	for _, b := range md.Brokers {
		r := ""
		if b.Rack != nil {
			r = *b.Rack
		}
		nodes[b.NodeID] = &nodeStatus{ID: b.NodeID, Addr: fmt.Sprintf("%s:%d", b.Host, b.Port), Rack: r, Alive: true}
	}
	known := func(id int32) {
		if _, ok := nodes[id]; !ok && id >= 0 {
			nodes[id] = &nodeStatus{ID: id}
		}
	}
	groups := map[string]*groupStatus{}
	leaders := map[string]map[[2]int32]int{} // group -> (leader, epoch) -> partitions
	for _, td := range md.Topics {
		if td.Err != nil {
			continue
		}
		out.Topics++
		for _, p := range td.Partitions {
			out.Partitions++
			for _, r := range p.Replicas {
				known(r)
			}
			if len(p.Replicas) == 0 {
				continue
			}
			members := slices.Clone(p.Replicas)
			slices.Sort(members)
			key := fmt.Sprint(members, p.Replicas[0])
			g := groups[key]
			if g == nil {
				g = &groupStatus{Replicas: members, PreferredLeader: p.Replicas[0]}
				groups[key] = g
				leaders[key] = map[[2]int32]int{}
			}
			g.Partitions++
			leaders[key][[2]int32{p.Leader, p.LeaderEpoch}]++
			if p.Leader < 0 {
				g.Offline++
				out.Offline++
			} else if len(p.ISR) < len(p.Replicas) {
				g.UnderReplicated++
				out.UnderReplicated++
			}
		}
	}
	for key, g := range groups {
		best, n := [2]int32{-1, -1}, -1
		for le, c := range leaders[key] { // the leader most partitions report
			if c > n || (c == n && le[0] > best[0]) {
				best, n = le, c
			}
		}
		g.Leader, g.Epoch = best[0], best[1]
		out.DataGroups = append(out.DataGroups, *g)
	}
	sort.Slice(out.DataGroups, func(i, j int) bool {
		a, b := out.DataGroups[i], out.DataGroups[j]
		if c := slices.Compare(a.Replicas, b.Replicas); c != 0 {
			return c < 0
		}
		return a.PreferredLeader < b.PreferredLeader
	})

	if addrs := splitList(e.c.StringSlice("http-addrs")); len(addrs) > 0 {
		out.Digests = fetchDigests(e.ctx, addrs)
		agree := true
		for _, d := range out.Digests {
			if d.Error == "" {
				known(d.Node)
			}
			agree = agree && d.Error == "" && d.Digest == out.Digests[0].Digest
		}
		out.DigestsAgree = &agree
	}
	for _, n := range nodes {
		n.Controller = n.ID == md.Controller
		out.Nodes = append(out.Nodes, *n)
	}
	sort.Slice(out.Nodes, func(i, j int) bool { return out.Nodes[i].ID < out.Nodes[j].ID })

	if err := e.emit(out, func(w *tabwriter.Writer) { clusterTable(w, out) }); err != nil {
		return err
	}
	if e.c.Bool("check") {
		var bad []string
		for _, n := range out.Nodes {
			if !n.Alive {
				bad = append(bad, fmt.Sprintf("node %d down", n.ID))
			}
		}
		if out.UnderReplicated > 0 {
			bad = append(bad, fmt.Sprintf("%d under-replicated partitions", out.UnderReplicated))
		}
		if out.Offline > 0 {
			bad = append(bad, fmt.Sprintf("%d offline partitions", out.Offline))
		}
		if out.DigestsAgree != nil && !*out.DigestsAgree {
			bad = append(bad, "metadata digests differ")
		}
		if len(bad) > 0 {
			return fmt.Errorf("unhealthy: %s", strings.Join(bad, ", "))
		}
	}
	return nil
}

func clusterTable(w *tabwriter.Writer, out clusterStatusOut) {
	fmt.Fprintf(w, "Cluster: %s  Controller: %d  Topics: %d  Partitions: %d  UnderReplicated: %d  Offline: %d\n",
		out.ClusterID, out.Controller, out.Topics, out.Partitions, out.UnderReplicated, out.Offline)
	fmt.Fprintln(w, "\nNODE\tADDR\tRACK\tALIVE\tCONTROLLER")
	for _, n := range out.Nodes {
		fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%v\n", n.ID, n.Addr, n.Rack, n.Alive, n.Controller)
	}
	fmt.Fprintln(w, "\nDATA GROUP (REPLICAS/PREFERRED)\tLEADER\tEPOCH\tPARTITIONS\tUNDER-REPLICATED\tOFFLINE")
	for _, g := range out.DataGroups {
		fmt.Fprintf(w, "%s/%d\t%d\t%d\t%d\t%d\t%d\n", ints(g.Replicas), g.PreferredLeader, g.Leader, g.Epoch,
			g.Partitions, g.UnderReplicated, g.Offline)
	}
	if out.DigestsAgree != nil {
		fmt.Fprintf(w, "\nDigests agree: %v\n", *out.DigestsAgree)
		fmt.Fprintln(w, "HTTP\tNODE\tINDEX\tDIGEST\tERROR")
		for _, d := range out.Digests {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", d.Addr, d.Node, d.Index, d.Digest, d.Error)
		}
	}
}

// fetchDigests reads every node's /debug/digest (heartbeats and the applied
// index are not hashed). Nodes apply at their own pace, so it reads again
// (up to ten times, 200 ms apart) until all digests are equal.
func fetchDigests(ctx context.Context, addrs []string) []digestStatus {
	var out []digestStatus
	for attempt := 0; attempt < 10; attempt++ {
		out = out[:0]
		same := true
		for _, a := range addrs {
			d := fetchDigest(ctx, a)
			same = same && d.Error == "" && (len(out) == 0 || d.Digest == out[0].Digest)
			out = append(out, d)
		}
		if same {
			break
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(200 * time.Millisecond):
		}
	}
	return out
}

func fetchDigest(ctx context.Context, addr string) digestStatus {
	d := digestStatus{Addr: addr, Node: -1}
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/debug/digest", nil)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.Error = resp.Status
		return d
	}
	var body struct {
		Node   int32  `json:"node"`
		Index  uint64 `json:"index"`
		Digest string `json:"digest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		d.Error = err.Error()
		return d
	}
	d.Node, d.Index, d.Digest = body.Node, body.Index, body.Digest
	return d
}
