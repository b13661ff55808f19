package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nango-go/nango/internal/store"
)

// WatchPools exports the connection pools of a driver that implements
// store.PoolStatser (both built-in drivers do): read at every scrape.
// Calling it again replaces nothing: only the first call counts.
func (m *Metrics) WatchPools(p store.PoolStatser) {
	if m == nil || p == nil || !m.once("pools") {
		return
	}
	m.reg.MustRegister(poolCollector{p})
}

// WatchWebSockets exports the open WebSocket clients of this instance, read
// from count at every scrape. Only the first call counts.
func (m *Metrics) WatchWebSockets(count func() int) {
	if m == nil || count == nil || !m.once("websockets") {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "websocket_clients",
		Help: "WebSocket clients (frontend SDK popups waiting for their flow's result) open on this instance."},
		func() float64 { return float64(count()) }))
}

func (m *Metrics) once(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched[name] {
		return false
	}
	m.watched[name] = true
	return true
}

var (
	poolConns = prometheus.NewDesc(Namespace+"_db_pool_connections",
		"Database connections of the pool by state (in_use|idle).", []string{"pool", "state"}, nil)
	poolMax = prometheus.NewDesc(Namespace+"_db_pool_max_connections",
		"The pool's connection limit (0: unbounded).", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc(Namespace+"_db_pool_waits_total",
		"Connection acquisitions that had to wait because every connection was in use.", []string{"pool"}, nil)
	poolWaitSeconds = prometheus.NewDesc(Namespace+"_db_pool_wait_seconds_total",
		"Total time spent waiting for a connection.", []string{"pool"}, nil)
)

// poolCollector reads pool statistics at scrape time.
type poolCollector struct{ p store.PoolStatser }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConns
	ch <- poolMax
	ch <- poolWaits
	ch <- poolWaitSeconds
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.p.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.InUse), s.Name, "in_use")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Idle), s.Name, "idle")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.Max), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), s.Name)
	}
}
