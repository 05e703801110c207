package consumergroup

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/skiff-broker/skiff/topics"
)

// KIP-848 consumer groups: the coordinator computes a target assignment
// with a server-side assignor (uniform or range) whenever the group epoch
// moves (a member joins or leaves, a subscription or a subscribed topic's
// partitions change), and each member's heartbeats reconcile it towards its
// target the way Kafka's CurrentAssignmentBuilder does: a member first
// gives up what it must revoke (keeping its epoch), then moves to the
// target epoch and gets the partitions of its target that no other member
// still holds; those come on later heartbeats, once released.
//
// The state of these groups lives in the coordinator's memory only (their
// offsets are durable like any group's): after a coordinator failover the
// members get UNKNOWN_MEMBER_ID and join again.

// cmState is a member's reconciliation state.
type cmState int8

const (
	cmStable     cmState = iota
	cmUnrevoked          // must release partitions first
	cmUnreleased         // waits for partitions other members still hold
)

// consumerGroup is the state of a KIP-848 consumer group.
type consumerGroup struct {
	g               *group
	epoch           int32 // group epoch
	assignmentEpoch int32 // epoch of the target assignment
	assignor        string
	members         map[string]*cmember
	static          map[string]string // instance ID -> member ID
	topicsSig       string            // subscribed topics' metadata at the last target computation
}

// cmember is a member of a consumer group.
type cmember struct {
	id                   string
	instanceID           *string
	rackID               *string
	clientID, clientHost string
	epoch, prevEpoch     int32
	state                cmState
	topics               []string // subscribed names, sorted
	regex                *regexp.Regexp
	regexSrc             string
	assignor             string
	rebalanceTimeout     time.Duration
	assigned             tpSet // what the member was told it owns
	pending              tpSet // revoked, not yet released
	target               tpSet
	left                 bool // a static member that left for now (epoch -2)

	timer       timer
	seq         uint64 // invalidates fired session timers
	revokeTimer timer
	revokeSeq   uint64 // invalidates fired revocation timers (heartbeats do not)
}

func newConsumerGroup(g *group) *consumerGroup {
	return &consumerGroup{g: g, members: map[string]*cmember{}, static: map[string]string{}}
}

func (c *consumerGroup) state() groupState {
	active := 0
	for _, m := range c.members {
		if m.left {
			continue
		}
		active++
		if m.state != cmStable || m.epoch != c.assignmentEpoch {
			return stateReconciling
		}
	}
	switch {
	case active == 0:
		return stateEmpty
	case c.assignmentEpoch != c.epoch:
		return stateAssigning
	}
	return stateStable
}

func (c *consumerGroup) empty() bool { return len(c.members) == 0 }

func (c *consumerGroup) stopTimers() {
	for _, m := range c.members {
		c.stopMemberTimers(m)
	}
}

func (c *consumerGroup) stopMemberTimers(m *cmember) {
	m.seq++
	m.revokeSeq++
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.revokeTimer != nil {
		m.revokeTimer.Stop()
	}
}

