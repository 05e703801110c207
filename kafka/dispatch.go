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
	// needsRecords marks a data API (registerData): it is served and
	// advertised only when Config.Records is set.
	needsRecords bool
}

// registry maps API keys to handlers. It is filled by init functions in the
// handle_*.go files (which run sequentially) and only read afterwards.
var registry = map[int16]*apiEntry{}

// register adds an API to the registry. It panics on a duplicate key, an
// empty or negative range, or a range beyond what kmsg can decode.
func register(k kmsg.Key, minV, maxV int16, h handlerFunc) { registerAPI(k, minV, maxV, h, false) }

// registerData is register for a data API, which needs Config.Records: a
// server without a RecordService neither advertises nor accepts it.
func registerData(k kmsg.Key, minV, maxV int16, h handlerFunc) { registerAPI(k, minV, maxV, h, true) }

func registerAPI(k kmsg.Key, minV, maxV int16, h handlerFunc, needsRecords bool) {
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
		needsRecords: needsRecords}
}

// lookupAPI returns the entry for key, or nil if the key is not registered
// or is a data API and records is false (the server has no RecordService).
func lookupAPI(key int16, records bool) *apiEntry {
	e := registry[key]
	if e == nil || (e.needsRecords && !records) {
		return nil
	}
	return e
}

// hasRecords reports whether the server serves the data APIs.
func (s *Server) hasRecords() bool { return s.cfg.Records != nil }

// supports reports whether version is inside the entry's range.
func (e *apiEntry) supports(version int16) bool {
	return version >= e.minV && version <= e.maxV
}

// registeredAPIs lists the registry as ApiVersions advertises it, sorted by
// key: without the data APIs unless records is true.
func registeredAPIs(records bool) []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(registry))
	for _, e := range registry {
		if e.needsRecords && !records {
			continue
		}
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = e.key, e.minV, e.maxV
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}
