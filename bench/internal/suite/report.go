package suite

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Targets of issue 10, as ratios to the hello-world bound or absolute.
const (
	TargetTokenRatio  = 0.5
	TargetTokenP99    = 10 * time.Millisecond
	TargetHealthRatio = 0.8
	TargetProxyP50    = time.Millisecond
	TargetRSS         = 64 << 20
	TargetStartup     = 200 * time.Millisecond
)

func (res *Results) scenario(name, backend string) (Scenario, bool) {
	for _, s := range res.Scenarios {
		if s.Name == name && s.Backend == backend {
			return s, true
		}
	}
	return Scenario{}, false
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f", float64(d)/1e6)
}

func mibs(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// WriteMarkdown writes the results as Markdown tables: machine, settings,
// every scenario (median of the runs) with its ratio to the hello-world
// bound, start-up, memory, refresh storms, scale, and the targets.
func (res *Results) WriteMarkdown(w io.Writer) {
	m := res.Machine
	fmt.Fprintf(w, "Run of %s (commit %s) on %d CPUs (%s), %.1f GiB RAM, Linux %s, %s",
		res.Started.Format("2006-01-02 15:04 UTC"), res.Settings.Commit, m.CPUs, m.CPUModel, float64(m.MemTotal)/(1<<30), m.Kernel, m.GoVersion)
	fmt.Fprintf(w, "; load: %d connections, %s warm-up, %s measured, median of %d runs; %d connections imported through the API; load average %s at the start, %s at the end.\n\n",
		res.Settings.Conns, res.Settings.Warmup, res.Settings.Duration, res.Settings.Reps, res.Settings.Connections, res.LoadAvg[0], res.LoadAvg[1])

	hello, _ := res.scenario("hello", "")
	bound := hello.Median().RPS
	fmt.Fprintln(w, "| scenario | backend | req/s | × bound | p50 ms | p90 ms | p99 ms | max RSS MiB | runs (req/s) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, s := range res.Scenarios {
		md := s.Median()
		ratio := "—"
		if bound > 0 {
			ratio = fmt.Sprintf("%.2f", md.RPS/bound)
		}
		runs := make([]string, len(s.Runs))
		for i, r := range s.Runs {
			runs[i] = fmt.Sprintf("%.0f", r.RPS)
		}
		be := s.Backend
		if be == "" {
			be = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n", s.Name, be, md.RPS, ratio,
			ms(md.P50), ms(md.P90), ms(md.P99), mibs(s.MedianRSS()), strings.Join(runs, ", "))
	}
	fmt.Fprintln(w)

	if len(res.Startup) > 0 {
		fmt.Fprintln(w, "| backend | start-up to first 200 token fetch (median; each) | idle RSS MiB | max RSS under token-fetch load, fresh process MiB | VmHWM after all loads MiB |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
		for _, be := range sortedKeys(res.Startup) {
			var hwm int64
			for _, s := range res.Scenarios {
				if s.Backend == be {
					hwm = max(hwm, s.HWM)
				}
			}
			fresh := "—"
			if rss, ok := res.TokenRSS[be]; ok {
				fresh = mibs(rss)
			}
			fmt.Fprintf(w, "| %s | %s ms (%s) | %s | %s | %s |\n", be, ms(medianDur(res.Startup[be])), durations(res.Startup[be]),
				mibs(res.Idle[be].RSS), fresh, mibs(hwm))
		}
		fmt.Fprintln(w)
	}

	if len(res.Storms) > 0 {
		fmt.Fprintln(w, "| refresh storm | instances | connections | refreshes at provider | max per connection | refreshes/s | p50 ms | p99 ms | exactly once |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, s := range res.Storms {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %.0f | %s | %s | %v |\n", s.Backend, s.Instances, s.Provider.Tokens,
				s.Provider.Total, s.Provider.MaxPerToken, s.RefreshesPerSec, ms(s.Load.P50), ms(s.Load.P99), s.ExactlyOnce)
		}
		fmt.Fprintln(w)
	}

	if len(res.Scale) > 0 {
		fmt.Fprintln(w, "| connections (PostgreSQL, COPY) | token req/s | token p50 / p99 ms | dashboard page req/s | page p50 / p99 ms | dashboard search req/s | search p50 / p99 ms | GET /connection (all) | RSS MiB |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, p := range res.Scale {
			fmt.Fprintf(w, "| %d | %.0f | %s / %s | %.0f | %s / %s | %.0f | %s / %s | %s ms, %.1f MB | %s |\n", p.Connections,
				p.Token.RPS, ms(p.Token.P50), ms(p.Token.P99), p.ListFirst.RPS, ms(p.ListFirst.P50), ms(p.ListFirst.P99),
				p.ListSearch.RPS, ms(p.ListSearch.P50), ms(p.ListSearch.P99), ms(p.ListAPI), float64(p.ListAPISize)/1e6, mibs(p.RSS))
		}
		fmt.Fprintln(w)
	}

	res.writeTargets(w, bound)
}

func (res *Results) writeTargets(w io.Writer, bound float64) {
	token, okT := res.scenario("token", "postgres")
	health, okH := res.scenario("health", "postgres")
	proxy, okP := res.scenario("proxy", "postgres")
	direct, okD := res.scenario("proxy-direct", "")
	if bound == 0 {
		return
	}
	fmt.Fprintln(w, "| target (PostgreSQL, encryption on) | wanted | measured | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	if okT {
		md := token.Median()
		r := md.RPS / bound
		fmt.Fprintf(w, "| token fetch throughput | ≥ %.1f× bound | %.2f× (%.0f of %.0f req/s) | %s |\n", TargetTokenRatio, r, md.RPS, bound, yes(r >= TargetTokenRatio))
		fmt.Fprintf(w, "| token fetch p99 at %d connections | ≤ %s ms | %s ms | %s |\n", res.Settings.Conns, ms(TargetTokenP99), ms(md.P99), yes(md.P99 <= TargetTokenP99))
		if rss, ok := res.TokenRSS["postgres"]; ok {
			fmt.Fprintf(w, "| RSS under token-fetch load (fresh process) | ≤ %s MiB | %s MiB | %s |\n", mibs(TargetRSS), mibs(rss), yes(rss <= TargetRSS))
		}
		fmt.Fprintf(w, "| RSS under token-fetch load (process shared with the other scenarios: median of the runs) | ≤ %s MiB | %s MiB | %s |\n", mibs(TargetRSS), mibs(token.MedianRSS()), yes(token.MedianRSS() <= TargetRSS))
	}
	if okH {
		r := health.Median().RPS / bound
		fmt.Fprintf(w, "| /health throughput | ≥ %.1f× bound | %.2f× | %s |\n", TargetHealthRatio, r, yes(r >= TargetHealthRatio))
	}
	if okP && okD {
		add := proxy.Median().P50 - direct.Median().P50
		fmt.Fprintf(w, "| proxy overhead at p50, %d connections (saturated: mostly queueing) | ≤ %s ms | %s ms (%s − %s) | %s |\n", res.Settings.Conns, ms(TargetProxyP50), ms(add), ms(proxy.Median().P50), ms(direct.Median().P50), yes(add <= TargetProxyP50))
	}
	p1, ok1 := res.scenario("proxy-c1", "postgres")
	d1, okd1 := res.scenario("proxy-direct-c1", "")
	if ok1 && okd1 {
		add := p1.Median().P50 - d1.Median().P50
		fmt.Fprintf(w, "| proxy overhead at p50, 1 connection (per call) | ≤ %s ms | %s ms (%s − %s) | %s |\n", ms(TargetProxyP50), ms(add), ms(p1.Median().P50), ms(d1.Median().P50), yes(add <= TargetProxyP50))
	}
	if st, ok := res.Startup["postgres"]; ok {
		d := medianDur(st)
		fmt.Fprintf(w, "| start-up to first 200 | ≤ %s ms | %s ms | %s |\n", ms(TargetStartup), ms(d), yes(d <= TargetStartup))
	}
	fmt.Fprintln(w)
}

func medianDur(ns []int64) time.Duration {
	if len(ns) == 0 {
		return 0
	}
	v := slices.Clone(ns)
	slices.Sort(v)
	return time.Duration(v[len(v)/2])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
