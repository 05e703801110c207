package chaostest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn is a Kafka connection driven byte by byte.
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
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

// local is this end's address, as the broker logs it ("remote").
func (r *rawConn) local() string { return r.nc.LocalAddr().String() }

func (r *rawConn) write(b []byte) error {
	r.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.nc.Write(b)
	return err
}

// header encodes a v1/v2 request header.
func header(key, version int16, corr int32, clientID *string, flexible bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	if clientID == nil {
		b = binary.BigEndian.AppendUint16(b, 0xffff)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(*clientID)))
		b = append(b, *clientID...)
	}
	if flexible {
		b = append(b, 0)
	}
	return b
}

// sized prefixes b with its length.
func sized(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// frameOf is a size-prefixed frame for key/version with body, and the
// correlation ID used.
func (r *rawConn) frameOf(key, version int16, flexible bool, body []byte) ([]byte, int32) {
	r.corr++
	id := "chaostest"
	return sized(append(header(key, version, r.corr, &id, flexible), body...)), r.corr
}

// encode returns req's body at its version.
func encode(req kmsg.Request) []byte { return req.AppendTo(nil) }

// readResponse reads one response frame and returns its correlation ID and
// the bytes after it.
func (r *rawConn) readResponse(timeout time.Duration) (int32, []byte, error) {
	r.nc.SetReadDeadline(time.Now().Add(timeout))
	var sz [4]byte
	if _, err := io.ReadFull(r.nc, sz[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(sz[:])
	if n < 4 || n > 64<<20 {
		return 0, nil, fmt.Errorf("response size %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.nc, b); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(b)), b[4:], nil
}

// roundTrip sends req (at the version set on it) with body (req's own
// encoding when nil) and decodes the response.
func (r *rawConn) roundTrip(req kmsg.Request, body []byte) (kmsg.Response, error) {
	return r.roundTripAs(req, body, nil)
}

// roundTripAs is roundTrip with another version in the request header.
func (r *rawConn) roundTripAs(req kmsg.Request, body []byte, frameVersion *int16) (kmsg.Response, error) {
	if body == nil {
		body = encode(req)
	}
	v := req.GetVersion()
	if frameVersion != nil {
		v = *frameVersion
	}
	frame, corr := r.frameOf(req.Key(), v, req.IsFlexible(), body)
	if err := r.write(frame); err != nil {
		return nil, err
	}
	got, b, err := r.readResponse(15 * time.Second)
	if err != nil {
		return nil, err
	}
	if got != corr {
		return nil, fmt.Errorf("correlation ID %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		if len(b) == 0 || b[0] != 0 {
			return nil, fmt.Errorf("response header tags %x", b[:min(len(b), 1)])
		}
		b = b[1:]
	}
	if err := resp.ReadFrom(b); err != nil {
		return nil, fmt.Errorf("decoding %T: %w", resp, err)
	}
	return resp, nil
}

// closedByPeer waits until the broker closes the connection (a read gives
// EOF or a reset), reading and dropping any bytes before that.
func (r *rawConn) closedByPeer(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		r.nc.SetReadDeadline(deadline)
		_, err := r.nc.Read(buf)
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("connection still open after %s", timeout)
		default:
			return err
		}
	}
}

// stillOpen checks that the connection serves an ApiVersions request.
func (r *rawConn) stillOpen() error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "chaostest", "1"
	resp, err := r.roundTrip(req, nil)
	if err != nil {
		return err
	}
	if c := resp.(*kmsg.ApiVersionsResponse).ErrorCode; c != 0 {
		return fmt.Errorf("ApiVersions: code %d", c)
	}
	return nil
}
