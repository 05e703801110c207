package datagroup

import "fmt"

// Command encoding. Every command is an envelope
//
//	[FormatVersion = 1][op][payload]
//
// and the payload is the command's fields in declaration order, encoded with
// the primitives of wire.go:
//
//	Produce           TimestampMs varint, LeaderEpoch int32,
//	                  Parts [](Key, LogAppendTime bool, MaxMessageBytes int32,
//	                  SegmentBytes varint, Records bytes)
//	DeleteRecords     Parts [](Key, Offset varint)
//	Retention         NowMs varint, Parts [](Key, RetentionMs varint,
//	                  RetentionBytes varint)
//	DeletePartitions  Keys []Key
//
// Decode is strict: the payload must end exactly where the envelope ends. A
// payload change needs a new Op (or a new FormatVersion); decoders never skip
// bytes they do not understand. Decode returns value types with nil for
// empty slices; ProducePart.Records aliases the input (it is not copied).
// Encode accepts values and pointers.

// Smallest encoded element of each list, for allocation bounds.
const (
	minKeySize         = 16 + 1
	minProducePartSize = minKeySize + 1 + 1 + 1 + 1
	minDeleteRecsSize  = minKeySize + 1
	minRetentionSize   = minKeySize + 1 + 1
	minPartResultSize  = 1 + 1 + 1 + 1
)

// Encode returns the envelope bytes of cmd. It panics on a Command type
// this package does not define or a nil pointer: both are programming
// errors.
func Encode(cmd Command) []byte {
	w := newWriter(0)
	switch c := cmd.(type) {
	case Produce:
		w.B = make([]byte, 0, encodedProduceSize(&c))
		encodeProduce(w, &c)
	case *Produce:
		w.B = make([]byte, 0, encodedProduceSize(c))
		encodeProduce(w, c)
	case DeleteRecords:
		encodeDeleteRecords(w, &c)
	case *DeleteRecords:
		encodeDeleteRecords(w, c)
	case Retention:
		encodeRetention(w, &c)
	case *Retention:
		encodeRetention(w, c)
	case DeletePartitions:
		encodeDeletePartitions(w, &c)
	case *DeletePartitions:
		encodeDeletePartitions(w, c)
	default:
		panic(fmt.Sprintf("datagroup: Encode: unsupported command type %T", cmd))
	}
	return w.B
}

func header(w *writer, op Op) {
	w.Byte(FormatVersion)
	w.Byte(byte(op))
}

func encodedProduceSize(c *Produce) int {
	n := 2 + 10 + 5 + 5
	for i := range c.Parts {
		n += 16 + 5 + 1 + 5 + 10 + 10 + len(c.Parts[i].Records)
	}
	return n
}

func encodeProduce(w *writer, c *Produce) {
	header(w, OpProduce)
	w.Varint(c.TimestampMs)
	w.Int32(c.LeaderEpoch)
	w.Uvarint(uint64(len(c.Parts)))
	for i := range c.Parts {
		p := &c.Parts[i]
		w.key(p.Key)
		w.Bool(p.LogAppendTime)
		w.Int32(p.MaxMessageBytes)
		w.Varint(p.SegmentBytes)
		w.Varint(p.SegmentMs)
		w.Bytes(p.Records)
	}
}

func encodeDeleteRecords(w *writer, c *DeleteRecords) {
	header(w, OpDeleteRecords)
	w.Uvarint(uint64(len(c.Parts)))
	for _, p := range c.Parts {
		w.key(p.Key)
		w.Varint(p.Offset)
	}
}

func encodeRetention(w *writer, c *Retention) {
	header(w, OpRetention)
	w.Varint(c.NowMs)
	w.Uvarint(uint64(len(c.Parts)))
	for _, p := range c.Parts {
		w.key(p.Key)
		w.Varint(p.RetentionMs)
		w.Varint(p.RetentionBytes)
		w.Varint(p.SegmentMs)
	}
}

func encodeDeletePartitions(w *writer, c *DeletePartitions) {
	header(w, OpDeletePartitions)
	w.Uvarint(uint64(len(c.Keys)))
	for _, k := range c.Keys {
		w.key(k)
	}
}

