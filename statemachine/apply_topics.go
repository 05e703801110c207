package statemachine

import (
	"cmp"
	"slices"
)

// applyCreateTopic: see CreateTopic. Partitions start with no replicas and
// group 0; the gated AssignReplicas commands that follow fill them in. Configs are normalised (sorted by key, the last
// of duplicate keys wins).
func (t *tx) applyCreateTopic(c CreateTopic) Code {
	if c.Name == "" || c.ID.IsZero() || c.PartitionCount < 1 || c.PartitionCount > MaxTopicPartitions {
		return CodeInvalid
	}
	if old := t.topic(c.Name); old != nil {
		if old.ID == c.ID {
			return codeAlreadyApplied
		}
		return CodeTopicExists
	}
	if t.topicNameByID(c.ID) != "" {
		return CodeInvalid // the ID belongs to another topic
	}
	d := &Topic{
		Name:       c.Name,
		ID:         c.ID,
		Internal:   c.Internal,
		CreatedMs:  c.CreatedMs,
		Configs:    normalizeConfigs(c.Configs),
		Partitions: newPartitions(int(c.PartitionCount)),
	}
	t.createTopic(d)
	return CodeOK
}

// applyCreateTopicPlaced: see CreateTopicPlaced.
func (t *tx) applyCreateTopicPlaced(c CreateTopicPlaced) Code {
	if c.BrokerSet != t.brokerSet() {
		if old := t.topic(c.Name); old != nil && old.ID == c.ID {
			return codeAlreadyApplied // a retried proposal whose first copy applied
		}
		return CodeStalePlacement
	}
	return t.applyCreateTopic(c.CreateTopic)
}

func newPartitions(n int) []Partition {
	ps := make([]Partition, n)
	for i := range ps {
		ps[i] = Partition{legacy: legacyLeader{leader: -1, epoch: -1}}
	}
	return ps
}

// partition returns a mutable partition of a topic's draft, or the code
// explaining why there is none.
func (t *tx) partition(id TopicID, p int32) (*Partition, Code) {
	d := t.mutTopicByID(id)
	if d == nil {
		return nil, CodeUnknownTopic
	}
	if p < 0 || int(p) >= len(d.Partitions) {
		return nil, CodeInvalid
	}
	return &d.Partitions[p], CodeOK
}

// checkPartition is partition without making a draft.
func (t *tx) checkPartition(id TopicID, p int32) Code {
	n := t.topicNameByID(id)
	if n == "" {
		return CodeUnknownTopic
	}
	if p < 0 || int(p) >= len(t.topic(n).Partitions) {
		return CodeInvalid
	}
	return CodeOK
}

// applyAssignReplicas: see AssignReplicas. Replicas must be distinct broker
// IDs; the group key must be sorted, distinct, and Slot < len(Members). The
// leader, epoch and ISR are left alone.
func (t *tx) applyAssignReplicas(c AssignReplicas) Code {
	if code := t.checkPartition(c.Topic, c.Partition); code != CodeOK {
		return code
	}
	if !validBrokerList(c.Replicas, false) || !validDataGroupKey(c.DataGroup.Members, c.DataGroup.Slot) {
		return CodeInvalid
	}
	shard := t.resolveDataGroup(c.DataGroup.Members, c.DataGroup.Slot)
	p, _ := t.partition(c.Topic, c.Partition)
	p.Replicas = c.Replicas
	p.DataGroup = shard
	if g := t.group(shard); g.Leader >= 0 {
		if b := t.broker(g.Leader); b != nil && b.Alive {
			t.value = PackLeader(g.Leader, g.Term)
		}
	}
	return CodeOK
}

// applySetLeader: see SetLeader (retired: it only updates the legacy
// fields, which nothing reads, so that old logs replay to the same bytes).
// Epochs never go backwards: a LeaderEpoch below the current epoch gives
// CodeConditionFailed even with IfEpoch -1.
func (t *tx) applySetLeader(c SetLeader) Code {
	if code := t.checkPartition(c.Topic, c.Partition); code != CodeOK {
		return code
	}
	if c.Leader < -1 || c.LeaderEpoch < -1 {
		return CodeInvalid
	}
	cur := t.topic(t.topicNameByID(c.Topic)).Partitions[c.Partition].legacy
	if (c.IfEpoch != -1 && cur.epoch != c.IfEpoch) || c.LeaderEpoch < cur.epoch {
		return CodeConditionFailed
	}
	if cur.leader == c.Leader && cur.epoch == c.LeaderEpoch {
		return CodeOK // no change: do not copy the topic
	}
	p, _ := t.partition(c.Topic, c.Partition)
	p.legacy.leader = c.Leader
	p.legacy.epoch = c.LeaderEpoch
	return CodeOK
}

