package topics

import (
	"context"
	"sync"
	"testing"

	dbsm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine"
)

// smStore is a Store over a real metadata state machine (no Raft: one
// replica, entries applied in proposal order), counting what the service
// asks of it. beforePropose, when set, runs before each proposal is applied
// (under no lock), so a test can hold a proposal in flight or commit other
// commands first.
type smStore struct {
	t  *testing.T
	sm *statemachine.StateMachine

	mu        sync.Mutex
	index     uint64
	proposals []statemachine.Command
	reads     int // linearizable reads
	local     int // local reads

	beforePropose func(n int, cmd statemachine.Command)
}

func newSMStore(t *testing.T, brokers ...int32) *smStore {
	t.Helper()
	sm := statemachine.NewFactory(t.TempDir(), zerolog.Nop())(1, 1).(*statemachine.StateMachine)
	idx, err := sm.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Close() })
	s := &smStore{t: t, sm: sm, index: idx}
	for _, id := range brokers {
		s.apply(statemachine.RegisterBroker{ID: id, KafkaAddr: "127.0.0.1:9092", Incarnation: 1})
	}
	return s
}

// apply commits cmd directly (another node's proposal, say).
func (s *smStore) apply(cmd statemachine.Command) statemachine.Result {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index++
	out, err := s.sm.Update([]dbsm.Entry{{Index: s.index, Cmd: statemachine.Encode(cmd)}})
	if err != nil {
		s.t.Fatalf("Update: %v", err)
	}
	r, err := statemachine.DecodeResult(out[0].Result.Data)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

func (s *smStore) Propose(_ context.Context, _ string, cmd statemachine.Command) (statemachine.Result, error) {
	s.mu.Lock()
	s.proposals = append(s.proposals, cmd)
	n := len(s.proposals)
	hook := s.beforePropose
	s.mu.Unlock()
	if hook != nil {
		hook(n, cmd)
	}
	return s.apply(cmd), nil
}

func (s *smStore) ReadTopics(_ context.Context, q statemachine.QueryTopics) (*statemachine.View, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	v, err := s.sm.Lookup(q)
	if err != nil {
		return nil, err
	}
	return v.(*statemachine.View), nil
}

func (s *smStore) LocalTopics(q statemachine.QueryTopics) (*statemachine.View, error) {
	s.mu.Lock()
	s.local++
	s.mu.Unlock()
	v, err := s.sm.Lookup(q)
	if err != nil {
		return nil, err
	}
	return v.(*statemachine.View), nil
}

func (s *smStore) LocalDataGroupTable() ([]*statemachine.DataGroup, error) {
	s.mu.Lock()
	s.local++
	s.mu.Unlock()
	v, err := s.sm.Lookup(statemachine.QueryDataGroups{})
	if err != nil {
		return nil, err
	}
	return v.([]*statemachine.DataGroup), nil
}

func (s *smStore) IsLeader() bool { return true }

func (s *smStore) counts() (proposals, reads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.proposals), s.reads
}

// leadGroups forms the data groups placement uses on the live brokers and
// records a leader (the preferred one) for each, as a running cluster has.
func (s *smStore) leadGroups(rf int16) {
	s.t.Helper()
	v, _ := s.sm.Lookup(statemachine.QueryTopics{})
	keys := PreparedGroupKeys(v.(*View).Brokers, rf)
	s.apply(statemachine.EnsureDataGroups{Groups: keys})
	gv, _ := s.sm.Lookup(statemachine.QueryDataGroups{})
	for _, g := range gv.([]*DataGroup) {
		s.apply(statemachine.SetDataGroupLeader{ShardID: g.ShardID, Leader: g.Members[g.Slot], Term: 1})
	}
}
