package kafka

import (
	"net"
	"strconv"

	"github.com/skiff-broker/skiff/topics"
)

// endpoint is a broker's advertised Kafka address split for the wire.
type endpoint struct {
	host string
	port int32
	rack *string
}

// brokerEndpoint parses b.KafkaAddr. ok is false for an unusable address,
// which is left out of responses rather than sent as garbage.
func brokerEndpoint(b *topics.Broker) (endpoint, bool) {
	host, portStr, err := net.SplitHostPort(b.KafkaAddr)
	if err != nil {
		return endpoint{}, false
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return endpoint{}, false
	}
	ep := endpoint{host: host, port: int32(port)}
	if b.Rack != "" {
		rack := b.Rack
		ep.rack = &rack
	}
	return ep, true
}

// aliveSet returns the IDs of the brokers that are alive.
func aliveSet(brokers []*topics.Broker) map[int32]bool { return topics.AliveBrokers(brokers) }
