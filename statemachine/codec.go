package statemachine

import "fmt"

// Command encoding. Every command is an envelope
//
//	[FormatVersion = 1][op][payload]
//
// and the payload is the command's fields in declaration order, encoded with
// the primitives documented in wire.go (uvarint lengths and counts, zigzag
// varint integers, raw 16-byte topic IDs, 0/1 bools). Decode is strict: the
// payload must end exactly where the envelope ends.
//
//	CreateTopic     Name string, ID, PartitionCount int32, Internal bool,
//	                CreatedMs int64, Configs [](Key string, Value string)
//	AssignReplicas  Topic ID, Partition int32, Replicas []int32,
//	                Group.Members []int32, Group.Slot byte
//	SetLeader       Topic ID, Partition, Leader, LeaderEpoch, IfEpoch int32
//	SetISR          Topic ID, Partition int32, ISR []int32, IfEpoch int32
//	DeleteTopic     Name string, ID
//	AlterConfigs    Topic ID, Replace bool, Set []ConfigEntry, Delete []string
//	AddPartitions   Topic ID, ExpectCount, NewCount int32
//	RegisterBroker  ID int32, KafkaAddr string, Rack string, Incarnation uvarint,
//	                RaftAddr string
//	SetDataGroupLeader  ShardID uvarint, Leader int32, Term uvarint
//	AllocateProducerIDs Broker int32, Count uvarint
//	Heartbeat       ID int32, Incarnation uvarint
//	FenceBroker     ID int32, IfHeartbeats uvarint
//	CreateTopicPlaced   CreateTopic's fields, then BrokerSet uvarint
//	EnsureDataGroups    count uvarint, then each (Members []int32, Slot byte)
//	Batch           count uvarint, then each command as a length-prefixed
//	                envelope (uvarint length, envelope bytes); a Batch inside
//	                a Batch is malformed
//
// A payload change needs a new Op (or a new FormatVersion); decoders never
// skip bytes they do not understand.
//
// Decode returns value types (CreateTopic, not *CreateTopic), with nil for
// empty slices. Encode accepts values and pointers.

type opCodec struct {
	encode func(w *writer, c Command)
	decode func(r *reader) Command
}

var codecs [256]*opCodec

// registerCodec adds op to the codec table; a duplicate panics.
func registerCodec(op Op, enc func(*writer, Command), dec func(*reader) Command) {
	if codecs[op] != nil {
		panic(fmt.Sprintf("statemachine: duplicate codec for op %d", op))
	}
	codecs[op] = &opCodec{encode: enc, decode: dec}
}

