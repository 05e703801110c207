package consumergroup

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsets.retention.minutes is checked by Validate, naming the flag.
func TestGroupsConfigOffsetsRetention(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.OffsetsRetention != 7*24*time.Hour || cfg.OffsetsRetentionCheckInterval != 10*time.Minute {
		t.Errorf("defaults %v / %v, want Kafka's 7 days / 10 min", cfg.OffsetsRetention, cfg.OffsetsRetentionCheckInterval)
	}
	cfg.OffsetsRetention = -time.Minute
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--offsets.retention.minutes") {
		t.Errorf("negative retention: %v", err)
	}
	if c := (Config{}).withDefaults(); c.OffsetsRetention != 7*24*time.Hour {
		t.Errorf("zero retention became %v, want the default", c.OffsetsRetention)
	}
}

// Kafka's expiry conditions, group by group.
func TestGroupsOffsetsExpiryConditions(t *testing.T) {
	const hour = int64(time.Hour / time.Millisecond)
	newG := func() *group {
		return &group{members: map[string]*member{}, offsets: map[string]map[int32]*committed{}}
	}
	expired := func(g *group, now int64) ([]topicPartition, bool) { return g.expiredOffsets(now, hour) }

	// Standalone: from each commit's time; an explicit expiry wins.
	g := newG()
	g.setOffset("a", 0, &committed{CommitMs: 0})
	g.setOffset("a", 1, &committed{CommitMs: hour})
	g.setOffset("b", 0, &committed{CommitMs: 0, ExpireMs: 10 * hour})
	if out, all := expired(g, hour); len(out) != 1 || out[0] != (topicPartition{"a", 0}) || all {
		t.Errorf("standalone at 1 h: %v all %v", out, all)
	}
	if out, all := expired(g, 10*hour); len(out) != 3 || !all {
		t.Errorf("standalone at 10 h: %v all %v", out, all)
	}

	// Empty classic group: from when it became Empty; not while its Empty
	// record is still to be written.
	g = newG()
	g.protocolType, g.hasMeta, g.state = "consumer", true, stateEmpty
	g.metaValue = &kmsg.GroupMetadataValue{CurrentStateTimestamp: 5 * hour}
	g.setOffset("a", 0, &committed{CommitMs: 0})
	if out, _ := expired(g, 5*hour+hour-1); len(out) != 0 {
		t.Errorf("empty for < 1 h: %v expired", out)
	}
	if out, all := expired(g, 6*hour); len(out) != 1 || !all {
		t.Errorf("empty for 1 h: %v all %v", out, all)
	}
	g.metaValue.Members = []kmsg.GroupMetadataValueMember{{MemberID: "m"}}
	if out, all := expired(g, 100*hour); len(out) != 0 || all {
		t.Errorf("Empty record pending: %v all %v", out, all)
	}

	// Stable consumer group: subscribed topics are kept.
	g = newG()
	g.protocolType, g.protocol, g.state = "consumer", "range", stateStable
	md := kmsg.ConsumerMemberMetadata{Topics: []string{"a"}}
	g.members["m"] = &member{id: "m", protocols: []Protocol{{Name: "range", Metadata: md.AppendTo(nil)}}}
	g.setOffset("a", 0, &committed{CommitMs: 0})
	g.setOffset("b", 0, &committed{CommitMs: 0})
	if out, all := expired(g, 2*hour); len(out) != 1 || out[0].topic != "b" || all {
		t.Errorf("stable: %v all %v", out, all)
	}
	// Rebalancing: nothing expires.
	g.state = statePreparingRebalance
	if out, _ := expired(g, 100*hour); len(out) != 0 {
		t.Errorf("rebalancing: %v expired", out)
	}
}

// A commit with an explicit expiry is stored as OffsetCommitValue v1 and
// reads back with it.
func TestGroupsLogExpireTimestampRoundTrip(t *testing.T) {
	rec := offsetRecord("g", "t", 1, committed{Offset: 9, LeaderEpoch: 4, CommitMs: 100, ExpireMs: 500})
	e, err := decodeEntry(0, rec.Key, rec.Value)
	if err != nil || e.commit == nil || e.commit.Offset != 9 || e.commit.ExpireMs != 500 || e.commit.CommitMs != 100 || e.commit.LeaderEpoch != -1 {
		t.Errorf("v1 commit: %+v %v", e.commit, err)
	}
	rec = offsetRecord("g", "t", 1, committed{Offset: 9, LeaderEpoch: 4, CommitMs: 100})
	if e, err := decodeEntry(0, rec.Key, rec.Value); err != nil || e.commit.ExpireMs != 0 || e.commit.LeaderEpoch != 4 {
		t.Errorf("v3 commit: %+v %v", e.commit, err)
	}
}
