package statemachine

import "fmt"

// applyFunc applies one decoded (non-Batch) command to the tx and returns
// its outcome. It must be deterministic and must not fail for business
// reasons other than through the returned Code.
type applyFunc func(t *tx, c Command) Code

var applyFns [256]applyFunc

// register adds the apply function of op; a duplicate panics.
func register(op Op, fn applyFunc) {
	if applyFns[op] != nil {
		panic(fmt.Sprintf("statemachine: duplicate apply function for op %d", op))
	}
	applyFns[op] = fn
}

func init() {
	register(OpCreateTopic, func(t *tx, c Command) Code { return t.applyCreateTopic(c.(CreateTopic)) })
	register(OpAssignReplicas, func(t *tx, c Command) Code { return t.applyAssignReplicas(c.(AssignReplicas)) })
	register(OpSetLeader, func(t *tx, c Command) Code { return t.applySetLeader(c.(SetLeader)) })
	register(OpSetISR, func(t *tx, c Command) Code { return t.applySetISR(c.(SetISR)) })
	register(OpDeleteTopic, func(t *tx, c Command) Code { return t.applyDeleteTopic(c.(DeleteTopic)) })
	register(OpAlterConfigs, func(t *tx, c Command) Code { return t.applyAlterConfigs(c.(AlterConfigs)) })
	register(OpAddPartitions, func(t *tx, c Command) Code { return t.applyAddPartitions(c.(AddPartitions)) })
	register(OpRegisterBroker, func(t *tx, c Command) Code { return t.applyRegisterBroker(c.(RegisterBroker)) })
	register(OpHeartbeat, func(t *tx, c Command) Code { return t.applyHeartbeat(c.(Heartbeat)) })
	register(OpFenceBroker, func(t *tx, c Command) Code { return t.applyFenceBroker(c.(FenceBroker)) })
	register(OpSetDataGroupLeader, func(t *tx, c Command) Code { return t.applySetDataGroupLeader(c.(SetDataGroupLeader)) })
	register(OpAllocatePIDs, func(t *tx, c Command) Code { return t.applyAllocateProducerIDs(c.(AllocateProducerIDs)) })
	register(OpCreateTopicPlaced, func(t *tx, c Command) Code { return t.applyCreateTopicPlaced(c.(CreateTopicPlaced)) })
	register(OpEnsureDataGroups, func(t *tx, c Command) Code { return t.applyEnsureDataGroups(c.(EnsureDataGroups)) })
}

// codeAlreadyApplied is an internal outcome of CreateTopic: the topic
// exists with the same ID (a retried proposal). It is reported as CodeOK and
// makes the gated partition commands that follow report CodeOK without
// being applied again: they were applied with the first proposal, and
// replaying them could undo later leader or ISR changes.
const codeAlreadyApplied Code = 255

// MaxTopicPartitions caps a topic's partition count in CreateTopic and
// AddPartitions (larger counts give CodeInvalid), so that one command cannot
// make every replica allocate without bound.
const MaxTopicPartitions = 1 << 20

// apply runs one non-Batch command.
func (t *tx) apply(c Command) Code {
	t.value = 0
	fn := applyFns[c.Op()]
	if fn == nil {
		return CodeInvalid
	}
	return fn(t, c)
}

// applyCommand runs a decoded command and returns its Result: one Code per
// command, and Values when a command produced one.
func (t *tx) applyCommand(c Command) Result {
	b, ok := c.(Batch)
	if !ok {
		code := t.apply(c)
		if code == codeAlreadyApplied {
			code = CodeOK
		}
		r := Result{Codes: []Code{code}}
		if t.value != 0 {
			r.Values = []int64{t.value}
		}
		return r
	}
	return t.applyBatch(b)
}

// gate states of a batch: what happens to partition-level commands.
const (
	gateOpen   = iota // apply them
	gateSkip          // report CodeSkipped: the topic-level command failed
	gateSkipOK        // report CodeOK without applying: already applied
)

// applyBatch applies the commands in order. A topic-level command
// (CreateTopic, CreateTopicPlaced, AddPartitions) decides the fate of the partition-level
// commands (AssignReplicas, SetLeader, SetISR) up to the next topic-level
// command; other commands are applied normally and leave the gate alone.
// Partition-level commands before any topic-level command are applied.
func (t *tx) applyBatch(b Batch) Result {
	codes := make([]Code, len(b.Cmds))
	var values []int64
	gate := gateOpen
	for i, c := range b.Cmds {
		var code Code
		switch c.Op() {
		case OpCreateTopic, OpCreateTopicPlaced, OpAddPartitions:
			code = t.apply(c)
			switch code {
			case CodeOK:
				gate = gateOpen
			case codeAlreadyApplied:
				gate, code = gateSkipOK, CodeOK
			default:
				gate = gateSkip
			}
		case OpAssignReplicas, OpSetLeader, OpSetISR:
			switch gate {
			case gateSkip:
				code = CodeSkipped
			case gateSkipOK:
				code = CodeOK
			default:
				code = t.apply(c)
			}
		default:
			code = t.apply(c)
		}
		codes[i] = code
		if t.value != 0 {
			if values == nil {
				values = make([]int64, len(b.Cmds))
			}
			values[i] = t.value
			t.value = 0
		}
	}
	return Result{Codes: codes, Values: values}
}

// Validation helpers.

// validBrokerList reports whether ids are broker IDs (>= 0) without
// duplicates. An empty list is valid only if allowEmpty.
func validBrokerList(ids []int32, allowEmpty bool) bool {
	if len(ids) == 0 {
		return allowEmpty
	}
	for _, id := range ids {
		if id < 0 {
			return false
		}
	}
	if len(ids) <= 16 {
		for i := range ids {
			for j := i + 1; j < len(ids); j++ {
				if ids[i] == ids[j] {
					return false
				}
			}
		}
		return true
	}
	seen := make(map[int32]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			return false
		}
		seen[id] = struct{}{}
	}
	return true
}

// validDataGroupKey reports whether members is non-empty, strictly ascending,
// made of broker IDs, and slot indexes it.
func validDataGroupKey(members []int32, slot uint8) bool {
	if len(members) == 0 || int(slot) >= len(members) || members[0] < 0 {
		return false
	}
	for i := 1; i < len(members); i++ {
		if members[i] <= members[i-1] {
			return false
		}
	}
	return true
}
