package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	errFrameSize          = errors.New("kafka: request size out of range")
	errTruncated          = errors.New("kafka: truncated request")
	errUnknownAPI         = errors.New("kafka: unknown api key")
	errUnsupportedVersion = errors.New("kafka: unsupported api version")
	errDecode             = errors.New("kafka: malformed request body")
	errNilResponse        = errors.New("kafka: handler returned no response for a request that needs one")
)

const (
	// frameChunk bounds the up-front allocation for one request: a peer
	// that announces a large frame must send the bytes to make us grow.
	frameChunk = 64 << 10
	// writeTimeout bounds how long a response write may block on a peer
	// that stopped reading.
	writeTimeout = 30 * time.Second
)

// requestHeader is a decoded Kafka request header (v1/v2).
type requestHeader struct {
	key      int16
	version  int16
	corr     int32
	clientID *string
}

// conn is one client connection. Its goroutine reads a request, handles
// it and writes the response before reading the next, so responses keep
// request order.
type conn struct {
	s   *Server
	nc  net.Conn
	br  *bufio.Reader
	log zerolog.Logger
	buf []byte // response buffer, reused

	// hctx is the handler context carrying the client's identity
	// (withClient), rebuilt only when the client ID changes.
	hctx   context.Context
	hctxID *string
}

// handlerContext returns the context for a request with client ID id.
func (c *conn) handlerContext(id *string) context.Context {
	if c.hctx == nil || (id == nil) != (c.hctxID == nil) || (id != nil && *id != *c.hctxID) {
		c.hctx, c.hctxID = withClient(c.s.ctx, clientIDString(id), c.nc.RemoteAddr()), id
	}
	return c.hctx
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		s:   s,
		nc:  nc,
		br:  bufio.NewReaderSize(nc, 32<<10),
		log: s.log.With().Str("remote", nc.RemoteAddr().String()).Logger(),
	}
}

// serve runs the read-handle-write loop until the peer leaves, the server
// closes, or the peer breaks the protocol (then the connection is closed:
// Kafka has no way to answer an undecodable request).
func (c *conn) serve() {
	for {
		// Each request must arrive whole within the idle timeout; the
		// deadline is cleared while the request is handled (a Fetch may
		// long-poll).
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		frame, err := readFrame(c.br, c.s.cfg.MaxRequestBytes)
		_ = c.nc.SetReadDeadline(time.Time{})
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.s.m.protocolError("idle_timeout")
				c.log.Info().Dur("idle", c.s.cfg.IdleTimeout).Msg("closing idle connection (connections.max.idle.ms)")
				return
			}
			if errors.Is(err, errFrameSize) {
				c.s.m.protocolError("frame_size")
				c.log.Warn().Err(err).Msg("closing connection")
			} else if !errors.Is(err, io.EOF) && !c.s.isClosed() {
				c.log.Debug().Err(err).Msg("read failed; closing connection")
			}
			return
		}
		hdr, req, err := parseRequest(frame, c.s.features())
		if err != nil {
			c.s.m.protocolError(protocolReason(err))
			c.log.Warn().Err(err).Int16("key", hdr.key).Int16("version", hdr.version).
				Int32("corr", hdr.corr).Msg("closing connection")
			return
		}
		if !c.handle(hdr, req) {
			return
		}
	}
}

// handle runs one request and writes its response, if it has one. It
// reports false when the connection must close.
func (c *conn) handle(hdr requestHeader, req kmsg.Request) bool {
	api := lookupAPI(hdr.key, c.s.features())
	am := c.s.m.api(hdr.key)
	start := time.Now()
	resp, err := api.handler(c.s, c.handlerContext(hdr.clientID), req)
	am.duration.UpdateDuration(start)
	am.requests.Inc()
	if err == nil && resp == nil && !noResponse(req) {
		err = fmt.Errorf("%w (%s)", errNilResponse, api.name)
	}
	if err != nil {
		am.failures.Inc()
		if !c.s.isClosed() {
			c.log.Warn().Err(err).Str("api", api.name).Int16("version", hdr.version).
				Int32("corr", hdr.corr).Str("client", clientIDString(hdr.clientID)).
				Msg("request failed; closing connection")
		}
		return false
	}
	if c.s.isClosed() {
		return false // the answer may come from a canceled context
	}
	if resp == nil {
		return true // Produce with acks=0: the client reads nothing
	}
	c.buf = appendResponse(c.buf[:0], hdr.corr, resp)
	if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return false
	}
	if _, err := c.nc.Write(c.buf); err != nil {
		if !c.s.isClosed() {
			c.log.Debug().Err(err).Msg("write failed; closing connection")
		}
		return false
	}
	return true
}

