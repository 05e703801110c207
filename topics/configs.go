package topics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// configDef describes one topic config Skiff knows.
type configDef struct {
	Name       string
	Type       ConfigType
	Default    string // Kafka's default, in canonical form
	BrokerName string // the broker-level config that holds the default
	Doc        string
	// normalize validates a value and returns its canonical form (numbers
	// trimmed, booleans lower case, lists de-duplicated without spaces).
	normalize func(string) (string, error)
}

const maxLongStr = "9223372036854775807"

// topicConfigs is the table of known topic configs, sorted by Name.
var topicConfigs = []configDef{
	{"cleanup.policy", TypeList, "delete", "log.cleanup.policy",
		"The retention policy of old log segments: a list of delete and compact.",
		listOf("compact", "delete")},
	{"compression.type", TypeString, "producer", "compression.type",
		"The final compression type of the topic; producer keeps the producer's codec.",
		oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")},
	{"delete.retention.ms", TypeLong, "86400000", "log.cleaner.delete.retention.ms",
		"How long delete tombstones are retained for compacted topics.",
		longAtLeast(0)},
	{"file.delete.delay.ms", TypeLong, "60000", "log.segment.delete.delay.ms",
		"The time to wait before deleting a file from the filesystem.",
		longAtLeast(0)},
	{"flush.messages", TypeLong, maxLongStr, "log.flush.interval.messages",
		"The number of messages written before the log is flushed.",
		longAtLeast(1)},
	{"flush.ms", TypeLong, maxLongStr, "log.flush.interval.ms",
		"The time after which the log is flushed.",
		longAtLeast(0)},
	{"index.interval.bytes", TypeInt, "4096", "log.index.interval.bytes",
		"How often an entry is added to the offset index.",
		intAtLeast(0)},
	{"max.compaction.lag.ms", TypeLong, maxLongStr, "log.cleaner.max.compaction.lag.ms",
		"The maximum time a message remains ineligible for compaction.",
		longAtLeast(1)},
	{"max.message.bytes", TypeInt, "1048588", "message.max.bytes",
		"The largest record batch size allowed.",
		intAtLeast(0)},
	{"message.timestamp.after.max.ms", TypeLong, maxLongStr, "log.message.timestamp.after.max.ms",
		"The largest allowed amount a CreateTime timestamp may be ahead of the broker's time.",
		longAtLeast(0)},
	{"message.timestamp.before.max.ms", TypeLong, maxLongStr, "log.message.timestamp.before.max.ms",
		"The largest allowed amount a CreateTime timestamp may be behind the broker's time.",
		longAtLeast(0)},
	{"message.timestamp.difference.max.ms", TypeLong, maxLongStr, "log.message.timestamp.difference.max.ms",
		"Deprecated: the largest allowed difference between a CreateTime timestamp and the broker's time.",
		longAtLeast(0)},
	{"message.timestamp.type", TypeString, "CreateTime", "log.message.timestamp.type",
		"Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
		oneOf("CreateTime", "LogAppendTime")},
	{"min.cleanable.dirty.ratio", TypeDouble, "0.5", "log.cleaner.min.cleanable.ratio",
		"The minimum ratio of dirty log to total log for compaction to run.",
		doubleBetween(0, 1)},
	{"min.compaction.lag.ms", TypeLong, "0", "log.cleaner.min.compaction.lag.ms",
		"The minimum time a message remains uncompacted.",
		longAtLeast(0)},
	{"min.insync.replicas", TypeInt, "1", "min.insync.replicas",
		"The minimum number of in-sync replicas for an acks=all produce to succeed.",
		intAtLeast(1)},
	{"preallocate", TypeBoolean, "false", "log.preallocate",
		"Whether segment files are preallocated.",
		boolean},
	{"retention.bytes", TypeLong, "-1", "log.retention.bytes",
		"The maximum size of a partition's log before old segments are deleted; -1 means no limit.",
		longAtLeast(-1)},
	{"retention.ms", TypeLong, "604800000", "log.retention.ms",
		"The maximum time a log segment is kept before deletion; -1 means no limit.",
		longAtLeast(-1)},
	{"segment.bytes", TypeInt, "1073741824", "log.segment.bytes",
		"The segment file size of the log.",
		intAtLeast(14)},
	{"segment.index.bytes", TypeInt, "10485760", "log.index.size.max.bytes",
		"The size of the index that maps offsets to file positions.",
		intAtLeast(4)},
	{"segment.jitter.ms", TypeLong, "0", "log.roll.jitter.ms",
		"The maximum random jitter subtracted from segment.ms.",
		longAtLeast(0)},
	{"segment.ms", TypeLong, "604800000", "log.roll.ms",
		"The time after which a segment is rolled even if it is not full.",
		longAtLeast(1)},
	{"unclean.leader.election.enable", TypeBoolean, "false", "unclean.leader.election.enable",
		"Whether replicas not in the ISR may be elected leader (data loss).",
		boolean},
}

// configByName indexes topicConfigs.
var configByName = func() map[string]*configDef {
	m := make(map[string]*configDef, len(topicConfigs))
	for i := range topicConfigs {
		m[topicConfigs[i].Name] = &topicConfigs[i]
	}
	return m
}()

// brokerDefaultConfigs are the broker-level defaults BrokerConfigs reports
// (the rest of the table is reported by TopicConfigs only).
var brokerDefaultConfigs = []string{
	"retention.ms", "retention.bytes", "max.message.bytes", "cleanup.policy",
	"segment.bytes", "message.timestamp.type", "min.insync.replicas",
}

// normalizeConfig validates key=value and returns the canonical value. The
// error wraps ErrInvalidConfig with Kafka's wording.
func normalizeConfig(key, value string) (string, error) {
	d, ok := configByName[key]
	if !ok {
		return "", errorf(ErrInvalidConfig, "Unknown topic config name: %s", key)
	}
	v, err := d.normalize(value)
	if err != nil {
		return "", errorf(ErrInvalidConfig, "Invalid value %s for configuration %s: %s", value, key, err.Error())
	}
	return v, nil
}

// resolveCreateConfigs validates the configs of a CreateTopics spec and
// returns them canonical and sorted by key. Nil values mean the default and
// are skipped; a key given twice is an error.
func resolveCreateConfigs(cfgs []ConfigValue) ([]ConfigEntry, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	out := make([]ConfigEntry, 0, len(cfgs))
	seen := make(map[string]bool, len(cfgs))
	for _, c := range cfgs {
		if seen[c.Key] {
			return nil, errorf(ErrInvalidConfig, "Duplicate config key: %s", c.Key)
		}
		seen[c.Key] = true
		if c.Value == nil {
			if _, ok := configByName[c.Key]; !ok {
				return nil, errorf(ErrInvalidConfig, "Unknown topic config name: %s", c.Key)
			}
			continue
		}
		v, err := normalizeConfig(c.Key, *c.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, ConfigEntry{Key: c.Key, Value: v})
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []ConfigEntry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Key < es[j].Key })
}

