package statemachine

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata fixtures")

func tid(b byte) TopicID {
	var id TopicID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

// sampleCommands has one command of every type, with edge values, and a
// Batch holding one of each. Empty slices are nil (Decode's spelling).
func sampleCommands() []struct {
	name string
	cmd  Command
} {
	single := []struct {
		name string
		cmd  Command
	}{
		{"CreateTopic", CreateTopic{Name: "orders", ID: tid(1), PartitionCount: 3, Internal: true, CreatedMs: 1700000000123,
			Configs: []ConfigEntry{{"cleanup.policy", "compact"}, {"retention.ms", "-1"}}}},
		{"CreateTopicEmpty", CreateTopic{}},
		{"AssignReplicas", AssignReplicas{Topic: tid(2), Partition: 7, Replicas: []int32{3, 1, 2},
			DataGroup: DataGroupKey{Members: []int32{1, 2, 3}, Slot: 2}}},
		{"SetLeader", SetLeader{Topic: tid(3), Partition: 0, Leader: -1, LeaderEpoch: 2147483647, IfEpoch: -2147483648}},
		{"SetISR", SetISR{Topic: tid(4), Partition: 1, ISR: []int32{1, 2}, IfEpoch: -1}},
		{"SetISREmpty", SetISR{Topic: tid(4), Partition: 1, IfEpoch: 5}},
		{"DeleteTopic", DeleteTopic{Name: "orders", ID: tid(5)}},
		{"AlterConfigs", AlterConfigs{Topic: tid(6), Replace: false, Set: []ConfigEntry{{"a", ""}, {"b", "ü"}},
			Delete: []string{"c", "d"}}},
		{"AlterConfigsReplace", AlterConfigs{Topic: tid(6), Replace: true}},
		{"AddPartitions", AddPartitions{Topic: tid(7), ExpectCount: 3, NewCount: 10}},
		{"RegisterBroker", RegisterBroker{ID: 2, KafkaAddr: "127.0.0.1:9092", Rack: "r1", Incarnation: 1<<64 - 1, RaftAddr: "127.0.0.1:7946"}},
		{"Heartbeat", Heartbeat{ID: 3, Incarnation: 42}},
		{"FenceBroker", FenceBroker{ID: 0, IfHeartbeats: 300}},
		{"SetDataGroupLeader", SetDataGroupLeader{ShardID: 1001, Leader: 2, Term: 7}},
		{"AllocateProducerIDs", AllocateProducerIDs{Broker: 3, Count: 1000}},
	}
	var all []Command
	for _, s := range single {
		all = append(all, s.cmd)
	}
	return append(single,
		struct {
			name string
			cmd  Command
		}{"Batch", Batch{Cmds: all}},
		struct {
			name string
			cmd  Command
		}{"BatchEmpty", Batch{}},
		// Commands added after v1's first fixture: appended, so that the
		// lines above never change.
		struct {
			name string
			cmd  Command
		}{"CreateTopicPlaced", CreateTopicPlaced{CreateTopic: CreateTopic{Name: "orders", ID: tid(8), PartitionCount: 3, CreatedMs: 1700000000123,
			Configs: []ConfigEntry{{"retention.ms", "-1"}}}, BrokerSet: 1<<64 - 1}},
		struct {
			name string
			cmd  Command
		}{"EnsureDataGroups", EnsureDataGroups{Groups: []DataGroupKey{{Members: []int32{1, 2, 3}, Slot: 2}, {Members: []int32{4}}}}},
		struct {
			name string
			cmd  Command
		}{"BatchPlaced", Batch{Cmds: []Command{
			CreateTopicPlaced{CreateTopic: CreateTopic{Name: "a", ID: tid(9), PartitionCount: 1}, BrokerSet: 7},
			AssignReplicas{Topic: tid(9), Partition: 0, Replicas: []int32{1}, DataGroup: DataGroupKey{Members: []int32{1}}},
		}}},
	)
}

func TestSMCodecRoundTrip(t *testing.T) {
	for _, tc := range sampleCommands() {
		t.Run(tc.name, func(t *testing.T) {
			b := Encode(tc.cmd)
			if b[0] != FormatVersion || Op(b[1]) != tc.cmd.Op() {
				t.Fatalf("envelope % x", b[:2])
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.cmd) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, tc.cmd)
			}
		})
	}
}

