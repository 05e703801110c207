package consumergroup

import (
	"context"
	"errors"
	"time"
)

// The classic group protocol, after Kafka's GroupCoordinator: JoinGroup
// collects members into a generation (PreparingRebalance), the leader's
// SyncGroup hands out its assignment (CompletingRebalance) and the group is
// Stable until a member joins, leaves, changes its subscription or misses
// its session timeout. The leader's assignment is written to the log (a
// group metadata record) before anyone gets it, so that a new coordinator
// after a failover knows the generation and its members, and nobody has to
// rejoin.

// Join handles JoinGroup. It blocks until the join phase completes (at most
// the group's rebalance timeout) unless it can answer at once.
func (s *Service) Join(ctx context.Context, req JoinRequest) JoinResult {
	fail := func(err error) JoinResult { return JoinResult{Err: err, MemberID: req.MemberID, Generation: -1} }
	if req.Group == "" {
		return fail(ErrInvalidGroupID)
	}
	p, err := s.coordinator(req.Group)
	if err != nil {
		return fail(err)
	}
	st := time.Duration(req.SessionTimeoutMs) * time.Millisecond
	if st < s.cfg.MinSessionTimeout || st > s.cfg.MaxSessionTimeout {
		return fail(ErrInvalidSessionTimeout)
	}
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return fail(ErrInconsistentProtocol)
	}
	if req.RebalanceTimeoutMs <= 0 {
		req.RebalanceTimeoutMs = req.SessionTimeoutMs
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fail(ErrNotCoordinator)
	}
	g := p.groups[req.Group]
	created := g == nil
	if created {
		g = p.newGroup(req.Group)
	}
	if g.consumer != nil {
		if !g.consumer.empty() {
			p.mu.Unlock()
			return fail(ErrInconsistentProtocol)
		}
		g.consumer.stopTimers()
		g.consumer = nil // an empty consumer group may turn classic
		g.state = stateEmpty
	}
	res, wait, rep := g.join(req)
	if created && wait == nil && rep == nil && res.Err != nil && res.Err != ErrMemberIDRequired {
		p.maybeForget(g)
	}
	p.mu.Unlock()

	if rep != nil {
		return s.finishStaticReplace(ctx, p, g, rep, res)
	}
	if wait == nil {
		return res
	}
	select {
	case r := <-wait:
		return r
	case <-p.done:
		return fail(ErrNotCoordinator)
	case <-ctx.Done():
		return fail(ErrCoordinatorNotAvailable)
	}
}

// staticReplace is a static member rejoining a stable group with nothing
// changed: it takes the old member's place under a new member ID without
// a rebalance (KIP-345), once the group metadata with the new ID is
// written.
type staticReplace struct {
	old, new   *member
	generation int32
	value      []byte
}

func (s *Service) finishStaticReplace(ctx context.Context, p *partition, g *group, rep *staticReplace, res JoinResult) JoinResult {
	err := p.write(ctx, []kv{{Key: groupKey(g.name), Value: rep.value}})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		g.hasMeta = true
		if g.members[rep.new.id] == rep.new {
			g.heartbeat(rep.new)
		}
		return res
	}
	// Put the old member back, as Kafka does when the store fails.
	if g.members[rep.new.id] == rep.new && g.generation == rep.generation && p.groups[g.name] == g {
		delete(g.members, rep.new.id)
		rep.new.hbSeq++
		g.members[rep.old.id] = rep.old
		g.static[*rep.old.instanceID] = rep.old.id
		if g.leader == rep.new.id {
			g.leader = rep.old.id
		}
		g.heartbeat(rep.old)
	}
	return JoinResult{Err: err, MemberID: res.MemberID, Generation: -1}
}

