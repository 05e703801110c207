// Package statemachine is the metadata shard's Dragonboat on-disk state
// machine (DESIGN §2): brokers, topics with their partitions, data groups and
// the next free shard ID, kept in memory for reads and persisted in pebble.
//
// Public surface: the command, query and state types (command.go, query.go,
// types.go), the codec (codec.go) and NewFactory (metadata.go).
//
// # Concurrency and lock order
//
// Dragonboat calls Update, Sync, PrepareSnapshot, RecoverFromSnapshot and
// Close from one goroutine at a time; Lookup and SaveSnapshot run
// concurrently with them. There is one lock, StateMachine.mu (RWMutex):
//
//   - Update is the only writer of the in-memory state. It reads the published
//     state without the lock, builds its changes in a private overlay (tx),
//     commits them to pebble, and then publishes them under mu.Lock.
//   - Lookup holds mu.RLock for its whole run (a digest iterates pebble under
//     it, so Close, which takes mu.Lock, never closes pebble under a reader).
//   - Values reachable from published *Topic, *Broker and *DataGroup are never
//     mutated (copy on write), so Lookup callers read them without locks.
//
// No other lock is taken while mu is held, except pebble's internal ones.
//
// # Storage
//
// One pebble key per topic (the whole record, partitions included), per
// broker, per data group and per heartbeat counter, plus the next free shard
// ID and the applied index (keys.go). Each Update writes its changes and the
// applied index in one pebble batch, so Open returns exactly the index whose
// effects are on disk.
package statemachine