func (c *consumerGroup) subscribedTopicNames() []string {
	names := map[string]bool{}
	for _, m := range c.members {
		for _, t := range m.topics {
			names[t] = true
		}
		if m.regex != nil {
			for _, t := range c.allTopicNames() {
				if m.regex.MatchString(t) {
					names[t] = true
				}
			}
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (c *consumerGroup) allTopicNames() []string {
	v, err := c.g.p.s.cfg.Node.LocalTopics(topics.Query{All: true})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(v.Topics))
	for _, t := range v.Topics {
		out = append(out, t.Name) // internal ones too, as subscribedTopics
	}
	return out
}

// validateCommit: an admin commit (no member, epoch < 0) needs an empty
// group; a member commits at its epoch, or at its previous epoch while it
// has not yet seen the new one (Kafka 4.3 relaxes this further, KIP-1251).
func (c *consumerGroup) validateCommit(memberID string, epoch int32) error {
	if epoch < 0 && memberID == "" {
		if c.empty() {
			return nil
		}
		return ErrUnknownMemberID
	}
	m := c.members[memberID]
	switch {
	case m == nil:
		return ErrUnknownMemberID
	case epoch > m.epoch:
		return ErrFencedMemberEpoch
	case epoch != m.epoch && epoch != m.prevEpoch:
		return ErrStaleMemberEpoch
	}
	return nil
}

// validateFetch checks a member's OffsetFetch (v9+).
func (c *consumerGroup) validateFetch(memberID *string, epoch int32) error {
	if memberID == nil || *memberID == "" {
		return ErrUnknownMemberID
	}
	m := c.members[*memberID]
	switch {
	case m == nil:
		return ErrUnknownMemberID
	case epoch != m.epoch && epoch != m.prevEpoch:
		return ErrStaleMemberEpoch
	}
	return nil
}

// ConsumerProtocol reports whether KIP-848 consumer groups are served.
func (s *Service) ConsumerProtocol() bool { return true }

// ConsumerHeartbeat handles ConsumerGroupHeartbeat.
func (s *Service) ConsumerHeartbeat(_ context.Context, req ConsumerHeartbeatRequest) ConsumerHeartbeatResult {
	res := ConsumerHeartbeatResult{MemberID: req.MemberID, MemberEpoch: req.MemberEpoch,
		HeartbeatIntervalMs: int32(s.cfg.ConsumerHeartbeatInterval / time.Millisecond)}
	fail := func(err error) ConsumerHeartbeatResult {
		res.Err = err
		return res
	}
	switch {
	case req.Group == "":
		return fail(fmt.Errorf("%w: GroupId can't be empty", ErrInvalidRequest))
	case req.InstanceID != nil && *req.InstanceID == "":
		return fail(fmt.Errorf("%w: InstanceId can't be empty", ErrInvalidRequest))
	case req.MemberEpoch < -2:
		return fail(fmt.Errorf("%w: MemberEpoch %d is invalid", ErrInvalidRequest, req.MemberEpoch))
	case req.MemberEpoch != 0 && req.MemberID == "":
		return fail(fmt.Errorf("%w: MemberId can't be empty", ErrInvalidRequest))
	case req.MemberEpoch == 0 && req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
		return fail(fmt.Errorf("%w: SubscribedTopicNames or SubscribedTopicRegex must be set when joining", ErrInvalidRequest))
	case req.MemberEpoch == 0 && (req.Topics == nil || len(req.Topics) > 0):
		return fail(fmt.Errorf("%w: TopicPartitions must be empty when (re-)joining", ErrInvalidRequest))
	case req.ServerAssignor != nil && !slices.Contains(s.cfg.ConsumerAssignors, *req.ServerAssignor):
		return fail(fmt.Errorf("%w: %q (supported: %s)", ErrUnsupportedAssignor, *req.ServerAssignor, strings.Join(s.cfg.ConsumerAssignors, ", ")))
	}
	var re *regexp.Regexp
	if req.SubscribedTopicRegex != nil {
		var err error
		if re, err = regexp.Compile("^(?:" + *req.SubscribedTopicRegex + ")$"); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrInvalidRegex, err))
		}
	}
	if req.MemberID == "" {
		req.MemberID = newMemberID(req.Client.ID, req.InstanceID)
		res.MemberID = req.MemberID
	}
	p, err := s.coordinator(req.Group)
	if err != nil {
		return fail(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fail(ErrNotCoordinator)
	}
	g := p.groups[req.Group]
	if g == nil {
		if req.MemberEpoch != 0 {
			return fail(ErrUnknownMemberID)
		}
		g = p.newGroup(req.Group)
	}
	if g.consumer == nil {
		if g.state != stateEmpty || len(g.members) > 0 {
			return fail(fmt.Errorf("%w: group %s is a classic group with members", ErrGroupTypeMismatch, req.Group))
		}
		if req.MemberEpoch != 0 {
			return fail(ErrUnknownMemberID)
		}
		g.consumer = newConsumerGroup(g)
		g.protocolType = "consumer"
	}
	c := g.consumer
	var out ConsumerHeartbeatResult
	switch req.MemberEpoch {
	case 0:
		out = c.join(req, re)
	case -1, -2:
		out = c.leave(req)
	default:
		out = c.heartbeat(req, re)
	}
	out.HeartbeatIntervalMs = res.HeartbeatIntervalMs
	if out.MemberID == "" {
		out.MemberID = req.MemberID
	}
	if out.Err != nil && c.empty() && len(g.offsets) == 0 {
		p.maybeForgetConsumer(g)
	}
	return out
}

