// Command nbench is nango-go's benchmark suite (see bench/README.md).
//
//	nbench run [flags]        start the servers, seed, measure, write results
//	nbench report FILE.json   print a results file as Markdown
//	nbench load [flags]       the load generator alone (like wrk)
//	nbench hello -addr A      the hello-world reference server
//	nbench provider -addr A   the counting OAuth 2 token endpoint
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nango-go/nango/bench/internal/fake"
	"github.com/nango-go/nango/bench/internal/load"
	"github.com/nango-go/nango/bench/internal/suite"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = runSuite(ctx, os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	case "load":
		err = runLoad(ctx, os.Args[2:])
	case "hello":
		err = serve(ctx, os.Args[2:], fake.Hello())
	case "provider":
		fs := flag.NewFlagSet("provider", flag.ExitOnError)
		delay := fs.Duration("delay", 0, "added to every token answer")
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		_ = fs.Parse(os.Args[2:])
		err = listenAndServe(ctx, *addr, &fake.Provider{Delay: *delay})
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: nbench run|report|load|hello|provider [flags] (see bench/README.md)")
	os.Exit(2)
}

func serve(ctx context.Context, args []string, h http.Handler) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	_ = fs.Parse(args)
	return listenAndServe(ctx, *addr, h)
}

// listenAndServe prints "listening ADDR" on stdout once it listens.
func listenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runSuite(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o suite.Options
	var env listFlag
	smoke := fs.Bool("smoke", false, "2 s per scenario, one run, few connections: checks that everything works, no thresholds")
	fs.StringVar(&o.Nango, "nango", "", "the nango binary under test (required)")
	fs.StringVar(&o.PGAdminURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URL where scratch databases nango_bench* may be created and dropped")
	backends := fs.String("backends", "postgres,sqlite", "backends to measure")
	fs.IntVar(&o.Conns, "c", 50, "connections of the load generator")
	fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "warm-up before each measured run")
	fs.DurationVar(&o.Duration, "d", 20*time.Second, "measured time of each run")
	fs.IntVar(&o.Reps, "reps", 3, "runs of each scenario (the median is reported)")
	fs.IntVar(&o.Connections, "connections", 10_000, "connections imported through the API")
	fs.IntVar(&o.Storm, "storm", 1_000, "expired connections of the refresh storm")
	scale := fs.String("scale", "10000,100000,1000000", "connection counts of the scale runs (PostgreSQL, COPY); empty skips")
	fs.DurationVar(&o.ScaleDuration, "scale-d", 10*time.Second, "measured time of each scale scenario")
	only := fs.String("only", "", "comma-separated load scenarios to run (hello,proxy-direct,proxy-direct-c1,token,health,config,proxy,proxy-c1)")
	fs.Var(&env, "env", "KEY=value added to the server's environment (repeatable)")
	fs.StringVar(&o.Work, "work", filepath.Join(os.TempDir(), "nango-bench"), "working directory (logs, SQLite files)")
	out := fs.String("out", "", "write the results as JSON here (default WORK/results.json)")
	md := fs.String("md", "", "also write the Markdown tables here")
	_ = fs.Parse(args)
	if o.Nango == "" {
		return fmt.Errorf("-nango is required")
	}
	if *smoke {
		o.Smoke = true
		o.Duration, o.Warmup, o.Reps, o.ScaleDuration = 2*time.Second, 500*time.Millisecond, 1, 2*time.Second
		o.Connections, o.Storm = 200, 50
		if *scale == "10000,100000,1000000" {
			*scale = "1000"
		}
	}
	for _, b := range strings.Split(*backends, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.Backends = append(o.Backends, b)
		}
	}
	for _, s := range strings.Split(*scale, ",") {
		if s = strings.TrimSpace(s); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("-scale: %q is not a number", s)
			}
			o.Scale = append(o.Scale, n)
		}
	}
	if *only != "" {
		o.Only = strings.Split(*only, ",")
	}
	o.Env = env
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o.Self = self
	o.Log = os.Stderr
	res, runErr := suite.Run(ctx, o)
	if res != nil {
		path := *out
		if path == "" {
			path = filepath.Join(o.Work, "results.json")
		}
		if err := res.WriteJSON(path); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "results:", path)
		res.WriteMarkdown(os.Stdout)
		if *md != "" {
			f, err := os.Create(*md)
			if err != nil {
				return err
			}
			res.WriteMarkdown(f)
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
	return runErr
}

func report(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: nbench report results.json")
	}
	res, err := suite.ReadResults(args[0])
	if err != nil {
		return err
	}
	res.WriteMarkdown(os.Stdout)
	return nil
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "http://host:port/path (repeatable via -path)")
	conns := fs.Int("c", 50, "connections")
	d := fs.Duration("d", 10*time.Second, "measured time")
	warm := fs.Duration("warmup", 2*time.Second, "warm-up")
	var headers, paths listFlag
	fs.Var(&headers, "H", "header 'Name: value' (repeatable)")
	fs.Var(&paths, "path", "extra path to pick from at random (repeatable)")
	_ = fs.Parse(args)
	rest, ok := strings.CutPrefix(*url, "http://")
	if !ok {
		return fmt.Errorf("-url must be http://host:port/path")
	}
	host, path, _ := strings.Cut(rest, "/")
	var hs []string
	for _, h := range headers {
		n, v, _ := strings.Cut(h, ":")
		hs = append(hs, strings.TrimSpace(n), strings.TrimSpace(v))
	}
	reqs := []load.Request{load.NewRequest("GET", host, "/"+path, hs, nil)}
	for _, p := range paths {
		reqs = append(reqs, load.NewRequest("GET", host, p, hs, nil))
	}
	res, err := load.Run(ctx, load.Options{Addr: host, Conns: *conns, Warmup: *warm, Duration: *d, Pick: load.Random(reqs)})
	if err != nil {
		return err
	}
	fmt.Println(res)
	return nil
}
