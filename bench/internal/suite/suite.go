package suite

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nango-go/nango/bench/internal/fake"
	"github.com/nango-go/nango/bench/internal/load"
	"github.com/nango-go/nango/internal/secret"
)

// Options configure a suite run.
type Options struct {
	// Nango is the server binary under test; Self is nbench (started for the
	// hello-world reference and the OAuth provider).
	Nango, Self string
	// PGAdminURL reaches a PostgreSQL server where the suite may create and
	// drop its scratch databases (nango_bench_<pid>, nango_bench_scale_<pid>:
	// named after the process so that two runs on one server never share
	// one).
	PGAdminURL string
	// Backends to measure: "postgres", "sqlite".
	Backends []string
	// Load settings of every scenario.
	Conns            int
	Warmup, Duration time.Duration
	Reps             int
	// Connections is how many connections are imported through the API;
	// Storm how many expired ones the refresh storm uses.
	Connections, Storm int
	// Scale lists the connection counts of the scale runs (PostgreSQL, rows
	// written with COPY); empty skips them. ScaleDuration is each scale
	// scenario's measured time (one run each).
	Scale         []int
	ScaleDuration time.Duration
	// Only, when non-empty, restricts the load scenarios to these names
	// (hello, token, health, config, proxy-direct, proxy, proxy-direct-c1,
	// proxy-c1).
	Only []string
	// Env is added to the server's environment (e.g. NANGO_PPROF_ADDR).
	Env []string
	// Work holds the logs, the SQLite files and the providers file.
	Work string
	// Smoke checks that everything works (every answer 2xx, exactly one
	// refresh per connection) and fails otherwise.
	Smoke bool
	// Log receives progress.
	Log io.Writer
}

// Results is everything a run measured (written as JSON).
type Results struct {
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	// LoadAvg is /proc/loadavg when the run started and ended: other work
	// on the machine shows here.
	LoadAvg  [2]string `json:"loadavg"`
	Settings struct {
		Conns       int    `json:"conns"`
		Warmup      string `json:"warmup"`
		Duration    string `json:"duration"`
		Reps        int    `json:"reps"`
		Connections int    `json:"connections"`
		Storm       int    `json:"storm"`
		Commit      string `json:"commit"`
	} `json:"settings"`
	Scenarios []Scenario         `json:"scenarios"`
	Startup   map[string][]int64 `json:"startup_ns"` // backend → each start-up time
	Idle      map[string]Memory  `json:"idle"`       // backend → memory after start-up, before load
	// TokenRSS is the server's largest VmRSS during one token-fetch run on
	// a freshly started process (backend → bytes): the memory of a server
	// serving token fetches only. The scenarios' own RSS column is the
	// process all scenarios share, so from the second repetition on it
	// also holds what the proxy runs left (decoded connections).
	TokenRSS map[string]int64    `json:"token_rss_fresh_bytes,omitempty"`
	Storms   []Storm             `json:"storms"`
	Scale    []ScalePoint        `json:"scale"`
	Seed     map[string]SeedTime `json:"seed"`
}

// SeedTime is how long seeding through the API took.
type SeedTime struct {
	Connections int   `json:"connections"`
	Nanos       int64 `json:"ns"`
}

// Scenario is one load scenario's runs.
type Scenario struct {
	Name    string        `json:"name"`
	Backend string        `json:"backend"` // "" for the reference and direct calls
	Runs    []load.Result `json:"runs"`
	// MaxRSS is the server's largest VmRSS during each run; HWM its VmHWM
	// after the last.
	MaxRSS []int64 `json:"max_rss_bytes"`
	HWM    int64   `json:"hwm_bytes"`
}