// Decode parses an envelope. It never panics: malformed, truncated or
// unknown input returns an error wrapping ErrMalformed or ErrUnknownOp.
func Decode(b []byte) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: envelope of %d bytes", ErrMalformed, len(b))
	}
	version := b[0]
	if version != 1 && version != FormatVersion {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrMalformed, b[0])
	}
	op := Op(b[1])
	r := newReader(b[2:])
	r.version = version
	var cmd Command
	switch op {
	case OpProduce:
		cmd = decodeProduce(r)
	case OpDeleteRecords:
		cmd = decodeDeleteRecords(r)
	case OpRetention:
		cmd = decodeRetention(r)
	case OpDeletePartitions:
		cmd = decodeDeletePartitions(r)
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownOp, op)
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("op %d: %w", op, err)
	}
	return cmd, nil
}

func decodeProduce(r *reader) Command {
	c := Produce{TimestampMs: r.Varint(), LeaderEpoch: r.Int32()}
	if n := r.Count(minProducePartSize); n > 0 {
		c.Parts = make([]ProducePart, n)
		for i := range c.Parts {
			c.Parts[i] = ProducePart{Key: r.key(), LogAppendTime: r.Bool(),
				MaxMessageBytes: r.Int32(), SegmentBytes: r.Varint(), SegmentMs: r.segmentMs(), Records: r.Raw()}
		}
	}
	return c
}

func decodeDeleteRecords(r *reader) Command {
	var c DeleteRecords
	if n := r.Count(minDeleteRecsSize); n > 0 {
		c.Parts = make([]DeleteRecordsPart, n)
		for i := range c.Parts {
			c.Parts[i] = DeleteRecordsPart{Key: r.key(), Offset: r.Varint()}
		}
	}
	return c
}

func decodeRetention(r *reader) Command {
	c := Retention{NowMs: r.Varint()}
	if n := r.Count(minRetentionSize); n > 0 {
		c.Parts = make([]RetentionPart, n)
		for i := range c.Parts {
			c.Parts[i] = RetentionPart{Key: r.key(), RetentionMs: r.Varint(), RetentionBytes: r.Varint(), SegmentMs: r.segmentMs()}
		}
	}
	return c
}

func decodeDeletePartitions(r *reader) Command {
	var c DeletePartitions
	if n := r.Count(minKeySize); n > 0 {
		c.Keys = make([]PartitionKey, n)
		for i := range c.Keys {
			c.Keys[i] = r.key()
		}
	}
	return c
}

// resultVersion is the first byte of an encoded Result.
const resultVersion byte = 1

// EncodeResult / DecodeResult carry Result in sm.Result.Data (sm.Result.Value
// is the number of parts). Format: [resultVersion = 1][count uvarint], then
// per part: Code byte, BaseOffset, LogAppendTime, LogStartOffset varints.
// Results are never stored: the proposer's own replica computes them.
func EncodeResult(r Result) []byte {
	w := newWriter(2 + len(r.Parts)*16)
	w.Byte(resultVersion)
	w.Uvarint(uint64(len(r.Parts)))
	for _, p := range r.Parts {
		w.Byte(byte(p.Code))
		w.Varint(p.BaseOffset)
		w.Varint(p.LogAppendTime)
		w.Varint(p.LogStartOffset)
	}
	return w.B
}

// DecodeResult parses EncodeResult's bytes. It never panics.
func DecodeResult(b []byte) (Result, error) {
	if len(b) < 1 || b[0] != resultVersion {
		return Result{}, fmt.Errorf("%w: bad result version", ErrMalformed)
	}
	r := newReader(b[1:])
	var res Result
	if n := r.Count(minPartResultSize); n > 0 {
		res.Parts = make([]PartResult, n)
		for i := range res.Parts {
			res.Parts[i] = PartResult{Code: Code(r.Byte()), BaseOffset: r.Varint(),
				LogAppendTime: r.Varint(), LogStartOffset: r.Varint()}
		}
	}
	if err := r.End(); err != nil {
		return Result{}, fmt.Errorf("result: %w", err)
	}
	return res, nil
}
