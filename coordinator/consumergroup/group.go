package consumergroup

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupState is a group's state as Kafka names it.
type groupState int8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	// KIP-848 consumer groups.
	stateAssigning
	stateReconciling
)

func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	case stateAssigning:
		return "Assigning"
	case stateReconciling:
		return "Reconciling"
	}
	return "Unknown"
}

// group is one consumer group: classic membership, or a KIP-848 consumer
// group (consumer != nil), and its committed offsets. Guarded by the
// partition's mu.
type group struct {
	p    *partition
	name string

	consumer *consumerGroup // KIP-848 state; nil for a classic group

	state        groupState
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	pending      map[string]uint64        // dynamic member IDs handed out with MEMBER_ID_REQUIRED -> timer seq
	static       map[string]string        // instance ID -> member ID
	seq          uint64                   // join order, for leader election
	hasMeta      bool                     // a group metadata record is in the log
	metaValue    *kmsg.GroupMetadataValue // the last one (compaction rewrites it)

	offsets map[string]map[int32]*committed

	// Join phase.
	timerSeq          uint64 // invalidates fired rebalance/sync timers
	rebalanceTimer    timer
	rebalanceDeadline time.Time
	delayUntil        time.Time
	initialDelay      bool
	// Sync phase.
	pendingSync map[string]bool
	syncTimer   timer
	syncWriting bool
}

// member is a member of a classic group.
type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	protocolType     string
	protocols        []Protocol
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	assignment       []byte
	seq              uint64

	joinCh chan JoinResult // set while a JoinGroup waits
	syncCh chan SyncResult // set while a SyncGroup waits

	timer  timer  // session timeout
	hbSeq  uint64 // invalidates fired session timers
	joined bool   // rejoined in the current join phase
}

func (p *partition) newGroup(name string) *group {
	g := &group{
		p: p, name: name,
		members: map[string]*member{},
		pending: map[string]uint64{},
		static:  map[string]string{},
		offsets: map[string]map[int32]*committed{},
	}
	p.groups[name] = g
	return g
}

// isEmptyShell: nothing worth keeping.
func (g *group) isEmptyShell() bool {
	return g.consumer == nil && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 && !g.hasMeta
}

func (g *group) setOffset(topic string, partition int32, c *committed) {
	ps := g.offsets[topic]
	if ps == nil {
		ps = map[int32]*committed{}
		g.offsets[topic] = ps
	}
	ps[partition] = c
}

func (g *group) deleteOffset(topic string, partition int32) {
	ps := g.offsets[topic]
	if ps == nil {
		return
	}
	delete(ps, partition)
	if len(ps) == 0 {
		delete(g.offsets, topic)
	}
}

func (g *group) typeName() string {
	if g.consumer != nil {
		return "consumer"
	}
	return "classic"
}

func (g *group) stateName() string {
	if g.consumer != nil {
		return g.consumer.state().String()
	}
	return g.state.String()
}

// timer is a started timer (*time.Timer, or a test's fake).
type timer interface{ Stop() bool }

// after runs fn under the partition lock after d, unless the partition
// was unloaded or the group replaced in the meantime.
func (g *group) after(d time.Duration, fn func()) timer {
	p := g.p
	return p.s.afterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed || p.groups[g.name] != g {
			return
		}
		fn()
	})
}

func (g *group) stopTimers() {
	for _, m := range g.members {
		if m.timer != nil {
			m.timer.Stop()
		}
		m.hbSeq++
	}
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	if g.syncTimer != nil {
		g.syncTimer.Stop()
	}
	g.timerSeq++
	for id := range g.pending {
		g.pending[id]++
	}
	if g.consumer != nil {
		g.consumer.stopTimers()
	}
}

// failWaiters answers every waiting JoinGroup and SyncGroup with err.
func (g *group) failWaiters(err error) {
	for _, m := range g.members {
		if m.joinCh != nil {
			m.joinCh <- JoinResult{Err: err, MemberID: m.id, Generation: -1}
			m.joinCh = nil
		}
		if m.syncCh != nil {
			m.syncCh <- SyncResult{Err: err}
			m.syncCh = nil
		}
	}
}