func TestSMEncodeAcceptsPointers(t *testing.T) {
	c := &SetLeader{Topic: tid(1), Leader: 2}
	b := &Batch{Cmds: []Command{c, &Heartbeat{ID: 1}}}
	got, err := Decode(Encode(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Batch{Cmds: []Command{*c, Heartbeat{ID: 1}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
}

func TestSMDecodeTruncated(t *testing.T) {
	for _, tc := range sampleCommands() {
		b := Encode(tc.cmd)
		for n := 0; n < len(b); n++ {
			if _, err := Decode(b[:n]); err == nil {
				t.Fatalf("%s: Decode of %d/%d bytes succeeded", tc.name, n, len(b))
			} else if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: Decode of %d bytes: %v, want ErrMalformed", tc.name, n, err)
			}
		}
		if _, err := Decode(append(b[:len(b):len(b)], 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: trailing byte: %v", tc.name, err)
		}
	}
}

func TestSMDecodeErrors(t *testing.T) {
	hb := Encode(Heartbeat{ID: 1})
	nested := []byte{FormatVersion, byte(OpBatch), 1}
	inner := Encode(Batch{})
	nested = append(append(nested, byte(len(inner))), inner...)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"nil", nil, ErrMalformed},
		{"version only", []byte{FormatVersion}, ErrMalformed},
		{"bad version", []byte{2, byte(OpHeartbeat), 2, 0}, ErrMalformed},
		{"op zero", []byte{FormatVersion, 0}, ErrUnknownOp},
		{"op unknown", []byte{FormatVersion, 200, 1, 2, 3}, ErrUnknownOp},
		{"unknown op in batch", []byte{FormatVersion, byte(OpBatch), 1, 2, FormatVersion, 99}, ErrUnknownOp},
		{"nested batch", nested, ErrMalformed},
		{"huge batch count", []byte{FormatVersion, byte(OpBatch), 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed},
		{"huge string", []byte{FormatVersion, byte(OpDeleteTopic), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrMalformed},
		{"varint overflow", append([]byte{FormatVersion, byte(OpHeartbeat)}, bytes.Repeat([]byte{0xff}, 11)...), ErrMalformed},
		{"int32 out of range", []byte{FormatVersion, byte(OpHeartbeat), 0x80, 0x80, 0x80, 0x80, 0x10, 0}, ErrMalformed},
		{"bad bool", append(append([]byte{FormatVersion, byte(OpAlterConfigs)}, make([]byte, 16)...), 2, 0, 0), ErrMalformed},
		{"trailing", append(hb[:len(hb):len(hb)], 1), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.in)
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("Decode = %v, %v; want %v", c, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "statemachine: ") && !strings.Contains(err.Error(), "statemachine: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestSMEncodePanicsOnNestedBatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Encode(Batch{Cmds: []Command{Batch{}}})
}

func TestSMResultRoundTrip(t *testing.T) {
	for _, r := range []Result{{}, {Codes: []Code{CodeOK}}, {Codes: []Code{CodeTopicExists, CodeSkipped, CodeSkipped, CodeOK}},
		{Codes: make([]Code, 300)}, {Codes: []Code{CodeOK, CodeOK}, Values: []int64{0, 5000}}} {
		got, err := DecodeResult(EncodeResult(r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip %v: %v %v", r, got, err)
		}
	}
	for _, b := range [][]byte{nil, {2, 0}, {1}, {1, 2, 0}, {1, 1, 0, 0, 0}, {1, 1, 0, 1}, {1, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := DecodeResult(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeResult(% x) = %v", b, err)
		}
	}
}

// TestSMCodecGolden pins the wire format: the bytes of the sample commands
// must never change (they are in every Raft log). Run with -update only when
// adding a command.
func TestSMCodecGolden(t *testing.T) {
	var sb strings.Builder
	for _, tc := range sampleCommands() {
		sb.WriteString(tc.name + " " + hex.EncodeToString(Encode(tc.cmd)) + "\n")
	}
	path := filepath.Join("testdata", "commands-v1.golden")
	if *update {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != string(want) {
		t.Fatalf("encoding changed:\n got %s\nwant %s", sb.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		name, hx, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
