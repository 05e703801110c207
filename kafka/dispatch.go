package kafka

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc answers one decoded request. A returned error means the
// request could not be answered at all: the connection is closed (kfake's
// convention). Business failures are error codes inside the response.
//
// A nil Response with a nil error means "no response": Kafka sends nothing
// back for a Produce with acks=0. conn.go allows that only for such a
// request (noResponse) and closes the connection otherwise, so a handler
// bug cannot leave a client waiting.
type handlerFunc func(s *Server, ctx context.Context, req kmsg.Request) (kmsg.Response, error)

// apiEntry is one registered API: the versions we accept and the handler.
type apiEntry struct {
	key     int16
	name    string
	minV    int16
	maxV    int16
	handler handlerFunc
	// needs lists the services the API requires: a data API
	// (registerData) is served and advertised only when Config.Records is
	// set, a group API (registerGroup) only when Config.Groups is.
	needs feature
	// advMin is the lowest version ApiVersions advertises: minV, except
	// where Kafka advertises versions it no longer serves (advertiseFrom).
	advMin int16
}

// feature is a set of optional services a server has.
type feature uint8

const (
	featRecords  feature = 1 << iota // Config.Records
	featGroups                       // Config.Groups
	featConsumer                     // Config.Groups serves KIP-848 consumer groups
	allFeatures  = featRecords | featGroups | featConsumer
)

// registry maps API keys to handlers. It is filled by init functions in the
// handle_*.go files (which run sequentially) and only read afterwards.
var registry = map[int16]*apiEntry{}

// register adds an API to the registry. It panics on a duplicate key, an
// empty or negative range, or a range beyond what kmsg can decode.
func register(k kmsg.Key, minV, maxV int16, h handlerFunc) { registerAPI(k, minV, maxV, h, 0) }

// registerData is register for a data API, which needs Config.Records: a
// server without a RecordService neither advertises nor accepts it.
func registerData(k kmsg.Key, minV, maxV int16, h handlerFunc) {
	registerAPI(k, minV, maxV, h, featRecords)
}

// registerGroup is register for a group API, which needs Config.Groups.
func registerGroup(k kmsg.Key, minV, maxV int16, h handlerFunc) {
	registerAPI(k, minV, maxV, h, featGroups)
}

// registerConsumerGroup is register for a KIP-848 API: it needs a
// GroupService whose ConsumerProtocol is true.
func registerConsumerGroup(k kmsg.Key, minV, maxV int16, h handlerFunc) {
	registerAPI(k, minV, maxV, h, featGroups|featConsumer)
}

func registerAPI(k kmsg.Key, minV, maxV int16, h handlerFunc, needs feature) {
	key := k.Int16()
	req := kmsg.RequestForKey(key)
	switch {
	case req == nil:
		panic(fmt.Sprintf("kafka: register unknown api key %d", key))
	case minV < 0 || maxV < minV:
		panic(fmt.Sprintf("kafka: register %s: bad version range %d..%d", kmsg.NameForKey(key), minV, maxV))
	case maxV > req.MaxVersion():
		panic(fmt.Sprintf("kafka: register %s: max version %d beyond kmsg's %d", kmsg.NameForKey(key), maxV, req.MaxVersion()))
	case h == nil:
		panic(fmt.Sprintf("kafka: register %s: nil handler", kmsg.NameForKey(key)))
	}
	if _, dup := registry[key]; dup {
		panic(fmt.Sprintf("kafka: api %s registered twice", kmsg.NameForKey(key)))
	}
	registry[key] = &apiEntry{key: key, name: kmsg.NameForKey(key), minV: minV, maxV: maxV, handler: h,
		needs: needs, advMin: minV}
}

// advertiseFrom makes ApiVersions advertise a registered API from version
// v, below the lowest one served. Kafka 4 does this for Produce v0-2
// (KAFKA-18659): librdkafka enables compression only when Produce v0 is
// advertised, so without it librdkafka clients silently send uncompressed
// batches. A request at such a version still closes the connection.
func advertiseFrom(k kmsg.Key, v int16) {
	e := registry[k.Int16()]
	if e == nil || v < 0 || v > e.minV {
		panic(fmt.Sprintf("kafka: advertiseFrom %s v%d: not below a registered range", k.Name(), v))
	}
	e.advMin = v
}

// lookupAPI returns the entry for key, or nil if the key is not registered
// or needs a service the server does not have.
func lookupAPI(key int16, have feature) *apiEntry {
	e := registry[key]
	if e == nil || e.needs&^have != 0 {
		return nil
	}
	return e
}

// hasRecords reports whether the server serves the data APIs.
func (s *Server) hasRecords() bool { return s.cfg.Records != nil }

// features is the set of optional services this server has.
func (s *Server) features() feature { return s.cfg.features() }

// features is the set of optional services c configures.
func (c *Config) features() feature {
	var f feature
	if c.Records != nil {
		f |= featRecords
	}
	if c.Groups != nil {
		f |= featGroups
		if c.Groups.ConsumerProtocol() {
			f |= featConsumer
		}
	}
	return f
}

// supports reports whether version is inside the entry's range.
func (e *apiEntry) supports(version int16) bool {
	return version >= e.minV && version <= e.maxV
}

// registeredAPIs lists the registry as ApiVersions advertises it, sorted by
// key: the APIs whose services are in have.
func registeredAPIs(have feature) []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(registry))
	for _, e := range registry {
		if e.needs&^have != 0 {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = e.key, e.advMin, e.maxV
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}
