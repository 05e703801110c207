package node

import (
	"fmt"
	"os"
	"sync"

	"github.com/lni/dragonboat/v4/logger"
	"github.com/rs/zerolog"
)

// Dragonboat's logger factory is process-global and may be installed once,
// before the first NodeHost. The first node to start installs it; with
// several nodes in one process (tests) Dragonboat's lines carry the first
// node's fields plus "pkg".
var installLogger sync.Once

func installDragonboatLogger(base zerolog.Logger) {
	installLogger.Do(func() {
		logger.SetLoggerFactory(func(pkg string) logger.ILogger {
			lvl := logger.INFO
			switch pkg {
			case "raft", "rsm", "transport", "dragonboat", "logdb", "LogDB", "pebblekv", "tan", "config", "settings":
				lvl = logger.WARNING // chatty at INFO
			}
			if os.Getenv("SKIFF_DRAGONBOAT_DEBUG") != "" {
				lvl = logger.DEBUG // every package at debug: for diagnosing Raft itself
			}
			return &dbLogger{l: base.With().Str("component", "dragonboat").Str("pkg", pkg).Logger(), lvl: lvl}
		})
	})
}

type dbLogger struct {
	l   zerolog.Logger
	lvl logger.LogLevel
}

func (z *dbLogger) SetLevel(l logger.LogLevel) { z.lvl = l }

func (z *dbLogger) Debugf(f string, a ...interface{}) {
	if logger.DEBUG <= z.lvl {
		z.l.Debug().Msgf(f, a...)
	}
}

func (z *dbLogger) Infof(f string, a ...interface{}) {
	if logger.INFO <= z.lvl {
		z.l.Info().Msgf(f, a...)
	}
}

func (z *dbLogger) Warningf(f string, a ...interface{}) {
	if logger.WARNING <= z.lvl {
		z.l.Warn().Msgf(f, a...)
	}
}

func (z *dbLogger) Errorf(f string, a ...interface{}) {
	if logger.ERROR <= z.lvl {
		z.l.Error().Msgf(f, a...)
	}
}

// Panicf must panic: Dragonboat relies on it for invariant violations.
func (z *dbLogger) Panicf(f string, a ...interface{}) {
	m := fmt.Sprintf(f, a...)
	z.l.WithLevel(zerolog.PanicLevel).Msg(m)
	panic(m)
}
