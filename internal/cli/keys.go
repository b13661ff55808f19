package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/encryption"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

const keysHelp = `Usage: nango keys <subcommand> [flags]

Encryption at rest (docs/encryption.md). The keys come from NANGO_ENCRYPTION_KEY
and NANGO_ENCRYPTION_PREVIOUS_KEYS (or their _FILE twins), as for the server.

Subcommands:
  status [--json]  how many stored secrets use which key id, which configured key
                   each is, whether a server would start, and what to do
  rotate           encrypt plaintext secrets and re-encrypt those on previous keys
                   with NANGO_ENCRYPTION_KEY now, with progress; exits when no
                   secret uses an old key
  decrypt --yes    decrypt every secret and turn encryption off (stop every server
                   first); needs the keys in NANGO_ENCRYPTION_KEY and/or
                   NANGO_ENCRYPTION_PREVIOUS_KEYS
  generate         print a new random key (base64 of 32 bytes) on stdout
`

// runKeys implements `nango keys`.
func runKeys(ctx context.Context, o IO, args []string) error {
	if len(args) == 0 {
		return usagef("expected a subcommand: status, rotate, decrypt or generate")
	}
	var err error
	switch args[0] {
	case "help", "-h", "-help", "--help":
		_, _ = io.WriteString(o.Stdout, keysHelp)
		return nil
	case "status":
		err = keysStatus(ctx, o, args[1:])
	case "rotate":
		err = keysRotate(ctx, o, args[1:])
	case "decrypt":
		err = keysDecrypt(ctx, o, args[1:])
	case "generate":
		err = keysGenerate(o, args[1:])
	default:
		return usagef("unknown subcommand %q (expected status, rotate, decrypt or generate)", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(o.Stdout, keysHelp)
		return nil
	}
	return err
}

// noArgs parses flags and refuses positional arguments.
func noArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// keysStore opens the store of cfg (migrating it when migrate is set) and
// its encryption manager. Only warnings reach stderr: the commands print
// their own progress.
func keysStore(ctx context.Context, o IO, cfg *config.Config, migrate bool) (store.Store, *encryption.Manager, error) {
	log := newLogger(o.Stderr, max(cfg.LogLevel, slog.LevelWarn), cfg.LogFormat)
	st, err := server.OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if migrate {
		err = st.Migrate(ctx)
	} else {
		var applied, latest int
		applied, latest, err = st.SchemaVersion(ctx)
		if err == nil && applied < latest {
			err = fmt.Errorf("the database schema is at version %d and this nango expects %d: run `nango migrate` (or start the server) first", applied, latest)
		}
	}
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	m, err := encryption.NewForConfig(cfg, st, encryption.Options{Logger: log})
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, m, nil
}

func keysStatus(ctx context.Context, o IO, args []string) error {
	fs := newFlags("keys status")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	st, m, err := keysStore(ctx, o, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := m.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(o.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printStatus(o.Stdout, s)
	return nil
}

func printStatus(w io.Writer, s encryption.Status) {
	if s.Current != "" {
		fmt.Fprintf(w, "Encryption at rest: on (NANGO_ENCRYPTION_KEY has key id %s)\n", s.Current)
	} else {
		fmt.Fprintln(w, "Encryption at rest: off (NANGO_ENCRYPTION_KEY is not set)")
	}
	fmt.Fprintf(w, "Previous keys (NANGO_ENCRYPTION_PREVIOUS_KEYS): %s\n", listOrNone(s.Previous))
	fmt.Fprintf(w, "Keys recorded in the database: %s\n\n", listOrNone(s.Recorded))
	if len(s.Rows) == 0 {
		fmt.Fprintln(w, "No secret is stored yet.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tKEY ID\tVALUES\tKEY")
		for _, r := range s.Rows {
			id := r.KeyID
			if id == "" {
				id = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Table, id, r.Count, roleText(r.Role))
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
	if s.StartError == "" {
		fmt.Fprintln(w, "Server start-up check: passes")
	} else {
		fmt.Fprintf(w, "Server start-up check: FAILS, a server would refuse to start: %s\n", s.StartError)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What to do:")
	for _, a := range s.Advice {
		fmt.Fprintf(w, "  - %s\n", a)
	}
}

func roleText(r encryption.Role) string {
	switch r {
	case encryption.RoleCurrent:
		return "current (NANGO_ENCRYPTION_KEY)"
	case encryption.RolePrevious:
		return "previous (NANGO_ENCRYPTION_PREVIOUS_KEYS)"
	case encryption.RoleNotConfigured:
		return "NOT CONFIGURED (cannot be read)"
	}
	return "plaintext (not encrypted)"
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// progressPrinter prints Run's progress at most once a second.
func progressPrinter(w io.Writer, verb string) func(encryption.Progress) {
	var last time.Time
	return func(p encryption.Progress) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "  %s %d, about %d left\n", verb, p.Rewritten, p.Remaining)
	}
}

func keysRotate(ctx context.Context, o IO, args []string) error {
	fs := newFlags("keys rotate")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	if cfg.EncryptionKey.IsZero() {
		return errors.New("NANGO_ENCRYPTION_KEY is not set: `nango keys rotate` encrypts with it. Set it to the new key and put the old key(s) in NANGO_ENCRYPTION_PREVIOUS_KEYS; to turn encryption off instead, use `nango keys decrypt --yes`")
	}
	st, m, err := keysStore(ctx, o, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	plan, err := m.Prepare(ctx)
	if err != nil {
		return err
	}
	cur := plan.Current
	plain := plan.Usage.Count("")
	fmt.Fprintf(o.Stdout, "Re-encrypting with key id %s: %d secret(s) to rewrite (%d in plaintext, %d on other keys).\n",
		cur, plan.Pending(), plain, plan.Pending()-plain)
	total := 0
	var res encryption.Result
	// A server still running with another key may write old-key values
	// while we work: go round again until none is left.
	for round := 0; ; round++ {
		res, err = m.Run(ctx, progressPrinter(o.Stdout, "re-encrypted"))
		total += res.Rewritten
		if err != nil {
			return fmt.Errorf("%w (%d secret(s) re-encrypted before the error; run the command again to resume)", err, total)
		}
		if res.Usage.NotOn(cur) == 0 {
			break
		}
		if round == 2 {
			return fmt.Errorf("%d secret(s) keep appearing on other keys: a server with another NANGO_ENCRYPTION_KEY is still writing. Give every instance the same configuration, then run the command again", res.Usage.NotOn(cur))
		}
	}
	fmt.Fprintf(o.Stdout, "Done: re-encrypted %d secret(s); every stored secret uses key id %s.\n", total, cur)
	if len(res.Dropped) > 0 {
		fmt.Fprintf(o.Stdout, "Dropped key id(s) %s from the database's key record.\n", strings.Join(res.Dropped, ", "))
	}
	kr, _ := encryption.KeyringFromConfig(cfg)
	var unused []string
	for _, id := range kr.KeyIDs() {
		if id != cur {
			unused = append(unused, id)
		}
	}
	if len(unused) > 0 {
		fmt.Fprintf(o.Stdout, "No secret uses previous key id(s) %s any more: remove them from NANGO_ENCRYPTION_PREVIOUS_KEYS once every server instance runs with key id %s.\n",
			strings.Join(unused, ", "), cur)
	}
	return nil
}

func keysDecrypt(ctx context.Context, o IO, args []string) error {
	fs := newFlags("keys decrypt")
	yes := fs.Bool("yes", false, "confirm: store every secret in plaintext")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if !*yes {
		return usagef("decrypt stores every token and client secret in the database in plaintext and turns encryption off. Stop every server first, then run `nango keys decrypt --yes` to confirm")
	}
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	dcfg := encryption.DecryptConfig(cfg)
	st, m, err := keysStore(ctx, o, dcfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	plan, err := m.Prepare(ctx)
	if err != nil {
		return fmt.Errorf("cannot decrypt: %w", err)
	}
	fmt.Fprintf(o.Stdout, "Decrypting %d secret(s).\n", plan.Pending())
	res, err := m.Run(ctx, progressPrinter(o.Stdout, "decrypted"))
	if err != nil {
		return fmt.Errorf("%w (%d secret(s) decrypted before the error; run the command again to resume)", err, res.Rewritten)
	}
	if n := res.Usage.NotOn(""); n > 0 {
		return fmt.Errorf("%d secret(s) were encrypted again while decrypting: a server is still running with NANGO_ENCRYPTION_KEY. Stop every server, then run the command again", n)
	}
	fmt.Fprintf(o.Stdout, "Done: decrypted %d secret(s); every stored secret is in plaintext and the database records no key.\n", res.Rewritten)
	fmt.Fprintln(o.Stdout, "Now remove NANGO_ENCRYPTION_KEY and NANGO_ENCRYPTION_PREVIOUS_KEYS (and their _FILE twins) from the configuration before starting the server: a server started with NANGO_ENCRYPTION_KEY set encrypts everything again.")
	return nil
}

func keysGenerate(o IO, args []string) error {
	fs := newFlags("keys generate")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	k, text := secret.GenerateKey()
	fmt.Fprintln(o.Stdout, text.Reveal())
	fmt.Fprintf(o.Stderr, "New encryption key, key id %s. Set it as NANGO_ENCRYPTION_KEY (to rotate, move the old key to NANGO_ENCRYPTION_PREVIOUS_KEYS first).\n"+
		"Keep a copy apart from the database backups: without the key, the encrypted secrets cannot be recovered.\n", k.ID())
	return nil
}
