// Package admin is the `skiff` operator CLI: topic, group, cluster, produce
// and consume commands. Everything goes through the Kafka protocol with
// franz-go (kadm/kgo) against --brokers, except the metadata digests of
// `cluster status`, read from each node's HTTP /debug/digest.
//
// Exit codes: 0 success, 1 error (the cluster refused or could not be
// reached, a topic or group does not exist, ...), 2 usage (unknown command
// or flag, missing or malformed argument).
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

// Exit codes documented in the package comment and README.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// UsageError marks a mistake in the command line (exit code 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var u UsageError
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitError
}

// Run runs app with args and returns the exit code; errors are printed to
// app.ErrWriter. It keeps urfave/cli from exiting the process itself.
func Run(app *cli.App, args []string) int {
	app.ExitErrHandler = func(*cli.Context, error) {}
	if app.OnUsageError == nil {
		app.OnUsageError = onUsageError
	}
	var notFound error // CommandNotFound's complaint: app.Run returns nil for it
	app.CommandNotFound = func(c *cli.Context, name string) {
		notFound = fmt.Errorf("unknown command %q (see %s --help)", name, c.App.Name)
	}
	err := app.Run(interspersed(app, args))
	if err == nil && notFound != nil {
		err = UsageError{notFound}
	}
	if err != nil {
		fmt.Fprintf(errWriter(app), "%s: %v\n", app.Name, err)
	}
	return ExitCode(err)
}

func errWriter(app *cli.App) io.Writer {
	if app.ErrWriter != nil {
		return app.ErrWriter
	}
	return app.Writer
}

func onUsageError(_ *cli.Context, err error, _ bool) error { return UsageError{err} }

// Commands returns the admin commands, to add to the skiff app.
func Commands() []*cli.Command {
	cmds := []*cli.Command{topicCommand(), groupCommand(), clusterCommand(), produceCommand(), consumeCommand()}
	for _, c := range cmds {
		setUsageErrors(c)
	}
	return cmds
}

// setUsageErrors makes flag errors and unknown subcommands usage errors
// (exit code 2) throughout a command tree.
func setUsageErrors(c *cli.Command) {
	c.OnUsageError = onUsageError
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return usagef("unknown command %q for %q (see --help)", ctx.Args().First(), c.FullName())
			}
			_ = cli.ShowSubcommandHelp(ctx)
			return usagef("%s needs a subcommand", c.FullName())
		}
	}
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
}

// connFlags are the flags of every command that talks to the cluster.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "brokers", Aliases: []string{"b"}, Value: cli.NewStringSlice("127.0.0.1:9092"),
			EnvVars: []string{"SKIFF_BROKERS"}, Usage: "Kafka `ADDRS` (host:port,...) of any brokers of the cluster"},
		&cli.StringFlag{Name: "format", Aliases: []string{"o"}, Value: "table", Usage: "output `FORMAT`: table or json"},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up after this long"},
	}
}

// env is what a command run needs: clients, output, a deadline.
type env struct {
	c      *cli.Context
	ctx    context.Context
	cancel context.CancelFunc
	cl     *kgo.Client
	adm    *kadm.Client
	out    io.Writer
	json   bool
}

// newEnv checks the common flags and connects (lazily: kgo dials on first use).
func newEnv(c *cli.Context, opts ...kgo.Opt) (*env, error) {
	format := c.String("format")
	if format != "table" && format != "json" {
		return nil, usagef("--format must be table or json, not %q", format)
	}
	brokers := splitList(c.StringSlice("brokers"))
	if len(brokers) == 0 {
		return nil, usagef("--brokers is empty")
	}
	opts = append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RequestRetries(5)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	e := &env{c: c, cl: cl, adm: kadm.NewClient(cl), out: c.App.Writer, json: format == "json"}
	e.ctx, e.cancel = context.WithTimeout(c.Context, c.Duration("timeout"))
	return e, nil
}

func (e *env) close() {
	e.cancel()
	e.cl.Close()
}

// run wraps an action: set up the env, run f, tear down.
func run(f func(e *env) error, opts ...kgo.Opt) cli.ActionFunc {
	return func(c *cli.Context) error {
		e, err := newEnv(c, opts...)
		if err != nil {
			return err
		}
		defer e.close()
		return f(e)
	}
}

// emit writes v as indented JSON, or the table built by table.
func (e *env) emit(v any, table func(w *tabwriter.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

// splitList flattens repeated and comma-separated flag values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseKV parses key=value flag values.
func parseKV(flag string, vs []string) (map[string]*string, error) {
	out := map[string]*string{}
	for _, kv := range vs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--%s %q: want key=value", flag, kv)
		}
		out[k] = &v
	}
	return out, nil
}

func ints(is []int32) string {
	s := make([]string, len(is))
	for i, v := range is {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// needArgs checks the positional argument count.
func needArgs(c *cli.Context, min int, what string) error {
	if c.NArg() < min {
		return usagef("%s: missing %s (see --help)", c.Command.FullName(), what)
	}
	return nil
}