// Median returns the median of each figure over the runs.
func (s Scenario) Median() load.Result {
	if len(s.Runs) == 0 {
		return load.Result{}
	}
	med := func(f func(load.Result) float64) float64 {
		v := make([]float64, len(s.Runs))
		for i, r := range s.Runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return load.Result{
		RPS:      med(func(r load.Result) float64 { return r.RPS }),
		P50:      time.Duration(med(func(r load.Result) float64 { return float64(r.P50) })),
		P90:      time.Duration(med(func(r load.Result) float64 { return float64(r.P90) })),
		P99:      time.Duration(med(func(r load.Result) float64 { return float64(r.P99) })),
		Max:      time.Duration(med(func(r load.Result) float64 { return float64(r.Max) })),
		Requests: int64(med(func(r load.Result) float64 { return float64(r.Requests) })),
		Non2xx:   int64(med(func(r load.Result) float64 { return float64(r.Non2xx) })),
		Errors:   int64(med(func(r load.Result) float64 { return float64(r.Errors) })),
	}
}

// MedianRSS is the median of the runs' largest VmRSS.
func (s Scenario) MedianRSS() int64 {
	if len(s.MaxRSS) == 0 {
		return 0
	}
	v := slices.Clone(s.MaxRSS)
	slices.Sort(v)
	return v[len(v)/2]
}

// Storm is one refresh-storm run.
type Storm struct {
	Backend   string      `json:"backend"`
	Instances int         `json:"instances"`
	Load      load.Result `json:"load"`
	Provider  fake.Stats  `json:"provider"`
	// Refreshes per second: connections refreshed / elapsed.
	RefreshesPerSec float64 `json:"refreshes_per_sec"`
	ExactlyOnce     bool    `json:"exactly_once"`
}

// ScalePoint is one connection count of the scale runs.
type ScalePoint struct {
	Connections int           `json:"connections"`
	Token       load.Result   `json:"token"`
	ListFirst   load.Result   `json:"list_first_page"`
	ListSearch  load.Result   `json:"list_search"`
	ListAPI     time.Duration `json:"list_api_ns"` // one GET /connection (all connections)
	ListAPISize int           `json:"list_api_bytes"`
	RSS         int64         `json:"max_rss_bytes"`
}

// backend is a running server under test.
type backend struct {
	name string
	spec nangoSpec
	p    *proc
}

type run struct {
	o        Options
	res      *Results
	secret   string
	encKey   string
	dashUser string
	dashPass string
	hello    *proc
	provider *proc
	provFile string
	backends []*backend
	// db is this run's scratch database name prefix (nango_bench_<pid>).
	db string
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.o.Log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Run runs the suite and returns its results. The caller writes them.
func Run(ctx context.Context, o Options) (*Results, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.Work, 0o700); err != nil {
		return nil, err
	}
	_, keyText := secret.GenerateKey()
	r := &run{o: o, res: &Results{Started: time.Now().UTC(), Startup: map[string][]int64{}, Idle: map[string]Memory{},
		TokenRSS: map[string]int64{}, Seed: map[string]SeedTime{}},
		secret: "bench-" + secret.RandomToken(16), encKey: keyText.Reveal(), dashUser: "admin", dashPass: secret.RandomToken(12),
		db: fmt.Sprintf("nango_bench_%d", os.Getpid())}
	r.res.Machine = describeMachine()
	r.res.LoadAvg[0] = loadAvg()
	defer func() { r.res.LoadAvg[1] = loadAvg() }()
	r.res.Settings.Conns, r.res.Settings.Warmup, r.res.Settings.Duration = o.Conns, o.Warmup.String(), o.Duration.String()
	r.res.Settings.Reps, r.res.Settings.Connections, r.res.Settings.Storm = o.Reps, o.Connections, o.Storm
	r.res.Settings.Commit = gitCommit()
	defer r.cleanup()

	var err error
	logTo, err := os.Create(filepath.Join(o.Work, "helpers.log"))
	if err != nil {
		return nil, err
	}
	defer logTo.Close()
	if r.hello, err = startHelper(o.Self, "hello", logTo); err != nil {
		return nil, err
	}
	if r.provider, err = startHelper(o.Self, "provider", logTo); err != nil {
		return nil, err
	}
	r.provFile = filepath.Join(o.Work, "providers.yaml")
	if err := os.WriteFile(r.provFile, []byte(providersYAML(r.provider.addr, r.hello.addr)), 0o600); err != nil {
		return nil, err
	}
	r.logf("hello-world reference on %s, provider on %s", r.hello.addr, r.provider.addr)

	for _, name := range o.Backends {
		b, err := r.setupBackend(ctx, name)
		if err != nil {
			return r.res, fmt.Errorf("%s: %w", name, err)
		}
		r.backends = append(r.backends, b)
	}
	if err := r.loadScenarios(ctx); err != nil {
		return r.res, err
	}
	if r.wanted("token") {
		for _, b := range r.backends {
			if err := r.freshTokenMemory(ctx, b); err != nil {
				return r.res, fmt.Errorf("%s token-fetch memory: %w", b.name, err)
			}
		}
	}
	for _, b := range r.backends {
		if err := r.storms(ctx, b); err != nil {
			return r.res, fmt.Errorf("%s refresh storm: %w", b.name, err)
		}
	}
	for _, b := range r.backends {
		_ = b.p.stop()
	}
	if len(o.Scale) > 0 && slices.Contains(o.Backends, "postgres") {
		if err := r.scale(ctx); err != nil {
			return r.res, fmt.Errorf("scale: %w", err)
		}
	}
	return r.res, nil
}

func (r *run) cleanup() {
	for _, b := range r.backends {
		if b.p != nil {
			_ = b.p.stop()
		}
	}
	if r.hello != nil {
		_ = r.hello.stop()
	}
	if r.provider != nil {
		_ = r.provider.stop()
	}
	if slices.Contains(r.o.Backends, "postgres") {
		dropDatabase(context.Background(), r.o.PGAdminURL, r.db)
	}
}

func (r *run) env() []string {
	env := []string{
		"NANGO_SECRET_KEY=" + r.secret,
		"NANGO_ENCRYPTION_KEY=" + r.encKey,
		"NANGO_PROVIDERS_FILE=" + r.provFile,
		"NANGO_DASHBOARD_USERNAME=" + r.dashUser,
		"NANGO_DASHBOARD_PASSWORD=" + r.dashPass,
		"TELEMETRY=false",
		"LOG_LEVEL=info",
	}
	return append(env, r.o.Env...)
}

func (r *run) authHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + r.secret}}
}

