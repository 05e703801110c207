// Package pebblekv holds what the metadata shard's and the data groups'
// pebble stores share: options with pebble's logs in zerolog, and an
// ordered key/value source over a DB or a snapshot.
package pebblekv

import (
	"fmt"

	"github.com/cockroachdb/pebble"
	dbsm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/rs/zerolog"
)

// Options are the pebble options of the state machines' stores: pebble's
// log lines and background errors go to log.
func Options(log zerolog.Logger) *pebble.Options {
	log = log.With().Str("pkg", "pebble").Logger()
	return &pebble.Options{
		Logger: logger{log},
		EventListener: pebble.EventListener{
			BackgroundError: func(err error) { log.Error().Err(err).Msg("pebble background error") },
			DiskSlow:        func(info pebble.DiskSlowInfo) { log.Warn().Msg(info.String()) },
		},
	}
}

// logger sends pebble's log lines to zerolog.
type logger struct{ l zerolog.Logger }

func (p logger) Infof(format string, args ...interface{}) {
	p.l.Info().Msgf(format, args...)
}

func (p logger) Fatalf(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	p.l.WithLevel(zerolog.FatalLevel).Msg(msg)
	panic("pebble: " + msg)
}

// Source calls fn for every stored key/value in ascending key order.
type Source func(fn func(k, v []byte) error) error

// Iter is a Source over the keys of r (a DB or a Snapshot) in [lo, hi).
// It checks stopc every 1024 keys and returns dbsm.ErrOpenStopped.
func Iter(r pebble.Reader, lo, hi []byte, stopc <-chan struct{}) Source {
	return func(fn func(k, v []byte) error) error {
		it := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		n := 0
		for valid := it.First(); valid; valid = it.Next() {
			if n++; n%1024 == 0 && Stopped(stopc) {
				_ = it.Close()
				return dbsm.ErrOpenStopped
			}
			if err := fn(it.Key(), it.Value()); err != nil {
				_ = it.Close()
				return err
			}
		}
		return it.Close()
	}
}

// Stopped reports whether stopc is closed (a nil channel never is).
func Stopped(stopc <-chan struct{}) bool {
	select {
	case <-stopc:
		return true
	default:
		return false
	}
}