// resolveTopicConfigs lists every known config of a topic whose explicit
// configs are explicit (sorted by key): explicit values with SourceTopic,
// the rest with their defaults. Explicit keys this binary does not know are
// listed too, as strings.
func resolveTopicConfigs(explicit []ConfigEntry) []ResolvedConfig {
	set := make(map[string]string, len(explicit))
	for _, e := range explicit {
		set[e.Key] = e.Value
	}
	out := make([]ResolvedConfig, 0, len(topicConfigs)+len(explicit))
	for _, d := range topicConfigs {
		rc := ResolvedConfig{Key: d.Name, Value: d.Default, Source: SourceDefault, Type: d.Type, Doc: d.Doc}
		if v, ok := set[d.Name]; ok {
			rc.Value, rc.Source = v, SourceTopic
		}
		out = append(out, rc)
	}
	for _, e := range explicit {
		if _, ok := configByName[e.Key]; !ok {
			out = append(out, ResolvedConfig{Key: e.Key, Value: e.Value, Source: SourceTopic, Type: TypeString})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// TopicConfigs returns every known config of t, sorted by key: explicit
// values with SourceTopic, the others with their defaults and SourceDefault.
func (s *Service) TopicConfigs(t *Topic) []ResolvedConfig {
	if t == nil {
		return resolveTopicConfigs(nil)
	}
	return resolveTopicConfigs(t.Configs)
}

// BrokerConfigs returns the read-only broker configs: num.partitions,
// default.replication.factor (0 means min(3, live brokers)),
// auto.create.topics.enable and the broker-level defaults of the main topic
// configs, sorted by key. Values that differ from Kafka's default have
// SourceStaticBroker, the others SourceDefault.
func (s *Service) BrokerConfigs() []ResolvedConfig {
	src := func(v, kafkaDefault string) ConfigSource {
		if v == kafkaDefault {
			return SourceDefault
		}
		return SourceStaticBroker
	}
	np := strconv.Itoa(int(s.cfg.DefaultPartitions))
	rf := strconv.Itoa(int(s.cfg.DefaultReplicationFactor))
	ac := strconv.FormatBool(s.cfg.AutoCreateTopics)
	out := []ResolvedConfig{
		{Key: "num.partitions", Value: np, Source: src(np, "1"), Type: TypeInt, ReadOnly: true,
			Doc: "The default number of partitions per topic."},
		{Key: "default.replication.factor", Value: rf, Source: src(rf, "1"), Type: TypeShort, ReadOnly: true,
			Doc: "The default replication factor of topics; 0 means min(3, live brokers)."},
		{Key: "auto.create.topics.enable", Value: ac, Source: src(ac, "true"), Type: TypeBoolean, ReadOnly: true,
			Doc: "Whether topics are created when a client asks for metadata of a missing topic."},
	}
	for _, name := range brokerDefaultConfigs {
		d := configByName[name]
		out = append(out, ResolvedConfig{Key: d.BrokerName, Value: d.Default, Source: SourceDefault,
			Type: d.Type, ReadOnly: true, Doc: d.Doc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Validators. Their messages follow Kafka's ConfigDef (hence capitalized).

// configErr is a validator's message.
type configErr string

func (e configErr) Error() string { return string(e) }

func parseLong(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, configErr("Not a number of type LONG")
	}
	return n, nil
}

func longAtLeast(min int64) func(string) (string, error) {
	return func(v string) (string, error) {
		n, err := parseLong(v)
		if err != nil {
			return "", err
		}
		if n < min {
			return "", configErr(fmt.Sprintf("Value must be at least %d", min))
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func intAtLeast(min int64) func(string) (string, error) {
	return func(v string) (string, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return "", configErr("Not a number of type INT")
		}
		if n < min {
			return "", configErr(fmt.Sprintf("Value must be at least %d", min))
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func doubleBetween(min, max float64) func(string) (string, error) {
	return func(v string) (string, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return "", configErr("Not a number of type DOUBLE")
		}
		if f < min || f > max {
			return "", configErr(fmt.Sprintf("Value must be between %g and %g", min, max))
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
}

func boolean(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return "true", nil
	case "false":
		return "false", nil
	}
	return "", configErr("Expected value to be either true or false")
}

func oneOf(valid ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		t := strings.TrimSpace(v)
		for _, s := range valid {
			if t == s {
				return t, nil
			}
		}
		return "", configErr("String must be one of: " + strings.Join(valid, ", "))
	}
}

// listOf validates a comma-separated list whose elements are in valid; the
// canonical form has no spaces, no duplicates and keeps the given order.
func listOf(valid ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		elems := splitList(v)
		if len(elems) == 0 {
			return "", configErr("List must not be empty")
		}
		seen := make(map[string]bool, len(elems))
		out := elems[:0]
		for _, e := range elems {
			ok := false
			for _, s := range valid {
				ok = ok || e == s
			}
			if !ok {
				return "", configErr("Invalid value " + e + ", must be one of: " + strings.Join(valid, ", "))
			}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
		return strings.Join(out, ","), nil
	}
}

// splitList splits a comma-separated list, trimming and dropping empty
// elements.
func splitList(v string) []string {
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// TopicConfig returns topic t's value of a known topic config: its explicit
// value, or Kafka's default. ok is false for an unknown key.
func TopicConfig(t *Topic, key string) (value string, ok bool) {
	if t != nil {
		for _, e := range t.Configs {
			if e.Key == key {
				return e.Value, true
			}
		}
	}
	d := configByName[key]
	if d == nil {
		return "", false
	}
	return d.Default, true
}

// TopicConfigInt returns topic t's value of a known INT or LONG config: its
// explicit value, or the default in topicConfigs, which is the one home of
// these defaults (the data path reads max.message.bytes, segment.bytes and
// the retention limits through here). An explicit value that does not parse
// (never written by this binary: values are normalized) gives the default.
// key must be a known numeric config; callers pass constants, and any other
// key panics.
func TopicConfigInt(t *Topic, key string) int64 {
	d := configByName[key]
	if d == nil || (d.Type != TypeInt && d.Type != TypeLong) {
		panic("topics: TopicConfigInt: " + key + " is not a known numeric topic config")
	}
	def, err := strconv.ParseInt(d.Default, 10, 64)
	if err != nil {
		panic("topics: bad default for " + key)
	}
	if t != nil {
		for _, e := range t.Configs {
			if e.Key == key {
				if n, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 64); err == nil {
					return n
				}
				return def
			}
		}
	}
	return def
}

// CleanupPolicy reads topic t's cleanup.policy (explicit or the default,
// delete): deletes says time and size retention remove its old segments,
// compacts that the topic is compacted (Kafka keeps the latest record of
// each key). A compact-only topic is never shortened by retention.ms or
// retention.bytes, as in Kafka; "compact,delete" is both.
func CleanupPolicy(t *Topic) (deletes, compacts bool) {
	v, _ := TopicConfig(t, "cleanup.policy")
	for _, e := range splitList(v) {
		switch e {
		case "delete":
			deletes = true
		case "compact":
			compacts = true
		}
	}
	if !deletes && !compacts { // unparsable (never written by this binary): the default
		deletes = true
	}
	return deletes, compacts
}