func (r *run) tokenPath(id string) string {
	return "/connection/" + id + "?provider_config_key=" + IntegrationKey
}

// setupBackend creates an empty database, starts the server, seeds it
// through the API, then restarts it five times on the now existing
// database to time start-up, and leaves the last instance running.
func (r *run) setupBackend(ctx context.Context, name string) (*backend, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	b := &backend{name: name, spec: nangoSpec{bin: r.o.Nango, log: filepath.Join(r.o.Work, "nango-"+name+".log"), port: port}}
	_ = os.Remove(b.spec.log)
	b.spec.env = r.env()
	switch name {
	case "postgres":
		url, err := recreateDatabase(ctx, r.o.PGAdminURL, r.db)
		if err != nil {
			return nil, err
		}
		b.spec.env = append(b.spec.env, "NANGO_DATABASE_URL="+url)
	case "sqlite":
		dir := filepath.Join(r.o.Work, "sqlite")
		_ = os.RemoveAll(dir)
		b.spec.env = append(b.spec.env, "NANGO_DATA_DIR="+dir)
	default:
		return nil, fmt.Errorf("unknown backend %q", name)
	}
	r.logf("%s: starting on an empty database", name)
	b.p, _, err = startNango(ctx, b.spec, probeGET("/health", nil))
	if err != nil {
		return nil, err
	}
	a := newAPI(b.p.addr, r.secret)
	if err := a.createIntegration(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	far := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := a.importConnections(ctx, r.o.Connections, func(i int) map[string]any {
		return importBody(connID(i), accessToken(i), "rt-"+connID(i), far)
	}); err != nil {
		return nil, err
	}
	r.res.Seed[name] = SeedTime{Connections: r.o.Connections, Nanos: int64(time.Since(start))}
	r.logf("%s: imported %d connections through POST /connection in %v", name, r.o.Connections, time.Since(start).Round(time.Millisecond))
	if err := b.p.stop(); err != nil {
		return nil, err
	}
	probe := probeGET(r.tokenPath(connID(0)), r.authHeader())
	starts := 5
	if r.o.Smoke {
		starts = 1
	}
	for i := range starts {
		p, d, err := startNango(ctx, b.spec, probe)
		if err != nil {
			return nil, err
		}
		r.res.Startup[name] = append(r.res.Startup[name], int64(d))
		if i < starts-1 {
			if err := p.stop(); err != nil {
				return nil, err
			}
			continue
		}
		b.p = p
	}
	r.logf("%s: start-up to the first 200 token fetch: %v", name, durations(r.res.Startup[name]))
	time.Sleep(2 * time.Second)
	m, err := readMemory(b.p.Pid())
	if err != nil {
		return nil, err
	}
	r.res.Idle[name] = m
	r.logf("%s: idle RSS %s", name, mib(m.RSS))
	return b, nil
}

// freshTokenMemory restarts the backend's server on its database and
// measures its largest VmRSS during one token-fetch run (warm-up
// included): the memory of a server that serves token fetches only,
// whatever the other scenarios left in the shared process.
func (r *run) freshTokenMemory(ctx context.Context, b *backend) error {
	if err := b.p.stop(); err != nil {
		return err
	}
	p, _, err := startNango(ctx, b.spec, probeGET("/health", nil))
	if err != nil {
		return err
	}
	b.p = p
	auth := []string{"Authorization", "Bearer " + r.secret}
	token := make([]load.Request, r.o.Connections)
	for i := range token {
		token[i] = load.NewRequest("GET", p.addr, r.tokenPath(connID(i)), auth, nil)
	}
	sampler := sampleRSS(p.Pid())
	res, err := load.Run(ctx, load.Options{Addr: p.addr, Conns: r.o.Conns, Warmup: r.o.Warmup, Duration: r.o.Duration, Pick: load.Random(token)})
	rss := sampler.done()
	if err != nil {
		return err
	}
	r.res.TokenRSS[b.name] = rss
	r.logf("%s: fresh process, token fetch: %s  rss %s", b.name, res, mib(rss))
	if (res.Non2xx > 0 || res.Errors > 0) && r.o.Smoke {
		return fmt.Errorf("%d non-2xx answers, %d transport errors; sample: %s", res.Non2xx, res.Errors, res.Sample)
	}
	return nil
}

func durations(ns []int64) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = time.Duration(n).Round(time.Millisecond / 10).String()
	}
	return strings.Join(parts, " ")
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// scenarioSpec is one load scenario to run in each repetition.
type scenarioSpec struct {
	name, backend string
	addr          string
	reqs          []load.Request
	pid           int
	conns         int // 0: Options.Conns
}