// join is JoinGroup on the group; the caller holds the lock. It returns
// either an answer, or a channel the answer will come on, or a static
// replacement to persist first.
func (g *group) join(req JoinRequest) (JoinResult, chan JoinResult, *staticReplace) {
	fail := func(err error) (JoinResult, chan JoinResult, *staticReplace) {
		return JoinResult{Err: err, MemberID: req.MemberID, Generation: -1}, nil, nil
	}
	if g.state != stateEmpty && (req.ProtocolType != g.protocolType || !g.supportsProtocols(req.Protocols)) {
		return fail(ErrInconsistentProtocol)
	}
	if req.MemberID == "" {
		if req.InstanceID != nil {
			if old, ok := g.static[*req.InstanceID]; ok {
				if m := g.members[old]; m != nil {
					return g.replaceStatic(m, req)
				}
				delete(g.static, *req.InstanceID)
			}
		}
		if len(g.members)+len(g.pending) >= g.p.s.cfg.MaxGroupSize {
			return fail(ErrGroupMaxSizeReached)
		}
		id := newMemberID(req.Client.ID, req.InstanceID)
		if req.InstanceID == nil && req.RequireKnownMemberID {
			g.addPending(id, time.Duration(req.SessionTimeoutMs)*time.Millisecond)
			return JoinResult{Err: ErrMemberIDRequired, MemberID: id, Generation: -1}, nil, nil
		}
		m := g.newMember(id, req)
		ch := g.addMember(m)
		return JoinResult{}, ch, nil
	}
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		m := g.newMember(req.MemberID, req)
		ch := g.addMember(m)
		return JoinResult{}, ch, nil
	}
	if req.InstanceID != nil {
		mapped, ok := g.static[*req.InstanceID]
		switch {
		case !ok:
			return fail(ErrUnknownMemberID)
		case mapped != req.MemberID:
			return fail(ErrFencedInstanceID)
		}
	}
	m := g.members[req.MemberID]
	if m == nil {
		return fail(ErrUnknownMemberID)
	}
	switch g.state {
	case statePreparingRebalance:
		return JoinResult{}, g.updateMember(m, req), nil
	case stateCompletingRebalance:
		if m.sameProtocols(req.Protocols) {
			return g.joinResult(m, false), nil, nil
		}
		return JoinResult{}, g.updateMember(m, req), nil
	case stateStable:
		if m.id == g.leader || !m.sameProtocols(req.Protocols) {
			return JoinResult{}, g.updateMember(m, req), nil
		}
		return g.joinResult(m, false), nil, nil
	}
	return fail(ErrUnknownMemberID)
}

func (g *group) newMember(id string, req JoinRequest) *member {
	g.seq++
	return &member{
		id: id, instanceID: req.InstanceID, clientID: req.Client.ID, clientHost: req.Client.Host,
		protocolType:     req.ProtocolType,
		protocols:        req.Protocols,
		sessionTimeout:   time.Duration(req.SessionTimeoutMs) * time.Millisecond,
		rebalanceTimeout: time.Duration(req.RebalanceTimeoutMs) * time.Millisecond,
		seq:              g.seq,
	}
}

// addMember adds a member that waits in the join phase.
func (g *group) addMember(m *member) chan JoinResult {
	if len(g.members) == 0 && g.state == stateEmpty {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	ch := make(chan JoinResult, 1)
	m.joinCh = ch
	if g.state == statePreparingRebalance && g.initialDelay {
		// Kafka's initial delayed join waits a little longer for each new
		// member, up to the rebalance timeout.
		g.delayUntil = minTime(g.p.s.cfg.Now().Add(g.p.s.cfg.InitialRebalanceDelay), g.rebalanceDeadline)
	}
	g.maybePrepareRebalance()
	g.tryCompleteJoin()
	return ch
}

// updateMember records a known member's new join and waits.
func (g *group) updateMember(m *member, req JoinRequest) chan JoinResult {
	m.protocols = req.Protocols
	m.protocolType = req.ProtocolType
	m.sessionTimeout = time.Duration(req.SessionTimeoutMs) * time.Millisecond
	m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMs) * time.Millisecond
	m.clientID, m.clientHost = req.Client.ID, req.Client.Host
	if m.joinCh != nil {
		// A second JoinGroup from the same member replaces the first.
		m.joinCh <- JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id, Generation: -1}
	}
	ch := make(chan JoinResult, 1)
	m.joinCh = ch
	g.maybePrepareRebalance()
	g.tryCompleteJoin()
	return ch
}

