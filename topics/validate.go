package topics

// Pure validation of request fields, with Kafka's rules and messages.

import "github.com/skiff-broker/skiff/statemachine"

// maxNameLen is Kafka's topic name length limit.
const maxNameLen = 249

// maxReplicas bounds the replica count: a data group's slot is a uint8 index
// into its members.
const maxReplicas = 255

// validateName checks a topic name like Kafka's Topic.validate.
func validateName(name string) error {
	switch {
	case name == "":
		return errorf(ErrInvalidTopic, "Topic name is illegal, it can't be empty.")
	case name == "." || name == "..":
		return errorf(ErrInvalidTopic, "Topic name cannot be \".\" or \"..\".")
	case len(name) > maxNameLen:
		return errorf(ErrInvalidTopic, "Topic name is illegal, it can't be longer than %d characters, topic name: %s.", maxNameLen, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errorf(ErrInvalidTopic, "Topic name \"%s\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'.", name)
		}
	}
	return nil
}

// duplicates marks every element of keys that occurs more than once.
func duplicates[K comparable](keys []K) []bool {
	count := make(map[K]int, len(keys))
	for _, k := range keys {
		count[k]++
	}
	dup := make([]bool, len(keys))
	for i, k := range keys {
		dup[i] = count[k] > 1
	}
	return dup
}

// maxTopicPartitions is the state machine's per-topic partition cap
// (larger counts are refused in apply with CodeInvalid), checked here too so
// that the client gets INVALID_PARTITIONS with a message instead.
const maxTopicPartitions = statemachine.MaxTopicPartitions

// checkPartitionCount checks a topic's total partition count against
// maxTopicPartitions.
func checkPartitionCount(n int32) error {
	if n > maxTopicPartitions {
		return errorf(ErrInvalidPartitions, "Number of partitions %d is larger than the maximum of %d per topic.", n, maxTopicPartitions)
	}
	return nil
}

// resolvePartitions resolves a requested partition count (-1: default).
func resolvePartitions(n, def int32) (int32, error) {
	if n == -1 {
		n = def
	}
	if n <= 0 {
		return 0, errorf(ErrInvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	if err := checkPartitionCount(n); err != nil {
		return 0, err
	}
	return n, nil
}

// defaultRF is the replication factor used for -1: def, or min(3, live)
// when def is 0 (at least 1, so that no live broker is reported as such).
func defaultRF(def int16, live int) int16 {
	if def > 0 {
		return def
	}
	return int16(max(1, min(3, live)))
}

// resolveRF resolves a requested replication factor (-1: default) and
// checks it against the number of live brokers.
func resolveRF(rf, def int16, live int) (int16, error) {
	if rf == -1 {
		rf = defaultRF(def, live)
	}
	if rf <= 0 {
		return 0, errorf(ErrInvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
	}
	if int(rf) > live {
		return 0, errorf(ErrInvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, live)
	}
	if rf > maxReplicas {
		return 0, errorf(ErrInvalidReplicationFactor, "Replication factor: %d larger than the maximum: %d.", rf, maxReplicas)
	}
	return rf, nil
}

// orderAssignment turns a manual assignment into partition order. indexes
// (nil: i) gives the partition number of each entry; every partition
// 0..n-1 must be present exactly once.
func orderAssignment(assign [][]int32, indexes []int32) ([][]int32, error) {
	if err := checkPartitionCount(int32(min(len(assign), maxTopicPartitions+1))); err != nil {
		return nil, err
	}
	if indexes == nil {
		return assign, nil
	}
	if len(indexes) != len(assign) {
		return nil, errorf(ErrInvalidRequest, "PartitionIndexes has %d entries for %d assignments.", len(indexes), len(assign))
	}
	out := make([][]int32, len(assign))
	seen := make([]bool, len(assign))
	for i, p := range indexes {
		if p < 0 || int(p) >= len(assign) {
			return nil, errorf(ErrInvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence, found partition %d of %d.", p, len(assign))
		}
		if seen[p] {
			return nil, errorf(ErrInvalidReplicaAssignment, "Found multiple manual partition assignments for partition %d.", p)
		}
		seen[p] = true
		out[p] = assign[i]
	}
	return out, nil
}

// validateAssignment checks manual replica lists like Kafka's
// validateManualPartitionAssignment: non-empty, the same replica count for
// every partition (rf, or the first partition's when rf is 0), no broker
// twice, every broker registered. It returns the replica count.
func validateAssignment(assign [][]int32, rf int, registered map[int32]bool) (int, error) {
	for p, replicas := range assign {
		if len(replicas) == 0 {
			return 0, errorf(ErrInvalidReplicaAssignment, "The manual partition assignment includes an empty replica list (partition %d).", p)
		}
		if len(replicas) > maxReplicas {
			return 0, errorf(ErrInvalidReplicaAssignment, "The manual partition assignment includes a partition with %d replicas, more than the maximum of %d.", len(replicas), maxReplicas)
		}
		for i, b := range replicas {
			if !registered[b] {
				return 0, errorf(ErrInvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", b)
			}
			for _, prev := range replicas[:i] {
				if prev == b {
					return 0, errorf(ErrInvalidReplicaAssignment, "The manual partition assignment includes the broker %d more than once.", b)
				}
			}
		}
		if rf == 0 {
			rf = len(replicas)
		} else if len(replicas) != rf {
			return 0, errorf(ErrInvalidReplicaAssignment, "The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).", len(replicas), rf)
		}
	}
	return rf, nil
}

// registeredSet and liveCount summarize a broker list.
func registeredSet(brokers []*Broker) map[int32]bool {
	m := make(map[int32]bool, len(brokers))
	for _, b := range brokers {
		m[b.ID] = true
	}
	return m
}

func liveCount(brokers []*Broker) int {
	n := 0
	for _, b := range brokers {
		if b.Alive {
			n++
		}
	}
	return n
}
