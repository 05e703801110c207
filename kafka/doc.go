// Package kafka is Skiff's Kafka wire front: it accepts client connections,
// decodes requests with kmsg, dispatches them to one handler per API and
// writes the responses back in request order.
//
// kafka reaches the rest of the broker only through the small interfaces in
// config.go (TopicService, ClusterInfo), dataservice.go (RecordService;
// optional: without it the data APIs are neither advertised nor served) and
// groupservice.go (GroupService; optional likewise for the group APIs, and
// the KIP-848 APIs also need GroupService.ConsumerProtocol); it
// imports neither node nor statemachine (STYLE §1). Kafka error codes live
// only here, in errors.go.
//
// Concurrency: one goroutine per connection, started through
// Server.goTracked. Requests on a connection are handled serially. The only
// mutex is Server.mu, which guards the listener and connection sets; it is
// never held while doing I/O or calling a handler, and no other lock is
// taken while holding it.
package kafka