// replaceStatic handles a static member that rejoins without a member ID:
// it replaces the old member (whose waiting requests are fenced) and keeps
// its assignment.
func (g *group) replaceStatic(old *member, req JoinRequest) (JoinResult, chan JoinResult, *staticReplace) {
	id := newMemberID(req.Client.ID, req.InstanceID)
	m := g.newMember(id, req)
	m.seq = old.seq
	m.assignment = old.assignment
	if old.joinCh != nil {
		old.joinCh <- JoinResult{Err: ErrFencedInstanceID, MemberID: old.id, Generation: -1}
		old.joinCh = nil
	}
	if old.syncCh != nil {
		old.syncCh <- SyncResult{Err: ErrFencedInstanceID}
		old.syncCh = nil
	}
	if old.timer != nil {
		old.timer.Stop()
	}
	old.hbSeq++
	delete(g.members, old.id)
	g.members[id] = m
	g.static[*req.InstanceID] = id
	if g.leader == old.id {
		g.leader = id
	}
	if g.pendingSync[old.id] {
		delete(g.pendingSync, old.id)
		g.pendingSync[id] = true
	}
	switch {
	case g.state == stateStable && g.selectProtocol() == g.protocol:
		// Kafka's rule: only a change of the group's protocol makes a
		// static member's return rebalance; its new metadata is kept.
		res := g.joinResult(m, req.SkipAssignmentOK)
		now := g.p.s.cfg.Now().UnixMilli()
		return res, nil, &staticReplace{old: old, new: m, generation: g.generation, value: groupValue(g, now)}
	case g.state == statePreparingRebalance:
		ch := make(chan JoinResult, 1)
		m.joinCh = ch
		g.tryCompleteJoin()
		return JoinResult{}, ch, nil
	default:
		ch := make(chan JoinResult, 1)
		m.joinCh = ch
		g.prepareRebalance()
		return JoinResult{}, ch, nil
	}
}

// joinResult is the current generation as member m sees it; the leader
// gets every member's metadata.
func (g *group) joinResult(m *member, skip bool) JoinResult {
	pt, proto := g.protocolType, g.protocol
	r := JoinResult{Generation: g.generation, ProtocolType: &pt, Protocol: &proto, LeaderID: g.leader, MemberID: m.id}
	if m.id == g.leader {
		r.SkipAssignment = skip
		for _, o := range g.sortedMembers() {
			r.Members = append(r.Members, JoinMember{MemberID: o.id, InstanceID: o.instanceID, Metadata: o.metadataFor(g.protocol)})
		}
	}
	return r
}

func (g *group) addPending(id string, session time.Duration) {
	seq := g.pending[id] + 1
	g.pending[id] = seq
	g.after(session, func() {
		if s, ok := g.pending[id]; ok && s == seq {
			delete(g.pending, id)
			g.tryCompleteJoin()
			g.p.maybeForget(g)
		}
	})
}

// heartbeat (re)starts m's session timer. A member waiting in JoinGroup or
// SyncGroup does not expire (Kafka keeps it alive).
func (g *group) heartbeat(m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.hbSeq++
	seq := m.hbSeq
	m.timer = g.after(m.sessionTimeout, func() {
		if g.members[m.id] != m || m.hbSeq != seq {
			return
		}
		if m.joinCh != nil || m.syncCh != nil {
			g.heartbeat(m)
			return
		}
		g.p.s.log.Info().Str("group", g.name).Str("member", m.id).Dur("session_timeout", m.sessionTimeout).
			Msg("member session expired")
		g.removeMember(m)
		g.memberLeft()
	})
}

