package kafka

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/skiff-broker/skiff/topics"
)

// fakeTopics is an in-memory TopicService: kafka tests are about the wire,
// not Raft. Topic values are replaced, never mutated, like the real View.
type fakeTopics struct {
	mu       sync.Mutex
	brokers  []*topics.Broker
	topics   map[string]*topics.Topic
	nextID   byte
	disabled bool // AutoCreate answers ErrAutoCreateDisabled

	inject    map[string]error // per-topic error for any call naming the topic
	wholeErrs []error          // returned, in order, by the next mutating calls
	block     bool             // mutating calls wait for ctx.Done
	blocked   chan struct{}    // closed when a call starts blocking

	calls      map[string]int
	lastCreate topics.CreateOptions
	lastSpecs  []topics.CreateSpec
	lastAlter  []topics.AlterSpec
	lastAlterV bool
}

func newFakeTopics() *fakeTopics {
	return &fakeTopics{topics: map[string]*topics.Topic{}, inject: map[string]error{}, calls: map[string]int{}}
}

// begin records a call and returns the injected whole-request error, if
// any. It must be called with f.mu held; it may release it while blocking.
func (f *fakeTopics) begin(ctx context.Context, method string) error {
	f.calls[method]++
	if f.block {
		if f.blocked != nil {
			close(f.blocked)
			f.blocked = nil
		}
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return fmt.Errorf("fake: %w", topics.ErrTimeout)
	}
	if len(f.wholeErrs) > 0 {
		err := f.wholeErrs[0]
		f.wholeErrs = f.wholeErrs[1:]
		return err
	}
	return nil
}

// with runs fn under the fake's lock, for tests that set or read fields.
func (f *fakeTopics) with(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeTopics) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeTopics) newID() topics.TopicID {
	f.nextID++
	var id topics.TopicID
	id[0], id[15] = 0xab, f.nextID
	return id
}

// fakeGroup returns the data group that a fake partition led by leader
// (-1: nobody) lives in: shard 1000+leader+1, term 1 when led.
func fakeGroup(leader int32) *topics.DataGroup {
	g := &topics.DataGroup{ShardID: uint64(1001 + leader), Members: []int32{1, 2}, Leader: leader}
	if leader >= 0 {
		g.Term = 1
	}
	return g
}

// put stores a topic whose partitions are led by the given brokers
// (replicas = [1, 2], their data group led by the broker at term 1; -1 = no
// leader).
func (f *fakeTopics) put(name string, internal bool, leaders ...int32) *topics.Topic {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &topics.Topic{Name: name, ID: f.newID(), Internal: internal}
	for _, l := range leaders {
		t.Partitions = append(t.Partitions, topics.Partition{Replicas: []int32{1, 2}, DataGroup: fakeGroup(l).ShardID})
	}
	f.topics[name] = t
	return t
}

func (f *fakeTopics) get(name string) *topics.Topic {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.topics[name]
}

func validFakeName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/ ?")
}

func (f *fakeTopics) Create(ctx context.Context, specs []topics.CreateSpec, opts topics.CreateOptions) ([]topics.TopicResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "Create"); err != nil {
		return nil, err
	}
	f.lastCreate, f.lastSpecs = opts, specs
	seen := map[string]int{}
	for _, s := range specs {
		seen[s.Name]++
	}
	out := make([]topics.TopicResult, len(specs))
	for i, s := range specs {
		r := topics.TopicResult{Name: s.Name}
		switch {
		case f.inject[s.Name] != nil:
			r.Err = f.inject[s.Name]
		case seen[s.Name] > 1:
			r.Err = fmt.Errorf("%w: Topic %s appears more than once", topics.ErrDuplicateTopic, s.Name)
		case !validFakeName(s.Name):
			r.Err = fmt.Errorf("%w: bad name %q", topics.ErrInvalidTopic, s.Name)
		case f.topics[s.Name] != nil:
			r.Err = fmt.Errorf("%w: Topic '%s' already exists.", topics.ErrTopicExists, s.Name)
		default:
			t := f.build(s)
			if !opts.ValidateOnly {
				f.topics[s.Name] = t
			}
			r.ID, r.NumPartitions, r.ReplicationFactor = t.ID, int32(len(t.Partitions)), int16(len(t.Partitions[0].Replicas))
			r.Configs = f.TopicConfigs(t)
		}
		out[i] = r
	}
	return out, nil
}

