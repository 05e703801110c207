package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
)

// DigestResponse is served at /debug/digest: this node's own view of the
// metadata state (a local read, not linearizable), so that operators and
// tests can compare replicas.
type DigestResponse struct {
	Node   int32  `json:"node"`
	Index  uint64 `json:"index"`
	Digest string `json:"digest"`
	Topics int    `json:"topics"`
	// Groups maps the shard ID of each data group with a replica on this
	// node to a digest of that replica's partitions and producer state.
	Groups map[uint64]string `json:"groups,omitempty"`
}

func (b *Broker) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		b.cfg.Metrics.WritePrometheus(w)
		// Dragonboat's metrics live in the default set; true adds the Go
		// runtime and process metrics (go_goroutines, open fds, ...).
		metrics.WritePrometheus(w, true)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := b.ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/debug/digest", func(w http.ResponseWriter, r *http.Request) {
		d, err := b.Digest(r.URL.Query().Get("groups") != "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(d)
	})
	mux.HandleFunc("/cluster/join", b.handleJoin)
	return mux
}

// ready: registered, and a linearizable read of the metadata shard works.
func (b *Broker) ready(ctx context.Context) error {
	if !b.node.Ready() {
		return fmt.Errorf("broker %d not registered yet", b.node.ID())
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := b.node.ReadBrokers(ctx) // a small answer: the state is not hashed
	return err
}

// Digest returns this node's metadata digest and, with groups, a digest of
// each local data-group replica (/debug/digest?groups=1). A group digest
// reads the replica's whole logs and pauses its applies meanwhile: for
// tests and diagnosis, not for monitoring.
func (b *Broker) Digest(groups bool) (DigestResponse, error) {
	d, err := b.node.LocalDigest()
	if err != nil {
		return DigestResponse{}, err
	}
	out := DigestResponse{Node: b.node.ID(), Index: d.Index, Digest: d.Sum, Topics: d.Topics}
	if !groups {
		return out, nil
	}
	out.Groups = map[uint64]string{}
	for _, shard := range b.node.LocalDataGroups() {
		if sm, ok := b.node.DataGroupReplica(shard); ok {
			if gd, err := sm.Lookup(datagroup.QueryDigest{}); err == nil {
				out.Groups[shard], _ = gd.(string)
			}
		}
	}
	return out, nil
}

// handleJoin adds a node to the metadata shard: POST /cluster/join?id=N&raft_addr=host:port.
// A node started with --join calls it on an existing member first.
func (b *Broker) handleJoin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	id, err := strconv.ParseUint(r.URL.Query().Get("id"), 10, 63)
	addr := r.URL.Query().Get("raft_addr")
	if err != nil || id == 0 || addr == "" {
		http.Error(w, "need id > 0 and raft_addr", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := b.node.AddMember(ctx, id, addr); err != nil {
		b.log.Warn().Err(err).Uint64("id", id).Str("raft_addr", addr).Msg("join refused")
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	b.log.Info().Uint64("id", id).Str("raft_addr", addr).Msg("node added to the metadata shard")
	fmt.Fprintln(w, "ok")
}