// removeMember drops m; a waiting request of m gets UNKNOWN_MEMBER_ID.
func (g *group) removeMember(m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.hbSeq++
	if m.joinCh != nil {
		m.joinCh <- JoinResult{Err: ErrUnknownMemberID, MemberID: m.id, Generation: -1}
		m.joinCh = nil
	}
	if m.syncCh != nil {
		m.syncCh <- SyncResult{Err: ErrUnknownMemberID}
		m.syncCh = nil
	}
	delete(g.members, m.id)
	delete(g.pendingSync, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
}

// memberLeft reacts to a removed member.
func (g *group) memberLeft() {
	switch g.state {
	case stateStable, stateCompletingRebalance:
		g.prepareRebalance()
	case statePreparingRebalance:
		g.tryCompleteJoin()
	}
}

func (g *group) maybePrepareRebalance() {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		g.prepareRebalance()
	}
}

// prepareRebalance starts a join phase.
func (g *group) prepareRebalance() {
	if g.state == stateCompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			if m.syncCh != nil {
				m.syncCh <- SyncResult{Err: ErrRebalanceInProgress}
				m.syncCh = nil
			}
		}
	}
	g.clearPendingSync()
	now := g.p.s.cfg.Now()
	wasEmpty := g.state == stateEmpty
	g.state = statePreparingRebalance
	g.rebalanceDeadline = now.Add(g.maxRebalanceTimeout())
	g.delayUntil = now
	g.initialDelay = false
	if wasEmpty && g.p.s.cfg.InitialRebalanceDelay > 0 {
		g.initialDelay = true
		g.delayUntil = minTime(now.Add(g.p.s.cfg.InitialRebalanceDelay), g.rebalanceDeadline)
	}
	g.tryCompleteJoin()
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// allJoined: every member and every member ID handed out is in the join
// phase (Kafka's hasAllMembersJoined).
func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return false
		}
	}
	return true
}

// tryCompleteJoin completes the join phase if it may, else arms the timer
// for when it may.
func (g *group) tryCompleteJoin() {
	if g.state != statePreparingRebalance {
		return
	}
	now := g.p.s.cfg.Now()
	all := g.allJoined()
	if (all && !now.Before(g.delayUntil)) || !now.Before(g.rebalanceDeadline) {
		g.completeJoin()
		return
	}
	wake := g.rebalanceDeadline
	if all && g.delayUntil.Before(wake) {
		wake = g.delayUntil
	}
	g.armRebalanceTimer(wake.Sub(now))
}

func (g *group) armRebalanceTimer(d time.Duration) {
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	g.timerSeq++
	seq := g.timerSeq
	g.rebalanceTimer = g.after(d, func() {
		if g.timerSeq == seq {
			g.tryCompleteJoin()
		}
	})
}

// completeJoin ends the join phase: members that did not rejoin leave
// (static members stay until their session times out), the generation
// advances, and every waiting member gets its answer.
func (g *group) completeJoin() {
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	g.timerSeq++
	joined := 0
	for _, m := range g.members {
		switch {
		case m.joinCh != nil:
			joined++
		case m.instanceID == nil:
			g.p.s.log.Info().Str("group", g.name).Str("member", m.id).Msg("member did not rejoin in time; removed")
			g.removeMember(m)
		}
	}
	now := g.p.s.cfg.Now()
	if joined == 0 && len(g.members) > 0 {
		// Only static members that have not rejoined: wait for them, or
		// for their sessions to end.
		g.rebalanceDeadline = now.Add(g.maxRebalanceTimeout())
		g.armRebalanceTimer(g.maxRebalanceTimeout())
		return
	}
	g.generation++
	if g.generation < 0 {
		g.generation = 1
	}
	if len(g.members) == 0 {
		g.state = stateEmpty
		g.protocol, g.leader = "", ""
		g.persistAsync()
		return
	}
	if l := g.members[g.leader]; l == nil || l.joinCh == nil {
		g.leader = ""
		for _, m := range g.sortedMembers() {
			if m.joinCh != nil {
				g.leader = m.id
				break
			}
		}
	}
	g.protocol = g.selectProtocol()
	g.state = stateCompletingRebalance
	g.pendingSync = map[string]bool{}
	for _, m := range g.members {
		if m.joinCh == nil {
			continue
		}
		g.pendingSync[m.id] = true
		m.joinCh <- g.joinResult(m, false)
		m.joinCh = nil
		g.heartbeat(m)
	}
	gen := g.generation
	seq := g.timerSeq
	g.syncTimer = g.after(g.maxRebalanceTimeout(), func() {
		if g.generation != gen || g.timerSeq != seq || len(g.pendingSync) == 0 {
			return
		}
		for id := range g.pendingSync {
			if m := g.members[id]; m != nil {
				g.p.s.log.Info().Str("group", g.name).Str("member", id).Msg("member did not sync in time; removed")
				g.removeMember(m)
			}
		}
		g.pendingSync = nil
		g.prepareRebalance()
	})
}

