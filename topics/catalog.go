package topics

import "context"

// MetadataReader reads topic metadata; *node.Node implements it.
// ReadTopics is linearizable; LocalTopics reads the local replica of the
// metadata shard without that guarantee.
type MetadataReader interface {
	ReadTopics(ctx context.Context, q Query) (*View, error)
	LocalTopics(q Query) (*View, error)
}

// Catalog is one metadata view indexed by topic name and ID: how the data
// path and the group coordinator resolve the topics of a Kafka request
// (which names a topic either by name or, in newer versions, by ID).
type Catalog struct {
	View   *View
	byName map[string]*Topic
	byID   map[TopicID]*Topic
}

// NewCatalog indexes v.
func NewCatalog(v *View) *Catalog {
	c := &Catalog{View: v, byName: make(map[string]*Topic, len(v.Topics)), byID: make(map[TopicID]*Topic, len(v.Topics))}
	for _, t := range v.Topics {
		c.byName[t.Name] = t
		c.byID[t.ID] = t
	}
	return c
}

// Topic returns the topic named name, or the topic with id when name is
// "" (requests that address topics by ID leave the name empty); nil when
// it does not exist in the view.
func (c *Catalog) Topic(name string, id TopicID) *Topic {
	if name == "" {
		return c.byID[id]
	}
	return c.byName[name]
}

// complete reports whether every name and ID is in the catalog.
func (c *Catalog) complete(names []string, ids []TopicID) bool {
	for _, n := range names {
		if c.byName[n] == nil {
			return false
		}
	}
	for _, id := range ids {
		if c.byID[id] == nil {
			return false
		}
	}
	return true
}

// ReadCatalog resolves names and ids through one linearizable read: a topic
// that is absent from it does not exist (it was never created, or its
// deletion has committed).
func ReadCatalog(ctx context.Context, r MetadataReader, names []string, ids []TopicID) (*Catalog, error) {
	v, err := r.ReadTopics(ctx, Query{Names: names, IDs: ids})
	if err != nil {
		return nil, err
	}
	return NewCatalog(v), nil
}

// LocalCatalog resolves names and ids from the local metadata replica, with
// no round trip, and through one linearizable read when one of them is
// missing locally (a topic created a moment ago, not yet applied here). A
// topic it returns may have been deleted a moment ago: use it only where
// that is harmless (doc.go of node, "Which reads are local"); a path that
// could create state for a deleted topic uses ReadCatalog.
func LocalCatalog(ctx context.Context, r MetadataReader, names []string, ids []TopicID) (*Catalog, error) {
	if v, err := r.LocalTopics(Query{Names: names, IDs: ids}); err == nil {
		if c := NewCatalog(v); c.complete(names, ids) {
			return c, nil
		}
	}
	return ReadCatalog(ctx, r, names, ids)
}
