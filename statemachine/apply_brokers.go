package statemachine

// applyRegisterBroker: see RegisterBroker. The broker record is replaced
// (Alive = true). Its heartbeat counter is incremented, not reset, so that a
// FenceBroker decided on a counter seen before the registration fails its
// condition instead of fencing the freshly registered broker.
func (t *tx) applyRegisterBroker(c RegisterBroker) Code {
	if c.ID < 0 {
		return CodeInvalid
	}
	t.putBroker(&Broker{ID: c.ID, KafkaAddr: c.KafkaAddr, Rack: c.Rack, Incarnation: c.Incarnation, Alive: true, RaftAddr: c.RaftAddr})
	t.setHeartbeat(c.ID, t.heartbeat(c.ID)+1)
	return CodeOK
}

// applyHeartbeat: see Heartbeat. It also revives a fenced broker.
func (t *tx) applyHeartbeat(c Heartbeat) Code {
	b := t.broker(c.ID)
	if b == nil || b.Incarnation != c.Incarnation {
		return CodeUnknownBroker
	}
	if !b.Alive {
		nb := *b
		nb.Alive = true
		t.putBroker(&nb)
	}
	t.setHeartbeat(c.ID, t.heartbeat(c.ID)+1)
	return CodeOK
}

// applyFenceBroker: see FenceBroker. Fencing a broker that is already not
// alive is a no-op success.
func (t *tx) applyFenceBroker(c FenceBroker) Code {
	b := t.broker(c.ID)
	if b == nil {
		return CodeUnknownBroker
	}
	if t.heartbeat(c.ID) != c.IfHeartbeats {
		return CodeConditionFailed
	}
	if b.Alive {
		nb := *b
		nb.Alive = false
		t.putBroker(&nb)
	}
	return CodeOK
}

// applySetDataGroupLeader: see SetDataGroupLeader.
func (t *tx) applySetDataGroupLeader(c SetDataGroupLeader) Code {
	g := t.group(c.ShardID)
	if g == nil || c.Leader < 0 || c.Term == 0 {
		return CodeInvalid
	}
	switch {
	case c.Term < g.Term:
		return CodeConditionFailed
	case c.Term == g.Term && g.Leader == c.Leader:
		return CodeOK
	case c.Term == g.Term && g.Leader >= 0:
		return CodeConditionFailed // one leader per term: a second claim is stale
	}
	ng := *g
	ng.Leader, ng.Term = c.Leader, c.Term
	t.putDataGroup(&ng)
	return CodeOK
}

// maxPIDBlock bounds one AllocateProducerIDs command.
const maxPIDBlock = 1 << 20

// applyAllocateProducerIDs: see AllocateProducerIDs. The block's first ID
// is the command's result value.
func (t *tx) applyAllocateProducerIDs(c AllocateProducerIDs) Code {
	if c.Count == 0 || c.Count > maxPIDBlock || t.nextPID > 1<<62 {
		return CodeInvalid
	}
	t.value = t.nextPID
	t.nextPID += int64(c.Count)
	return CodeOK
}

// applyEnsureDataGroups: see EnsureDataGroups.
func (t *tx) applyEnsureDataGroups(c EnsureDataGroups) Code {
	if len(c.Groups) == 0 || len(c.Groups) > maxEnsureGroups {
		return CodeInvalid
	}
	for _, k := range c.Groups {
		if !validDataGroupKey(k.Members, k.Slot) {
			return CodeInvalid
		}
	}
	for _, k := range c.Groups {
		t.resolveDataGroup(k.Members, k.Slot)
	}
	return CodeOK
}

// maxEnsureGroups bounds one EnsureDataGroups command.
const maxEnsureGroups = 4096
