package chaostest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Network is one TCP proxy per node, in front of its Raft listener: peers
// dial the node's advertised --raft-addr (the proxy), which forwards to the
// node's --raft-listen-addr. Dragonboat sends messages on connections the
// sender dials, so each connection carries traffic from its dialing node to
// the proxy's node. The proxy finds the dialing node of every accepted
// connection (the process that owns the other end of the socket, from
// /proc), and Partition drops and refuses every connection between nodes
// on different sides: a full, symmetric partition.
type Network struct {
	pid func(node int) int // current process ID of a node, 0 if down

	mu      sync.Mutex
	side    []int // side[i]: partition label of node i; equal labels talk
	closed  bool
	proxies []*proxy
	wg      sync.WaitGroup

	Refused   atomic.Int64 // connections refused by a partition
	Dropped   atomic.Int64 // connections cut by a partition
	Unknown   atomic.Int64 // connections whose dialing node was not found
	Forwarded atomic.Int64 // connections forwarded
}

type proxy struct {
	node   int
	ln     net.Listener
	target func() string
	conns  map[*pipe]struct{}
}

// pipe is one proxied connection: from the dialing node src to node dst.
type pipe struct {
	src, dst int
	in, out  net.Conn
	once     sync.Once
}

func (p *pipe) close() {
	p.once.Do(func() {
		p.in.Close()
		p.out.Close()
	})
}

// NewNetwork listens on a fresh loopback port for each of n nodes; target(i)
// is node i's --raft-listen-addr and pid(i) its current process ID.
func NewNetwork(n int, target func(int) string, pid func(int) int) (*Network, error) {
	nw := &Network{pid: pid, side: make([]int, n)}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			nw.Close()
			return nil, err
		}
		p := &proxy{node: i, ln: ln, target: func() string { return target(i) }, conns: map[*pipe]struct{}{}}
		nw.proxies = append(nw.proxies, p)
		nw.wg.Add(1)
		go nw.accept(p)
	}
	return nw, nil
}

// Addr is the proxy address of node i: its advertised Raft address.
func (nw *Network) Addr(i int) string { return nw.proxies[i].ln.Addr().String() }

// Partition splits the nodes: sides[i] is node i's side; nodes on
// different sides cannot reach each other until Heal. Connections across
// the cut are closed at once.
func (nw *Network) Partition(sides []int) {
	nw.mu.Lock()
	copy(nw.side, sides)
	var cut []*pipe
	for _, p := range nw.proxies {
		for pp := range p.conns {
			if nw.blockedLocked(pp.src, pp.dst) {
				cut = append(cut, pp)
				delete(p.conns, pp)
			}
		}
	}
	nw.mu.Unlock()
	for _, pp := range cut {
		nw.Dropped.Add(1)
		pp.close()
	}
}

// Isolate cuts node i off from every other node.
func (nw *Network) Isolate(i int) {
	sides := make([]int, len(nw.side))
	sides[i] = 1
	nw.Partition(sides)
}

// Heal lets every node reach every other again.
func (nw *Network) Heal() { nw.Partition(make([]int, len(nw.side))) }

// Partitioned reports whether any cut is in place.
func (nw *Network) Partitioned() bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.partitionedLocked()
}

func (nw *Network) partitionedLocked() bool {
	for _, s := range nw.side {
		if s != nw.side[0] {
			return true
		}
	}
	return false
}

// blockedLocked: may a connection from src (-1: unknown) reach dst? An
// unknown dialer is refused while any cut is in place: refusing costs a
// retry, letting it through could bridge the partition.
func (nw *Network) blockedLocked(src, dst int) bool {
	if src < 0 {
		return nw.partitionedLocked()
	}
	return nw.side[src] != nw.side[dst]
}

// Close stops every proxy and cuts every connection.
func (nw *Network) Close() {
	nw.mu.Lock()
	if nw.closed {
		nw.mu.Unlock()
		return
	}
	nw.closed = true
	var all []*pipe
	for _, p := range nw.proxies {
		p.ln.Close()
		for pp := range p.conns {
			all = append(all, pp)
		}
	}
	nw.mu.Unlock()
	for _, pp := range all {
		pp.close()
	}
	nw.wg.Wait()
}

func (nw *Network) accept(p *proxy) {
	defer nw.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		nw.wg.Add(1)
		go func() {
			defer nw.wg.Done()
			nw.serve(p, in)
		}()
	}
}

func (nw *Network) serve(p *proxy, in net.Conn) {
	src := nw.dialer(in)
	if src < 0 {
		nw.Unknown.Add(1)
	}
	nw.mu.Lock()
	closed, blocked := nw.closed, nw.blockedLocked(src, p.node)
	nw.mu.Unlock()
	if closed || blocked {
		if !closed {
			nw.Refused.Add(1)
		}
		in.Close()
		return
	}
	out, err := net.DialTimeout("tcp", p.target(), 2*time.Second)
	if err != nil {
		in.Close() // the node is down: the dialer sees a closed connection
		return
	}
	pp := &pipe{src: src, dst: p.node, in: in, out: out}
	nw.mu.Lock()
	// The partition may have changed while dialing.
	if nw.closed || nw.blockedLocked(src, p.node) {
		nw.mu.Unlock()
		pp.close()
		return
	}
	p.conns[pp] = struct{}{}
	nw.mu.Unlock()
	nw.Forwarded.Add(1)
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		pp.close()
	}
	go cp(out, in)
	go cp(in, out)
	wg.Wait()
	nw.mu.Lock()
	delete(p.conns, pp)
	nw.mu.Unlock()
}

// dialer finds which node's process owns the other end of an accepted
// loopback connection: the socket whose local address is in's remote
// address, in /proc/net/tcp, and the process holding that socket's inode.
// It returns -1 if none does.
func (nw *Network) dialer(in net.Conn) int {
	remote, ok1 := in.RemoteAddr().(*net.TCPAddr)
	local, ok2 := in.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return -1
	}
	inode := socketInode(remote, local)
	if inode == "" {
		return -1
	}
	want := "socket:[" + inode + "]"
	for i := range nw.proxies {
		pid := nw.pid(i)
		if pid == 0 {
			continue
		}
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
				return i
			}
		}
	}
	return -1
}

// socketInode returns the inode of the IPv4 TCP socket bound to local and
// connected to remote, from /proc/net/tcp ("" if not found).
func socketInode(local, remote *net.TCPAddr) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	l, r := procAddr(local), procAddr(remote)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(fs) >= 10 && fs[1] == l && fs[2] == r {
			return fs[9]
		}
	}
	return ""
}

// procAddr formats an IPv4 address the way /proc/net/tcp does: the
// address as a little-endian hex word, then the port in hex.
func procAddr(a *net.TCPAddr) string {
	ip := a.IP.To4()
	if ip == nil {
		return ""
	}
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}

// Stats is a one-line summary of the proxies' counters.
func (nw *Network) Stats() string {
	return "forwarded " + strconv.FormatInt(nw.Forwarded.Load(), 10) +
		", refused " + strconv.FormatInt(nw.Refused.Load(), 10) +
		", dropped " + strconv.FormatInt(nw.Dropped.Load(), 10) +
		", dialer unknown " + strconv.FormatInt(nw.Unknown.Load(), 10)
}
