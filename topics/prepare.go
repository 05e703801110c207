package topics

import (
	"context"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// Data groups ready before the first create (issue #11). Placement puts the
// c-th partition on the copyset ring[c..c+rf-1] with its first broker as
// preferred leader, so for the live brokers and the default replication
// factor the groups a create will use are known in advance: one per ring
// position. The metadata leader proposes EnsureDataGroups for those that do
// not exist yet when the cluster starts and whenever a broker joins (or
// the live set changes), so their replicas start and elect leaders before
// any CreateTopics needs them; a create then only writes metadata.
//
// To form groups for the final broker set, not for each broker as it
// registers at start-up, it waits until every metadata-shard member is
// registered and alive (when the store cannot list the members: until the
// live set has not changed for prepareSettle). While a member is down it
// forms nothing: groups are never removed, and a create that needs a group
// for the brokers that are left forms it itself, as before.

// memberLister is implemented by *node.Node.
type memberLister interface{ MetadataMembers() []int32 }

const (
	prepareInterval = 100 * time.Millisecond
	prepareSettle   = 5 * time.Second
)

// RunDataGroupPreparer forms data groups ahead of creates while this node
// leads the metadata shard, until ctx ends.
func (s *Service) RunDataGroupPreparer(ctx context.Context) {
	tick := time.NewTicker(prepareInterval)
	defer tick.Stop()
	var lastSet uint64
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !s.cfg.Store.IsLeader() {
			continue
		}
		view, err := s.localView(statemachine.QueryTopics{})
		if err != nil {
			continue
		}
		if view.BrokerSet != lastSet {
			lastSet, since = view.BrokerSet, time.Now()
		}
		if ready, known := s.membersRegistered(view); !ready && (known || time.Since(since) < prepareSettle) {
			continue
		}
		keys := s.missingGroups(view)
		if len(keys) == 0 {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = s.cfg.Store.Propose(pctx, "ensure_data_groups", statemachine.EnsureDataGroups{Groups: keys})
		cancel()
		if err != nil {
			s.log.Debug().Err(err).Msg("forming data groups failed; retrying")
			continue
		}
		s.log.Info().Int("groups", len(keys)).Msg("formed data groups for the live brokers")
	}
}

// membersRegistered reports whether every metadata-shard member is a
// registered, alive broker; known is false when the store cannot list the
// members.
func (s *Service) membersRegistered(view *View) (ready, known bool) {
	ml, ok := s.cfg.Store.(memberLister)
	if !ok {
		return false, false
	}
	members := ml.MetadataMembers()
	if len(members) == 0 {
		return false, true
	}
	alive := AliveBrokers(view.Brokers)
	for _, m := range members {
		if !alive[m] {
			return false, true
		}
	}
	return true, true
}

// missingGroups returns the keys of the data groups that placement of the
// default replication factor would use on view's live brokers and that the
// view's groups lack.
func (s *Service) missingGroups(view *View) []statemachine.DataGroupKey {
	keys := PreparedGroupKeys(view.Brokers, s.cfg.DefaultReplicationFactor)
	if len(keys) == 0 {
		return nil
	}
	groups, err := s.cfg.Store.LocalDataGroupTable()
	if err != nil {
		return nil
	}
	have := map[string]bool{}
	for _, g := range groups {
		have[groupKeyString(g.Members, g.Slot)] = true
	}
	var out []statemachine.DataGroupKey
	for _, k := range keys {
		if !have[groupKeyString(k.Members, k.Slot)] {
			out = append(out, k)
		}
	}
	return out
}

// PreparedGroupKeys returns the data groups that automatic placement with
// replication factor rf (0: min(3, live brokers)) uses on brokers: one per
// ring position, in ring order, without duplicates.
func PreparedGroupKeys(brokers []*Broker, rf int16) []statemachine.DataGroupKey {
	ring := placementRing(brokers)
	if len(ring) == 0 {
		return nil
	}
	n := int(rf)
	if n <= 0 {
		n = min(3, len(ring))
	}
	if n > len(ring) {
		return nil
	}
	seen := map[string]bool{}
	var out []statemachine.DataGroupKey
	for c := range ring {
		k := groupKeyOf(placeReplicas(ring, n, c))
		if ks := groupKeyString(k.Members, k.Slot); !seen[ks] {
			seen[ks] = true
			out = append(out, k)
		}
	}
	return out
}

func groupKeyString(members []int32, slot uint8) string {
	b := make([]byte, 0, 4*len(members)+1)
	for _, m := range members {
		b = append(b, byte(m), byte(m>>8), byte(m>>16), byte(m>>24))
	}
	return string(append(b, slot))
}
