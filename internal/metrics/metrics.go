package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nango-go/nango/internal/store"
)

// Namespace prefixes every series of the server.
const Namespace = "nango"

// Activity actions the metrics understand (store.Activity.Action).
const (
	ActionOAuth   = "oauth"
	ActionRefresh = "refresh"
	ActionProxy   = "proxy"
)

// Outcomes of token refreshes (label outcome of nango_token_refreshes_total).
const (
	// RefreshSuccess: new credentials were stored (or a concurrent rotation
	// was recovered).
	RefreshSuccess = "success"
	// RefreshRejected: the provider refused the grant (4xx other than 429);
	// the end user probably has to reconnect.
	RefreshRejected = "rejected"
	// RefreshError: the provider could not be reached, answered 429/5xx or
	// something unusable.
	RefreshError = "error"
)

// Latency buckets in seconds: 5 ms to 60 s.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// waitBuckets: 1 ms to 60 s (a refresh lease lasts up to the OAuth timeout
// plus 30 s).
var waitBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Options configure New.
type Options struct {
	// Version and Commit label nango_build_info.
	Version, Commit string
}

// Metrics is the server's metric set, registered in its own registry (never
// the global one, so several servers in one test process do not collide).
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	tokenFetches    *prometheus.CounterVec
	refreshWait     prometheus.Histogram
	refreshes       *prometheus.CounterVec
	refreshDuration *prometheus.HistogramVec

	oauthFlows    *prometheus.CounterVec
	oauthDuration *prometheus.HistogramVec

	proxyRequests *prometheus.CounterVec
	proxyDuration *prometheus.HistogramVec
	proxyRetries  *prometheus.CounterVec

	telemetryDropped prometheus.Counter

	mu      sync.Mutex
	watched map[string]bool

	seriesMu sync.RWMutex
	series   map[requestKey]*requestSeries // ObserveRequest's cache
}

// New returns a Metrics with every series registered, plus the Go runtime
// and process collectors.
func New(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg, watched: map[string]bool{}, series: map[requestKey]*requestSeries{}}

	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by route pattern, method and status code."}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
		Help: "Time to serve an HTTP request (WebSockets excluded), by route pattern and method.", Buckets: latencyBuckets}, []string{"route", "method"})
	m.httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being served now (open WebSockets included)."})

	m.tokenFetches = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "token_fetches_total",
		Help: "Credential fetches (GET /connection/{id}, proxy, dashboard) by credential-cache outcome (hit|miss) and result (ok|error)."}, []string{"cache", "result"})
	m.refreshWait = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "token_refresh_wait_seconds",
		Help: "How long a credential fetch that needed a refresh waited for it (its own provider call, or another caller's or instance's).", Buckets: waitBuckets})
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "token_refreshes_total",
		Help: "Access-token refreshes made with a provider, by provider template and outcome (success|rejected|error)."}, []string{"provider", "outcome"})
	m.refreshDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "token_refresh_duration_seconds",
		Help: "Duration of refreshes made with a provider (all attempts), by provider template.", Buckets: latencyBuckets}, []string{"provider"})

	m.oauthFlows = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "oauth_flows_total",
		Help: "OAuth flows finished at the callback, by provider template and outcome (success|failure)."}, []string{"provider", "outcome"})
	m.oauthDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "oauth_flow_duration_seconds",
		Help: "Time spent serving the OAuth callback (state check, token exchange, storage), by outcome.", Buckets: latencyBuckets}, []string{"outcome"})

	m.proxyRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "proxy_requests_total",
		Help: "Proxied calls, by provider template and the status returned (the upstream's, or nango's own error status)."}, []string{"provider", "status"})
	m.proxyDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "proxy_request_duration_seconds",
		Help: "Duration of proxied calls (credentials, every attempt and back-off, the streamed response), by provider template.", Buckets: latencyBuckets}, []string{"provider"})
	m.proxyRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "proxy_retries_total",
		Help: "Upstream attempts beyond the first (retries on 429, 5xx and network errors), by provider template."}, []string{"provider"})

	m.telemetryDropped = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "telemetry_events_dropped_total",
		Help: "Anonymous telemetry events dropped because the queue was full or the endpoint failed."})

	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Always 1; labels name the running build."}, []string{"version", "commit", "go_version"})
	build.WithLabelValues(o.Version, o.Commit, runtime.Version()).Set(1)

	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.httpInFlight, m.tokenFetches, m.refreshWait,
		m.refreshes, m.refreshDuration, m.oauthFlows, m.oauthDuration, m.proxyRequests, m.proxyDuration, m.proxyRetries,
		m.telemetryDropped, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. Nil-safe: a nil Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// RequestStarted counts a request in flight; call RequestDone when it
// ends.
func (m *Metrics) RequestStarted() {
	if m == nil {
		return
	}
	m.httpInFlight.Inc()
}

// RequestDone ends what RequestStarted counted.
func (m *Metrics) RequestDone() {
	if m == nil {
		return
	}
	m.httpInFlight.Dec()
}

