package kafka

// Metadata: v0-13
//
// Behavior:
//   - One linearizable Describe per request (plus one more after an
//     auto-creation). If it fails, the connection is closed: answering
//     "no topics" would be a lie, and clients retry metadata on a new
//     connection.
//   - Brokers: every broker with Alive set. ControllerID is the metadata
//     Raft leader's broker ID (ClusterInfo), -1 if unknown.
//   - Topics: all topics for a null list (an empty list at v0); otherwise
//     the requested ones, by name or (v12+) by ID, in request order, each
//     once. A non-zero ID wins over the name (the Java client sends "" as
//     the name of a topic it asks for by ID), as in Kafka. Unknown IDs get
//     UNKNOWN_TOPIC_ID.
//   - Missing names are auto-created through TopicService.AutoCreate (the
//     same funnel as CreateTopics) when the request allows it (v4+ flag, v0-3
//     always) and auto.create.topics.enable is on; __consumer_offsets is
//     created by the GroupService instead (internal, with the offsets
//     topic's settings), as Kafka does; a created topic is
//     returned normally. Invalid names get INVALID_TOPIC_EXCEPTION, a
//     creation not done in time LEADER_NOT_AVAILABLE, and missing topics
//     otherwise UNKNOWN_TOPIC_OR_PARTITION.
//   - Partitions report their data group's recorded leader and term
//     (topics.PartitionState). A leader that is unknown or not alive is
//     reported as -1 with LEADER_NOT_AVAILABLE, never guessed. ISR is the
//     replicas that are alive, OfflineReplicas the others.
//
// Version notes:
//   - v1: ControllerID, IsInternal, Rack, null topics = all
//   - v2: ClusterID; v3: ThrottleMillis; v4: AllowAutoTopicCreation
//   - v5: OfflineReplicas; v7: LeaderEpoch; v8: authorized operations (not
//     computed: no ACLs, left at the -2147483648 default)
//   - v9: flexible; v10: TopicID; v12: request topics by ID
//   - v13: top-level ErrorCode (always 0)

import (
	"context"
	"errors"
	"maps"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiff-broker/skiff/coordinator/consumergroup"
	"github.com/skiff-broker/skiff/topics"
)

func init() { register(kmsg.Metadata, 0, 13, (*Server).handleMetadata) }

// metadataWant is one requested topic: by name, or by ID when byID.
type metadataWant struct {
	name string
	id   topics.TopicID
	byID bool
}

func (s *Server) handleMetadata(ctx context.Context, kreq kmsg.Request) (kmsg.Response, error) {
	req := kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	ctx, cancel := readContext(ctx)
	defer cancel()

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	wants, q := metadataQuery(req, all)
	view, err := s.cfg.Topics.Describe(ctx, q)
	if err != nil {
		return nil, err
	}

	alive := aliveSet(view.Brokers)
	resp.Brokers = metadataBrokers(view.Brokers)
	if req.Version >= 2 {
		clusterID := s.cfg.ClusterID
		resp.ClusterID = &clusterID
	}
	resp.ControllerID = s.cfg.Cluster.ControllerID()

	if all {
		for _, t := range view.Topics {
			resp.Topics = append(resp.Topics, s.metadataTopic(view, t, alive))
		}
		return resp, nil
	}
	// leaders: the data groups of every topic reported, including those
	// auto-created below (read by a second Describe).
	leaders := &topics.View{DataGroups: maps.Clone(view.DataGroups)}
	if leaders.DataGroups == nil {
		leaders.DataGroups = map[uint64]*topics.DataGroup{}
	}

	byName := make(map[string]*topics.Topic, len(view.Topics))
	byID := make(map[topics.TopicID]*topics.Topic, len(view.Topics))
	for _, t := range view.Topics {
		byName[t.Name] = t
		byID[t.ID] = t
	}
	missing := s.autoCreate(ctx, req, view.Missing, byName, leaders.DataGroups)
	for _, w := range wants {
		switch {
		case w.byID && byID[w.id] != nil:
			resp.Topics = append(resp.Topics, s.metadataTopic(leaders, byID[w.id], alive))
		case w.byID:
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID = w.id
			mt.ErrorCode = s.countCode(kmsg.Metadata, kerr.UnknownTopicID.Code)
			resp.Topics = append(resp.Topics, mt)
		case byName[w.name] != nil:
			resp.Topics = append(resp.Topics, s.metadataTopic(leaders, byName[w.name], alive))
		default:
			code, ok := missing[w.name]
			if !ok {
				code = kerr.UnknownTopicOrPartition.Code
			}
			mt := kmsg.NewMetadataResponseTopic()
			name := w.name
			mt.Topic = &name
			mt.ErrorCode = s.countCode(kmsg.Metadata, code)
			resp.Topics = append(resp.Topics, mt)
		}
	}
	return resp, nil
}

