package statemachine

// Queries accepted by the state machine's Lookup: through SyncRead
// (linearizable) or StaleRead (this replica), by node's typed Read* and
// Local* methods. Each returns the documented type.

// QueryTopics returns *View with the brokers and the named topics (all
// topics when All is set). Names not found are listed in View.Missing.
// IDs selects topics by ID as well (missing IDs are ignored).
type QueryTopics struct {
	All   bool
	Names []string
	IDs   []TopicID
}

// View is a consistent point-in-time read of the metadata state.
type View struct {
	Index   uint64    // applied index the view was read at
	Brokers []*Broker // all registered brokers, sorted by ID
	Topics  []*Topic  // requested topics that exist, sorted by name
	Missing []string  // requested names that do not exist, in request order
	// DataGroups holds the data groups referenced by Topics, by shard ID.
	DataGroups map[uint64]*DataGroup
	// PartitionCount is the number of partitions in the whole cluster.
	PartitionCount int
	// BrokerSet is the broker-set version placement was computed against:
	// carry it in CreateTopicPlaced.
	BrokerSet uint64
}

// QueryBrokers returns *BrokersView: every broker and its heartbeat counter.
type QueryBrokers struct{}

// BrokersView lists brokers (sorted by ID) and their heartbeat counters.
type BrokersView struct {
	Brokers    []*Broker
	Heartbeats []uint64 // Heartbeats[i] belongs to Brokers[i]
}

// QueryDigest returns Digest.
type QueryDigest struct{}

// Digest is a SHA-256 over the durable state in key order, excluding the
// applied index and heartbeat counters, so that replicas that applied the
// same commands have equal digests.
type Digest struct {
	Index  uint64
	Sum    string // hex
	Topics int
}

// QueryDataGroups returns []*DataGroup, all data groups sorted by shard ID.
type QueryDataGroups struct{}
