package topics

import (
	"context"
	"errors"
	"testing"
)

// catalogReader answers LocalTopics from local and ReadTopics from fresh
// (nil: an error), counting the calls.
type catalogReader struct {
	local, fresh  []*Topic
	locals, reads int
}

func answer(ts []*Topic, q Query) *View {
	v := &View{}
	for _, n := range q.Names {
		found := false
		for _, t := range ts {
			if t.Name == n {
				v.Topics, found = append(v.Topics, t), true
			}
		}
		if !found {
			v.Missing = append(v.Missing, n)
		}
	}
	for _, id := range q.IDs {
		for _, t := range ts {
			if t.ID == id {
				v.Topics = append(v.Topics, t)
			}
		}
	}
	return v
}

func (r *catalogReader) LocalTopics(q Query) (*View, error) {
	r.locals++
	return answer(r.local, q), nil
}

func (r *catalogReader) ReadTopics(_ context.Context, q Query) (*View, error) {
	r.reads++
	if r.fresh == nil {
		return nil, errors.New("no leader")
	}
	return answer(r.fresh, q), nil
}

func TestTopicsCatalog(t *testing.T) {
	a := &Topic{Name: "a", ID: TopicID{1}}
	b := &Topic{Name: "b", ID: TopicID{2}}
	ctx := context.Background()

	// Everything is local: no linearizable read.
	r := &catalogReader{local: []*Topic{a, b}, fresh: []*Topic{a}}
	c, err := LocalCatalog(ctx, r, []string{"a"}, []TopicID{b.ID})
	if err != nil || r.reads != 0 || c.Topic("a", TopicID{}) != a || c.Topic("", b.ID) != b {
		t.Fatalf("all local: %v, %d linearizable reads, %+v", err, r.reads, c.View)
	}
	// A name is resolved by name, an ID only when the name is empty.
	if c.Topic("a", b.ID) != a || c.Topic("", TopicID{9}) != nil || c.Topic("c", TopicID{}) != nil {
		t.Fatal("Topic resolves by name first, by ID only without a name")
	}

	// A topic missing locally (created a moment ago): one linearizable read.
	r = &catalogReader{local: []*Topic{a}, fresh: []*Topic{a, b}}
	c, err = LocalCatalog(ctx, r, nil, []TopicID{a.ID, b.ID})
	if err != nil || r.reads != 1 || c.Topic("", b.ID) != b {
		t.Fatalf("missing locally: %v, %d linearizable reads", err, r.reads)
	}
	// Missing everywhere: absent, not an error.
	c, err = LocalCatalog(ctx, r, []string{"gone"}, nil)
	if err != nil || c.Topic("gone", TopicID{}) != nil || len(c.View.Missing) != 1 {
		t.Fatalf("missing everywhere: %v %+v", err, c.View)
	}

	// ReadCatalog never trusts the local replica: b, deleted, is gone.
	r = &catalogReader{local: []*Topic{a, b}, fresh: []*Topic{a}}
	c, err = ReadCatalog(ctx, r, []string{"b"}, []TopicID{b.ID})
	if err != nil || r.locals != 0 || r.reads != 1 || c.Topic("b", TopicID{}) != nil || c.Topic("", b.ID) != nil {
		t.Fatalf("ReadCatalog: %v, %d local and %d linearizable reads", err, r.locals, r.reads)
	}
	// A failed linearizable read is an error for both.
	r = &catalogReader{local: []*Topic{a}}
	if _, err := LocalCatalog(ctx, r, []string{"b"}, nil); err == nil {
		t.Fatal("LocalCatalog hid a failed linearizable read")
	}
	if _, err := ReadCatalog(ctx, r, []string{"a"}, nil); err == nil {
		t.Fatal("ReadCatalog hid a failed read")
	}
}