// applySetISR: see SetISR (retired, like SetLeader: legacy fields only).
// The ISR must be distinct broker IDs (it may be empty).
func (t *tx) applySetISR(c SetISR) Code {
	if code := t.checkPartition(c.Topic, c.Partition); code != CodeOK {
		return code
	}
	if !validBrokerList(c.ISR, true) {
		return CodeInvalid
	}
	cur := t.topic(t.topicNameByID(c.Topic)).Partitions[c.Partition].legacy
	if c.IfEpoch != -1 && cur.epoch != c.IfEpoch {
		return CodeConditionFailed
	}
	if slices.Equal(cur.isr, c.ISR) {
		return CodeOK
	}
	p, _ := t.partition(c.Topic, c.Partition)
	p.legacy.isr = c.ISR
	return CodeOK
}

// applyDeleteTopic: see DeleteTopic. With an empty Name and a non-zero ID
// the topic is selected by ID alone. Data groups are kept.
func (t *tx) applyDeleteTopic(c DeleteTopic) Code {
	name := c.Name
	if name == "" {
		if c.ID.IsZero() {
			return CodeUnknownTopic
		}
		name = t.topicNameByID(c.ID)
	}
	old := t.topic(name)
	if old == nil || (!c.ID.IsZero() && old.ID != c.ID) {
		return CodeUnknownTopic
	}
	t.deleteTopic(name)
	return CodeOK
}

// applyAlterConfigs: see AlterConfigs. Incrementally, Set is applied first
// and Delete second, so a key in both ends up deleted. With Replace, Delete
// is ignored. The result is sorted by key.
func (t *tx) applyAlterConfigs(c AlterConfigs) Code {
	d := t.mutTopicByID(c.Topic)
	if d == nil {
		return CodeUnknownTopic
	}
	if c.Replace {
		d.Configs = normalizeConfigs(c.Set)
		return CodeOK
	}
	merged := make([]ConfigEntry, 0, len(d.Configs)+len(c.Set))
	merged = append(merged, d.Configs...)
	merged = append(merged, c.Set...)
	merged = normalizeConfigs(merged) // later (Set) entries win
	if len(c.Delete) > 0 {
		del := make(map[string]struct{}, len(c.Delete))
		for _, k := range c.Delete {
			del[k] = struct{}{}
		}
		merged = slices.DeleteFunc(merged, func(e ConfigEntry) bool { _, ok := del[e.Key]; return ok })
	}
	if len(merged) == 0 {
		merged = nil
	}
	d.Configs = merged
	return CodeOK
}

// applyAddPartitions: see AddPartitions. NewCount must exceed ExpectCount
// and stay within MaxTopicPartitions (else CodeInvalid).
func (t *tx) applyAddPartitions(c AddPartitions) Code {
	name := t.topicNameByID(c.Topic)
	if name == "" {
		return CodeUnknownTopic
	}
	if c.ExpectCount < 0 || c.NewCount <= c.ExpectCount || c.NewCount > MaxTopicPartitions {
		return CodeInvalid
	}
	if len(t.topic(name).Partitions) != int(c.ExpectCount) {
		return CodeConditionFailed
	}
	d := t.mutTopic(name)
	d.Partitions = append(d.Partitions, newPartitions(int(c.NewCount-c.ExpectCount))...)
	t.partitionDelta += int(c.NewCount - c.ExpectCount)
	return CodeOK
}

// normalizeConfigs returns entries sorted by key with unique keys (the last
// entry of a key wins), nil when empty. It returns its argument when that is
// already normalised and copies otherwise.
func normalizeConfigs(in []ConfigEntry) []ConfigEntry {
	if len(in) == 0 {
		return nil
	}
	sorted := true
	for i := 1; i < len(in); i++ {
		if in[i].Key <= in[i-1].Key {
			sorted = false
			break
		}
	}
	if sorted {
		return in
	}
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b ConfigEntry) int { return cmp.Compare(a.Key, b.Key) })
	// Keep the last entry of each run of equal keys.
	w := 0
	for i := range out {
		if i+1 < len(out) && out[i+1].Key == out[i].Key {
			continue
		}
		out[w] = out[i]
		w++
	}
	return out[:w]
}