func (g *group) clearPendingSync() {
	g.pendingSync = nil
	if g.syncTimer != nil {
		g.syncTimer.Stop()
		g.syncTimer = nil
	}
}

// persistAsync writes the group's metadata in the background (an empty
// group after its last member left, as Kafka records it).
func (g *group) persistAsync() {
	p := g.p
	rec := kv{Key: groupKey(g.name), Value: groupValue(g, p.s.cfg.Now().UnixMilli())}
	g.hasMeta = true
	p.s.wg.Add(1)
	go func() {
		defer p.s.wg.Done()
		ctx, cancel := context.WithTimeout(p.s.ctx, 10*time.Second)
		defer cancel()
		if err := p.write(ctx, []kv{rec}); err != nil {
			p.s.log.Debug().Err(err).Str("group", g.name).Msg("writing group metadata failed")
		}
	}()
}

// Sync handles SyncGroup. A member waits for the leader's assignment; the
// leader's SyncGroup writes the assignment to the log first.
func (s *Service) Sync(ctx context.Context, req SyncRequest) SyncResult {
	if req.Group == "" {
		return SyncResult{Err: ErrInvalidGroupID}
	}
	p, err := s.coordinator(req.Group)
	if err != nil {
		return SyncResult{Err: err}
	}
	p.mu.Lock()
	g := p.groups[req.Group]
	if p.closed || g == nil || g.consumer != nil {
		p.mu.Unlock()
		if p.closed {
			return SyncResult{Err: ErrNotCoordinator}
		}
		return SyncResult{Err: ErrUnknownMemberID}
	}
	m, err := g.validateMember(req.MemberID, req.InstanceID)
	switch {
	case err != nil:
	case req.Generation != g.generation:
		err = ErrIllegalGeneration
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		err = ErrInconsistentProtocol
	}
	if err != nil {
		p.mu.Unlock()
		return SyncResult{Err: err}
	}
	switch g.state {
	case statePreparingRebalance:
		p.mu.Unlock()
		return SyncResult{Err: ErrRebalanceInProgress}
	case stateStable:
		delete(g.pendingSync, m.id)
		r := g.syncResult(m)
		g.heartbeat(m)
		p.mu.Unlock()
		return r
	case stateCompletingRebalance:
	default:
		p.mu.Unlock()
		return SyncResult{Err: ErrUnknownMemberID}
	}
	if m.syncCh != nil {
		m.syncCh <- SyncResult{Err: ErrRebalanceInProgress}
	}
	ch := make(chan SyncResult, 1)
	m.syncCh = ch
	delete(g.pendingSync, m.id)
	if m.id == g.leader && !g.syncWriting {
		byID := make(map[string][]byte, len(req.Assignments))
		for _, a := range req.Assignments {
			byID[a.MemberID] = a.Data
		}
		for _, o := range g.members {
			o.assignment = byID[o.id]
			if len(o.assignment) == 0 && g.protocolType == "consumer" {
				o.assignment = emptyConsumerAssignment
			}
		}
		g.syncWriting = true
		gen := g.generation
		rec := kv{Key: groupKey(g.name), Value: groupValue(g, s.cfg.Now().UnixMilli())}
		p.mu.Unlock()
		werr := p.write(ctx, []kv{rec})
		p.mu.Lock()
		g.syncWriting = false
		if p.groups[g.name] == g && !p.closed && g.generation == gen && g.state == stateCompletingRebalance {
			g.hasMeta = true
			if werr != nil {
				s.log.Warn().Err(werr).Str("group", g.name).Msg("storing the group assignment failed; rebalancing")
				for _, o := range g.members {
					o.assignment = nil
					if o.syncCh != nil {
						o.syncCh <- SyncResult{Err: werr}
						o.syncCh = nil
					}
				}
				g.prepareRebalance()
			} else {
				g.state = stateStable
				for _, o := range g.members {
					if o.syncCh != nil {
						o.syncCh <- g.syncResult(o)
						o.syncCh = nil
						g.heartbeat(o)
					}
				}
			}
		}
	}
	p.mu.Unlock()
	select {
	case r := <-ch:
		return r
	case <-p.done:
		return SyncResult{Err: ErrNotCoordinator}
	case <-ctx.Done():
		return SyncResult{Err: ErrCoordinatorNotAvailable}
	}
}

