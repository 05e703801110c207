package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/node"
)

// joinCluster asks a running member (its HTTP address) to add this node to
// the metadata shard. A node that has data already is a member: it restarts
// from its data and does not ask again.
func joinCluster(httpAddr string, nc node.Config, log zerolog.Logger) error {
	if _, err := os.Stat(filepath.Join(nc.DataDir, "raft")); err == nil {
		log.Info().Msg("data dir exists; restarting as a member, not joining again")
		return nil
	}
	base := httpAddr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := fmt.Sprintf("%s/cluster/join?id=%d&raft_addr=%s", base, nc.NodeID, url.QueryEscape(nc.RaftAddr))
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Post(u, "text/plain", nil)
	if err != nil {
		return fmt.Errorf("--join %s: %w", httpAddr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("--join %s: %s: %s", httpAddr, resp.Status, strings.TrimSpace(string(body)))
	}
	log.Info().Str("via", httpAddr).Msg("added to the cluster; starting as a joining member")
	return nil
}