// requestKey names the series of one kind of request, as the middleware
// sees it (before the labels are bounded).
type requestKey struct {
	route, method string
	status        int
}

// requestSeries are the series one kind of request updates.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer // nil for WebSockets
}

// maxCachedSeries bounds the request-series cache (routes × methods ×
// statuses of a server are a few hundred; methods outside the standard
// ones are labelled OTHER but keyed as sent, so a client could otherwise
// grow it).
const maxCachedSeries = 4096

// ObserveRequest records one served request. route is the ServeMux pattern
// that matched (with or without its method), "websocket" for an upgrade,
// "" for none; d is not recorded for WebSockets (their life is not a
// latency). The series are looked up once per route, method and status and
// kept: a request costs two atomic updates, no label hashing.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	k := requestKey{route, method, status}
	m.seriesMu.RLock()
	sr, ok := m.series[k]
	m.seriesMu.RUnlock()
	if !ok {
		sr = m.requestSeries(k)
	}
	sr.count.Inc()
	if sr.duration != nil {
		sr.duration.Observe(d.Seconds())
	}
}

func (m *Metrics) requestSeries(k requestKey) *requestSeries {
	route, method := RouteLabel(k.route), MethodLabel(k.method)
	sr := &requestSeries{count: m.httpRequests.WithLabelValues(route, method, strconv.Itoa(k.status))}
	if route != "websocket" {
		sr.duration = m.httpDuration.WithLabelValues(route, method)
	}
	m.seriesMu.Lock()
	if len(m.series) < maxCachedSeries {
		m.series[k] = sr
	}
	m.seriesMu.Unlock()
	return sr
}

// RouteLabel turns a ServeMux pattern into the route label: the method
// prefix is dropped (the method has its own label), and the catch-all "/"
// (or no pattern) is "unmatched".
func RouteLabel(pattern string) string {
	if pattern == "websocket" {
		return pattern
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimSpace(pattern[i+1:])
	}
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	return pattern
}

// MethodLabel bounds the method label to the standard methods.
func MethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// ObserveTokenFetch records one credential fetch. cacheHit tells whether
// the credentials came from the in-process token cache (no database read);
// ok whether the fetch succeeded.
func (m *Metrics) ObserveTokenFetch(cacheHit, ok bool) {
	if m == nil {
		return
	}
	cache, result := "miss", "ok"
	if cacheHit {
		cache = "hit"
	}
	if !ok {
		result = "error"
	}
	m.tokenFetches.WithLabelValues(cache, result).Inc()
}

// ObserveRefreshWait records how long a fetch waited for a refresh.
func (m *Metrics) ObserveRefreshWait(d time.Duration) {
	if m == nil {
		return
	}
	m.refreshWait.Observe(d.Seconds())
}

// TelemetryDropped counts n dropped telemetry events.
func (m *Metrics) TelemetryDropped(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.telemetryDropped.Add(float64(n))
}

// ObserveActivity derives flow, refresh and proxy metrics from an
// activity-log entry (the store.Store decorator of the server calls it for
// every entry written). Other actions are ignored.
func (m *Metrics) ObserveActivity(a store.Activity) {
	if m == nil {
		return
	}
	provider := ProviderLabel(a.Provider)
	switch a.Action {
	case ActionOAuth:
		outcome := "failure"
		if a.Success {
			outcome = "success"
		}
		m.oauthFlows.WithLabelValues(provider, outcome).Inc()
		m.oauthDuration.WithLabelValues(outcome).Observe(a.Duration.Seconds())
	case ActionRefresh:
		m.refreshes.WithLabelValues(provider, RefreshOutcome(a)).Inc()
		m.refreshDuration.WithLabelValues(provider).Observe(a.Duration.Seconds())
	case ActionProxy:
		status := "none"
		if a.Status > 0 {
			status = strconv.Itoa(a.Status)
		}
		m.proxyRequests.WithLabelValues(provider, status).Inc()
		m.proxyDuration.WithLabelValues(provider).Observe(a.Duration.Seconds())
		if a.Attempts > 1 {
			m.proxyRetries.WithLabelValues(provider).Add(float64(a.Attempts - 1))
		}
	}
}

// RefreshOutcome classifies a refresh activity entry.
func RefreshOutcome(a store.Activity) string {
	switch {
	case a.Success:
		return RefreshSuccess
	case a.Status >= 400 && a.Status < 500 && a.Status != http.StatusTooManyRequests:
		return RefreshRejected
	}
	return RefreshError
}

// ProviderLabel bounds the provider label: template names are short
// identifiers; anything else (which the catalog loader would refuse) is
// "other", an absent one "unknown".
func ProviderLabel(p string) string {
	if p == "" {
		return "unknown"
	}
	if len(p) > 64 {
		return "other"
	}
	for _, c := range p {
		if !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return "other"
		}
	}
	return p
}