func (r *run) wanted(name string) bool {
	return len(r.o.Only) == 0 || slices.Contains(r.o.Only, name)
}

func (r *run) specs() []scenarioSpec {
	auth := []string{"Authorization", "Bearer " + r.secret}
	n := r.o.Connections
	var specs []scenarioSpec
	add := func(s scenarioSpec) {
		if r.wanted(s.name) {
			specs = append(specs, s)
		}
	}
	add(scenarioSpec{name: "hello", addr: r.hello.addr, pid: r.hello.Pid(),
		reqs: []load.Request{load.NewRequest("GET", r.hello.addr, "/user", nil, nil)}})
	direct := make([]load.Request, n)
	for i := range direct {
		direct[i] = load.NewRequest("GET", r.hello.addr, "/user", []string{"Authorization", "Bearer " + accessToken(i), "Accept", "application/json"}, nil)
	}
	add(scenarioSpec{name: "proxy-direct", addr: r.hello.addr, pid: r.hello.Pid(), reqs: direct})
	// One connection: the latency a proxied call adds, without queueing.
	add(scenarioSpec{name: "proxy-direct-c1", addr: r.hello.addr, pid: r.hello.Pid(), reqs: direct, conns: 1})
	for _, b := range r.backends {
		host := b.p.addr
		token := make([]load.Request, n)
		proxied := make([]load.Request, n)
		for i := range token {
			token[i] = load.NewRequest("GET", host, r.tokenPath(connID(i)), auth, nil)
			proxied[i] = load.NewRequest("GET", host, "/proxy/user", append(slices.Clone(auth),
				"Connection-Id", connID(i), "Provider-Config-Key", IntegrationKey, "Accept", "application/json"), nil)
		}
		add(scenarioSpec{name: "token", backend: b.name, addr: host, pid: b.p.Pid(), reqs: token})
		add(scenarioSpec{name: "health", backend: b.name, addr: host, pid: b.p.Pid(),
			reqs: []load.Request{load.NewRequest("GET", host, "/health", nil, nil)}})
		add(scenarioSpec{name: "config", backend: b.name, addr: host, pid: b.p.Pid(),
			reqs: []load.Request{load.NewRequest("GET", host, "/config", auth, nil)}})
		add(scenarioSpec{name: "proxy", backend: b.name, addr: host, pid: b.p.Pid(), reqs: proxied})
		add(scenarioSpec{name: "proxy-c1", backend: b.name, addr: host, pid: b.p.Pid(), reqs: proxied, conns: 1})
	}
	return specs
}

