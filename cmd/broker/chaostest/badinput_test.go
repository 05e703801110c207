package chaostest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	badTopic    = "bad-input"
	maxReqBytes = 1 << 20 // --socket.request.max.bytes of the node under test
)

// Bad input against a real skiff process over raw TCP: every request type
// with malformed fields, broken frames (oversize, negative, truncated,
// unknown keys and versions, garbage), corrupt record batches, idle,
// half-written, pipelined and unread connections. Each gets its Kafka
// error code, or a closed connection plus a log line naming the
// connection; nothing panics, and afterwards the process holds no more
// file descriptors or connections than before.
func TestChaosBadInput(t *testing.T) {
	c := Start(t, skiffBin, Options{Nodes: 1, LogLevel: "debug",
		Args: []string{"--socket.request.max.bytes", fmt.Sprint(maxReqBytes), "--max.partitions.per.request", "1000"}})
	createTopic(t, c, 0, badTopic, 2, 1, nil)
	addr := c.Nodes[0].KafkaAddr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A few records, so that offsets and epochs exist.
	prod, err := NewProducer([]string{addr}, partitionsOf(badTopic, 2))
	if err != nil {
		t.Fatal(err)
	}
	prod.ProduceSync(ctx, 5)
	prod.Close()

	// Baseline, once the harness's own client connection is up.
	if _, err := c.TopicNames(ctx, 0); err != nil {
		t.Fatal(err)
	}
	fd0, conns0 := resources(t, c)
	t.Logf("baseline: %d file descriptors, %d Kafka connections", fd0, conns0)

	var codesChecked, closedChecked int
	t.Run("codes", func(t *testing.T) {
		for _, tc := range codeCases() {
			t.Run(tc.name, func(t *testing.T) {
				rc := dialRaw(t, addr)
				req := tc.req()
				resp, err := rc.roundTripAs(req, tc.body, tc.frameVersion)
				if err != nil {
					t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
				}
				got := tc.codes(resp)
				if len(got) == 0 {
					t.Fatalf("no codes in %+v", resp)
				}
				for _, code := range got {
					if !slices.Contains(tc.want, code) {
						t.Errorf("%s v%d: %v (%d), want one of %s", kmsg.NameForKey(req.Key()), req.GetVersion(),
							kerr.ErrorForCode(code), code, codeNames(tc.want))
					}
				}
				if err := rc.stillOpen(); err != nil {
					t.Errorf("connection unusable after the error: %v", err)
				}
				codesChecked++
			})
		}
	})

	t.Run("closed", func(t *testing.T) {
		for _, tc := range closeCases() {
			t.Run(tc.name, func(t *testing.T) {
				rc := dialRaw(t, addr)
				if tc.prefix != nil {
					if err := rc.write(tc.prefix(rc)); err != nil {
						t.Fatal(err)
					}
				}
				if err := rc.closedByPeer(10 * time.Second); err != nil {
					t.Fatal(err)
				}
				waitLog(t, c, rc.local(), tc.log)
				closedChecked++
			})
		}
	})

	// Every registered API, at its lowest and highest version: a body cut
	// short, and a body of random bytes. The first must close the
	// connection with a log line; the second may also decode into
	// something (then it is answered).
	// servedFrom lists the APIs advertised below the lowest version served:
	// Produce from v0 while v0-2 are not served (Kafka 4 does the same,
	// KAFKA-18659, for librdkafka's compression check).
	servedFrom := map[int16]int16{kmsg.Produce.Int16(): 3}
	t.Run("every-api", func(t *testing.T) {
		keys := apiVersions(t, addr)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, k := range keys {
			for _, v := range slices.Compact([]int16{k.MinVersion, k.MaxVersion}) {
				name := fmt.Sprintf("%s-v%d", kmsg.NameForKey(k.ApiKey), v)
				req := kmsg.RequestForKey(k.ApiKey)
				req.SetVersion(v)
				body := encode(req)
				if len(body) > 0 {
					t.Run(name+"-truncated", func(t *testing.T) {
						rc := dialRaw(t, addr)
						frame, _ := rc.frameOf(k.ApiKey, v, req.IsFlexible(), body[:len(body)-1])
						if err := rc.write(frame); err != nil {
							t.Fatal(err)
						}
						if err := rc.closedByPeer(10 * time.Second); err != nil {
							t.Fatal(err)
						}
						want := "malformed request body"
						if v < servedFrom[k.ApiKey] {
							want = "unsupported api version" // advertised, never served: closed before decoding
						}
						waitLog(t, c, rc.local(), want)
						closedChecked++
					})
				}
				t.Run(name+"-huge-array", func(t *testing.T) {
					rc := dialRaw(t, addr)
					frame, _ := rc.frameOf(k.ApiKey, v, req.IsFlexible(), []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff})
					if err := rc.write(frame); err != nil {
						t.Fatal(err)
					}
					garbageOutcome(t, c, rc)
				})
				t.Run(name+"-garbage", func(t *testing.T) {
					rc := dialRaw(t, addr)
					g := make([]byte, 8+rng.IntN(120))
					for i := range g {
						g[i] = byte(rng.Uint32())
					}
					frame, _ := rc.frameOf(k.ApiKey, v, req.IsFlexible(), g)
					if err := rc.write(frame); err != nil {
						t.Fatal(err)
					}
					garbageOutcome(t, c, rc)
				})
			}
		}
	})

	t.Run("connections", func(t *testing.T) {
		t.Run("idle", func(t *testing.T) {
			rc := dialRaw(t, addr)
			// Idle on purpose: the broker must neither drop nor break it.
			time.Sleep(500 * time.Millisecond)
			if err := rc.stillOpen(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("half-written-then-closed", func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.write(append(binary.BigEndian.AppendUint32(nil, 100), make([]byte, 10)...))
			local := rc.local()
			rc.nc.Close()
			waitLog(t, c, local, "read failed; closing connection")
		})
		t.Run("size-prefix-cut", func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.write([]byte{0, 0})
			local := rc.local()
			rc.nc.Close()
			waitLog(t, c, local, "read failed; closing connection")
		})
		t.Run("byte-by-byte", func(t *testing.T) {
			rc := dialRaw(t, addr)
			req := kmsg.NewPtrMetadataRequest()
			req.SetVersion(9)
			frame, corr := rc.frameOf(req.Key(), req.GetVersion(), req.IsFlexible(), encode(req))
			for _, b := range frame {
				if err := rc.write([]byte{b}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond) // a slow writer, on purpose
			}
			got, _, err := rc.readResponse(10 * time.Second)
			if err != nil || got != corr {
				t.Fatalf("response %d, %v; want correlation %d", got, err, corr)
			}
		})
		t.Run("pipelined", func(t *testing.T) {
			rc := dialRaw(t, addr)
			var all []byte
			var corrs []int32
			for range 50 {
				req := kmsg.NewPtrMetadataRequest()
				req.SetVersion(12)
				frame, corr := rc.frameOf(req.Key(), req.GetVersion(), req.IsFlexible(), encode(req))
				all = append(all, frame...)
				corrs = append(corrs, corr)
			}
			if err := rc.write(all); err != nil {
				t.Fatal(err)
			}
			for _, want := range corrs {
				got, _, err := rc.readResponse(10 * time.Second)
				if err != nil || got != want {
					t.Fatalf("response %d, %v; want correlation %d (responses in request order)", got, err, want)
				}
			}
		})
		t.Run("never-reads", func(t *testing.T) {
			rc := dialRaw(t, addr)
			// Fetch requests with large answers that are never read.
			var all []byte
			for range 200 {
				req := kmsg.NewPtrFetchRequest()
				req.SetVersion(12)
				req.MaxBytes = 1 << 20
				rt := kmsg.NewFetchRequestTopic()
				rt.Topic = badTopic
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.PartitionMaxBytes = 1 << 20
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				frame, _ := rc.frameOf(req.Key(), req.GetVersion(), req.IsFlexible(), encode(req))
				all = append(all, frame...)
			}
			rc.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
			rc.nc.Write(all) // may block once the buffers are full; the deadline ends it
			rc.nc.Close()
		})
		t.Run("flood", func(t *testing.T) {
			for range 200 {
				rc := dialRaw(t, addr)
				rc.write([]byte{0, 0, 0, 30, 0, 3})
				rc.nc.Close()
			}
		})
	})

	// Whatever happened, the broker still works ...
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(badTopic))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Errorf("produce after the bad input: %v", err)
	}
	cl.Close()
	// ... and holds nothing more than before.
	var fd, conns int
	err = WaitFor(30*time.Second, func() error {
		fd, conns = resources(t, c)
		if fd > fd0 || conns > conns0 {
			return fmt.Errorf("%d file descriptors (was %d), %d Kafka connections (was %d)", fd, fd0, conns, conns0)
		}
		return nil
	})
	if err != nil {
		t.Errorf("leak: %v", err)
	}
	text, _ := c.Metrics(0)
	t.Logf("FIGURES bad input: %d error-code cases, %d closed-connection cases; protocol errors counted by the broker: %.0f; fds %d -> %d, Kafka connections %d -> %d",
		codesChecked, closedChecked, MetricSum(text, "skiff_kafka_protocol_errors_total"), fd0, fd, conns0, conns)
}

