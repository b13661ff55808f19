package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// cached is a token service with a cache, on one store instance.
type cached struct {
	svc   *tokens.Service
	cache *tokens.Cache
	st    store.Store // the tracked store: this instance's writes go here
}

// cachedService returns a cached token service on st (e.st when nil) and
// waits until its cache is live (its first heartbeat came back), unless
// the options say not to wait.
func (e *env) cachedService(st store.Store, co tokens.CacheOptions, mod func(*tokens.Options)) cached {
	e.t.Helper()
	if st == nil {
		st = e.st
	}
	c := tokens.NewCache(co)
	e.t.Cleanup(func() { _ = c.Close() })
	tracked := c.Track(st)
	svc := e.service(tracked, func(o *tokens.Options) {
		o.Cache = c
		if mod != nil {
			mod(o)
		}
	})
	return cached{svc: svc, cache: c, st: tracked}
}

func waitLive(t *testing.T, c *tokens.Cache, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Live != want {
		if time.Now().After(deadline) {
			t.Fatalf("cache live = %v after 10 s, want %v", !want, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func accessToken(t *testing.T, s *tokens.Service, key, id string) string {
	t.Helper()
	c, err := s.Get(ctxT(t), key, id, tokens.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Credentials.AccessToken.Reveal()
}

func setToken(t *testing.T, st store.Store, key, id, at string) {
	t.Helper()
	if _, err := st.UpdateConnection(ctxT(t), key, id, func(c *store.Connection) error {
		c.Credentials.AccessToken = secret.String(at)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// eventually polls Get until it returns want (or 10 s pass) and returns
// how long that took.
func eventually(t *testing.T, s *tokens.Service, key, id, want string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := accessToken(t, s, key, id)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("after 10 s Get still returns %q, want %q", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCacheHitsAndOwnWrites(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "c1", time.Hour, false)
		a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
		waitLive(t, a.cache, true)
		first := accessToken(t, a.svc, "rot", "c1")
		before := a.cache.Stats()
		for range 5 {
			if got := accessToken(t, a.svc, "rot", "c1"); got != first {
				t.Fatalf("Get = %q, want %q", got, first)
			}
		}
		if hits := a.cache.Stats().Hits - before.Hits; hits != 5 {
			t.Fatalf("%d cache hits for 5 Gets of a cached connection, want 5", hits)
		}
		// A write of this process is seen by the very next Get, whatever
		// the events do.
		for i := range 3 {
			want := fmt.Sprint("at-own-write-", i)
			setToken(t, a.st, "rot", "c1", want)
			if got := accessToken(t, a.svc, "rot", "c1"); got != want {
				t.Fatalf("write %d: Get right after it = %q, want %q", i, got, want)
			}
		}
		if err := a.st.DeleteConnection(ctxT(t), "rot", "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{}); !errors.Is(err, tokens.ErrUnknownConnection) {
			t.Fatalf("Get after delete: %v, want ErrUnknownConnection", err)
		}
	})
}

// TestCacheInvalidationAcrossInstances: a write on instance B is seen on
// instance A as soon as B's event arrives (the heartbeat interval is a
// minute, so nothing but the event can explain it), for connections and
// integrations alike.
func TestCacheInvalidationAcrossInstances(t *testing.T) {
	e := newEnv(t, postgresBackend)
	e.connection("rot", "c1", time.Hour, false)
	a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
	waitLive(t, a.cache, true)
	stB := e.open(t)
	for i := range 5 {
		old := accessToken(t, a.svc, "rot", "c1")
		_ = accessToken(t, a.svc, "rot", "c1") // cached now
		want := fmt.Sprint("at-from-b-", i)
		setToken(t, stB, "rot", "c1", want)
		took := eventually(t, a.svc, "rot", "c1", want)
		if old == want {
			t.Fatal("the write changed nothing: the test could not fail")
		}
		t.Logf("write %d on B seen on A after %v", i, took)
	}
	if a.cache.Stats().Invalidations == 0 {
		t.Fatal("no invalidation counted: the new value did not come through an event")
	}

	// An integration deleted on B: A's next Get fails (its connections
	// went with it).
	if _, err := stB.DeleteIntegration(ctxT(t), "rot"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
		if errors.Is(err, tokens.ErrUnknownConnection) || errors.Is(err, tokens.ErrUnknownIntegration) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get on A 10 s after B deleted the integration: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestCacheResetWhenEventsAreLost: A's listener connection is killed, B
// writes while it is down (its event is lost), the listener reconnects and
// the store sends TopicReset: A's cache is emptied and A reads B's value.
func TestCacheResetWhenEventsAreLost(t *testing.T) {
	e := newEnv(t, postgresBackend)
	e.connection("rot", "c1", time.Hour, false)
	a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
	waitLive(t, a.cache, true)
	stB := e.open(t)
	_ = accessToken(t, a.svc, "rot", "c1")
	_ = accessToken(t, a.svc, "rot", "c1")
	resets := a.cache.Stats().Resets

	conn, err := pgx.Connect(ctxT(t), os.Getenv(pgtest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Only this test's listener: its channel names the test's schema.
	schema := e.st.(interface{ Schema() string }).Schema()
	var killed int
	if err := conn.QueryRow(ctxT(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, schema).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("no listener connection found to kill")
	}
	setToken(t, stB, "rot", "c1", "at-written-while-deaf")
	eventually(t, a.svc, "rot", "c1", "at-written-while-deaf")
	deadline := time.Now().Add(10 * time.Second)
	for a.cache.Stats().Resets == resets && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if a.cache.Stats().Resets == resets {
		t.Fatal("the listener reconnected without the cache being reset")
	}
}

// heartbeatGate wraps a real store and lets the test stop the cache's
// heartbeats from being published, as a listener that silently stopped
// receiving would.
type heartbeatGate struct {
	store.Store
	open atomic.Bool
}

func (g *heartbeatGate) Publish(ctx context.Context, ev store.Event) error {
	if ev.Topic == tokens.TopicHeartbeat && !g.open.Load() {
		return nil
	}
	return g.Store.Publish(ctx, ev)
}

// TestCacheServesOnlyWhileLive: nothing is cached before the first
// heartbeat comes back; when heartbeats stop coming back the cache empties
// itself and every Get reads the store; when they resume, caching resumes.
func TestCacheServesOnlyWhileLive(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "c1", time.Hour, false)
		gate := &heartbeatGate{Store: e.st}
		a := e.cachedService(gate, tokens.CacheOptions{HeartbeatInterval: 20 * time.Millisecond}, nil)
		for range 5 {
			_ = accessToken(t, a.svc, "rot", "c1")
		}
		if st := a.cache.Stats(); st.Live || st.Hits != 0 || st.Entries != 0 {
			t.Fatalf("before any heartbeat: %+v, want nothing cached or served", st)
		}
		gate.open.Store(true)
		waitLive(t, a.cache, true)
		_ = accessToken(t, a.svc, "rot", "c1")
		_ = accessToken(t, a.svc, "rot", "c1")
		if st := a.cache.Stats(); st.Hits == 0 || st.Entries == 0 {
			t.Fatalf("live: %+v, want the connection cached and served", st)
		}
		gate.open.Store(false)
		waitLive(t, a.cache, false)
		if st := a.cache.Stats(); st.Entries != 0 {
			t.Fatalf("not live: %d entries kept, want none", st.Entries)
		}
		// Writes nobody hears of (straight to the driver) are read at once.
		setToken(t, e.st, "rot", "c1", "at-unheard")
		if got := accessToken(t, a.svc, "rot", "c1"); got != "at-unheard" {
			t.Fatalf("not live: Get = %q, want the stored value", got)
		}
		gate.open.Store(true)
		waitLive(t, a.cache, true)
	})
}

// TestCacheNeverServesPastRefreshPoint: a cached token that becomes due
// (the clock moves past expiry minus the margin) is refreshed on the next
// Get, cache hit or not.
func TestCacheNeverServesPastRefreshPoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		e.connection("rot", "c1", tokens.DefaultMargin+time.Hour, false)
		a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, func(o *tokens.Options) { o.Now = now })
		waitLive(t, a.cache, true)
		first := accessToken(t, a.svc, "rot", "c1")
		if got := accessToken(t, a.svc, "rot", "c1"); got != first || a.cache.Stats().Hits == 0 {
			t.Fatal("the connection is not served from the cache: the test could not fail")
		}
		offset.Store(int64(time.Hour + time.Minute)) // now within the margin
		got := accessToken(t, a.svc, "rot", "c1")
		if got == first || !e.prov.works(got) || e.prov.requests.Load() != 1 {
			t.Fatalf("due cached token: Get = %q (first %q), %d provider requests; want one refresh and a new token",
				got, first, e.prov.requests.Load())
		}
		// The refreshed token (an hour of validity from the real clock) is
		// cached in turn and not refreshed again.
		offset.Store(0)
		for range 3 {
			if again := accessToken(t, a.svc, "rot", "c1"); again != got {
				t.Fatalf("after the refresh Get = %q, want %q", again, got)
			}
		}
		if n := e.prov.requests.Load(); n != 1 {
			t.Fatalf("%d provider requests, want 1", n)
		}
	})
}

// TestCacheConcurrentReadersDuringRefresh: 50 concurrent Gets of a cached
// token that became due share one refresh (one provider request, one
// token), on one instance and across two.
func TestCacheConcurrentReadersDuringRefresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		e.connection("rot", "c1", tokens.DefaultMargin+time.Hour, false)
		// New tokens expire an hour after the moved clock, so a reader that
		// comes after the refresh finished reads a token that is not due
		// (with the real clock it would be, and rightly refresh again).
		mod := func(o *tokens.Options) { o.Now = now; o.OAuth = &oauth.Client{Timeout: 10 * time.Second, Now: now} }
		svcs := []cached{e.cachedService(nil, tokens.CacheOptions{}, mod)}
		if b.name == "postgres" {
			svcs = append(svcs, e.cachedService(e.open(t), tokens.CacheOptions{}, mod))
		}
		for _, c := range svcs {
			waitLive(t, c.cache, true)
			_ = accessToken(t, c.svc, "rot", "c1")
		}
		for round := 1; round <= 3; round++ {
			offset.Store(int64(round) * int64(time.Hour+time.Minute)) // the cached token is due
			seen := concurrentGets(t, 50, func(i int) *tokens.Service { return svcs[i%len(svcs)].svc }, "rot", "c1", false)
			if len(seen) != 1 {
				t.Fatalf("round %d: readers got %d different tokens, want 1: %v", round, len(seen), seen)
			}
			if got := e.prov.requests.Load(); got != int64(round) {
				t.Fatalf("round %d: %d provider requests in total, want %d", round, got, round)
			}
			// The new token is read (and cached) everywhere afterwards.
			var want string
			for at := range seen {
				want = at
			}
			offset.Store(0) // the new token (valid an hour) is not due
			for _, c := range svcs {
				eventually(t, c.svc, "rot", "c1", want)
			}
		}
		if r := e.prov.reuses.Load(); r != 0 {
			t.Fatalf("provider saw %d reused refresh tokens", r)
		}
	})
}

// TestCacheBounded: the cache's estimated size stays within its budget,
// least recently used connections go first.
func TestCacheBounded(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	const n = 400
	for i := range n {
		e.connection("rot", fmt.Sprint("c", i), time.Hour, false)
	}
	const budget = 96 << 10
	a := e.cachedService(nil, tokens.CacheOptions{Bytes: budget, HeartbeatInterval: time.Minute}, nil)
	waitLive(t, a.cache, true)
	for i := range n {
		_ = accessToken(t, a.svc, "rot", fmt.Sprint("c", i))
		_ = accessToken(t, a.svc, "rot", "c0") // keep c0 recently used
	}
	st := a.cache.Stats()
	if st.Bytes > budget || st.Entries >= n || st.Evictions == 0 {
		t.Fatalf("after %d connections: %+v, want at most %d bytes, fewer entries, evictions", n, st, budget)
	}
	if st.Entries < 10 {
		t.Fatalf("only %d entries fit in %d bytes: the estimate is off", st.Entries, budget)
	}
	hits := st.Hits
	_ = accessToken(t, a.svc, "rot", "c0")
	_ = accessToken(t, a.svc, "rot", fmt.Sprint("c", n-1))
	if got := a.cache.Stats().Hits - hits; got != 2 {
		t.Errorf("recently used connections: %d hits of 2", got)
	}
	hits = a.cache.Stats().Hits
	_ = accessToken(t, a.svc, "rot", "c1")
	if got := a.cache.Stats().Hits - hits; got != 0 {
		t.Errorf("the least recently used connection was still cached")
	}
}

// TestGetEncodedKeepsTheEncoding: a cached connection is kept in the
// cache's codec, encoded once: GetEncoded with that codec answers with the
// kept bytes, Get decodes them; a write brings a new encoding of the new
// value; another codec encodes the connection itself.
func TestGetEncodedKeepsTheEncoding(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	e.connection("rot", "c1", time.Hour, false)
	var encodes, decodes atomic.Int64
	codec := tokens.NewCodec(func(c store.Connection) ([]byte, error) {
		encodes.Add(1)
		return json.Marshal(map[string]any{"id": c.ID, "k": c.ProviderConfigKey, "c": c.ConnectionID, "cr": c.Credentials,
			"cc": c.ConnectionConfig, "md": c.Metadata})
	}, func(b []byte) (store.Connection, error) {
		decodes.Add(1)
		var j struct {
			ID     int64             `json:"id"`
			K      string            `json:"k"`
			C      string            `json:"c"`
			Cr     store.Credentials `json:"cr"`
			Cc, Md map[string]any
		}
		err := json.Unmarshal(b, &j)
		return store.Connection{ID: j.ID, ProviderConfigKey: j.K, ConnectionID: j.C, Credentials: j.Cr,
			ConnectionConfig: j.Cc, Metadata: j.Md}, err
	})
	a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute, Codec: codec}, nil)
	waitLive(t, a.cache, true)
	get := func() string {
		b, err := a.svc.GetEncoded(ctxT(t), "rot", "c1", tokens.GetOptions{}, codec)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first := get()
	for range 5 {
		if got := get(); got != first {
			t.Fatalf("GetEncoded = %q, want %q", got, first)
		}
	}
	if n, d := encodes.Load(), decodes.Load(); n != 1 || d != 0 {
		t.Fatalf("6 GetEncoded of one cached connection: %d encodings, %d decodings; want 1 and 0", n, d)
	}
	if a.cache.Stats().Hits < 5 {
		t.Fatalf("not served from the cache: %+v", a.cache.Stats())
	}
	want, err := e.st.GetConnection(ctxT(t), "rot", "c1")
	if err != nil {
		t.Fatal(err)
	}
	size := a.cache.Stats().Bytes
	c, err := a.svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if decodes.Load() != 1 || !reflect.DeepEqual(c, want) {
		t.Fatalf("Get of the cached connection (%d decodings) = %+v\nwant the stored %+v", decodes.Load(), c, want)
	}
	// The decoding is kept: later Gets (the proxy's) decode nothing.
	for range 3 {
		if c, err := a.svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{}); err != nil || !reflect.DeepEqual(c, want) {
			t.Fatalf("Get again = %+v, %v", c, err)
		}
	}
	if decodes.Load() != 1 || a.cache.Stats().Bytes <= size {
		t.Fatalf("%d decodings after 4 Gets, cache size %d (was %d before the first Get): want one, kept and counted", decodes.Load(), a.cache.Stats().Bytes, size)
	}
	setToken(t, a.st, "rot", "c1", "at-new")
	// (The write's own event may arrive while the next read fills the
	// cache, which then does not keep it: encoded once or twice.)
	if got := get(); !strings.Contains(got, `"at-new"`) || encodes.Load() < 2 {
		t.Fatalf("after a write GetEncoded = %q (%d encodings), want the new token, encoded again", got, encodes.Load())
	}
	// Another codec never gets the first one's encoding.
	other := tokens.NewCodec(func(c store.Connection) ([]byte, error) {
		return []byte("other " + c.Credentials.AccessToken.Reveal()), nil
	}, nil)
	if b, _ := a.svc.GetEncoded(ctxT(t), "rot", "c1", tokens.GetOptions{}, other); string(b) != "other at-new" {
		t.Fatalf("second codec got %q", b)
	}
}

