package node

import (
	"slices"

	"github.com/lni/dragonboat/v4"
)

// MetadataMembers returns the broker IDs of the metadata shard's members as
// this replica knows them (sorted), or nil when it does not know them yet.
// A local view: the metadata leader uses it to tell whether every member has
// registered before forming data groups.
func (n *Node) MetadataMembers() []int32 {
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return nil
	}
	for _, si := range info.ShardInfoList {
		if si.ShardID != MetadataShardID || si.Pending {
			continue
		}
		ids := make([]int32, 0, len(si.Replicas))
		for id := range si.Replicas {
			ids = append(ids, int32(id))
		}
		slices.Sort(ids)
		return ids
	}
	return nil
}
