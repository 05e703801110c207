package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// parseMembers parses --initial-members: "1=host:port,2=host:port".
func parseMembers(s string) (map[uint64]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	out := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		idStr, addr, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("--initial-members: %q is not ID=HOST:PORT", part)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idStr), 10, 31)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("--initial-members: %q: the ID must be a positive integer", part)
		}
		addr = strings.TrimSpace(addr)
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("--initial-members: %q: bad address: need HOST:PORT", part)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("--initial-members: node ID %d appears twice", id)
		}
		out[id] = addr
	}
	return out, nil
}
