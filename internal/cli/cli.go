package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
)

// Exit codes scripts can rely on.
const (
	ExitOK    = 0 // success
	ExitError = 1 // the command failed (bad configuration, server said no, ...)
	ExitUsage = 2 // the command line was wrong
)

// IO is the environment a command runs in.
type IO struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// Env reads environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// DotenvPath overrides the .env location ("-" disables it); "" = ./.env.
	DotenvPath string
}

func (o IO) lookup(name string) (string, bool) {
	if o.Env != nil {
		return o.Env(name)
	}
	return os.LookupEnv(name)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the name
	run     func(ctx context.Context, io IO, args []string) error
}

// usageError makes Run print the command's usage and exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

// commands is the explicit registry of subcommands (no init registration).
func commands() map[string]*command {
	list := []*command{
		{name: "serve", summary: "Run the server", run: runServe},
		{name: "migrate", summary: "Apply database migrations and exit", run: runMigrate},
		{name: "version", summary: "Print version and commit", run: runVersion},
		{name: "config", summary: "Configuration tools", usage: "dump", run: runConfig},
		{name: "keys", summary: "Encryption keys: status, rotate, decrypt, generate", usage: "status|rotate|decrypt|generate", run: runKeys},
		apiCommand("config:list"),
		apiCommand("config:get"),
		apiCommand("config:create"),
		apiCommand("config:edit"),
		apiCommand("config:delete"),
		apiCommand("connection:list"),
		apiCommand("connection:get"),
		apiCommand("connection:import"),
		apiCommand("connection:delete"),
		apiCommand("token:get"),
		apiCommand("proxy"),
		apiCommand("completion"),
	}
	m := make(map[string]*command, len(list))
	for _, c := range list {
		m[c.name] = c
	}
	return m
}

// Run runs the command line args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, o IO) int {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	cmds := commands()
	if len(args) == 0 {
		printUsage(o.Stderr, cmds)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			if c, ok := cmds[args[1]]; ok {
				printCommandUsage(o.Stdout, c)
				return ExitOK
			}
		}
		printUsage(o.Stdout, cmds)
		return ExitOK
	}
	c, ok := cmds[name]
	if !ok {
		fmt.Fprintf(o.Stderr, "nango: unknown command %q\n\n", name)
		printUsage(o.Stderr, cmds)
		return ExitUsage
	}
	err := c.run(ctx, o, args[1:])
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		printCommandUsage(o.Stdout, c)
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(o.Stderr, "nango %s: %s\n\n", c.name, ue.msg)
		printCommandUsage(o.Stderr, c)
		return ExitUsage
	case errors.As(err, &ee):
		msg := ee.err.Error()
		if strings.HasPrefix(msg, "❌ ") {
			// A server's answer, printed as the reference CLI did.
			fmt.Fprintln(o.Stderr, msg)
		} else {
			fmt.Fprintf(o.Stderr, "nango %s: %s\n", c.name, msg)
		}
		return ee.code
	default:
		fmt.Fprintf(o.Stderr, "nango %s: %v\n", c.name, err)
		return ExitError
	}
}

func printUsage(w io.Writer, cmds map[string]*command) {
	fmt.Fprintln(w, "Usage: nango <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-22s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'nango help <command>' or 'nango <command> --help' for details.")
}

func printCommandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "%s\n\nUsage: nango %s %s\n", c.summary, c.name, c.usage)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	return nil
}

// newLogger builds the server logger on stderr.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
