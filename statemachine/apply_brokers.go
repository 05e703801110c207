package statemachine

// applyRegisterBroker: see RegisterBroker. The broker record is replaced
// (Alive = true). Its heartbeat counter is incremented, not reset, so that a
// FenceBroker decided on a counter seen before the registration fails its
// condition instead of fencing the freshly registered broker.
func (t *tx) applyRegisterBroker(c RegisterBroker) Code {
	if c.ID < 0 {
		return CodeInvalid
	}
	t.putBroker(&Broker{ID: c.ID, KafkaAddr: c.KafkaAddr, Rack: c.Rack, Incarnation: c.Incarnation, Alive: true})
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
