package kafka

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
)

// fakeGroups is a GroupService that records the last request of each kind
// and answers with canned results (or err when set). The coordinator itself
// is tested in coordinator/consumergroup and, with real clients, in cmd/broker.
type fakeGroups struct {
	mu       sync.Mutex
	err      error // answered for every item when set
	consumer bool  // ConsumerProtocol
	last     map[string]any
	fetched  []consumergroup.FetchedGroup // Fetch's answer when set
}

func newFakeGroups() *fakeGroups { return &fakeGroups{consumer: true, last: map[string]any{}} }

func (f *fakeGroups) record(k string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last[k] = v
	return f.err
}

func (f *fakeGroups) lastReq(k string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[k]
}

func (f *fakeGroups) FindCoordinator(_ context.Context, keyType int8, keys []string) []consumergroup.CoordinatorResult {
	err := f.record("find", keyType)
	out := make([]consumergroup.CoordinatorResult, len(keys))
	for i, k := range keys {
		out[i] = consumergroup.CoordinatorResult{Key: k, Err: err, NodeID: testNode, Host: "127.0.0.1", Port: 9092}
	}
	return out
}

func (f *fakeGroups) EnsureOffsetsTopic(context.Context) error { return f.record("ensure", true) }

func (f *fakeGroups) Join(_ context.Context, req consumergroup.JoinRequest) consumergroup.JoinResult {
	if err := f.record("join", req); err != nil {
		return consumergroup.JoinResult{Err: err, MemberID: req.MemberID, Generation: -1}
	}
	pt, p := req.ProtocolType, "range"
	return consumergroup.JoinResult{Generation: 3, ProtocolType: &pt, Protocol: &p, LeaderID: "m", MemberID: "m", SkipAssignment: true,
		Members: []consumergroup.JoinMember{{MemberID: "m", Metadata: []byte{1}}}}
}

func (f *fakeGroups) Sync(_ context.Context, req consumergroup.SyncRequest) consumergroup.SyncResult {
	if err := f.record("sync", req); err != nil {
		return consumergroup.SyncResult{Err: err}
	}
	return consumergroup.SyncResult{Assignment: []byte{7}}
}

func (f *fakeGroups) Heartbeat(_ context.Context, req consumergroup.HeartbeatRequest) error {
	return f.record("heartbeat", req)
}

func (f *fakeGroups) Leave(_ context.Context, group string, ms []consumergroup.LeaveMember) ([]consumergroup.LeaveResult, error) {
	f.record("leave", ms)
	out := make([]consumergroup.LeaveResult, len(ms))
	for i, m := range ms {
		out[i] = consumergroup.LeaveResult{MemberID: m.MemberID, InstanceID: m.InstanceID, Err: f.err}
	}
	return out, nil
}

func (f *fakeGroups) Commit(_ context.Context, req consumergroup.CommitRequest) []consumergroup.TopicErrors {
	err := f.record("commit", req)
	out := make([]consumergroup.TopicErrors, len(req.Topics))
	for i, t := range req.Topics {
		out[i].Name, out[i].ID = t.Name, t.ID
		for _, p := range t.Partitions {
			out[i].Partitions = append(out[i].Partitions, consumergroup.PartitionError{Partition: p.Partition, Err: err})
		}
	}
	return out
}

func (f *fakeGroups) Fetch(_ context.Context, gs []consumergroup.FetchGroup) []consumergroup.FetchedGroup {
	err := f.record("fetch", gs)
	if f.fetched != nil {
		return f.fetched
	}
	out := make([]consumergroup.FetchedGroup, len(gs))
	for i, g := range gs {
		out[i] = consumergroup.FetchedGroup{Group: g.Group, Err: err}
		for _, t := range g.Topics {
			ft := consumergroup.FetchedTopic{Name: t.Name, ID: t.ID}
			for _, p := range t.Partitions {
				ft.Partitions = append(ft.Partitions, consumergroup.FetchedPartition{Partition: p, Offset: 42, LeaderEpoch: 1})
			}
			if err == nil {
				out[i].Topics = append(out[i].Topics, ft)
			}
		}
	}
	return out
}