func (f *fakeTopics) build(s topics.CreateSpec) *topics.Topic {
	t := &topics.Topic{Name: s.Name, ID: f.newID()}
	n := int(s.NumPartitions)
	if n <= 0 {
		n = 1
	}
	if len(s.Assignment) > 0 {
		n = len(s.Assignment)
	}
	for p := range n {
		replicas := []int32{1}
		if len(s.Assignment) > 0 {
			replicas = s.Assignment[p]
		}
		t.Partitions = append(t.Partitions, topics.Partition{Replicas: replicas, DataGroup: fakeGroup(replicas[0]).ShardID})
	}
	for _, c := range s.Configs {
		if c.Value != nil {
			t.Configs = append(t.Configs, topics.ConfigEntry{Key: c.Key, Value: *c.Value})
		}
	}
	return t
}

func (f *fakeTopics) AutoCreate(ctx context.Context, names []string) ([]topics.TopicResult, error) {
	if f.disabledNow() {
		out := make([]topics.TopicResult, len(names))
		for i, n := range names {
			out[i] = topics.TopicResult{Name: n, Err: fmt.Errorf("%w", topics.ErrAutoCreateDisabled)}
		}
		return out, nil
	}
	specs := make([]topics.CreateSpec, len(names))
	for i, n := range names {
		specs[i] = topics.CreateSpec{Name: n, NumPartitions: -1, ReplicationFactor: -1}
	}
	f.mu.Lock()
	f.calls["AutoCreate"]++
	f.mu.Unlock()
	return f.Create(ctx, specs, topics.CreateOptions{})
}

func (f *fakeTopics) disabledNow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.disabled
}

func (f *fakeTopics) Delete(ctx context.Context, specs []topics.DeleteSpec) ([]topics.TopicResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "Delete"); err != nil {
		return nil, err
	}
	out := make([]topics.TopicResult, len(specs))
	for i, s := range specs {
		var t *topics.Topic
		if s.Name != "" {
			t = f.topics[s.Name]
		} else {
			for _, c := range f.topics {
				if c.ID == s.ID {
					t = c
				}
			}
		}
		switch {
		case t == nil && s.Name == "":
			out[i] = topics.TopicResult{ID: s.ID, Err: fmt.Errorf("%w: no topic with ID", topics.ErrUnknownTopicID)}
		case t == nil:
			out[i] = topics.TopicResult{Name: s.Name, Err: fmt.Errorf("%w: no topic %s", topics.ErrUnknownTopic, s.Name)}
		default:
			delete(f.topics, t.Name)
			out[i] = topics.TopicResult{Name: t.Name, ID: t.ID}
		}
	}
	return out, nil
}

func (f *fakeTopics) CreatePartitions(ctx context.Context, specs []topics.PartitionsSpec, validateOnly bool) ([]topics.TopicResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "CreatePartitions"); err != nil {
		return nil, err
	}
	out := make([]topics.TopicResult, len(specs))
	for i, s := range specs {
		t := f.topics[s.Name]
		switch {
		case t == nil:
			out[i] = topics.TopicResult{Name: s.Name, Err: fmt.Errorf("%w: no topic %s", topics.ErrUnknownTopic, s.Name)}
		case int(s.Count) <= len(t.Partitions):
			out[i] = topics.TopicResult{Name: s.Name, Err: fmt.Errorf("%w: Topic currently has %d partitions", topics.ErrInvalidPartitions, len(t.Partitions))}
		default:
			nt := *t
			nt.Partitions = slices.Clone(t.Partitions)
			for len(nt.Partitions) < int(s.Count) {
				nt.Partitions = append(nt.Partitions, topics.Partition{Replicas: []int32{1}, DataGroup: fakeGroup(1).ShardID})
			}
			if !validateOnly {
				f.topics[s.Name] = &nt
			}
			out[i] = topics.TopicResult{Name: s.Name, ID: t.ID, NumPartitions: s.Count}
		}
	}
	return out, nil
}

