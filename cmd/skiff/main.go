// Command skiff is the Skiff broker: a Kafka-compatible message broker whose
// cluster metadata lives in the brokers themselves, in Dragonboat Raft.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-broker/skiff/cmd/skiff/admin"
)

func main() {
	app := &cli.App{
		Name:  "skiff",
		Usage: "a Kafka-compatible broker with embedded Raft metadata",
		Description: "Start a one-node broker with `skiff start`; every flag can also be set\n" +
			"through the SKIFF_* environment variable shown next to it. The admin commands\n" +
			"(topic, group, cluster, produce, consume) talk Kafka to --brokers (SKIFF_BROKERS).\n\n" +
			"Exit status: 0 success, 1 error (and any bad `start` flag), 2 usage error of an admin\n" +
			"command (unknown command or flag, missing or malformed argument).",
		Commands:  append([]*cli.Command{startCommand(), benchCommand()}, admin.Commands()...),
		Writer:    os.Stdout,
		ErrWriter: os.Stderr,
	}
	os.Exit(admin.Run(app, os.Args))
}