func (f *fakeGroups) Describe(_ context.Context, names []string) []consumergroup.DescribedGroup {
	err := f.record("describe", names)
	out := make([]consumergroup.DescribedGroup, len(names))
	for i, n := range names {
		out[i] = consumergroup.DescribedGroup{Group: n, Err: err, State: "Stable"}
		if err != nil {
			out[i].State = "Dead"
		}
	}
	return out
}

func (f *fakeGroups) List(_ context.Context, states, types []string) []consumergroup.ListedGroup {
	f.record("list", [2][]string{states, types})
	return []consumergroup.ListedGroup{{Group: "g", ProtocolType: "consumer", State: "Stable", Type: "classic"}}
}

func (f *fakeGroups) DeleteGroups(_ context.Context, names []string) []error {
	err := f.record("delete", names)
	out := make([]error, len(names))
	for i := range out {
		out[i] = err
	}
	return out
}

func (f *fakeGroups) DeleteOffsets(_ context.Context, group string, ts []consumergroup.DeleteTopicPartitions) ([]consumergroup.TopicErrors, error) {
	if err := f.record("offsetdelete", ts); err != nil {
		return nil, err
	}
	out := make([]consumergroup.TopicErrors, len(ts))
	for i, t := range ts {
		out[i].Name = t.Name
		for _, p := range t.Partitions {
			out[i].Partitions = append(out[i].Partitions, consumergroup.PartitionError{Partition: p, Err: consumergroup.ErrGroupSubscribedToTopic})
		}
	}
	return out, nil
}

func (f *fakeGroups) ConsumerHeartbeat(_ context.Context, req consumergroup.ConsumerHeartbeatRequest) consumergroup.ConsumerHeartbeatResult {
	if err := f.record("cgheartbeat", req); err != nil {
		return consumergroup.ConsumerHeartbeatResult{Err: err, HeartbeatIntervalMs: 5000}
	}
	return consumergroup.ConsumerHeartbeatResult{MemberID: "cm", MemberEpoch: 4, HeartbeatIntervalMs: 5000, HasAssignment: true,
		Assignment: []consumergroup.TopicPartitions{{ID: consumergroup.TopicID{9}, Partitions: []int32{0, 1}}}}
}

func (f *fakeGroups) ConsumerDescribe(_ context.Context, names []string) []consumergroup.ConsumerGroupDescription {
	err := f.record("cgdescribe", names)
	out := make([]consumergroup.ConsumerGroupDescription, len(names))
	for i, n := range names {
		out[i] = consumergroup.ConsumerGroupDescription{Group: n, Err: err, State: "Stable", Epoch: 4, AssignmentEpoch: 4, AssignorName: "uniform",
			Members: []consumergroup.ConsumerMemberDescription{{MemberID: "cm", MemberEpoch: 4, Assignment: []consumergroup.TopicPartitions{{ID: consumergroup.TopicID{9}, Partitions: []int32{0}}}}}}
	}
	return out
}

func (f *fakeGroups) ConsumerProtocol() bool { return f.consumer }

func newGroupTestServer(t *testing.T, consumer bool) (*testServer, *fakeGroups) {
	t.Helper()
	fg := newFakeGroups()
	fg.consumer = consumer
	ts := newTestServer(t, func(c *Config) { c.Groups = fg })
	return ts, fg
}

