package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// roundTrip writes rep as JSON and as a table, and returns the JSON
// decoded generically.
func roundTrip(t *testing.T, rep *Report) map[string]any {
	t.Helper()
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatalf("report JSON does not parse: %v\n%s", err, js.String())
	}
	var tab bytes.Buffer
	if err := rep.WriteTable(&tab); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tab.String())
	if !strings.Contains(tab.String(), "skiff bench "+rep.Bench) {
		t.Errorf("table has no title:\n%s", tab.String())
	}
	return out
}

func saneLatency(t *testing.T, who string, l Latency) {
	t.Helper()
	if l.Count == 0 || l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Errorf("%s: latency not sane: %+v", who, l)
	}
}

func TestBenchTopics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topicsN, perReq, parts = 12, 2, 3
	rep, err := RunTopics(ctx, TopicsConfig{
		Options:          Options{Compare: []string{"seed,kfake"}},
		Topics:           topicsN,
		Partitions:       parts,
		TopicsPerRequest: perReq,
		Concurrency:      2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Topics) != 3 {
		t.Fatalf("got %d results, want skiff, seed and kfake", len(rep.Topics))
	}
	wantProps := map[string]float64{TargetSkiff: 1, TargetSeed: 1 + 3*perReq*parts}
	for i, r := range rep.Topics {
		if want := []string{TargetSkiff, TargetSeed, TargetKfake}[i]; r.Target != want {
			t.Errorf("result %d is %s, want %s", i, r.Target, want)
		}
		if r.Requests != topicsN/perReq || r.Topics != topicsN || r.Partitions != topicsN*parts || r.Errors != 0 {
			t.Errorf("%s: requests %d topics %d partitions %d errors %d (%s)", r.Target, r.Requests, r.Topics, r.Partitions, r.Errors, r.FirstError)
		}
		if r.TopicsPerSec <= 0 || r.PartitionsPerSec <= 0 || r.ReadySeconds <= 0 || r.ReadyPartitionsPerSec <= 0 {
			t.Errorf("%s: rates not positive: %+v", r.Target, r)
		}
		if r.ReadySeconds < r.Seconds {
			t.Errorf("%s: ready after %.3fs, before the last answer at %.3fs", r.Target, r.ReadySeconds, r.Seconds)
		}
		saneLatency(t, r.Target, r.Latency)
		want, counted := wantProps[r.Target]
		switch {
		case counted && r.ProposalsPerRequest == nil:
			t.Errorf("%s: proposals per request not counted", r.Target)
		case counted && r.Target == TargetSkiff && (*r.ProposalsPerRequest <= 0 || *r.ProposalsPerRequest > want):
			// Concurrent creates may share a proposal (group commit).
			t.Errorf("%s: %.2f proposals per request, want at most %.0f", r.Target, *r.ProposalsPerRequest, want)
		case counted && r.Target != TargetSkiff && *r.ProposalsPerRequest != want:
			t.Errorf("%s: %.2f proposals per request, want %.0f", r.Target, *r.ProposalsPerRequest, want)
		case !counted && r.ProposalsPerRequest != nil:
			t.Errorf("%s: proposals per request %v, want none", r.Target, *r.ProposalsPerRequest)
		}
	}
	if len(rep.Ratios) != 8 {
		t.Errorf("got %d ratios, want 4 against each of seed and kfake: %+v", len(rep.Ratios), rep.Ratios)
	}
	out := roundTrip(t, rep)
	if rs, _ := out["topics"].([]any); len(rs) != 3 {
		t.Errorf("JSON has %d topics results", len(rs))
	} else if p, _ := rs[0].(map[string]any)["partitions_per_sec"].(float64); p <= 0 {
		t.Errorf("JSON partitions_per_sec = %v", p)
	}
}