// resetMembership drops every member (a tombstone, or before loading a
// newer metadata record).
func (g *group) resetMembership() {
	g.stopTimers()
	g.members = map[string]*member{}
	g.pending = map[string]uint64{}
	g.static = map[string]string{}
	g.state = stateEmpty
	g.leader, g.protocol = "", ""
	g.pendingSync = nil
}

// loadMetadata replaces the group's membership with a metadata record's.
func (g *group) loadMetadata(v *kmsg.GroupMetadataValue) {
	g.resetMembership()
	g.hasMeta = true
	g.protocolType = v.ProtocolType
	g.generation = v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	for _, mv := range v.Members {
		g.seq++
		m := &member{
			id: mv.MemberID, instanceID: mv.InstanceID, clientID: mv.ClientID, clientHost: mv.ClientHost,
			protocolType:     v.ProtocolType,
			protocols:        []Protocol{{Name: g.protocol, Metadata: mv.Subscription}},
			sessionTimeout:   time.Duration(mv.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(mv.RebalanceTimeoutMillis) * time.Millisecond,
			assignment:       mv.Assignment,
			seq:              g.seq,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		g.members[m.id] = m
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
	}
	if len(g.members) > 0 {
		g.state = stateStable
	}
}

// afterLoad starts the session timers of a loaded group's members: they
// get a full session timeout from now to find the new coordinator.
func (g *group) afterLoad(time.Time) {
	for _, m := range g.members {
		g.heartbeat(m)
	}
}

func (g *group) sortedMembers() []*member {
	ms := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].seq < ms[j].seq })
	return ms
}

// metadataFor is the member's metadata for protocol (nil if it does not
// support it).
func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func (m *member) sameProtocols(ps []Protocol) bool {
	if len(m.protocols) != len(ps) {
		return false
	}
	for i := range ps {
		if m.protocols[i].Name != ps[i].Name || !bytes.Equal(m.protocols[i].Metadata, ps[i].Metadata) {
			return false
		}
	}
	return true
}

// newMemberID is Kafka's form: client ID (or instance ID) + "-" + UUID.
func newMemberID(clientID string, instanceID *string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	uuid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	return prefix + "-" + uuid
}

// emptyConsumerAssignment is an encoded empty ConsumerMemberAssignment,
// given to members of a "consumer" group that the leader left out (some
// clients cannot decode zero bytes).
var emptyConsumerAssignment = func() []byte {
	a := kmsg.NewConsumerMemberAssignment()
	return a.AppendTo(nil)
}()

// subscribedTopics lists the topics the members subscribe to, from the
// consumer protocol metadata (OffsetDelete refuses to delete their
// commits). ok is false when the group does not use the consumer protocol.
func (g *group) subscribedTopics() (map[string]bool, bool) {
	out := map[string]bool{}
	if g.consumer != nil {
		for _, t := range g.consumer.subscribedTopicNames() {
			out[t] = true
		}
		return out, true
	}
	if g.protocolType != "consumer" {
		return nil, false
	}
	for _, m := range g.members {
		for _, pr := range m.protocols {
			if g.protocol != "" && pr.Name != g.protocol {
				continue
			}
			var md kmsg.ConsumerMemberMetadata
			if err := md.ReadFrom(pr.Metadata); err != nil {
				continue
			}
			for _, t := range md.Topics {
				out[t] = true
			}
		}
	}
	return out, true
}

// selectProtocol is Kafka's vote: among the protocols every member
// supports, each member votes for the first it lists; most votes wins
// (ties: the name first in order, for determinism).
func (g *group) selectProtocol() string {
	count := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			count[p.Name]++
		}
	}
	var candidates []string
	for name, n := range count {
		if n == len(g.members) {
			candidates = append(candidates, name)
		}
	}
	slices.Sort(candidates)
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, n := "", -1
	for _, c := range candidates {
		if votes[c] > n {
			best, n = c, votes[c]
		}
	}
	return best
}

// supportsProtocols: a joining member must share a protocol every current
// member supports.
func (g *group) supportsProtocols(ps []Protocol) bool {
	if len(g.members) == 0 {
		return true
	}
	count := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			count[p.Name]++
		}
	}
	for _, p := range ps {
		if count[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}
