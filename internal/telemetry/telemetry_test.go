package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store/sqlite"
)

// endpoint is a local telemetry receiver recording every batch.
type endpoint struct {
	srv     *httptest.Server
	mu      sync.Mutex
	batches []Batch
	raw     []string
	got     chan struct{} // one value per batch
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{got: make(chan struct{}, 1000)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b Batch
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &b) != nil {
			t.Errorf("bad telemetry request: %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
		}
		e.mu.Lock()
		e.batches = append(e.batches, b)
		e.raw = append(e.raw, string(body))
		e.mu.Unlock()
		e.got <- struct{}{}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-e.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("endpoint got %d batches, want %d", i, n)
		}
	}
}

func (e *endpoint) events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, b := range e.batches {
		out = append(out, b.Events...)
	}
	return out
}

func known(name string) bool { return name == "github" || name == "slack" }

func TestBatchFields(t *testing.T) {
	e := newEndpoint(t)
	now := time.Date(2026, 5, 1, 12, 30, 45, 999, time.UTC)
	c := New(Options{Endpoint: e.srv.URL, Version: "9.9.9", KnownProvider: known, BatchSize: 5, FlushInterval: time.Hour,
		Now: func() time.Time { return now }})
	c.Track(ConfigCreated, "github")
	c.Track(ConnectionUpserted, "acme-internal-crm") // not built in: sent as custom
	c.Track(ConnectionFetched, "")
	c.Track(ConnectionListFetched, "github") // carries no provider
	c.Track("server:something_else", "github")
	c.Track(PreWSOAuth, "slack")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	e.wait(t, 1)
	cancel()
	<-done

	e.mu.Lock()
	b := e.batches[0]
	raw := e.raw[0]
	e.mu.Unlock()
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(b.InstanceID) {
		t.Errorf("instance id %q is not a UUID v4", b.InstanceID)
	}
	if b.Version != "9.9.9" || !b.SentAt.Equal(now.Truncate(time.Second)) {
		t.Errorf("batch = %+v", b)
	}
	want := []Event{
		{Name: ConfigCreated, Properties: map[string]string{"provider": "github"}},
		{Name: ConnectionUpserted, Properties: map[string]string{"provider": "custom"}},
		{Name: ConnectionFetched, Properties: map[string]string{"provider": "custom"}},
		{Name: ConnectionListFetched},
		{Name: PreWSOAuth},
	}
	if len(b.Events) != len(want) {
		t.Fatalf("events = %+v, want %d", b.Events, len(want))
	}
	for i, w := range want {
		g := b.Events[i]
		if g.Name != w.Name || len(g.Properties) != len(w.Properties) || g.Properties["provider"] != w.Properties["provider"] {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
		if !g.Time.Equal(now.Truncate(time.Second)) {
			t.Errorf("event %d time %s, want it truncated to the second", i, g.Time)
		}
	}
	// The documented fields, and no others.
	var generic map[string]any
	_ = json.Unmarshal([]byte(raw), &generic)
	for k := range generic {
		if k != "instance_id" && k != "version" && k != "sent_at" && k != "events" {
			t.Errorf("undocumented batch field %q", k)
		}
	}
	if c.Sent() != 5 || c.Dropped() != 0 {
		t.Errorf("sent %d dropped %d, want 5 and 0", c.Sent(), c.Dropped())
	}
}

func TestFlushOnIntervalAndOnStop(t *testing.T) {
	e := newEndpoint(t)
	c := New(Options{Endpoint: e.srv.URL, Version: "1", BatchSize: 100, FlushInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	c.Track(ConnectionListFetched, "")
	e.wait(t, 1) // a partial batch goes out on the tick
	c.Track(ConnectionListFetched, "")
	cancel()
	<-done
	if n := len(e.events()); n != 2 {
		t.Errorf("endpoint got %d events, want 2 (the last one sent when stopping)", n)
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	var drops int
	var mu sync.Mutex
	// No Run: nothing consumes the queue.
	c := New(Options{Endpoint: "http://127.0.0.1:1/", QueueSize: 2, OnDrop: func(n int) { mu.Lock(); drops += n; mu.Unlock() }})
	for i := 0; i < 5; i++ {
		c.Track(ConnectionListFetched, "") // would deadlock the test if it blocked
	}
	mu.Lock()
	defer mu.Unlock()
	if c.Dropped() != 3 || drops != 3 {
		t.Errorf("dropped %d (OnDrop %d), want 3", c.Dropped(), drops)
	}
}

// TestDeadEndpointNeverBlocksTrack: while the endpoint holds a send open,
// Track keeps returning (events queue, then drop), and stopping returns
// once the bounded last send gives up.
func TestDeadEndpointNeverBlocksTrack(t *testing.T) {
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := New(Options{Endpoint: srv.URL, BatchSize: 1, QueueSize: 10, FlushInterval: time.Hour, Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	c.Track(ConnectionListFetched, "")
	<-entered // the sender is now stuck in the endpoint
	for i := 0; i < 1000; i++ {
		c.Track(ConnectionListFetched, "")
	}
	select {
	case <-release:
		t.Fatal("unreachable")
	default: // the endpoint still holds the first send: Track never waited for it
	}
	if c.Dropped() < 1000-10-1 {
		t.Errorf("dropped %d, want the events beyond the queue dropped", c.Dropped())
	}
	cancel() // cancels the stuck send; the last send is bounded by closeFlushTimeout
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestInstanceIDIsStoredAndShared(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"), storeOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := New(Options{Endpoint: "http://127.0.0.1:1/", Store: st}).instanceID(ctx)
	b := New(Options{Endpoint: "http://127.0.0.1:1/", Store: st}).instanceID(ctx)
	stored, err := st.GetMeta(ctx, MetaInstanceID)
	if err != nil || a == "" || a != b || stored != a {
		t.Errorf("ids %q %q stored %q (%v): want one id shared through the store", a, b, stored, err)
	}
}

func TestNilClient(t *testing.T) {
	var c *Client
	c.Track(ConfigCreated, "github")
	c.Run(context.Background())
	if c.Dropped() != 0 || c.Sent() != 0 {
		t.Error("nil client counted something")
	}
}