// metadataQuery lists the requested topics, each once, in request order,
// and the Describe query for them.
func metadataQuery(req *kmsg.MetadataRequest, all bool) ([]metadataWant, topics.Query) {
	if all {
		return nil, topics.Query{All: true}
	}
	var (
		wants     []metadataWant
		q         topics.Query
		seenNames = map[string]bool{}
		seenIDs   = map[topics.TopicID]bool{}
	)
	for _, rt := range req.Topics {
		// A non-zero ID wins over the name, as in Kafka: the Java client
		// asks by ID with the name left at its default, "" (not null).
		byID := !topics.TopicID(rt.TopicID).IsZero() || rt.Topic == nil
		switch {
		case !byID:
			if !seenNames[*rt.Topic] {
				seenNames[*rt.Topic] = true
				wants = append(wants, metadataWant{name: *rt.Topic})
				q.Names = append(q.Names, *rt.Topic)
			}
		case !seenIDs[rt.TopicID]:
			// A null name with a zero ID finds nothing: UNKNOWN_TOPIC_ID.
			seenIDs[rt.TopicID] = true
			wants = append(wants, metadataWant{id: rt.TopicID, byID: true})
			if !topics.TopicID(rt.TopicID).IsZero() {
				q.IDs = append(q.IDs, rt.TopicID)
			}
		}
	}
	return wants, q
}

// autoCreate creates the missing topics if the request and the config allow
// it. Created topics are added to byName and their data groups to groups;
// the others get the code to report.
func (s *Server) autoCreate(ctx context.Context, req *kmsg.MetadataRequest, missing []string, byName map[string]*topics.Topic, dataGroups map[uint64]*topics.DataGroup) map[string]int16 {
	if len(missing) == 0 {
		return nil
	}
	codes := make(map[string]int16, len(missing))
	allowed := req.Version < 4 || req.AllowAutoTopicCreation
	if !allowed || !s.cfg.AutoCreate {
		return codes // all UNKNOWN_TOPIC_OR_PARTITION
	}
	var created []string
	if s.cfg.Groups != nil {
		// __consumer_offsets is the group coordinator's: created as an
		// internal topic with its own settings, never with the defaults.
		for i, name := range missing {
			if name != consumergroup.OffsetsTopic {
				continue
			}
			missing = append(missing[:i:i], missing[i+1:]...)
			codes[name] = kerr.LeaderNotAvailable.Code // until Describe finds it
			if err := s.cfg.Groups.EnsureOffsetsTopic(ctx); err != nil {
				s.log.Debug().Err(err).Msg("creating " + consumergroup.OffsetsTopic + " failed")
			} else {
				created = append(created, name)
			}
			break
		}
	}
	results, err := s.cfg.Topics.AutoCreate(ctx, missing)
	if err == nil && len(results) != len(missing) {
		err = errors.New("kafka: AutoCreate returned a result count that does not match the request")
	}
	if err != nil {
		s.log.Debug().Err(err).Strs("topics", missing).Msg("auto-create failed")
		for _, name := range missing {
			codes[name] = kerr.LeaderNotAvailable.Code
		}
		return codes
	}
	for i, r := range results {
		name := missing[i]
		if r.Err == nil || errors.Is(r.Err, topics.ErrTopicExists) {
			created = append(created, name)
			codes[name] = kerr.LeaderNotAvailable.Code // until Describe finds it
			continue
		}
		codes[name] = errorCode(r.Err)
	}
	if len(created) == 0 {
		return codes
	}
	view, err := s.cfg.Topics.Describe(ctx, topics.Query{Names: created})
	if err != nil {
		s.log.Debug().Err(err).Strs("topics", created).Msg("describe after auto-create failed")
		return codes
	}
	for _, t := range view.Topics {
		byName[t.Name] = t
	}
	maps.Copy(dataGroups, view.DataGroups)
	return codes
}

// metadataBrokers lists the alive brokers with a usable address.
func metadataBrokers(brokers []*topics.Broker) []kmsg.MetadataResponseBroker {
	out := make([]kmsg.MetadataResponseBroker, 0, len(brokers))
	for _, b := range brokers {
		if !b.Alive {
			continue
		}
		ep, ok := brokerEndpoint(b)
		if !ok {
			continue
		}
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port, mb.Rack = b.ID, ep.host, ep.port, ep.rack
		out = append(out, mb)
	}
	return out
}

// metadataTopic reports one existing topic.
//
// Leader, leader epoch, ISR and offline replicas come from
// topics.PartitionState (one source for each): the data group's recorded
// Raft leader and term, -1/-1 while unknown or not alive (never a guess),
// and the replicas that are alive.
func (s *Server) metadataTopic(view *topics.View, t *topics.Topic, alive map[int32]bool) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.Partitions))
	for i, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		st := topics.PartitionState(view, p, alive)
		mp.Leader, mp.LeaderEpoch = st.Leader, st.LeaderEpoch
		if st.Leader < 0 {
			mp.ErrorCode = s.countCode(kmsg.Metadata, kerr.LeaderNotAvailable.Code)
		}
		mp.Replicas = p.Replicas
		mp.ISR = st.ISR
		mp.OfflineReplicas = st.Offline
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}