func init() {
	registerCodec(OpBatch, nil, nil) // handled by encodeEnvelope/decodeEnvelope
	registerCodec(OpCreateTopic,
		func(w *writer, c Command) {
			v := c.(CreateTopic)
			w.str(v.Name)
			w.topicID(v.ID)
			w.Int32(v.PartitionCount)
			w.Bool(v.Internal)
			w.Varint(v.CreatedMs)
			w.configs(v.Configs)
		},
		func(r *reader) Command {
			return CreateTopic{Name: r.str(), ID: r.topicID(), PartitionCount: r.Int32(),
				Internal: r.Bool(), CreatedMs: r.Varint(), Configs: r.configs()}
		})
	registerCodec(OpAssignReplicas,
		func(w *writer, c Command) {
			v := c.(AssignReplicas)
			w.topicID(v.Topic)
			w.Int32(v.Partition)
			w.int32s(v.Replicas)
			w.int32s(v.DataGroup.Members)
			w.Byte(v.DataGroup.Slot)
		},
		func(r *reader) Command {
			return AssignReplicas{Topic: r.topicID(), Partition: r.Int32(), Replicas: r.int32s(),
				DataGroup: DataGroupKey{Members: r.int32s(), Slot: r.Uint8()}}
		})
	registerCodec(OpSetLeader,
		func(w *writer, c Command) {
			v := c.(SetLeader)
			w.topicID(v.Topic)
			w.Int32(v.Partition)
			w.Int32(v.Leader)
			w.Int32(v.LeaderEpoch)
			w.Int32(v.IfEpoch)
		},
		func(r *reader) Command {
			return SetLeader{Topic: r.topicID(), Partition: r.Int32(), Leader: r.Int32(),
				LeaderEpoch: r.Int32(), IfEpoch: r.Int32()}
		})
	registerCodec(OpSetISR,
		func(w *writer, c Command) {
			v := c.(SetISR)
			w.topicID(v.Topic)
			w.Int32(v.Partition)
			w.int32s(v.ISR)
			w.Int32(v.IfEpoch)
		},
		func(r *reader) Command {
			return SetISR{Topic: r.topicID(), Partition: r.Int32(), ISR: r.int32s(), IfEpoch: r.Int32()}
		})
	registerCodec(OpDeleteTopic,
		func(w *writer, c Command) {
			v := c.(DeleteTopic)
			w.str(v.Name)
			w.topicID(v.ID)
		},
		func(r *reader) Command { return DeleteTopic{Name: r.str(), ID: r.topicID()} })
	registerCodec(OpAlterConfigs,
		func(w *writer, c Command) {
			v := c.(AlterConfigs)
			w.topicID(v.Topic)
			w.Bool(v.Replace)
			w.configs(v.Set)
			w.strs(v.Delete)
		},
		func(r *reader) Command {
			return AlterConfigs{Topic: r.topicID(), Replace: r.Bool(), Set: r.configs(), Delete: r.strs()}
		})
	registerCodec(OpAddPartitions,
		func(w *writer, c Command) {
			v := c.(AddPartitions)
			w.topicID(v.Topic)
			w.Int32(v.ExpectCount)
			w.Int32(v.NewCount)
		},
		func(r *reader) Command {
			return AddPartitions{Topic: r.topicID(), ExpectCount: r.Int32(), NewCount: r.Int32()}
		})
	registerCodec(OpRegisterBroker,
		func(w *writer, c Command) {
			v := c.(RegisterBroker)
			w.Int32(v.ID)
			w.str(v.KafkaAddr)
			w.str(v.Rack)
			w.Uvarint(v.Incarnation)
			w.str(v.RaftAddr)
		},
		func(r *reader) Command {
			return RegisterBroker{ID: r.Int32(), KafkaAddr: r.str(), Rack: r.str(), Incarnation: r.Uvarint(), RaftAddr: r.str()}
		})
	registerCodec(OpSetDataGroupLeader,
		func(w *writer, c Command) {
			v := c.(SetDataGroupLeader)
			w.Uvarint(v.ShardID)
			w.Int32(v.Leader)
			w.Uvarint(v.Term)
		},
		func(r *reader) Command {
			return SetDataGroupLeader{ShardID: r.Uvarint(), Leader: r.Int32(), Term: r.Uvarint()}
		})
	registerCodec(OpAllocatePIDs,
		func(w *writer, c Command) {
			v := c.(AllocateProducerIDs)
			w.Int32(v.Broker)
			w.Uvarint(uint64(v.Count))
		},
		func(r *reader) Command {
			b := r.Int32()
			n := r.Uvarint()
			if n > 1<<32-1 {
				r.Fail("producer ID count out of range")
			}
			return AllocateProducerIDs{Broker: b, Count: uint32(n)}
		})
	registerCodec(OpHeartbeat,
		func(w *writer, c Command) {
			v := c.(Heartbeat)
			w.Int32(v.ID)
			w.Uvarint(v.Incarnation)
		},
		func(r *reader) Command { return Heartbeat{ID: r.Int32(), Incarnation: r.Uvarint()} })
	registerCodec(OpFenceBroker,
		func(w *writer, c Command) {
			v := c.(FenceBroker)
			w.Int32(v.ID)
			w.Uvarint(v.IfHeartbeats)
		},
		func(r *reader) Command { return FenceBroker{ID: r.Int32(), IfHeartbeats: r.Uvarint()} })
	createTopic := codecs[OpCreateTopic]
	registerCodec(OpCreateTopicPlaced,
		func(w *writer, c Command) {
			v := c.(CreateTopicPlaced)
			createTopic.encode(w, v.CreateTopic)
			w.Uvarint(v.BrokerSet)
		},
		func(r *reader) Command {
			ct := createTopic.decode(r).(CreateTopic)
			return CreateTopicPlaced{CreateTopic: ct, BrokerSet: r.Uvarint()}
		})
	registerCodec(OpEnsureDataGroups,
		func(w *writer, c Command) {
			v := c.(EnsureDataGroups)
			w.Uvarint(uint64(len(v.Groups)))
			for _, k := range v.Groups {
				w.int32s(k.Members)
				w.Byte(k.Slot)
			}
		},
		func(r *reader) Command {
			n := r.Count(2) // each: members count + slot
			var gs []DataGroupKey
			if n > 0 {
				gs = make([]DataGroupKey, 0, n)
			}
			for i := 0; i < n && r.Err == nil; i++ {
				gs = append(gs, DataGroupKey{Members: r.int32s(), Slot: r.Uint8()})
			}
			return EnsureDataGroups{Groups: gs}
		})
}

// Encode returns the envelope bytes of cmd: [FormatVersion][op][payload].
// It panics on a Command type this package does not define, a nil pointer,
// or a Batch nested in a Batch: all are programming errors.
func Encode(cmd Command) []byte {
	w := newWriter(64)
	encodeEnvelope(w, cmd, true)
	return w.B
}

