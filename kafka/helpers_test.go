package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/topics"
)

const testNode int32 = 1

// testServer is a Server on 127.0.0.1:0 backed by a fakeTopics.
type testServer struct {
	s       *Server
	fake    *fakeTopics
	addr    string
	metrics *metrics.Set
}

// newTestServer starts a server; broker 1 is this server (alive), broker 2
// is registered but fenced. mod may adjust the config.
func newTestServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeTopics()
	fake.brokers = []*topics.Broker{
		{ID: testNode, KafkaAddr: ln.Addr().String(), Rack: "rack-a", Alive: true},
		{ID: 2, KafkaAddr: "127.0.0.1:1", Alive: false},
	}
	cfg := DefaultConfig()
	cfg.NodeID = testNode
	cfg.ClusterID = "skiff-test"
	cfg.Topics = fake
	cfg.Cluster = fakeCluster{controller: testNode}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t))
	cfg.Metrics = metrics.NewSet()
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Close", err)
		}
	})
	return &testServer{s: s, fake: fake, addr: ln.Addr().String(), metrics: cfg.Metrics}
}

// clients returns a franz-go client and an admin client for ts.
func (ts *testServer) clients(t *testing.T, opts ...kgo.Opt) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(ts.addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// encodeRequest builds a size-prefixed request frame.
func encodeRequest(corr int32, clientID *string, req kmsg.Request) []byte {
	hdr := requestHeader{key: req.Key(), version: req.GetVersion(), corr: corr, clientID: clientID}
	b := appendRequestHeader([]byte{0, 0, 0, 0}, hdr, req.IsFlexible())
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// rawConn speaks the wire protocol directly, for what clients never send.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if err := r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// send writes req at its set version and returns the correlation ID.
func (r *rawConn) send(req kmsg.Request) int32 {
	r.t.Helper()
	r.corr++
	id := "raw-test"
	r.write(encodeRequest(r.corr, &id, req))
	return r.corr
}

// recv reads one response into resp (whose version must be set) and checks
// its correlation ID.
func (r *rawConn) recv(corr int32, resp kmsg.Response) {
	r.t.Helper()
	body := r.recvBody(corr, resp)
	if err := resp.ReadFrom(body); err != nil {
		r.t.Fatalf("decode %s v%d: %v", kmsg.NameForKey(resp.Key()), resp.GetVersion(), err)
	}
}

// recvBody reads one response, checks its correlation ID and the response
// header that resp's key and version call for, and returns the body.
func (r *rawConn) recvBody(corr int32, resp kmsg.Response) []byte {
	r.t.Helper()
	if err := r.nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		r.t.Fatal(err)
	}
	var sz [4]byte
	if _, err := io.ReadFull(r.nc, sz[:]); err != nil {
		r.t.Fatalf("read size: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(sz[:]))
	if _, err := io.ReadFull(r.nc, body); err != nil {
		r.t.Fatalf("read body: %v", err)
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		r.t.Fatalf("correlation ID %d, want %d", got, corr)
	}
	body = body[4:]
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		if len(body) == 0 || body[0] != 0 {
			r.t.Fatalf("flexible response header: want one empty tag byte")
		}
		body = body[1:]
	}
	return body
}

// roundTrip sends req and decodes its response.
func (r *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	r.t.Helper()
	corr := r.send(req)
	resp := req.ResponseKind()
	r.recv(corr, resp)
	return resp
}

// expectClosed waits (bounded by a deadline) for the server to close the
// connection without answering.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	if err := r.nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		r.t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, r.nc)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		r.t.Fatalf("connection still open after the deadline (read %d bytes)", n)
	case n > 0:
		r.t.Fatalf("server answered %d bytes instead of closing", n)
	}
	// io.Copy returns nil on EOF; a reset is also a close.
}