// Every group API answers every registered version with a response that
// decodes at that version; KIP-848 APIs are advertised and served only
// when the service says the protocol works.
func TestKafkaGroupAPIsAllVersions(t *testing.T) {
	for _, consumer := range []bool{true, false} {
		ts, _ := newGroupTestServer(t, consumer)
		rc := dialRaw(t, ts.addr)
		av := rc.roundTrip(&kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "x", ClientSoftwareVersion: "1"}).(*kmsg.ApiVersionsResponse)
		advertised := map[int16]bool{}
		for _, k := range av.ApiKeys {
			advertised[k.ApiKey] = true
		}
		for k := range groupAPIs {
			if !advertised[k.Int16()] {
				t.Errorf("%s not advertised with a GroupService", k.Name())
			}
		}
		for k := range consumerAPIs {
			if advertised[k.Int16()] != consumer {
				t.Errorf("%s advertised %v with ConsumerProtocol %v", k.Name(), advertised[k.Int16()], consumer)
			}
		}
		for _, k := range av.ApiKeys {
			e := lookupAPI(k.ApiKey, allFeatures)
			if e.needs&featGroups == 0 {
				continue
			}
			for v := k.MinVersion; v <= k.MaxVersion; v++ {
				req := kmsg.RequestForKey(k.ApiKey)
				if d, ok := req.(interface{ Default() }); ok {
					d.Default()
				}
				req.SetVersion(v)
				if resp := rc.roundTrip(req); resp.GetVersion() != v {
					t.Errorf("%s v%d answered as v%d", kmsg.NameForKey(k.ApiKey), v, resp.GetVersion())
				}
			}
		}
	}
	// Without a GroupService the group APIs are neither advertised nor
	// served.
	ts := newTestServer(t, nil)
	rc := dialRaw(t, ts.addr)
	rc.send(&kmsg.JoinGroupRequest{Version: 9, Group: "g"})
	rc.expectClosed()
}

