package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
		mod := func(o *tokens.Options) { o.Now = now }
		svcs := []cached{e.cachedService(nil, tokens.CacheOptions{}, mod)}
		if b.name == "postgres" {
			svcs = append(svcs, e.cachedService(e.open(t), tokens.CacheOptions{}, mod))
		}
		for _, c := range svcs {
			waitLive(t, c.cache, true)
			_ = accessToken(t, c.svc, "rot", "c1")
		}
		for round := 1; round <= 3; round++ {
			offset.Store(int64(time.Hour + time.Minute)) // the cached token is due
			seen := concurrentGets(t, 50, func(i int) *tokens.Service { return svcs[i%len(svcs)].svc }, "rot", "c1", false)
			if len(seen) != 1 {
				t.Fatalf("round %d: readers got %d different tokens, want 1", round, len(seen))
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
	const budget = 256 << 10
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

// TestGetEncodedKeepsTheEncoding: a cached connection is encoded once; a
// write brings a new encoding of the new value.
func TestGetEncodedKeepsTheEncoding(t *testing.T) {
	e := newEnv(t, sqliteBackend)
	e.connection("rot", "c1", time.Hour, false)
	a := e.cachedService(nil, tokens.CacheOptions{HeartbeatInterval: time.Minute}, nil)
	waitLive(t, a.cache, true)
	var calls atomic.Int64
	enc := tokens.NewEncoder(func(c store.Connection) ([]byte, error) {
		calls.Add(1)
		return []byte(c.Credentials.AccessToken.Reveal()), nil
	})
	get := func() string {
		b, err := a.svc.GetEncoded(ctxT(t), "rot", "c1", tokens.GetOptions{}, enc)
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
	if n := calls.Load(); n != 1 {
		t.Fatalf("encoder called %d times for one cached connection, want 1", n)
	}
	setToken(t, a.st, "rot", "c1", "at-new")
	if got := get(); got != "at-new" {
		t.Fatalf("after a write GetEncoded = %q, want at-new", got)
	}
	// Another encoder never gets the first one's encoding.
	other := tokens.NewEncoder(func(c store.Connection) ([]byte, error) { return []byte("other"), nil })
	if b, _ := a.svc.GetEncoded(ctxT(t), "rot", "c1", tokens.GetOptions{}, other); string(b) != "other" {
		t.Fatalf("second encoder got %q", b)
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