// maybeForgetConsumer drops a consumer group that holds nothing.
func (p *partition) maybeForgetConsumer(g *group) {
	if g.consumer != nil && g.consumer.empty() && len(g.offsets) == 0 {
		g.consumer.stopTimers()
		g.consumer = nil
		p.maybeForget(g)
	}
}

// updateSubscription applies a heartbeat's optional fields and reports
// whether the subscription changed.
func (c *consumerGroup) updateSubscription(m *cmember, req ConsumerHeartbeatRequest, re *regexp.Regexp) bool {
	changed := false
	if req.SubscribedTopicNames != nil {
		ts := slices.Clone(req.SubscribedTopicNames)
		sort.Strings(ts)
		ts = slices.Compact(ts)
		if !slices.Equal(ts, m.topics) {
			m.topics, changed = ts, true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regexSrc {
		m.regex, m.regexSrc, changed = re, *req.SubscribedTopicRegex, true
		if m.regexSrc == "" {
			m.regex = nil
		}
	}
	if req.ServerAssignor != nil && *req.ServerAssignor != m.assignor {
		m.assignor, changed = *req.ServerAssignor, true
	}
	if req.RebalanceTimeoutMs > 0 {
		m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMs) * time.Millisecond
	}
	if req.RackID != nil {
		m.rackID = req.RackID
	}
	return changed
}

func (c *consumerGroup) join(req ConsumerHeartbeatRequest, re *regexp.Regexp) ConsumerHeartbeatResult {
	s := c.g.p.s
	res := ConsumerHeartbeatResult{MemberID: req.MemberID}
	if m := c.members[req.MemberID]; m != nil && !m.left {
		// A known member joining again: same member, updated fields.
		m.clientID, m.clientHost = req.Client.ID, req.Client.Host
		if c.updateSubscription(m, req, re) {
			c.bump()
		}
		c.sessionTimer(m)
		c.reconcile(m, tpSet{})
		res.MemberEpoch, res.HasAssignment, res.Assignment = m.epoch, true, m.assigned.list()
		return res
	}
	var inherit *cmember
	if req.InstanceID != nil {
		if oldID, ok := c.static[*req.InstanceID]; ok {
			if old := c.members[oldID]; old != nil {
				if !old.left && oldID != req.MemberID {
					res.Err = ErrUnreleasedInstanceID
					return res
				}
				inherit = old
				c.stopMemberTimers(old)
				delete(c.members, oldID)
			}
		}
	} else if m := c.members[req.MemberID]; m != nil {
		c.stopMemberTimers(m)
		delete(c.members, req.MemberID)
	}
	if inherit == nil && len(c.members) >= s.cfg.MaxGroupSize {
		res.Err = ErrGroupMaxSizeReached
		return res
	}
	m := &cmember{
		id: req.MemberID, instanceID: req.InstanceID, rackID: req.RackID,
		clientID: req.Client.ID, clientHost: req.Client.Host,
		rebalanceTimeout: time.Duration(req.RebalanceTimeoutMs) * time.Millisecond,
		assigned:         tpSet{}, pending: tpSet{}, target: tpSet{},
	}
	if m.rebalanceTimeout <= 0 {
		m.rebalanceTimeout = 45 * time.Second
	}
	if inherit != nil {
		m.topics, m.regex, m.regexSrc, m.assignor = inherit.topics, inherit.regex, inherit.regexSrc, inherit.assignor
		m.assigned, m.target = inherit.assigned, inherit.target
		m.epoch, m.prevEpoch = c.assignmentEpoch, c.assignmentEpoch
	}
	changed := c.updateSubscription(m, req, re)
	c.members[m.id] = m
	if m.instanceID != nil {
		c.static[*m.instanceID] = m.id
	}
	if inherit == nil || changed || c.epoch == 0 {
		c.bump()
	} else {
		m.target = c.targetFor(m)
	}
	c.sessionTimer(m)
	c.reconcile(m, tpSet{})
	res.MemberEpoch, res.HasAssignment, res.Assignment = m.epoch, true, m.assigned.list()
	s.log.Info().Str("group", c.g.name).Str("member", m.id).Int32("group_epoch", c.epoch).Msg("consumer group member joined")
	return res
}

func (c *consumerGroup) leave(req ConsumerHeartbeatRequest) ConsumerHeartbeatResult {
	res := ConsumerHeartbeatResult{MemberID: req.MemberID, MemberEpoch: req.MemberEpoch}
	m := c.members[req.MemberID]
	if m == nil {
		if req.InstanceID != nil {
			if owner, ok := c.static[*req.InstanceID]; ok && owner != req.MemberID {
				res.Err = ErrFencedInstanceID
				return res
			}
		}
		res.Err = ErrUnknownMemberID
		return res
	}
	if req.MemberEpoch == -2 && m.instanceID != nil {
		// A static member leaving for now: its partitions stay reserved
		// until it comes back or its session times out.
		m.left = true
		m.pending = tpSet{}
		m.prevEpoch, m.epoch = m.epoch, -2
		if m.revokeTimer != nil {
			m.revokeTimer.Stop()
		}
		c.sessionTimer(m)
		return res
	}
	c.remove(m, "left")
	res.MemberEpoch = -1
	return res
}

// remove drops a member and moves the group to a new epoch.
func (c *consumerGroup) remove(m *cmember, why string) {
	c.stopMemberTimers(m)
	delete(c.members, m.id)
	if m.instanceID != nil && c.static[*m.instanceID] == m.id {
		delete(c.static, *m.instanceID)
	}
	c.g.p.s.log.Info().Str("group", c.g.name).Str("member", m.id).Str("why", why).Msg("consumer group member removed")
	c.bump()
}

func (c *consumerGroup) heartbeat(req ConsumerHeartbeatRequest, re *regexp.Regexp) ConsumerHeartbeatResult {
	res := ConsumerHeartbeatResult{MemberID: req.MemberID}
	m := c.members[req.MemberID]
	if m == nil {
		res.MemberEpoch = req.MemberEpoch
		if req.InstanceID != nil {
			if owner, ok := c.static[*req.InstanceID]; ok && owner != req.MemberID {
				res.Err = ErrFencedInstanceID
				return res
			}
		}
		res.Err = ErrUnknownMemberID
		return res
	}
	owned := tpSet(nil)
	if req.Topics != nil {
		owned = tpSetOf(req.Topics)
	}
	if req.MemberEpoch != m.epoch {
		// A member that missed the response moving it on may still
		// speak at its previous epoch, if it owns nothing it should not.
		if m.left || req.MemberEpoch != m.prevEpoch || owned == nil || !owned.minus(m.assigned).equal(tpSet{}) {
			res.MemberEpoch, res.Err = req.MemberEpoch, ErrFencedMemberEpoch
			return res
		}
	}
	m.clientID, m.clientHost = req.Client.ID, req.Client.Host
	c.sessionTimer(m)
	full := req.RebalanceTimeoutMs != -1 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil
	if c.updateSubscription(m, req, re) || c.topicsChanged() {
		c.bump()
	}
	changed := c.reconcile(m, owned)
	res.MemberEpoch = m.epoch
	if full || changed {
		res.HasAssignment, res.Assignment = true, m.assigned.list()
	}
	return res
}

// sessionTimer (re)starts m's session: a member that does not heartbeat
// for group.consumer.session.timeout.ms is removed.
func (c *consumerGroup) sessionTimer(m *cmember) {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.seq++
	seq := m.seq
	m.timer = c.g.after(c.g.p.s.cfg.ConsumerSessionTimeout, func() {
		if c.g.consumer == c && c.members[m.id] == m && m.seq == seq {
			c.remove(m, "session timeout")
		}
	})
}

// revokeTimer gives m its rebalance timeout to release what it must. Its
// heartbeats meanwhile do not extend it (Kafka's rebalance timeout runs
// from the revocation).
func (c *consumerGroup) revokeTimer(m *cmember) {
	if m.revokeTimer != nil {
		m.revokeTimer.Stop()
	}
	m.revokeSeq++
	seq := m.revokeSeq
	m.revokeTimer = c.g.after(m.rebalanceTimeout, func() {
		if c.g.consumer == c && c.members[m.id] == m && m.revokeSeq == seq && m.pending.count() > 0 {
			c.remove(m, "did not revoke partitions within its rebalance timeout")
		}
	})
}

// bump moves the group to a new epoch and computes its target assignment.
func (c *consumerGroup) bump() {
	c.epoch++
	c.computeTarget()
}

// subscribedTopics resolves the members' subscriptions against the local
// metadata, as Kafka's GroupMetadataManager does: names as given, and each
// regex (RE2 syntax, as Kafka's RE2/J) matched against the whole name of
// every topic, internal ones included. Kafka does not skip internal topics
// here (only an ACL filter, which Skiff does not have): a pattern that
// matches __consumer_offsets, such as one that names it, gets it. Topics
// created later are matched at the next heartbeat (topicsChanged).
func (c *consumerGroup) subscribedTopics() []topicInfo {
	names := map[string]bool{}
	regex := false
	for _, m := range c.members {
		for _, t := range m.topics {
			names[t] = true
		}
		regex = regex || m.regex != nil
	}
	q := topics.Query{All: regex}
	for n := range names {
		q.Names = append(q.Names, n)
	}
	if !regex && len(q.Names) == 0 {
		return nil
	}
	v, err := c.g.p.s.cfg.Node.LocalTopics(q)
	if err != nil {
		return nil
	}
	var out []topicInfo
	for _, t := range v.Topics {
		match := names[t.Name]
		for _, m := range c.members {
			match = match || (m.regex != nil && m.regex.MatchString(t.Name))
		}
		if match {
			out = append(out, topicInfo{name: t.Name, id: t.ID, partitions: int32(len(t.Partitions))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func topicsSignature(ts []topicInfo) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s/%x/%d;", t.name, t.id[:], t.partitions)
	}
	return b.String()
}

// topicsChanged reports whether a subscribed topic appeared, went away or
// got partitions since the target was computed.
func (c *consumerGroup) topicsChanged() bool {
	return topicsSignature(c.subscribedTopics()) != c.topicsSig
}

// groupAssignor is the assignor most members ask for (the default when
// none does; ties go to the configured order).
func (c *consumerGroup) groupAssignor() string {
	cfg := c.g.p.s.cfg.ConsumerAssignors
	votes := map[string]int{}
	for _, m := range c.members {
		if m.assignor != "" {
			votes[m.assignor]++
		}
	}
	best := cfg[0]
	for _, a := range cfg {
		if votes[a] > votes[best] {
			best = a
		}
	}
	return best
}

// assignMembers lists the members taking part in the assignment.
func (c *consumerGroup) assignMembers(ts []topicInfo) []assignMember {
	var out []assignMember
	for _, m := range c.members {
		if m.left {
			continue
		}
		am := assignMember{id: m.id, instance: m.instanceID, topics: map[string]bool{}, previous: m.target}
		for _, t := range ts {
			if slices.Contains(m.topics, t.name) || (m.regex != nil && m.regex.MatchString(t.name)) {
				am.topics[t.name] = true
			}
		}
		out = append(out, am)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// computeTarget recomputes every member's target for the group epoch.
func (c *consumerGroup) computeTarget() {
	ts := c.subscribedTopics()
	c.assignor = c.groupAssignor()
	ms := c.assignMembers(ts)
	var targets map[string]tpSet
	if c.assignor == "range" {
		targets = assignRange(ts, ms)
	} else {
		targets = assignUniform(ts, ms)
	}
	for _, m := range c.members {
		if t, ok := targets[m.id]; ok {
			m.target = t
		}
	}
	c.assignmentEpoch = c.epoch
	c.topicsSig = topicsSignature(ts)
}

// targetFor is m's target from the current assignment (a static member
// taking its old place keeps the old target).
func (c *consumerGroup) targetFor(m *cmember) tpSet {
	if m.target != nil {
		return m.target
	}
	return tpSet{}
}

// owners lists the partitions held by members other than m (assigned or
// still to be released).
func (c *consumerGroup) heldByOthers(m *cmember) tpSet {
	out := tpSet{}
	for _, o := range c.members {
		if o == m {
			continue
		}
		for id, ps := range o.assigned {
			for _, p := range ps {
				out.add(id, p)
			}
		}
		for id, ps := range o.pending {
			for _, p := range ps {
				out.add(id, p)
			}
		}
	}
	return out
}

// reconcile moves m towards its target; owned is what the member reports
// it owns (nil: not reported). It reports whether m's assignment changed.
func (c *consumerGroup) reconcile(m *cmember, owned tpSet) bool {
	if owned != nil && m.pending.count() > 0 {
		m.pending = m.pending.intersect(owned)
		if m.pending.count() == 0 && m.revokeTimer != nil {
			m.revokeTimer.Stop()
		}
	}
	if m.pending.count() > 0 {
		m.state = cmUnrevoked
		return false
	}
	if m.epoch == c.assignmentEpoch && m.state == cmStable {
		return false
	}
	if revoke := m.assigned.minus(m.target); revoke.count() > 0 {
		m.assigned = m.assigned.intersect(m.target)
		m.pending = revoke
		m.state = cmUnrevoked
		c.revokeTimer(m)
		return true
	}
	held := c.heldByOthers(m)
	changed := false
	blocked := false
	for id, ps := range m.target {
		for _, p := range ps {
			switch {
			case m.assigned.has(id, p):
			case held.has(id, p):
				blocked = true
			default:
				m.assigned.add(id, p)
				changed = true
			}
		}
	}
	if m.epoch != c.assignmentEpoch {
		m.prevEpoch, m.epoch = m.epoch, c.assignmentEpoch
	}
	m.state = cmStable
	if blocked {
		m.state = cmUnreleased
	}
	return changed
}

// ConsumerDescribe handles ConsumerGroupDescribe.
func (s *Service) ConsumerDescribe(_ context.Context, names []string) []ConsumerGroupDescription {
	out := make([]ConsumerGroupDescription, len(names))
	for i, name := range names {
		d := &out[i]
		d.Group = name
		p, err := s.coordinator(name)
		if err != nil {
			d.Err = err
			continue
		}
		p.mu.Lock()
		g := p.groups[name]
		switch {
		case p.closed:
			d.Err = ErrNotCoordinator
		case g == nil:
			d.Err = ErrGroupIDNotFound
		case g.consumer == nil:
			d.Err = fmt.Errorf("%w: group %s is not a consumer group", ErrGroupIDNotFound, name)
		default:
			c := g.consumer
			d.State, d.Epoch, d.AssignmentEpoch, d.AssignorName = c.state().String(), c.epoch, c.assignmentEpoch, c.assignor
			ids := make([]string, 0, len(c.members))
			for id := range c.members {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				m := c.members[id]
				dm := ConsumerMemberDescription{
					MemberID: m.id, InstanceID: m.instanceID, RackID: m.rackID, MemberEpoch: m.epoch,
					ClientID: m.clientID, ClientHost: m.clientHost, SubscribedTopics: slices.Clone(m.topics),
					Assignment: m.assigned.list(), TargetAssignment: m.target.list(),
				}
				if m.regex != nil {
					src := m.regexSrc
					dm.SubscribedTopicRegex = &src
				}
				d.Members = append(d.Members, dm)
			}
		}
		p.mu.Unlock()
	}
	return out
}
