package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

func TestLabels(t *testing.T) {
	routes := []struct{ name, in, want string }{
		{"method prefix dropped", "GET /connection/{connectionId...}", "/connection/{connectionId...}"},
		{"no method", "/proxy/", "/proxy/"},
		{"catch-all", "/", "unmatched"},
		{"none", "", "unmatched"},
		{"websocket", "websocket", "websocket"},
	}
	for _, tt := range routes {
		if got := RouteLabel(tt.in); got != tt.want {
			t.Errorf("RouteLabel %s: %q -> %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	methods := []struct{ in, want string }{{"GET", "GET"}, {"PROPFIND", "OTHER"}, {"get", "OTHER"}}
	for _, tt := range methods {
		if got := MethodLabel(tt.in); got != tt.want {
			t.Errorf("MethodLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	providers := []struct{ in, want string }{{"github", "github"}, {"", "unknown"}, {"a b", "other"}, {strings.Repeat("x", 65), "other"}}
	for _, tt := range providers {
		if got := ProviderLabel(tt.in); got != tt.want {
			t.Errorf("ProviderLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRefreshOutcome(t *testing.T) {
	tests := []struct {
		name string
		a    store.Activity
		want string
	}{
		{"success", store.Activity{Success: true, Status: 200}, RefreshSuccess},
		{"recovered rotation", store.Activity{Success: true}, RefreshSuccess},
		{"invalid_grant", store.Activity{Status: 400}, RefreshRejected},
		{"unauthorized client", store.Activity{Status: 401}, RefreshRejected},
		{"rate limited", store.Activity{Status: 429}, RefreshError},
		{"provider down", store.Activity{Status: 503}, RefreshError},
		{"unreachable", store.Activity{Status: 0}, RefreshError},
	}
	for _, tt := range tests {
		if got := RefreshOutcome(tt.a); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// scrape returns the text exposition of m.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

type fakePools []store.PoolStats

func (f fakePools) PoolStats() []store.PoolStats { return f }

func TestSeries(t *testing.T) {
	m := New(Options{Version: "1.2.3", Commit: "abc"})
	m.ObserveRequest("GET /connection/{connectionId...}", "GET", 200, 30*time.Millisecond)
	m.ObserveRequest("", "BREW", 404, time.Millisecond)
	m.ObserveRequest("websocket", "GET", 101, time.Minute)
	m.RequestStarted()
	m.ObserveTokenFetch(false, true)
	m.ObserveTokenFetch(false, false)
	m.ObserveRefreshWait(1500 * time.Millisecond)
	m.ObserveActivity(store.Activity{Action: "oauth", Success: true, Provider: "github", Duration: time.Second})
	m.ObserveActivity(store.Activity{Action: "oauth", Provider: "github", Status: 500})
	m.ObserveActivity(store.Activity{Action: "refresh", Success: true, Provider: "github", Status: 200, Duration: 200 * time.Millisecond})
	m.ObserveActivity(store.Activity{Action: "refresh", Provider: "github", Status: 400})
	m.ObserveActivity(store.Activity{Action: "proxy", Success: true, Provider: "slack", Status: 200, Attempts: 3, Duration: time.Second})
	m.ObserveActivity(store.Activity{Action: "proxy", Provider: "slack", Attempts: 1})
	m.ObserveActivity(store.Activity{Action: "token", Provider: "slack"}) // ignored
	m.TelemetryDropped(2)
	m.WatchPools(fakePools{{Name: "main", InUse: 2, Idle: 3, Max: 7, WaitCount: 4, WaitDuration: 2 * time.Second}})
	m.WatchPools(fakePools{}) // second call ignored (no duplicate registration panic)
	m.WatchWebSockets(func() int { return 5 })
	out := scrape(t, m)
	m.RequestDone()

	for _, want := range []string{
		`nango_http_requests_total{method="GET",route="/connection/{connectionId...}",status="200"} 1`,
		`nango_http_requests_total{method="OTHER",route="unmatched",status="404"} 1`,
		`nango_http_requests_total{method="GET",route="websocket",status="101"} 1`,
		`nango_http_request_duration_seconds_count{method="GET",route="/connection/{connectionId...}"} 1`,
		`nango_http_requests_in_flight 1`,
		`nango_token_fetches_total{cache="miss",result="ok"} 1`,
		`nango_token_fetches_total{cache="miss",result="error"} 1`,
		`nango_token_refresh_wait_seconds_bucket{le="2.5"} 1`,
		`nango_token_refresh_wait_seconds_bucket{le="1"} 0`,
		`nango_oauth_flows_total{outcome="success",provider="github"} 1`,
		`nango_oauth_flows_total{outcome="failure",provider="github"} 1`,
		`nango_oauth_flow_duration_seconds_count{outcome="success"} 1`,
		`nango_token_refreshes_total{outcome="success",provider="github"} 1`,
		`nango_token_refreshes_total{outcome="rejected",provider="github"} 1`,
		`nango_token_refresh_duration_seconds_count{provider="github"} 2`,
		`nango_proxy_requests_total{provider="slack",status="200"} 1`,
		`nango_proxy_requests_total{provider="slack",status="none"} 1`,
		`nango_proxy_retries_total{provider="slack"} 2`,
		`nango_proxy_request_duration_seconds_sum{provider="slack"} 1`,
		`nango_telemetry_events_dropped_total 2`,
		`nango_db_pool_connections{pool="main",state="in_use"} 2`,
		`nango_db_pool_connections{pool="main",state="idle"} 3`,
		`nango_db_pool_max_connections{pool="main"} 7`,
		`nango_db_pool_waits_total{pool="main"} 4`,
		`nango_db_pool_wait_seconds_total{pool="main"} 2`,
		`nango_websocket_clients 5`,
		`nango_build_info{commit="abc",go_version="`,
		`go_goroutines `,
	} {
		if !strings.Contains(out, want+"") {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, absent := range []string{
		`nango_http_request_duration_seconds_count{method="GET",route="websocket"}`, // a socket's life is no latency
		`nango_proxy_requests_total{provider="slack",status="0"}`,                   // no status is "none"
		`provider="token"`,
	} {
		if strings.Contains(out, absent) {
			t.Errorf("scrape has %s", absent)
		}
	}
}

func TestNilIsOff(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("/", "GET", 200, 0)
	m.RequestStarted()
	m.RequestDone()
	m.ObserveTokenFetch(true, true)
	m.ObserveRefreshWait(time.Second)
	m.ObserveActivity(store.Activity{Action: "oauth"})
	m.TelemetryDropped(1)
	m.WatchPools(fakePools{})
	m.WatchWebSockets(func() int { return 1 })
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Metrics handler = %d, want 404", rec.Code)
	}
}

// TestRequestSeriesKept: the series ObserveRequest looks up once per route,
// method and status are kept and keep counting; keys that map to the same
// labels (methods outside the standard ones) share their series.
func TestRequestSeriesKept(t *testing.T) {
	m := New(Options{})
	for range 3 {
		m.ObserveRequest("GET /health", "GET", 200, time.Millisecond)
	}
	m.ObserveRequest("GET /health", "GET", 503, time.Millisecond)
	m.ObserveRequest("/", "BREW", 404, 0)
	m.ObserveRequest("", "PROPFIND", 404, 0)
	m.ObserveRequest("websocket", "GET", 101, time.Hour)
	m.ObserveRequest("websocket", "GET", 101, time.Hour)
	out := scrape(t, m)
	for _, want := range []string{
		`nango_http_requests_total{method="GET",route="/health",status="200"} 3`,
		`nango_http_requests_total{method="GET",route="/health",status="503"} 1`,
		`nango_http_request_duration_seconds_count{method="GET",route="/health"} 4`,
		`nango_http_requests_total{method="OTHER",route="unmatched",status="404"} 2`,
		`nango_http_requests_total{method="GET",route="websocket",status="101"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(out, `nango_http_request_duration_seconds_count{method="GET",route="websocket"}`) {
		t.Error("a WebSocket's life was recorded as a latency")
	}
}