func (f *fakeTopics) AlterConfigs(ctx context.Context, specs []topics.AlterSpec, validateOnly bool) ([]topics.TopicResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, "AlterConfigs"); err != nil {
		return nil, err
	}
	f.lastAlter, f.lastAlterV = specs, validateOnly
	out := make([]topics.TopicResult, len(specs))
	for i, s := range specs {
		t := f.topics[s.Name]
		if t == nil {
			out[i] = topics.TopicResult{Name: s.Name, Err: fmt.Errorf("%w: no topic %s", topics.ErrUnknownTopic, s.Name)}
			continue
		}
		cfg := map[string]string{}
		if !s.Replace {
			for _, e := range t.Configs {
				cfg[e.Key] = e.Value
			}
		}
		for _, op := range s.Ops {
			switch {
			case op.Op == topics.OpDelete:
				delete(cfg, op.Key)
			case op.Op == topics.OpSet && op.Value != nil:
				cfg[op.Key] = *op.Value
			}
		}
		nt := *t
		nt.Configs = nil
		for k, v := range cfg {
			nt.Configs = append(nt.Configs, topics.ConfigEntry{Key: k, Value: v})
		}
		sort.Slice(nt.Configs, func(a, b int) bool { return nt.Configs[a].Key < nt.Configs[b].Key })
		if !validateOnly {
			f.topics[s.Name] = &nt
		}
		out[i] = topics.TopicResult{Name: s.Name, ID: t.ID}
	}
	return out, nil
}

func (f *fakeTopics) Describe(ctx context.Context, q topics.Query) (*topics.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := &topics.View{Brokers: slices.Clone(f.brokers)}
	seen := map[string]bool{}
	add := func(t *topics.Topic) {
		if !seen[t.Name] {
			seen[t.Name] = true
			v.Topics = append(v.Topics, t)
		}
	}
	switch {
	case q.All:
		for _, t := range f.topics {
			add(t)
		}
	default:
		for _, n := range q.Names {
			if t := f.topics[n]; t != nil {
				add(t)
			} else if !slices.Contains(v.Missing, n) {
				v.Missing = append(v.Missing, n)
			}
		}
		for _, id := range q.IDs {
			for _, t := range f.topics {
				if t.ID == id {
					add(t)
				}
			}
		}
	}
	sort.Slice(v.Topics, func(a, b int) bool { return v.Topics[a].Name < v.Topics[b].Name })
	v.DataGroups = map[uint64]*topics.DataGroup{}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			g := fakeGroup(int32(p.DataGroup) - 1001)
			v.DataGroups[g.ShardID] = g
		}
	}
	return v, nil
}

var fakeTopicDefaults = []topics.ResolvedConfig{
	{Key: "cleanup.policy", Value: "delete", Source: topics.SourceDefault, Type: topics.TypeList, Doc: "The retention policy."},
	{Key: "retention.ms", Value: "604800000", Source: topics.SourceDefault, Type: topics.TypeLong, Doc: "How long to keep a log."},
	{Key: "sasl.secret", Value: "hunter2", Source: topics.SourceDefault, Type: topics.TypePassword, Sensitive: true},
}

func (f *fakeTopics) TopicConfigs(t *topics.Topic) []topics.ResolvedConfig {
	out := slices.Clone(fakeTopicDefaults)
	for i := range out {
		for _, e := range t.Configs {
			if e.Key == out[i].Key {
				out[i].Value, out[i].Source = e.Value, topics.SourceTopic
			}
		}
	}
	return out
}

func (f *fakeTopics) BrokerConfigs() []topics.ResolvedConfig {
	return []topics.ResolvedConfig{
		{Key: "auto.create.topics.enable", Value: "true", Source: topics.SourceStaticBroker, Type: topics.TypeBoolean, ReadOnly: true},
		{Key: "num.partitions", Value: "1", Source: topics.SourceDefault, Type: topics.TypeInt, ReadOnly: true},
	}
}

// fakeCluster is a fixed ClusterInfo.
type fakeCluster struct{ controller int32 }

func (c fakeCluster) ControllerID() int32 { return c.controller }
