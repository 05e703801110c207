package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The binary's exit status for the admin commands: 2 for usage, 1 for
// failures, 0 for help (the admin package tests the commands themselves).
func TestCmdAdminExitStatus(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string // on stderr
	}{
		{[]string{"topic", "--help"}, 0, ""},
		{[]string{"topic"}, 2, "needs a subcommand"},
		{[]string{"no-such-command"}, 2, "unknown command"},
		{[]string{"group", "describe", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"topic", "list", "--brokers", "127.0.0.1:1", "--timeout", "2s"}, 1, "skiff:"},
	}
	for _, tc := range cases {
		cmd := exec.Command(skiffBin, tc.args...)
		cmd.Env = append(cmd.Environ(), "SKIFF_BROKERS=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("skiff %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
}
