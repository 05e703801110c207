package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Server serves the Kafka protocol on any number of listeners.
type Server struct {
	cfg Config
	log zerolog.Logger
	m   *serverMetrics

	sessions *fetchSessionCache // KIP-227 fetch sessions

	// ctx is the parent of every handler context; Close cancels it so that
	// handlers waiting on Raft return promptly.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex // guards the fields below; never held during I/O
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
}

// NewServer validates cfg and returns a Server that is not yet serving.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.prepare(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger.With().Str("component", "kafka").Int32("node", cfg.NodeID).Logger(),
		m:         newServerMetrics(cfg.Metrics, strconv.Itoa(int(cfg.NodeID)), cfg.features()),
		sessions:  newFetchSessionCache(cfg.FetchSessionCacheSlots),
		ctx:       ctx,
		cancel:    cancel,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
	}
	node := strconv.Itoa(int(cfg.NodeID))
	sessions := s.sessions
	cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_kafka_fetch_sessions{node=%q}`, node), func() float64 {
		return float64(sessions.len())
	})
	cfg.Metrics.GetOrCreateGauge(fmt.Sprintf(`skiff_kafka_fetch_session_evictions{node=%q}`, node), func() float64 {
		return float64(sessions.evictions())
	})
	return s, nil
}

// goTracked runs fn in a goroutine that Close waits for (nats
// startGoRoutine). It reports false, without running fn, once the server
// is closed.
func (s *Server) goTracked(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// Serve accepts connections on ln until Close, then returns nil. It returns
// an error if ln fails for another reason. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
		s.wg.Done()
	}()

	s.log.Info().Str("addr", ln.Addr().String()).Msg("serving kafka")
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Transient failures such as EMFILE: back off and retry,
			// as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn().Err(err).Dur("backoff", backoff).Msg("accept failed")
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		s.startConn(nc)
	}
}

func (s *Server) startConn(nc net.Conn) {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.m.connsOpened.Inc()
	if !s.goTracked(func() {
		defer s.dropConn(c)
		c.serve()
	}) {
		s.dropConn(c)
	}
}

func (s *Server) dropConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.nc.Close()
	s.m.connsClosed.Inc()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, closes every connection, cancels in-flight
// handlers and waits for all goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel() // after closing conns, so no canceled answer is written
	s.wg.Wait()
	return nil
}
