package node

import (
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/plugin/tan"
)

// logDBConfig picks the Raft log store. Both carry the metadata shard and
// the data groups of this NodeHost. The pebble store uses the small-memory
// preset (1 GiB bound): the tiny preset returns ErrSystemBusy under 64
// concurrent 64 KiB proposals and the default lets pebble keep 1.5-2 GiB
// resident (notes-dragonboat.md, LogDB choice). tan allocates its 16 write
// buffers on the Go heap at open, so it gets the tiny preset (4 MiB each).
func logDBConfig(kind string) config.ExpertConfig {
	if kind == "tan" {
		return config.ExpertConfig{LogDB: config.GetTinyMemLogDBConfig(), LogDBFactory: tan.Factory}
	}
	return config.ExpertConfig{LogDB: config.GetSmallMemLogDBConfig()}
}
