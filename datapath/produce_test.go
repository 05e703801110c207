package datapath

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/skiff-broker/skiff/statemachine/datagroup"
	"github.com/skiff-broker/skiff/topics"
)

// staleNode is a node whose local metadata replica lags: LocalTopics answers
// from local, ReadTopics (linearizable) from fresh. It leads every data
// group and records every data-group proposal.
type staleNode struct {
	local, fresh *topics.View

	mu        sync.Mutex
	proposals []datagroup.Command
}

func (n *staleNode) ID() int32 { return 1 }

func (n *staleNode) ReadTopics(_ context.Context, q topics.Query) (*topics.View, error) {
	return filterView(n.fresh, q), nil
}

func (n *staleNode) LocalTopics(q topics.Query) (*topics.View, error) {
	return filterView(n.local, q), nil
}

func (n *staleNode) DataGroupLeader(uint64) (int32, uint64, bool) { return 1, 3, true }

func (n *staleNode) DataGroupReplica(uint64) (*datagroup.StateMachine, bool) { return nil, false }

func (n *staleNode) LocalDataGroups() []uint64 { return nil }

func (n *staleNode) ProposeDataGroup(_ context.Context, _ uint64, cmd datagroup.Command) (datagroup.Result, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proposals = append(n.proposals, cmd)
	res := datagroup.Result{}
	for range cmd.(datagroup.Produce).Parts {
		res.Parts = append(res.Parts, datagroup.PartResult{Code: datagroup.CodeOK})
	}
	return res, nil
}

func (n *staleNode) ProposeDataGroupAsync(_ uint64, cmd datagroup.Command, _ time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proposals = append(n.proposals, cmd)
	return nil
}

func (n *staleNode) NextProducerID(context.Context) (int64, error) { return 1, nil }

func (n *staleNode) proposed() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.proposals)
}

// filterView answers q from v the way the state machine's Lookup does.
func filterView(v *topics.View, q topics.Query) *topics.View {
	out := &topics.View{Brokers: v.Brokers, DataGroups: v.DataGroups}
	for _, n := range q.Names {
		found := false
		for _, t := range v.Topics {
			if t.Name == n {
				out.Topics, found = append(out.Topics, t), true
			}
		}
		if !found {
			out.Missing = append(out.Missing, n)
		}
	}
	for _, id := range q.IDs {
		for _, t := range v.Topics {
			if t.ID == id {
				out.Topics = append(out.Topics, t)
			}
		}
	}
	return out
}

// A broker whose metadata replica has not applied a DeleteTopics yet must
// not write to the deleted topic: Produce resolves topics linearizably, so
// neither the old name nor the old ID reaches a data group.
func TestRecordsProduceDeletedTopicWithStaleLocalMetadata(t *testing.T) {
	gone := &topics.Topic{Name: "gone", ID: topics.TopicID{7}, Partitions: []topics.Partition{{DataGroup: 5}}}
	n := &staleNode{
		local: &topics.View{Topics: []*topics.Topic{gone}},
		fresh: &topics.View{},
	}
	s, err := New(Config{Node: n, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	req := func(acks int16, name string, id topics.TopicID) ProduceRequest {
		return ProduceRequest{Acks: acks, TimeoutMillis: 1000, Topics: []ProduceTopic{{
			Name: name, TopicID: id, Partitions: []ProducePartition{{Partition: 0, Records: batch(1)}},
		}}}
	}
	for _, acks := range []int16{-1, 1, 0} {
		res := s.Produce(context.Background(), req(acks, "gone", topics.TopicID{}))
		if acks != 0 {
			if err := res[0].Partitions[0].Err; !errors.Is(err, ErrUnknownTopicOrPart) {
				t.Errorf("acks=%d, by name: %v, want ErrUnknownTopicOrPart", acks, err)
			}
		}
		res = s.Produce(context.Background(), req(acks, "", gone.ID))
		if acks != 0 {
			if err := res[0].Partitions[0].Err; !errors.Is(err, ErrUnknownTopicID) {
				t.Errorf("acks=%d, by ID: %v, want ErrUnknownTopicID", acks, err)
			}
		}
	}
	if p := n.proposed(); p != 0 {
		t.Fatalf("%d data-group proposals for a deleted topic, want none", p)
	}

	// The control: with the topic in the linearizable view, the same
	// requests are proposed (so the count above could have been non-zero).
	n.fresh = n.local
	res := s.Produce(context.Background(), req(-1, "", gone.ID))
	if err := res[0].Partitions[0].Err; err != nil || n.proposed() != 1 {
		t.Fatalf("existing topic: %v, %d proposals, want nil, 1", err, n.proposed())
	}
}
