package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/proxy"
	"github.com/nango-go/nango/internal/store"
)

// The proxy's overhead: the same small GET sent straight to a local
// upstream and through the proxy (SQLite store, credential lookup, header
// injection, activity entry written in the background). Run with
//
//	go test ./internal/proxy -run '^$' -bench Proxy -benchtime 3s
//
// ns/op of the sequential benchmarks is the mean latency; p50/p99 are
// reported as extra metrics; the parallel ones report requests per second.

const benchBody = `{"login":"octocat","id":1,"node_id":"MDQ6VXNlcjE=","type":"User","site_admin":false}`

// noActivity drops activity entries, to tell the proxy's own cost from the
// cost of persisting one activity entry per call.
type noActivity struct{ store.Store }

func (noActivity) AddActivity(context.Context, *store.Activity) error { return nil }

func benchSetup(b *testing.B, o envOptions) (direct, proxied func() (*http.Response, error)) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	}))
	b.Cleanup(up.Close)
	e := newEnv(b, o)
	e.addTemplates(oauth2Template("t-api", up.URL))
	e.integration("api", "t-api", "cid", "cs")
	e.connection("api", "u1", bearer("at-1"), nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(client.CloseIdleConnections)
	direct = func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, up.URL+"/user", nil)
		req.Header.Set("Authorization", "Bearer at-1")
		return client.Do(req)
	}
	proxied = func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/proxy/user", nil)
		req.Header.Set("Connection-Id", "u1")
		req.Header.Set("Provider-Config-Key", "api")
		return client.Do(req)
	}
	return direct, proxied
}

func drain(b *testing.B, resp *http.Response, err error) {
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || n != int64(len(benchBody)) {
		b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
	}
}

func BenchmarkProxyLatency(b *testing.B) {
	direct, proxied := benchSetup(b, envOptions{})
	_, bare := benchSetup(b, envOptions{activity: func(s store.Store) proxy.Store { return noActivity{s} }})
	for _, bc := range []struct {
		name string
		do   func() (*http.Response, error)
	}{{"direct", direct}, {"proxied", proxied}, {"proxied-no-activity", bare}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < 50; i++ { // warm connections
				resp, err := bc.do()
				drain(b, resp, err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				resp, err := bc.do()
				drain(b, resp, err)
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func BenchmarkProxyThroughput(b *testing.B) {
	direct, proxied := benchSetup(b, envOptions{})
	_, bare := benchSetup(b, envOptions{activity: func(s store.Store) proxy.Store { return noActivity{s} }})
	for _, bc := range []struct {
		name string
		do   func() (*http.Response, error)
	}{{"direct", direct}, {"proxied", proxied}, {"proxied-no-activity", bare}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(8) // 8 goroutines per core
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := bc.do()
					drain(b, resp, err)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
