package node

import (
	"context"
	"time"

	"github.com/skiff-broker/skiff/statemachine"
)

// Broker liveness, KRaft-style: every broker registers its Kafka address and
// rack through the metadata shard and then proposes a heartbeat every
// HeartbeatInterval. The metadata leader watches each broker's heartbeat
// counter with its own monotonic clock (no cross-node clock comparisons) and
// proposes FenceBroker, conditional on the counter it saw, when a counter
// has not moved for SessionTimeout. A fenced broker that heartbeats again is
// alive again. Kafka clients only see alive brokers.

func (n *Node) registerAndHeartbeat(ctx context.Context) {
	log := n.log.With().Str("component", "liveness").Logger()
	register := func() bool {
		cmd := statemachine.RegisterBroker{
			ID: n.ID(), KafkaAddr: n.cfg.KafkaAddr, Rack: n.cfg.Rack, Incarnation: n.incarnation, RaftAddr: n.cfg.RaftAddr,
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := n.Propose(rctx, "register_broker", cmd); err != nil {
			if ctx.Err() == nil {
				log.Debug().Err(err).Msg("broker registration not committed yet; retrying")
			}
			return false
		}
		log.Info().Str("kafka_addr", n.cfg.KafkaAddr).Str("rack", n.cfg.Rack).Msg("broker registered")
		n.registered.Store(true)
		return true
	}
	tick := time.NewTicker(n.cfg.HeartbeatInterval)
	defer tick.Stop()
	registered := register()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !registered {
			registered = register()
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatInterval*2)
		res, err := n.Propose(hctx, "heartbeat", statemachine.Heartbeat{ID: n.ID(), Incarnation: n.incarnation})
		cancel()
		if err != nil {
			continue // retried on the next tick; fencing tolerates several misses
		}
		if len(res.Codes) == 1 && res.Codes[0] == statemachine.CodeUnknownBroker {
			log.Warn().Msg("metadata shard does not know this incarnation; registering again")
			registered = register()
		}
	}
}

type watch struct {
	count uint64
	since time.Time
}

func (n *Node) fenceLoop(ctx context.Context) {
	log := n.log.With().Str("component", "liveness").Logger()
	tick := time.NewTicker(n.cfg.HeartbeatInterval / 2)
	defer tick.Stop()
	var watched map[int32]watch // nil while not leader
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !n.IsLeader() {
			watched = nil
			continue
		}
		bv, err := n.LocalBrokers()
		if err != nil {
			continue
		}
		now := time.Now()
		if watched == nil {
			// New leader: give every broker a full session from now.
			watched = map[int32]watch{}
		}
		for i, b := range bv.Brokers {
			c := bv.Heartbeats[i]
			w, ok := watched[b.ID]
			if !ok || w.count != c {
				watched[b.ID] = watch{count: c, since: now}
				continue
			}
			if !b.Alive || now.Sub(w.since) < n.cfg.SessionTimeout {
				continue
			}
			fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			res, err := n.Propose(fctx, "fence_broker", statemachine.FenceBroker{ID: b.ID, IfHeartbeats: c})
			cancel()
			if err == nil && len(res.Codes) == 1 && res.Codes[0] == statemachine.CodeOK {
				n.m.fenced.Inc()
				log.Warn().Int32("broker", b.ID).Dur("silent_for", now.Sub(w.since)).Msg("fenced broker: no heartbeat within the session timeout")
			}
		}
	}
}