// noResponse reports whether req is answered with nothing at all: a
// Produce with acks=0 (Kafka's RequestChannel.NoOpResponse).
func noResponse(req kmsg.Request) bool {
	p, ok := req.(*kmsg.ProduceRequest)
	return ok && p.Acks == 0
}

// readFrame reads one size-prefixed request. The size must be in
// [0, maxBytes]; the body is allocated as it arrives.
func readFrame(r io.Reader, maxBytes int32) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(r, sz[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(sz[:]))
	if n < 0 || n > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", errFrameSize, n, maxBytes)
	}
	size := int(n)
	buf := make([]byte, min(size, frameChunk))
	read := 0
	for {
		k, err := io.ReadFull(r, buf[read:])
		read += k
		if err != nil {
			return nil, fmt.Errorf("%w: read %d of %d bytes: %w", errTruncated, read, size, err)
		}
		if read == size {
			return buf, nil
		}
		grown := make([]byte, min(2*len(buf), size))
		copy(grown, buf)
		buf = grown
	}
}

// parseRequest decodes a request frame (without its size prefix): header,
// then the body for a registered key and version (APIs needing a service
// only when have includes it). ApiVersions with a version above ours is returned
// undecoded (only its Version set) so that the handler can answer
// UNSUPPORTED_VERSION as Kafka does.
func parseRequest(frame []byte, have feature) (requestHeader, kmsg.Request, error) {
	var hdr requestHeader
	r := kbin.Reader{Src: frame}
	hdr.key = r.Int16()
	hdr.version = r.Int16()
	hdr.corr = r.Int32()
	hdr.clientID = r.NullableString()
	if err := r.Complete(); err != nil {
		return hdr, nil, fmt.Errorf("%w: header: %w", errTruncated, err)
	}
	api := lookupAPI(hdr.key, have)
	if api == nil {
		return hdr, nil, fmt.Errorf("%w %d", errUnknownAPI, hdr.key)
	}
	if !api.supports(hdr.version) {
		if hdr.key == kmsg.ApiVersions.Int16() && hdr.version > api.maxV {
			return hdr, &kmsg.ApiVersionsRequest{Version: hdr.version}, nil
		}
		return hdr, nil, fmt.Errorf("%w: %s v%d (supported v%d-v%d)", errUnsupportedVersion, api.name, hdr.version, api.minV, api.maxV)
	}
	req := kmsg.RequestForKey(hdr.key)
	req.SetVersion(hdr.version)
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
		if err := r.Complete(); err != nil {
			return hdr, nil, fmt.Errorf("%w: header tags: %w", errTruncated, err)
		}
	}
	if err := req.ReadFrom(r.Src); err != nil {
		return hdr, nil, fmt.Errorf("%w: %s v%d: %w", errDecode, api.name, hdr.version, err)
	}
	return hdr, req, nil
}

// appendRequestHeader appends a v1/v2 request header (the inverse of the
// header part of parseRequest). Used by tests and the fuzzer.
func appendRequestHeader(dst []byte, hdr requestHeader, flexible bool) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(hdr.key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(hdr.version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(hdr.corr))
	if hdr.clientID == nil {
		dst = binary.BigEndian.AppendUint16(dst, 0xffff)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(*hdr.clientID)))
		dst = append(dst, *hdr.clientID...)
	}
	if flexible {
		dst = append(dst, 0) // no tagged fields
	}
	return dst
}

// appendResponse appends a size-prefixed response: correlation ID, an
// empty tag section for flexible versions (never for ApiVersions, whose
// response header stays v0 so any client can read it), then the body.
func appendResponse(dst []byte, corr int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func protocolReason(err error) string {
	switch {
	case errors.Is(err, errTruncated):
		return "truncated"
	case errors.Is(err, errUnknownAPI):
		return "unknown_api"
	case errors.Is(err, errUnsupportedVersion):
		return "unsupported_version"
	default:
		return "decode"
	}
}

func clientIDString(id *string) string {
	if id == nil {
		return ""
	}
	return *id
}
