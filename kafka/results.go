package kafka

import (
	"errors"

	"github.com/skiff-broker/skiff/topics"
)

// errResultCount guards against a TopicService that breaks its contract
// of one result per spec.
var errResultCount = errors.New("kafka: topic service returned a result count that does not match the request")

// prepared is one entry of an admin request after the Kafka-level checks:
// either a spec for the TopicService or an error found while decoding it.
type prepared[S any] struct {
	spec S
	name string
	id   topics.TopicID
	err  error
}

// runPrepared calls the service once with the specs that passed the Kafka
// checks and returns one result per request entry, in request order. A
// whole-request error becomes every such entry's error.
func runPrepared[S any](items []prepared[S], call func([]S) ([]topics.TopicResult, error)) []topics.TopicResult {
	out := make([]topics.TopicResult, len(items))
	var (
		specs []S
		idx   []int
	)
	for i, it := range items {
		out[i] = topics.TopicResult{Name: it.name, ID: it.id, Err: it.err}
		if it.err == nil {
			specs = append(specs, it.spec)
			idx = append(idx, i)
		}
	}
	if len(specs) == 0 {
		return out
	}
	results, err := call(specs)
	if err == nil && len(results) != len(specs) {
		err = errResultCount
	}
	for j, i := range idx {
		if err != nil {
			out[i].Err = err
			continue
		}
		r := results[j]
		if r.Name == "" {
			r.Name = out[i].Name
		}
		out[i] = r
	}
	return out
}