// How versions map onto the service and back.
func TestKafkaGroupVersions(t *testing.T) {
	ts, fg := newGroupTestServer(t, true)
	rc := dialRaw(t, ts.addr)

	// FindCoordinator: one key before v4 (top-level answer), batched after.
	f3 := rc.roundTrip(&kmsg.FindCoordinatorRequest{Version: 3, CoordinatorKey: "g"}).(*kmsg.FindCoordinatorResponse)
	if f3.NodeID != testNode || f3.Port != 9092 || len(f3.Coordinators) != 0 {
		t.Errorf("FindCoordinator v3: %+v", f3)
	}
	f4 := rc.roundTrip(&kmsg.FindCoordinatorRequest{Version: 4, CoordinatorKeys: []string{"a", "b"}}).(*kmsg.FindCoordinatorResponse)
	if len(f4.Coordinators) != 2 || f4.Coordinators[1].Key != "b" || f4.Coordinators[1].NodeID != testNode {
		t.Errorf("FindCoordinator v4: %+v", f4)
	}

	// JoinGroup: v0 has no rebalance timeout; MEMBER_ID_REQUIRED from v4;
	// the client's ID and address reach the coordinator.
	rc.roundTrip(&kmsg.JoinGroupRequest{Version: 0, Group: "g", SessionTimeoutMillis: 7000, ProtocolType: "consumer",
		Protocols: []kmsg.JoinGroupRequestProtocol{{Name: "range"}}})
	jr := fg.lastReq("join").(consumergroup.JoinRequest)
	if jr.RebalanceTimeoutMs != 7000 || jr.RequireKnownMemberID || jr.Client.ID != "raw-test" || jr.Client.Host != "/127.0.0.1" {
		t.Errorf("JoinGroup v0 as %+v", jr)
	}
	j := rc.roundTrip(&kmsg.JoinGroupRequest{Version: 9, Group: "g", SessionTimeoutMillis: 7000, RebalanceTimeoutMillis: 9000, ProtocolType: "consumer",
		InstanceID: kmsg.StringPtr("i")}).(*kmsg.JoinGroupResponse)
	jr = fg.lastReq("join").(consumergroup.JoinRequest)
	if !jr.RequireKnownMemberID || !jr.SkipAssignmentOK || *jr.InstanceID != "i" || jr.RebalanceTimeoutMs != 9000 {
		t.Errorf("JoinGroup v9 as %+v", jr)
	}
	if j.Generation != 3 || !j.SkipAssignment || len(j.Members) != 1 || *j.ProtocolType != "consumer" {
		t.Errorf("JoinGroup v9 answer %+v", j)
	}

	// OffsetCommit v2 (the oldest served): outside group management.
	rc.roundTrip(&kmsg.OffsetCommitRequest{Version: 2, Group: "g", Generation: -1, Topics: []kmsg.OffsetCommitRequestTopic{{Topic: "t",
		Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 2, Offset: 5, LeaderEpoch: 9}}}}})
	cr := fg.lastReq("commit").(consumergroup.CommitRequest)
	if cr.Generation != -1 || cr.MemberID != "" || cr.Topics[0].Name != "t" || cr.Topics[0].Partitions[0].LeaderEpoch != -1 {
		t.Errorf("OffsetCommit v2 as %+v", cr)
	}

	// OffsetFetch: v1 null topics is not "all"; v7 one group at the top
	// level; v8 several; a group error before v2 lands on each partition.
	o7 := rc.roundTrip(&kmsg.OffsetFetchRequest{Version: 7, Group: "g", Topics: []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}}).(*kmsg.OffsetFetchResponse)
	if len(o7.Topics) != 1 || len(o7.Topics[0].Partitions) != 2 || o7.Topics[0].Partitions[1].Offset != 42 || len(o7.Groups) != 0 {
		t.Errorf("OffsetFetch v7: %+v", o7)
	}
	rc.roundTrip(&kmsg.OffsetFetchRequest{Version: 7, Group: "g"})
	if fgs := fg.lastReq("fetch").([]consumergroup.FetchGroup); fgs[0].Topics != nil {
		t.Errorf("OffsetFetch v7 with null topics asked for %+v", fgs[0].Topics)
	}
	o8 := rc.roundTrip(&kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{{Group: "a"}, {Group: "b",
		Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{3}}}}}}).(*kmsg.OffsetFetchResponse)
	if len(o8.Groups) != 2 || o8.Groups[1].Topics[0].Partitions[0].Offset != 42 {
		t.Errorf("OffsetFetch v8: %+v", o8)
	}
	fg.err = consumergroup.ErrNotCoordinator
	o1 := rc.roundTrip(&kmsg.OffsetFetchRequest{Version: 1, Group: "g", Topics: []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}}).(*kmsg.OffsetFetchResponse)
	if len(o1.Topics) != 1 || o1.Topics[0].Partitions[0].ErrorCode != kerr.NotCoordinator.Code {
		t.Errorf("OffsetFetch v1 with a group error: %+v", o1)
	}

	// DescribeGroups: an unknown group is an error from v6 only.
	fg.err = consumergroup.ErrGroupIDNotFound
	if d := rc.roundTrip(&kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"x"}}).(*kmsg.DescribeGroupsResponse); d.Groups[0].ErrorCode != 0 || d.Groups[0].State != "Dead" {
		t.Errorf("DescribeGroups v5 of an unknown group: %+v", d.Groups[0])
	}
	if d := rc.roundTrip(&kmsg.DescribeGroupsRequest{Version: 6, Groups: []string{"x"}}).(*kmsg.DescribeGroupsResponse); d.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("DescribeGroups v6 of an unknown group: %+v", d.Groups[0])
	}

	// LeaveGroup: one member before v3, its outcome at the top level.
	fg.err = consumergroup.ErrUnknownMemberID
	if l := rc.roundTrip(&kmsg.LeaveGroupRequest{Version: 2, Group: "g", MemberID: "m"}).(*kmsg.LeaveGroupResponse); l.ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("LeaveGroup v2: %+v", l)
	}
	if l := rc.roundTrip(&kmsg.LeaveGroupRequest{Version: 5, Group: "g", Members: []kmsg.LeaveGroupRequestMember{{MemberID: "a"}, {MemberID: "b"}}}).(*kmsg.LeaveGroupResponse); l.ErrorCode != 0 || len(l.Members) != 2 || l.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("LeaveGroup v5: %+v", l)
	}

	// ListGroups: filters only from the versions that have them.
	fg.err = nil
	rc.roundTrip(&kmsg.ListGroupsRequest{Version: 3, StatesFilter: []string{"Stable"}})
	if f := fg.lastReq("list").([2][]string); f[0] != nil {
		t.Errorf("ListGroups v3 passed a state filter: %v", f)
	}
	l5 := rc.roundTrip(&kmsg.ListGroupsRequest{Version: 5, StatesFilter: []string{"Stable"}, TypesFilter: []string{"classic"}}).(*kmsg.ListGroupsResponse)
	if f := fg.lastReq("list").([2][]string); len(f[0]) != 1 || len(f[1]) != 1 || len(l5.Groups) != 1 || l5.Groups[0].GroupType != "classic" {
		t.Errorf("ListGroups v5: filters %v, answer %+v", f, l5)
	}

	// ConsumerGroupHeartbeat: the assignment, and errors that echo the
	// member.
	h := rc.roundTrip(&kmsg.ConsumerGroupHeartbeatRequest{Version: 1, Group: "g", MemberID: "cm", MemberEpoch: 0,
		SubscribedTopicNames: []string{"t"}, Topics: []kmsg.ConsumerGroupHeartbeatRequestTopic{}}).(*kmsg.ConsumerGroupHeartbeatResponse)
	if h.MemberEpoch != 4 || *h.MemberID != "cm" || h.Assignment == nil || len(h.Assignment.Topics[0].Partitions) != 2 {
		t.Errorf("ConsumerGroupHeartbeat: %+v", h)
	}
	if hr := fg.lastReq("cgheartbeat").(consumergroup.ConsumerHeartbeatRequest); hr.Topics == nil || len(hr.SubscribedTopicNames) != 1 {
		t.Errorf("ConsumerGroupHeartbeat as %+v", hr)
	}
	fg.err = consumergroup.ErrFencedMemberEpoch
	h = rc.roundTrip(&kmsg.ConsumerGroupHeartbeatRequest{Version: 1, Group: "g", MemberID: "cm", MemberEpoch: 3}).(*kmsg.ConsumerGroupHeartbeatResponse)
	if h.ErrorCode != kerr.FencedMemberEpoch.Code || h.MemberEpoch != 3 || h.Assignment != nil {
		t.Errorf("ConsumerGroupHeartbeat error: %+v", h)
	}
}

