package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of one bench command: one result per target, Skiff
// first, and Skiff's ratios to the others.
type Report struct {
	Bench   string          `json:"bench"` // topics, produce or consume
	Machine Machine         `json:"machine"`
	Config  any             `json:"config"`
	Topics  []TopicsResult  `json:"topics,omitempty"`
	Records []RecordsResult `json:"records,omitempty"`
	Ratios  []Ratio         `json:"ratios,omitempty"`
}

// Ratio is Skiff's value of a metric divided by another target's. For
// throughput above 1 means Skiff is faster; for latency below 1 does.
type Ratio struct {
	Metric string  `json:"metric"`
	Of     string  `json:"of"` // always skiff
	To     string  `json:"to"`
	Value  float64 `json:"value"`
}

func (r *Report) add(metric, to string, skiff, other float64) {
	if skiff <= 0 || other <= 0 {
		return
	}
	r.Ratios = append(r.Ratios, Ratio{Metric: metric, Of: TargetSkiff, To: to, Value: skiff / other})
}

func (r *Report) ratios() {
	r.Ratios = nil
	if len(r.Topics) > 1 && r.Topics[0].Target == TargetSkiff {
		s := r.Topics[0]
		for _, o := range r.Topics[1:] {
			r.add("partitions/s", o.Target, s.PartitionsPerSec, o.PartitionsPerSec)
			r.add("ready partitions/s", o.Target, s.ReadyPartitionsPerSec, o.ReadyPartitionsPerSec)
			r.add("p50 latency", o.Target, s.Latency.P50, o.Latency.P50)
			r.add("p99 latency", o.Target, s.Latency.P99, o.Latency.P99)
		}
	}
	if len(r.Records) > 1 && r.Records[0].Target == TargetSkiff {
		s := r.Records[0]
		for _, o := range r.Records[1:] {
			r.add("records/s", o.Target, s.RecordsPerSec, o.RecordsPerSec)
			if s.Latency != nil && o.Latency != nil {
				r.add("p50 latency", o.Target, s.Latency.P50, o.Latency.P50)
				r.add("p99 latency", o.Target, s.Latency.P99, o.Latency.P99)
			}
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as text tables.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "skiff bench %s   machine: %s\n", r.Bench, r.Machine)
	switch c := r.Config.(type) {
	case TopicsConfig:
		what := fmt.Sprintf("%d topics", c.Topics)
		if c.Duration > 0 {
			what = "for " + c.Duration.String()
		}
		fmt.Fprintf(&b, "workload: %s x %d partitions, RF %d, %d topics/request, concurrency %d\n",
			what, c.Partitions, c.ReplicationFactor, c.TopicsPerRequest, c.Concurrency)
	case RecordsConfig:
		what := fmt.Sprintf("%d records", c.Records)
		if c.Duration > 0 && c.Records <= 0 {
			what = "for " + c.Duration.String()
		}
		fmt.Fprintf(&b, "workload: %s of %d B, acks=%s, compression %s, %d partitions, RF %d, %d producers, %d consumers, linger %s\n",
			what, c.RecordSize, c.Acks, c.Compression, c.Partitions, c.ReplicationFactor, c.Producers, c.Consumers, c.Linger)
	}
	seen := map[string]bool{}
	for _, t := range r.Topics {
		if !seen[t.Target] {
			fmt.Fprintf(&b, "%s: %s\n", t.Target, t.Cluster)
			seen[t.Target] = true
		}
	}
	for _, t := range r.Records {
		if !seen[t.Target] {
			fmt.Fprintf(&b, "%s: %s\n", t.Target, t.Cluster)
			seen[t.Target] = true
		}
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(r.Topics) > 0 {
		fmt.Fprintln(tw, "target\trequests\ttopics\tpartitions\terrors\tseconds\ttopics/s\tpartitions/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tproposals/req\tready s\tready tail ms\tready partitions/s\t")
		for _, t := range r.Topics {
			props := "n/a"
			if t.ProposalsPerRequest != nil {
				props = fmt.Sprintf("%.1f", *t.ProposalsPerRequest)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%.2f\t%.0f\t%.0f\t\n",
				t.Target, t.Requests, t.Topics, t.Partitions, t.Errors, t.Seconds, t.TopicsPerSec, t.PartitionsPerSec,
				t.Latency.P50, t.Latency.P95, t.Latency.P99, t.Latency.Max, props, t.ReadySeconds, t.ReadyTailMs, t.ReadyPartitionsPerSec)
		}
	}
	if len(r.Records) > 0 {
		fmt.Fprintln(tw, "target\tphase\trecords\terrors\tseconds\trecords/s\tMiB/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tfirst record ms\t")
		for _, t := range r.Records {
			lat := "-\t-\t-\t-"
			if t.Latency != nil {
				lat = fmt.Sprintf("%.2f\t%.2f\t%.2f\t%.2f", t.Latency.P50, t.Latency.P95, t.Latency.P99, t.Latency.Max)
			}
			first := "-"
			if t.FirstRecordMs > 0 {
				first = fmt.Sprintf("%.1f", t.FirstRecordMs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.0f\t%.1f\t%s\t%s\t\n",
				t.Target, t.Phase, t.Records, t.Errors, t.Seconds, t.RecordsPerSec, t.MiBPerSec, lat, first)
		}
	}
	tw.Flush()
	for _, t := range r.Topics {
		if t.FirstError != "" {
			fmt.Fprintf(&b, "%s: first error: %s\n", t.Target, t.FirstError)
		}
	}
	for _, t := range r.Records {
		if t.FetchRequests > 0 {
			fmt.Fprintf(&b, "%s consume: %d Fetch requests, %.0f bytes per request, %.0f bytes per response\n",
				t.Target, t.FetchRequests, float64(t.FetchRequestBytes)/float64(t.FetchRequests),
				float64(t.FetchResponseBytes)/float64(t.FetchRequests))
		}
		if t.TailFetchRequests > 0 {
			fmt.Fprintf(&b, "%s consume, caught up: %d Fetch requests, %.0f bytes per request, %.0f bytes per response\n",
				t.Target, t.TailFetchRequests, float64(t.TailFetchRequestBytes)/float64(t.TailFetchRequests),
				float64(t.TailFetchResponseBytes)/float64(t.TailFetchRequests))
		}
	}
	for _, t := range r.Records {
		if t.FirstError != "" {
			fmt.Fprintf(&b, "%s %s: first error: %s\n", t.Target, t.Phase, t.FirstError)
		}
	}
	if len(r.Ratios) > 0 {
		b.WriteString("\nskiff / other (throughput: above 1 = skiff faster; latency: below 1 = skiff faster)\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, x := range r.Ratios {
			fmt.Fprintf(tw, "skiff / %s\t%s\t%.2fx\n", x.To, x.Metric, x.Value)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}