// resources is node 0's open file descriptors and open Kafka connections
// (opened minus closed: each has a goroutine).
func resources(t *testing.T, c *Cluster) (int, int) {
	t.Helper()
	fd, err := c.FDCount(0)
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.Metrics(0)
	if err != nil {
		t.Fatal(err)
	}
	open := MetricSum(text, "skiff_kafka_connections_opened_total") - MetricSum(text, "skiff_kafka_connections_closed_total")
	return fd, int(open)
}

// waitLog waits for a log line about the connection from local that holds
// want.
func waitLog(t *testing.T, c *Cluster, local, want string) {
	t.Helper()
	err := WaitFor(5*time.Second, func() error {
		if c.LogContains(0, `"remote":"`+local+`"`, want) {
			return nil
		}
		return fmt.Errorf("no log line with remote %s and %q", local, want)
	})
	if err != nil {
		t.Error(err)
	}
}

// garbageOutcome accepts a closed connection with a log line, or a
// well-formed response frame to a body that happened to decode.
func garbageOutcome(t *testing.T, c *Cluster, rc *rawConn) {
	t.Helper()
	_, _, err := rc.readResponse(10 * time.Second)
	if err == nil {
		return // it decoded: answered
	}
	if err := rc.closedByPeer(5 * time.Second); err != nil {
		t.Fatalf("neither an answer nor a closed connection: %v", err)
	}
	waitLog(t, c, rc.local(), "closing connection")
}

func apiVersions(t *testing.T, addr string) []kmsg.ApiVersionsResponseApiKey {
	t.Helper()
	rc := dialRaw(t, addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "chaostest", "1"
	resp, err := rc.roundTrip(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := resp.(*kmsg.ApiVersionsResponse).ApiKeys
	if len(keys) < 10 {
		t.Fatalf("ApiVersions lists %d APIs", len(keys))
	}
	return keys
}

func codeNames(codes []int16) string {
	var s []string
	for _, c := range codes {
		if e := kerr.ErrorForCode(c); e != nil {
			s = append(s, e.Error())
		} else {
			s = append(s, "NONE")
		}
	}
	return strings.Join(s, ", ")
}