// loadScenarios runs every scenario Reps times, interleaved (rep 1 of
// all, then rep 2...), so drift on the machine spreads over all of them.
func (r *run) loadScenarios(ctx context.Context) error {
	specs := r.specs()
	byKey := map[string]int{}
	for rep := range r.o.Reps {
		for _, s := range specs {
			k := s.name + "/" + s.backend
			i, ok := byKey[k]
			if !ok {
				i = len(r.res.Scenarios)
				byKey[k] = i
				r.res.Scenarios = append(r.res.Scenarios, Scenario{Name: s.name, Backend: s.backend})
			}
			conns := s.conns
			if conns == 0 {
				conns = r.o.Conns
			}
			sampler := sampleRSS(s.pid)
			res, err := load.Run(ctx, load.Options{Addr: s.addr, Conns: conns, Warmup: r.o.Warmup, Duration: r.o.Duration,
				Pick: load.Random(s.reqs)})
			rss := sampler.done()
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			sc := &r.res.Scenarios[i]
			sc.Runs = append(sc.Runs, res)
			sc.MaxRSS = append(sc.MaxRSS, rss)
			if m, err := readMemory(s.pid); err == nil {
				sc.HWM = m.HWM
			}
			r.logf("rep %d %-13s %-8s %s  rss %s", rep+1, s.name, s.backend, res, mib(rss))
			if res.Non2xx > 0 || res.Errors > 0 {
				err := fmt.Errorf("%s: %d non-2xx answers, %d transport errors; sample: %s", k, res.Non2xx, res.Errors, res.Sample)
				if r.o.Smoke {
					return err
				}
				r.logf("WARNING %v", err)
			}
		}
	}
	return nil
}