// TestCacheConcurrentWritersAndReaders hammers one connection with writes
// through the tracked store and reads: once the writes stop, every read
// returns the last value written (no stale entry survives a race between a
// read from the database and an invalidation).
func TestCacheConcurrentWritersAndReaders(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "c1", time.Hour, false)
		a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
		waitLive(t, a.cache, true)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := a.svc.Get(context.Background(), "rot", "c1", tokens.GetOptions{}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		last := ""
		for i := range 50 {
			last = fmt.Sprint("at-", i)
			setToken(t, a.st, "rot", "c1", last)
		}
		close(stop)
		wg.Wait()
		for range 3 {
			if got := accessToken(t, a.svc, "rot", "c1"); got != last {
				t.Fatalf("after the writes Get = %q, want %q", got, last)
			}
		}
	})
}

// eventTap wraps a real store and stands between it and the cache's event
// subscription: the test can stop delivering events (a listener connection
// that dropped) and inject its own.
type eventTap struct {
	store.Store
	deaf   atomic.Bool
	inject chan store.Event
}

func (e *eventTap) Subscribe() (<-chan store.Event, func()) {
	in, cancel := e.Store.Subscribe()
	out := make(chan store.Event)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			var ev store.Event
			var ok bool
			select {
			case ev, ok = <-in:
				if !ok {
					return
				}
				if e.deaf.Load() {
					continue
				}
			case ev = <-e.inject:
			case <-done:
				return
			}
			select {
			case out <- ev:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done); cancel() }) }
}