func TestBenchProduce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := RunProduce(ctx, RecordsConfig{
		Options:     Options{Compare: []string{"kfake"}},
		Partitions:  3,
		RecordSize:  512,
		Records:     3000,
		Producers:   2,
		Compression: "lz4",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != 2 {
		t.Fatalf("got %d results, want skiff and kfake", len(rep.Records))
	}
	for _, r := range rep.Records {
		if r.Phase != "produce" || r.Records != 3000 || r.Bytes != 3000*512 || r.Errors != 0 || r.RecordsPerSec <= 0 || r.MiBPerSec <= 0 {
			t.Errorf("%s: %+v", r.Target, r)
		}
		if r.Latency == nil {
			t.Fatalf("%s: no latency", r.Target)
		}
		saneLatency(t, r.Target, *r.Latency)
	}
	out := roundTrip(t, rep)
	if _, ok := out["ratios"]; !ok {
		t.Error("JSON has no ratios")
	}
}

func TestBenchConsume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := RunConsume(ctx, RecordsConfig{
		Options:    Options{Compare: []string{"kfake"}},
		Partitions: 4,
		RecordSize: 100,
		Records:    2000,
		Consumers:  2,
		Acks:       "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != 4 {
		t.Fatalf("got %d results, want produce and consume for skiff and kfake", len(rep.Records))
	}
	for _, r := range rep.Records {
		switch r.Phase {
		case "produce":
			if r.Records != 2000 || r.Errors != 0 {
				t.Errorf("%s produce: %+v", r.Target, r)
			}
		case "consume":
			// Every produced record, the readiness record of each
			// partition and each producer's warm-up record.
			if r.Records != 2000+4+1 || r.Errors != 0 || r.RecordsPerSec <= 0 || r.FirstRecordMs <= 0 || r.Latency != nil {
				t.Errorf("%s consume: %+v", r.Target, r)
			}
		default:
			t.Errorf("%s: phase %q", r.Target, r.Phase)
		}
	}
	roundTrip(t, rep)
}

func TestBenchOptionErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := RunTopics(ctx, TopicsConfig{Options: Options{Compare: []string{"seed"}, Brokers: []string{"127.0.0.1:1"}}}); err == nil {
		t.Error("--compare seed with --brokers: no error")
	}
	if _, err := RunProduce(ctx, RecordsConfig{Options: Options{Compare: []string{"seed"}}}); err == nil {
		t.Error("produce --compare seed: no error")
	}
	if _, err := RunProduce(ctx, RecordsConfig{Options: Options{Compare: []string{"redpanda"}}}); err == nil {
		t.Error("unknown --compare: no error")
	}
	if _, err := RunProduce(ctx, RecordsConfig{Acks: "2"}); err == nil {
		t.Error("--acks 2: no error")
	}
	if _, err := RunProduce(ctx, RecordsConfig{Options: Options{LogDB: "rocks"}}); err == nil {
		t.Error("--logdb rocks: no error")
	}
}

func TestBenchHistogram(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}} {
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want)) > 0.02*float64(c.want) {
			t.Errorf("q%.2f = %v, want %v within 2%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v = v*5/4 + 1 {
		if b := bucketOf(v); lowerBound(b) > v || lowerBound(b+1) <= v {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, b, lowerBound(b), lowerBound(b+1))
		}
	}
}

func TestBenchProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.after = 0
	asked := make(chan struct{}, 1)
	p.start("x", func(time.Duration) string {
		select {
		case asked <- struct{}{}:
		default:
		}
		return "working"
	})
	// The update is written under p.mu right after status returns, and
	// end takes p.mu: once asked, the line is out before end clears it.
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("no progress update within 10 s")
	}
	p.end()
	if s := buf.String(); !strings.Contains(s, "[x]") || !strings.Contains(s, "working") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress output %q", s)
	}
	var none *progress
	none.start("y", nil) // a nil progress prints nothing and does not panic
	none.end()
}

func TestBenchCounterSum(t *testing.T) {
	text := `skiff_metadata_proposals_total{node="1",kind="create_topics"} 3
skiff_metadata_proposals_total{node="2",kind="create_topics"} 4
skiff_metadata_proposals_total{node="2",kind="seed_baseline"} 100
skiff_metadata_proposal_errors_total{node="2",kind="create_topics"} 9
`
	if got := counterSum(strings.NewReader(text), proposalsMetric, "create_topics"); got != 7 {
		t.Errorf("create_topics = %v, want 7", got)
	}
}

// The seed path is for the bench only. It lives in bench/seed, which no
// product package may import: the packages a broker is built from never
// list bench/ among their dependencies.
func TestBenchSeedNotInProduct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/skiff-broker/skiff/"
	product := []string{"kafka", "topics", "datapath", "node", "statemachine/...", "coordinator/...", "cmd/broker"}
	args := []string{"list", "-deps"}
	for _, p := range product {
		args = append(args, mod+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, mod+"topics") || !slices.Contains(deps, mod+"kafka") {
		t.Fatalf("go list -deps did not list the product packages:\n%s", out)
	}
	for _, d := range deps {
		if d == mod+"bench" || strings.HasPrefix(d, mod+"bench/") {
			t.Errorf("a product package depends on %s", d)
		}
	}
}