// The groups sentinels map to Kafka's codes.
func TestKafkaGroupErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want *kerr.Error
	}{
		{consumergroup.ErrNotCoordinator, kerr.NotCoordinator},
		{consumergroup.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
		{consumergroup.ErrLoadInProgress, kerr.CoordinatorLoadInProgress},
		{consumergroup.ErrInvalidGroupID, kerr.InvalidGroupID},
		{consumergroup.ErrUnknownMemberID, kerr.UnknownMemberID},
		{consumergroup.ErrMemberIDRequired, kerr.MemberIDRequired},
		{consumergroup.ErrIllegalGeneration, kerr.IllegalGeneration},
		{consumergroup.ErrRebalanceInProgress, kerr.RebalanceInProgress},
		{consumergroup.ErrFencedInstanceID, kerr.FencedInstanceID},
		{consumergroup.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol},
		{consumergroup.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout},
		{consumergroup.ErrGroupIDNotFound, kerr.GroupIDNotFound},
		{consumergroup.ErrNonEmptyGroup, kerr.NonEmptyGroup},
		{consumergroup.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic},
		{consumergroup.ErrFencedMemberEpoch, kerr.FencedMemberEpoch},
		{consumergroup.ErrStaleMemberEpoch, kerr.StaleMemberEpoch},
		{consumergroup.ErrUnreleasedInstanceID, kerr.UnreleasedInstanceID},
		{consumergroup.ErrUnsupportedAssignor, kerr.UnsupportedAssignor},
		{consumergroup.ErrTransactionsDisabled, kerr.TransactionalIDAuthorizationFailed},
		{errors.Join(errors.New("wrapped"), consumergroup.ErrLoadInProgress), kerr.CoordinatorLoadInProgress},
	} {
		if got := kafkaError(c.err); got != c.want {
			t.Errorf("%v -> %v, want %v", c.err, got, c.want)
		}
	}
}