// storms runs the refresh storm Reps times on one backend: Storm
// connections whose access token expired are imported through the API,
// then fetched five times each by concurrent workers (five consecutive
// requests go to the same connection, so they overlap). Every connection
// must be refreshed exactly once, counted at the provider. On PostgreSQL
// the storm also runs against two instances sharing the database.
func (r *run) storms(ctx context.Context, b *backend) error {
	instances := []int{1}
	if b.name == "postgres" {
		instances = append(instances, 2)
	}
	for _, n := range instances {
		addrs := []string{b.p.addr}
		var second *proc
		if n == 2 {
			port, err := freePort()
			if err != nil {
				return err
			}
			spec := b.spec
			spec.port, spec.log = port, strings.TrimSuffix(b.spec.log, ".log")+"-2.log"
			second, _, err = startNango(ctx, spec, probeGET("/health", nil))
			if err != nil {
				return err
			}
			addrs = append(addrs, second.addr)
		}
		err := r.stormReps(ctx, b, addrs)
		if second != nil {
			_ = second.stop()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *run) stormReps(ctx context.Context, b *backend, addrs []string) error {
	const dup = 5
	m := r.o.Storm
	a := newAPI(b.p.addr, r.secret)
	prov := "http://" + r.provider.addr
	reqs := make([]load.Request, m)
	for i := range reqs {
		reqs[i] = load.NewRequest("GET", addrs[0], r.tokenPath(stormID(i)), []string{"Authorization", "Bearer " + r.secret}, nil)
	}
	for rep := range r.o.Reps {
		past := time.Now().Add(-time.Hour)
		if err := a.importConnections(ctx, m, func(i int) map[string]any {
			return importBody(stormID(i), fmt.Sprintf("at-old-%d-%d", rep, i), fmt.Sprintf("rt-%s-rep%d", stormID(i), rep), past)
		}); err != nil {
			return err
		}
		if resp, err := http.Post(prov+"/reset", "", nil); err == nil {
			resp.Body.Close()
		} else {
			return err
		}
		total := uint64(m * dup)
		res, err := load.Run(ctx, load.Options{Addrs: addrs, Conns: r.o.Conns, Duration: 5 * time.Minute,
			Pick: func(_ *rand.Rand, seq uint64) (load.Request, bool) {
				if seq >= total {
					return nil, false
				}
				return reqs[seq/dup], true
			}})
		if err != nil {
			return err
		}
		var st fake.Stats
		resp, err := http.Get(prov + "/stats")
		if err != nil {
			return err
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return err
		}
		s := Storm{Backend: b.name, Instances: len(addrs), Load: res, Provider: st,
			RefreshesPerSec: float64(st.Tokens) / res.Elapsed.Seconds(),
			ExactlyOnce:     st.Total == int64(m) && st.Tokens == m && st.Repeated == 0 && res.Non2xx == 0}
		r.res.Storms = append(r.res.Storms, s)
		r.logf("storm %s ×%d rep %d: %d connections, %d refreshes at the provider (max %d per connection), %.0f refreshes/s; %s",
			b.name, len(addrs), rep+1, m, st.Total, st.MaxPerToken, s.RefreshesPerSec, res)
		if !s.ExactlyOnce {
			err := fmt.Errorf("refresh storm on %s ×%d: want exactly one refresh per connection (%d), provider saw %+v; %d non-2xx (%s)",
				b.name, len(addrs), m, st, res.Non2xx, res.Sample)
			if r.o.Smoke {
				return err
			}
			r.logf("WARNING %v", err)
		}
	}
	return nil
}

// scale measures token fetch and connection listing on PostgreSQL with
// growing numbers of connections written by COPY (sealed like the
// server's), one run per scenario.
func (r *run) scale(ctx context.Context) error {
	scaleDB := r.db + "_scale"
	url, err := recreateDatabase(ctx, r.o.PGAdminURL, scaleDB)
	if err != nil {
		return err
	}
	defer dropDatabase(context.Background(), r.o.PGAdminURL, scaleDB)
	key, err := secret.ParseKey(r.encKey)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	spec := nangoSpec{bin: r.o.Nango, log: filepath.Join(r.o.Work, "nango-scale.log"), port: port,
		env: append(r.env(), "NANGO_DATABASE_URL="+url)}
	_ = os.Remove(spec.log)
	p, _, err := startNango(ctx, spec, probeGET("/health", nil))
	if err != nil {
		return err
	}
	defer func() { _ = p.stop() }()
	if err := newAPI(p.addr, r.secret).createIntegration(ctx); err != nil {
		return err
	}
	have := 0
	auth := []string{"Authorization", "Bearer " + r.secret}
	basic := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(r.dashUser+":"+r.dashPass))}
	for _, n := range r.o.Scale {
		if n <= have {
			continue
		}
		start := time.Now()
		if err := copyConnections(ctx, url, key, have, n); err != nil {
			return err
		}
		r.logf("scale: %d connections written with COPY in %v", n, time.Since(start).Round(time.Millisecond))
		have = n
		pt := ScalePoint{Connections: n}
		host := p.addr
		// A fixed sample of ids spread over the table (a fresh random pick
		// per request from all n ids would need n pre-built requests).
		ids := min(n, 20_000)
		token := make([]load.Request, ids)
		rng := rand.New(rand.NewPCG(uint64(n), 42))
		for i := range token {
			token[i] = load.NewRequest("GET", host, r.tokenPath(connID(rng.IntN(n))), auth, nil)
		}
		search := make([]load.Request, 100)
		for i := range search {
			search[i] = load.NewRequest("GET", host, "/connections?q="+connID(rng.IntN(n)), basic, nil)
		}
		runs := []struct {
			name  string
			dst   *load.Result
			conns int
			reqs  []load.Request
		}{
			{"token", &pt.Token, r.o.Conns, token},
			{"dashboard first page", &pt.ListFirst, 8, []load.Request{load.NewRequest("GET", host, "/connections", basic, nil)}},
			{"dashboard search", &pt.ListSearch, 8, search},
		}
		sampler := sampleRSS(p.Pid())
		for _, s := range runs {
			res, err := load.Run(ctx, load.Options{Addr: host, Conns: s.conns, Warmup: r.o.Warmup, Duration: r.o.ScaleDuration, Pick: load.Random(s.reqs)})
			if err != nil {
				return fmt.Errorf("%s at %d: %w", s.name, n, err)
			}
			*s.dst = res
			r.logf("scale %8d %-22s %s", n, s.name, res)
			if res.Non2xx > 0 && r.o.Smoke {
				return fmt.Errorf("scale %s: %d non-2xx (%s)", s.name, res.Non2xx, res.Sample)
			}
		}
		pt.RSS = sampler.done()
		t0 := time.Now()
		st, body, err := newAPI(host, r.secret).do(ctx, http.MethodGet, "/connection", nil)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("GET /connection at %d: %d %v", n, st, err)
		}
		pt.ListAPI, pt.ListAPISize = time.Since(t0), len(body)
		r.logf("scale %8d GET /connection (all): %v, %d bytes", n, pt.ListAPI.Round(time.Millisecond), pt.ListAPISize)
		r.res.Scale = append(r.res.Scale, pt)
	}
	return nil
}

// WriteJSON writes the results.
func (res *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadResults reads what WriteJSON wrote.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &res, nil
}