func (g *group) syncResult(m *member) SyncResult {
	pt, proto := g.protocolType, g.protocol
	return SyncResult{ProtocolType: &pt, Protocol: &proto, Assignment: m.assignment}
}

// validateMember checks a member ID and optional instance ID the way
// Kafka does for SyncGroup, Heartbeat and OffsetCommit.
func (g *group) validateMember(memberID string, instanceID *string) (*member, error) {
	if instanceID != nil {
		mapped, ok := g.static[*instanceID]
		switch {
		case !ok:
			return nil, ErrUnknownMemberID
		case mapped != memberID:
			return nil, ErrFencedInstanceID
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, ErrUnknownMemberID
	}
	return m, nil
}

// Heartbeat handles a classic Heartbeat.
func (s *Service) Heartbeat(_ context.Context, req HeartbeatRequest) error {
	if req.Group == "" {
		return ErrInvalidGroupID
	}
	p, err := s.coordinator(req.Group)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.groups[req.Group]
	switch {
	case p.closed:
		return ErrNotCoordinator
	case g == nil || g.consumer != nil:
		return ErrUnknownMemberID
	}
	m, err := g.validateMember(req.MemberID, req.InstanceID)
	if err != nil {
		return err
	}
	if req.Generation != g.generation {
		return ErrIllegalGeneration
	}
	switch g.state {
	case statePreparingRebalance:
		g.heartbeat(m)
		return ErrRebalanceInProgress
	case stateCompletingRebalance, stateStable:
		g.heartbeat(m)
		return nil
	}
	return ErrUnknownMemberID
}

// Leave handles LeaveGroup: each member leaves (static members are found
// by instance ID) and the group rebalances. The error is for the whole
// request (coordinator errors).
func (s *Service) Leave(_ context.Context, group string, members []LeaveMember) ([]LeaveResult, error) {
	if group == "" {
		return nil, ErrInvalidGroupID
	}
	p, err := s.coordinator(group)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrNotCoordinator
	}
	g := p.groups[group]
	out := make([]LeaveResult, len(members))
	for i, lm := range members {
		r := &out[i]
		r.MemberID, r.InstanceID = lm.MemberID, lm.InstanceID
		if g == nil || g.consumer != nil {
			r.Err = ErrUnknownMemberID
			continue
		}
		id := lm.MemberID
		if lm.InstanceID != nil {
			mapped, ok := g.static[*lm.InstanceID]
			switch {
			case !ok:
				r.Err = ErrUnknownMemberID
				continue
			case id != "" && id != mapped:
				r.Err = ErrFencedInstanceID
				continue
			}
			id, r.MemberID = mapped, mapped
		}
		if _, ok := g.pending[id]; ok {
			delete(g.pending, id)
			g.tryCompleteJoin()
			continue
		}
		m := g.members[id]
		if m == nil {
			r.Err = ErrUnknownMemberID
			continue
		}
		reason := lm.Reason
		s.log.Info().Str("group", group).Str("member", id).Str("reason", reason).Msg("member left")
		g.removeMember(m)
		g.memberLeft()
	}
	if g != nil {
		p.maybeForget(g)
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

var _ = errors.Is