// TestCacheStopsServingAfterReset: a TopicReset (the PostgreSQL driver sends
// one as soon as its listener connection drops) empties the cache and stops
// it serving, and filling, until a heartbeat sent after the reset comes
// back: while no event arrives, every Get reads the store, so a write that
// nobody hears of is seen at once. Heartbeats are a minute apart here, so
// only the reset can explain it.
func TestCacheStopsServingAfterReset(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	e.connection("rot", "c1", time.Hour, false)
	tap := &eventTap{Store: e.st, inject: make(chan store.Event)}
	a := e.cachedService(tap, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
	waitLive(t, a.cache, true)
	_ = accessToken(t, a.svc, "rot", "c1")
	_ = accessToken(t, a.svc, "rot", "c1")
	if st := a.cache.Stats(); st.Hits == 0 || st.Entries != 1 {
		t.Fatalf("before the reset: %+v, want the connection cached and served", st)
	}

	tap.deaf.Store(true) // the listener is down: no event, no heartbeat comes back
	tap.inject <- store.Event{Topic: store.TopicReset}
	waitLive(t, a.cache, false)
	before := a.cache.Stats()
	if before.Entries != 0 {
		t.Fatalf("after the reset %d entries kept, want none", before.Entries)
	}
	for i := range 3 {
		want := fmt.Sprint("at-unheard-", i)
		setToken(t, e.st, "rot", "c1", want) // straight to the driver: no invalidation
		if got := accessToken(t, a.svc, "rot", "c1"); got != want {
			t.Fatalf("listener down: Get = %q, want the stored %q", got, want)
		}
	}
	if st := a.cache.Stats(); st.Hits != before.Hits || st.Entries != 0 || st.Live {
		t.Fatalf("listener down: %+v, want no hit, nothing cached", st)
	}

	// The listener is back: it sends a reset, the cache's heartbeat comes
	// back and caching resumes.
	tap.deaf.Store(false)
	tap.inject <- store.Event{Topic: store.TopicReset}
	waitLive(t, a.cache, true)
	_ = accessToken(t, a.svc, "rot", "c1")
	if got := accessToken(t, a.svc, "rot", "c1"); got != "at-unheard-2" || a.cache.Stats().Hits == before.Hits {
		t.Fatalf("live again: Get = %q, %+v; want the stored token from the cache", got, a.cache.Stats())
	}
}

// TestCachedConnectionsAreExact: a connection served from the cache (kept
// encoded by the default codec, decoded on Get) equals the one the store
// returns, for every kind of credentials, with nested config and metadata
// and the refresh state set.
func TestCachedConnectionsAreExact(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "seed", time.Hour, false) // the integration
		exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
		cfg := map[string]any{"subdomain": "acme", "n": 12.5, "big": 12345678901234567890.0, "list": []any{"a", 1.0, true, nil},
			"nested": map[string]any{"x": map[string]any{"y": "z"}}, "unicode": "é\u2028<>&"}
		creds := []store.Credentials{
			{Type: store.OAuth2, AccessToken: "at", RefreshToken: "rt", ExpiresAt: &exp,
				Raw: map[string]any{"access_token": "at", "scope": "a b", "expires_in": 3600.0, "extra": map[string]any{"k": []any{"v"}}}},
			{Type: store.OAuth2, AccessToken: "at-no-expiry"},
			{Type: store.OAuth2CC, AccessToken: "cc", ExpiresAt: &exp, ClientID: "cid", ClientSecret: "cs",
				ClientCertificate: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", ClientPrivateKey: "pk", Raw: map[string]any{"token_type": "bearer"}},
			{Type: store.OAuth1, OAuthToken: "ot", OAuthTokenSecret: "ots", Raw: map[string]any{"oauth_token": "ot"}},
			{Type: store.APIKey, APIKey: "key"},
			{Type: store.Basic, Username: "user", Password: "pass"},
			{Type: store.Basic, Username: "only-user"},
		}
		a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
		waitLive(t, a.cache, true)
		for i, cr := range creds {
			id := fmt.Sprint("exact-", i)
			c := store.Connection{ProviderConfigKey: "rot", ConnectionID: id, Credentials: cr, ConnectionConfig: cfg,
				Metadata: map[string]any{"account": id, "n": float64(i)}}
			if i == 1 {
				c.ConnectionConfig, c.Metadata = nil, nil
			}
			if _, err := a.st.UpsertConnection(ctxT(t), &c); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := a.st.UpdateConnection(ctxT(t), "rot", id, func(c *store.Connection) error {
					now := time.Now().UTC()
					c.LastRefreshAt, c.LastRefreshFailureAt, c.LastRefreshError, c.RefreshFailures = &now, &now, "invalid_grant", 3
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			want, err := e.st.GetConnection(ctxT(t), "rot", id)
			if err != nil {
				t.Fatal(err)
			}
			// A miss that fills, then hits (the write's own event may
			// still drop the first fill: go on until two hits).
			hits := a.cache.Stats().Hits
			for n := 0; a.cache.Stats().Hits-hits < 2; n++ {
				if n == 50 {
					t.Fatalf("%s: %d hits of 50 Gets", id, a.cache.Stats().Hits-hits)
				}
				got, err := a.svc.Get(ctxT(t), "rot", id, tokens.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s (%s), Get %d:\n got %+v\nwant %+v", id, cr.Type, n, got, want)
				}
			}
		}
	})
}
