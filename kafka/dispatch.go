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
type handlerFunc func(s *Server, ctx context.Context, req kmsg.Request) (kmsg.Response, error)

// apiEntry is one registered API: the versions we accept and the handler.
type apiEntry struct {
	key     int16
	name    string
	minV    int16
	maxV    int16
	handler handlerFunc
}

// registry maps API keys to handlers. It is filled by init functions in the
// handle_*.go files (which run sequentially) and only read afterwards.
var registry = map[int16]*apiEntry{}

// register adds an API to the registry. It panics on a duplicate key, an
// empty or negative range, or a range beyond what kmsg can decode.
func register(k kmsg.Key, minV, maxV int16, h handlerFunc) {
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
	registry[key] = &apiEntry{key: key, name: kmsg.NameForKey(key), minV: minV, maxV: maxV, handler: h}
}

// lookupAPI returns the entry for key, or nil if the key is not registered.
func lookupAPI(key int16) *apiEntry { return registry[key] }

// supports reports whether version is inside the entry's range.
func (e *apiEntry) supports(version int16) bool {
	return version >= e.minV && version <= e.maxV
}

// registeredAPIs lists the registry as ApiVersions advertises it, sorted by
// key.
func registeredAPIs() []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(registry))
	for _, e := range registry {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = e.key, e.minV, e.maxV
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}
