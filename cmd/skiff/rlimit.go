package main

import (
	"syscall"

	"github.com/rs/zerolog"
)

// raiseFileLimit lifts the soft limit on open files to the hard limit, as
// Kafka's packaging does: every partition replica with data keeps its
// active segment open, and running out of descriptors fails a data group's
// apply, which stops the broker.
func raiseFileLimit(log zerolog.Logger) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if l.Cur < l.Max {
		old := l.Cur
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			log.Warn().Err(err).Uint64("limit", old).Msg("could not raise the open-file limit")
			return
		}
	}
	if l.Cur < 65536 {
		log.Warn().Uint64("limit", l.Cur).Msg("open-file limit is low for a broker: each partition replica with data holds a file open")
	}
}
