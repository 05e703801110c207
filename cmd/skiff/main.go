// Command skiff is the Skiff broker: a Kafka-compatible message broker whose
// cluster metadata lives in the brokers themselves, in Dragonboat Raft.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "skiff",
		Usage: "a Kafka-compatible broker with embedded Raft metadata",
		Description: "Start a one-node broker with `skiff start`; every flag can also be set\n" +
			"through the SKIFF_* environment variable shown next to it.",
		Commands: []*cli.Command{startCommand(), benchCommand()},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		os.Exit(1)
	}
}