func encodeEnvelope(w *writer, cmd Command, top bool) {
	cmd = deref(cmd)
	op := cmd.Op()
	w.Byte(FormatVersion)
	w.Byte(byte(op))
	if b, ok := cmd.(Batch); ok {
		if !top {
			panic("statemachine: Encode: Batch nested in a Batch")
		}
		w.Uvarint(uint64(len(b.Cmds)))
		sub := newWriter(0)
		for _, c := range b.Cmds {
			sub.B = sub.B[:0]
			encodeEnvelope(sub, c, false)
			w.Bytes(sub.B)
		}
		return
	}
	codecs[op].encode(w, cmd)
}

// deref turns a pointer to a command into the value, so that Encode
// accepts both spellings.
func deref(cmd Command) Command {
	switch c := cmd.(type) {
	case *Batch:
		return *c
	case *CreateTopic:
		return *c
	case *AssignReplicas:
		return *c
	case *SetLeader:
		return *c
	case *SetISR:
		return *c
	case *DeleteTopic:
		return *c
	case *AlterConfigs:
		return *c
	case *AddPartitions:
		return *c
	case *RegisterBroker:
		return *c
	case *Heartbeat:
		return *c
	case *FenceBroker:
		return *c
	case *SetDataGroupLeader:
		return *c
	case *AllocateProducerIDs:
		return *c
	case *CreateTopicPlaced:
		return *c
	case *EnsureDataGroups:
		return *c
	case Batch, CreateTopic, AssignReplicas, SetLeader, SetISR, DeleteTopic,
		AlterConfigs, AddPartitions, RegisterBroker, Heartbeat, FenceBroker,
		SetDataGroupLeader, AllocateProducerIDs, CreateTopicPlaced, EnsureDataGroups:
		return c
	}
	panic(fmt.Sprintf("statemachine: Encode: unsupported command type %T", cmd))
}

// Decode parses an envelope. It never panics: malformed, truncated or
// unknown input returns an error wrapping ErrMalformed or ErrUnknownOp.
func Decode(b []byte) (Command, error) { return decodeEnvelope(b, true) }

func decodeEnvelope(b []byte, top bool) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: envelope of %d bytes", ErrMalformed, len(b))
	}
	if b[0] != FormatVersion {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrMalformed, b[0])
	}
	op := Op(b[1])
	if codecs[op] == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownOp, op)
	}
	r := newReader(b[2:])
	var cmd Command
	if op == OpBatch {
		if !top {
			return nil, fmt.Errorf("%w: batch nested in a batch", ErrMalformed)
		}
		cmd = decodeBatch(r)
	} else {
		cmd = codecs[op].decode(r)
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("op %d: %w", op, err)
	}
	return cmd, nil
}

func decodeBatch(r *reader) Command {
	n := r.Count(3) // each element: length prefix + at least [version][op]
	var cmds []Command
	if n > 0 {
		cmds = make([]Command, 0, n)
	}
	for i := 0; i < n && r.Err == nil; i++ {
		sub := r.Raw()
		if r.Err != nil {
			break
		}
		c, err := decodeEnvelope(sub, false)
		if err != nil {
			r.Err = fmt.Errorf("batch command %d: %w", i, err)
			break
		}
		cmds = append(cmds, c)
	}
	return Batch{Cmds: cmds}
}

// resultVersion is the first byte of an encoded Result.
const resultVersion byte = 1

// EncodeResult and DecodeResult carry Result in sm.Result.Data.
// Format: [resultVersion = 1][count uvarint][one byte per Code]
// [value count uvarint][zigzag varint per value]. Results are never stored:
// the proposer's own replica computes them.
func EncodeResult(r Result) []byte {
	w := newWriter(3 + binaryUvarintLen(len(r.Codes)) + len(r.Codes))
	w.Byte(resultVersion)
	w.Uvarint(uint64(len(r.Codes)))
	for _, c := range r.Codes {
		w.Byte(byte(c))
	}
	w.Uvarint(uint64(len(r.Values)))
	for _, v := range r.Values {
		w.Varint(v)
	}
	return w.B
}

// DecodeResult parses the bytes EncodeResult produced.
func DecodeResult(b []byte) (Result, error) {
	r := newReader(b)
	if v := r.Byte(); r.Err == nil && v != resultVersion {
		return Result{}, fmt.Errorf("%w: unsupported result version %d", ErrMalformed, v)
	}
	n := r.Count(1)
	var res Result
	if n > 0 {
		res.Codes = make([]Code, n)
		for i := range res.Codes {
			res.Codes[i] = Code(r.Byte())
		}
	}
	if nv := r.Count(1); nv > 0 {
		res.Values = make([]int64, nv)
		for i := range res.Values {
			res.Values[i] = r.Varint()
		}
	}
	if err := r.End(); err != nil {
		return Result{}, fmt.Errorf("result: %w", err)
	}
	return res, nil
}

func binaryUvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}
