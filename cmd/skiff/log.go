package main

import (
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// newLogger builds the process logger: console format on a terminal, JSON
// otherwise (or as --log-format says), with a node field.
func newLogger(level, format string, nodeID uint64) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	var console bool
	switch format {
	case "auto":
		console = isatty.IsTerminal(os.Stderr.Fd())
	case "console":
		console = true
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: want auto, console or json", format)
	}
	var l zerolog.Logger
	if console {
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339Nano})
	} else {
		l = zerolog.New(os.Stderr)
	}
	return l.Level(lvl).With().Timestamp().Uint64("node", nodeID).Logger(), nil
}
