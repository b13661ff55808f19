package tokens

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// Cache keeps decrypted connections and integrations in memory so that a
// token fetch needs no database round trip and no decryption. It is correct
// across server instances sharing a database:
//
//   - every write this process makes goes through the store returned by
//     Track, which drops the written entries synchronously, so a read after
//     a write in this process never sees the old value;
//   - writes by other instances arrive as the store's TopicConnection and
//     TopicIntegration events (PostgreSQL NOTIFY, delivered on commit) and
//     drop the entries they name;
//   - TopicReset (the listener connection dropped or reconnected, or this
//     subscriber fell behind) drops everything and stops the cache serving
//     until a heartbeat sent after the reset comes back through the
//     events: while the PostgreSQL listener is down nothing is served from
//     memory, and every read goes to the database;
//   - a read from the database fills the cache only if no event touched
//     its shard while it ran (an epoch per shard), so a value read before a
//     write can never be cached after that write's event;
//   - the cache is used only while its event subscription is proven live:
//     it publishes a heartbeat event every HeartbeatInterval and serves
//     entries only while its own heartbeat came back within StaleAfter
//     (10 s by default). Before the first one (start-up), and whenever the
//     heartbeats stop arriving (a listener connection that died silently),
//     every read goes to the database and the cache is emptied; so even
//     then a write by another instance is seen at most about StaleAfter
//     later.
//
// The cache holds the inputs of the refresh decision (the credentials'
// type and expiry, whether they hold an access and a refresh token),
// never a decision: Service.Get checks whether the token is due on every
// hit, so a cached token is never handed out past its refresh point.
//
// Connections are kept encoded (CacheOptions.Codec: the API's answer in the
// server), about 0.9 KB each for a typical OAuth 2 connection: a hit of
// Service.GetEncoded with that codec returns the kept bytes as they are.
// Service.Get (the proxy, the dashboard) needs the whole connection: the
// first Get of an entry decodes it and the decoding is kept with the entry
// (about 1.7 KB more, counted in the budget). The connections Get returns
// from the cache share their maps with it: callers must treat a
// Connection's maps and pointers as read-only (they already must, as the
// store's contract on concurrent use implies).
//
// It is bounded: entries are counted by an estimate of their size and the
// least recently used are evicted beyond the budget.
type Cache struct {
	seed     maphash.Seed
	shards   [cacheShards]cacheShard
	budget   int // bytes per shard
	disabled bool
	codec    *Codec

	integMu    sync.RWMutex
	integ      map[string]store.Integration
	integEpoch uint64

	live atomic.Bool

	log      *slog.Logger
	interval time.Duration
	stale    time.Duration
	holder   string
	start    time.Time
	acked    atomic.Int64 // monotonic ns (since start) of the last heartbeat sent that came back
	resetAt  int64        // monotonic ns (since start) of the last TopicReset (run's goroutine only)

	stats cacheCounters

	runOnce sync.Once
	mu      sync.Mutex
	st      store.Store
	cancel  func()
	done    chan struct{}
	closed  bool
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Bytes bounds the estimated size of the cached connections; 0 means
	// DefaultCacheBytes, a negative value turns the cache off.
	Bytes int
	// Codec is how connections are kept (see Cache); nil means a JSON
	// encoding of the package's own. The server passes the API's answer
	// encoding, so that a token fetch answers with the kept bytes.
	Codec *Codec
	// HeartbeatInterval is how often the cache proves its event
	// subscription live; 0 means DefaultHeartbeat.
	HeartbeatInterval time.Duration
	// StaleAfter is how long without a heartbeat coming back the
	// subscription is taken for dead (the cache empties itself and
	// reads go to the database until heartbeats come back); 0 means
	// DefaultStaleHeartbeats × HeartbeatInterval. It is the longest a write
	// by another instance can go unseen when the listener connection dies
	// silently; a listener that notices it lost its connection sends
	// TopicReset at once.
	StaleAfter time.Duration
	// Logger receives the cache's state changes; nil discards.
	Logger *slog.Logger
}

// Defaults of CacheOptions.
const (
	// DefaultCacheBytes holds about 37,000 typical OAuth 2 connections
	// fetched as tokens (about 0.9 KB each), 13,000 proxied ones (about
	// 2.5 KB with their decoding): see Cache. It is a bound, not a
	// reservation.
	DefaultCacheBytes = 32 << 20
	DefaultHeartbeat  = time.Second
	// DefaultStaleHeartbeats: a loaded machine (or a long GC pause of the
	// database) can delay a heartbeat by seconds; only a much longer
	// silence means the listener is gone.
	DefaultStaleHeartbeats = 10
)

// TopicHeartbeat is the event topic of the cache's heartbeats (payload:
// the sending cache's id and send time). Other subscribers ignore it.
const TopicHeartbeat = "tokens_cache_heartbeat"

const (
	cacheShards = 64
	maxIntegs   = 4096
	// entryOverhead is what an entry costs besides its key, its encoding
	// and its refresh error: the entry struct (a 256-byte size class), its
	// slot in the shard's map and the key's string header.
	entryOverhead = 320
)

type cacheShard struct {
	mu    sync.Mutex
	m     map[string]*entry
	head  entry // sentinel: head.next is the most recently used
	bytes int
	epoch uint64
}

// entry is one cached connection: its encoding (by the cache's codec), the
// inputs of the refresh decision, and what the codec does not keep (the
// timestamps and the refresh state).
type entry struct {
	key  string
	blob []byte
	due  dueInputs

	created, updated int64 // unix ns, UTC
	lastRefreshAt    *time.Time
	lastFailureAt    *time.Time
	lastError        string
	failures         int

	// conn is the decoded connection, kept once a caller needed the whole
	// connection (Service.Get: the proxy, the dashboard) and counted in
	// size from then on. Shared: read-only.
	conn atomic.Pointer[store.Connection]

	size       int
	prev, next *entry
}

// dueInputs are what Service.due reads of a connection.
type dueInputs struct {
	typ                   store.AuthMode
	hasAccess, hasRefresh bool
	expires               *time.Time
}

func dueInputsOf(c store.Connection) dueInputs {
	return dueInputs{typ: c.Credentials.Type, hasAccess: !c.Credentials.AccessToken.IsZero(),
		hasRefresh: !c.Credentials.RefreshToken.IsZero(), expires: c.Credentials.ExpiresAt}
}

type cacheCounters struct {
	hits, misses, fills, evictions, invalidations, resets atomic.Int64
}

// CacheStats are the cache's counters since it was made.
type CacheStats struct {
	Live                                                  bool
	Entries, Bytes                                        int
	Hits, Misses, Fills, Evictions, Invalidations, Resets int64
}

// NewCache returns a cache; it serves nothing until Track gives it the
// store (and its first heartbeat comes back).
func NewCache(o CacheOptions) *Cache {
	c := &Cache{seed: maphash.MakeSeed(), integ: map[string]store.Integration{}, log: o.Logger, codec: o.Codec,
		interval: o.HeartbeatInterval, start: time.Now(), holder: "cache-" + strconv.FormatUint(rand.Uint64(), 36)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.codec == nil || c.codec.decode == nil {
		c.codec = defaultCodec
	}
	if c.interval <= 0 {
		c.interval = DefaultHeartbeat
	}
	c.stale = o.StaleAfter
	if c.stale <= 0 {
		c.stale = DefaultStaleHeartbeats * c.interval
	}
	switch {
	case o.Bytes < 0:
		c.disabled = true
	case o.Bytes == 0:
		o.Bytes = DefaultCacheBytes
	}
	c.budget = max(o.Bytes/cacheShards, 1)
	for i := range c.shards {
		s := &c.shards[i]
		s.m = map[string]*entry{}
		s.head.next, s.head.prev = &s.head, &s.head
	}
	return c
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() CacheStats {
	st := CacheStats{Live: c.live.Load(), Hits: c.stats.hits.Load(), Misses: c.stats.misses.Load(), Fills: c.stats.fills.Load(),
		Evictions: c.stats.evictions.Load(), Invalidations: c.stats.invalidations.Load(), Resets: c.stats.resets.Load()}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += len(s.m)
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	return st
}

func (c *Cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// lookup returns the cached entry of key, or nil and the token a database
// read of key must present to fill.
func (c *Cache) lookup(key string) (*entry, uint64) {
	if c == nil || c.disabled {
		return nil, 0
	}
	live := c.live.Load()
	s := c.shard(key)
	s.mu.Lock()
	var e *entry
	if live {
		if e = s.m[key]; e != nil {
			s.unlink(e)
			s.pushFront(e)
		}
	}
	token := s.epoch
	s.mu.Unlock()
	if e != nil {
		c.stats.hits.Add(1)
	} else {
		c.stats.misses.Add(1)
	}
	return e, token
}

// fill caches conn under key, read from the database after lookup returned
// token, unless an invalidation ran meanwhile or the cache is not live. It
// returns the entry now cached, or nil.
func (c *Cache) fill(key string, conn store.Connection, token uint64) *entry {
	if c == nil || c.disabled || !c.live.Load() {
		return nil
	}
	e, err := c.newEntry(key, conn)
	if err != nil {
		c.log.Debug("token cache: connection not cached: its encoding failed", "err", err)
		return nil
	}
	if e.size > c.budget {
		return nil
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != token || !c.live.Load() {
		return nil
	}
	if old := s.m[key]; old != nil {
		s.remove(old)
	}
	s.m[key] = e
	s.pushFront(e)
	s.bytes += e.size
	for s.bytes > c.budget && s.head.prev != &s.head {
		s.remove(s.head.prev)
		c.stats.evictions.Add(1)
	}
	c.stats.fills.Add(1)
	return e
}

// newEntry encodes conn into an entry.
func (c *Cache) newEntry(key string, conn store.Connection) (*entry, error) {
	blob, err := c.codec.encode(conn)
	if err != nil {
		return nil, err
	}
	// The times are copied: conn goes back to the caller.
	due := dueInputsOf(conn)
	due.expires = copyTime(due.expires)
	e := &entry{key: key, blob: blob, due: due,
		created: conn.CreatedAt.UnixNano(), updated: conn.UpdatedAt.UnixNano(),
		lastRefreshAt: copyTime(conn.LastRefreshAt), lastFailureAt: copyTime(conn.LastRefreshFailureAt),
		lastError: conn.LastRefreshError, failures: conn.RefreshFailures}
	e.size = sizeOf(e)
	return e, nil
}

// sizeOf estimates the memory an entry holds.
func sizeOf(e *entry) int {
	n := entryOverhead + len(e.key) + cap(e.blob) + len(e.lastError)
	for _, t := range []*time.Time{e.due.expires, e.lastRefreshAt, e.lastFailureAt} {
		if t != nil {
			n += 24
		}
	}
	return n
}

// decoded returns the connection e keeps, decoded once: the decoding is
// then kept with the entry (and counted in the budget), so a caller that
// needs whole connections (the proxy) pays the decoding once per entry,
// while entries only ever fetched as their encoding stay small.
func (c *Cache) decoded(e *entry) (store.Connection, error) {
	if p := e.conn.Load(); p != nil {
		return *p, nil
	}
	conn, err := c.decode(e)
	if err != nil {
		return store.Connection{}, err
	}
	kept := conn
	extra := decodedSize(&kept)
	s := c.shard(e.key)
	s.mu.Lock()
	if s.m[e.key] == e && e.conn.Load() == nil { // still cached
		e.conn.Store(&kept)
		e.size += extra
		s.bytes += extra
		for s.bytes > c.budget && s.head.prev != &s.head {
			s.remove(s.head.prev)
			c.stats.evictions.Add(1)
		}
	}
	s.mu.Unlock()
	return conn, nil
}

// decodedSize estimates what a decoded connection adds to its entry: the
// struct, its secrets and strings, its decoded maps.
func decodedSize(c *store.Connection) int {
	n := 400
	cr := c.Credentials
	for _, s := range []string{cr.AccessToken.Reveal(), cr.RefreshToken.Reveal(), cr.ClientID, cr.ClientSecret.Reveal(),
		cr.ClientCertificate.Reveal(), cr.ClientPrivateKey.Reveal(), cr.OAuthToken.Reveal(), cr.OAuthTokenSecret.Reveal(),
		cr.APIKey.Reveal(), cr.Username, cr.Password.Reveal(), c.ProviderConfigKey, c.ConnectionID} {
		n += len(s)
	}
	return n + sizeOfMap(cr.Raw) + sizeOfMap(c.ConnectionConfig) + sizeOfMap(c.Metadata)
}

// sizeOfMap estimates a decoded JSON object: a small map takes a group of
// eight slots whatever its length.
func sizeOfMap(m map[string]any) int {
	if m == nil {
		return 0
	}
	n := 64 + 34*max(len(m), 8)
	for k, v := range m {
		n += len(k) + sizeOfValue(v)
	}
	return n
}

func sizeOfValue(v any) int {
	switch v := v.(type) {
	case string:
		return 16 + len(v)
	case map[string]any:
		return sizeOfMap(v)
	case []any:
		n := 24 + 16*len(v)
		for _, x := range v {
			n += sizeOfValue(x)
		}
		return n
	default:
		return 16
	}
}

// decode decodes the connection e keeps.
func (c *Cache) decode(e *entry) (store.Connection, error) {
	conn, err := c.codec.decode(e.blob)
	if err != nil {
		return store.Connection{}, err
	}
	conn.CreatedAt, conn.UpdatedAt = time.Unix(0, e.created).UTC(), time.Unix(0, e.updated).UTC()
	conn.LastRefreshAt, conn.LastRefreshFailureAt = copyTime(e.lastRefreshAt), copyTime(e.lastFailureAt)
	conn.LastRefreshError, conn.RefreshFailures = e.lastError, e.failures
	return conn, nil
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// invalidate drops key's entry and fences out fills of reads that started
// before.
func (c *Cache) invalidate(key string) {
	if c == nil || c.disabled {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	s.epoch++
	if e := s.m[key]; e != nil {
		s.remove(e)
	}
	s.mu.Unlock()
	c.stats.invalidations.Add(1)
}

// reset drops everything and fences out every fill in progress.
func (c *Cache) reset() {
	if c == nil || c.disabled {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.epoch++
		clear(s.m)
		s.head.next, s.head.prev = &s.head, &s.head
		s.bytes = 0
		s.mu.Unlock()
	}
	c.integMu.Lock()
	c.integEpoch++
	clear(c.integ)
	c.integMu.Unlock()
	c.stats.resets.Add(1)
}

func (s *cacheShard) pushFront(e *entry) {
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
}

func (s *cacheShard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (s *cacheShard) remove(e *entry) {
	s.unlink(e)
	delete(s.m, e.key)
	s.bytes -= e.size
}

// integration returns the cached integration of key.
func (c *Cache) integration(key string) (store.Integration, bool) {
	if c == nil || c.disabled || !c.live.Load() {
		return store.Integration{}, false
	}
	c.integMu.RLock()
	in, ok := c.integ[key]
	c.integMu.RUnlock()
	return in, ok
}

func (c *Cache) beginIntegration() uint64 {
	if c == nil || c.disabled {
		return 0
	}
	c.integMu.RLock()
	defer c.integMu.RUnlock()
	return c.integEpoch
}

func (c *Cache) fillIntegration(key string, in store.Integration, token uint64) {
	if c == nil || c.disabled || !c.live.Load() {
		return
	}
	c.integMu.Lock()
	defer c.integMu.Unlock()
	if c.integEpoch != token || !c.live.Load() || len(c.integ) >= maxIntegs {
		return
	}
	c.integ[key] = in
}

func (c *Cache) invalidateIntegration(key string) {
	if c == nil || c.disabled {
		return
	}
	c.integMu.Lock()
	c.integEpoch++
	delete(c.integ, key)
	c.integMu.Unlock()
	c.stats.invalidations.Add(1)
}

// --- writes of this process ---------------------------------------------------

// Track makes c serve entries read through st and returns the store every
// component of this process must write through: it drops the cache
// entries a write touches as soon as the write returns. Call it once.
//
// It also starts the cache's event subscription and heartbeat (Close stops
// them); the cache serves nothing until its first heartbeat comes back.
func (c *Cache) Track(st store.Store) store.Store {
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	if c.disabled {
		return st
	}
	c.runOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		c.mu.Lock()
		c.cancel, c.done = cancel, make(chan struct{})
		closed := c.closed
		c.mu.Unlock()
		if closed {
			cancel()
			close(c.done)
			return
		}
		go c.run(ctx)
	})
	return &trackedStore{Store: st, c: c}
}

// Close stops the subscription and the heartbeat; the cache then serves
// nothing. Safe to call more than once.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	c.setLive(false, "closed")
	return nil
}

// run subscribes to the store's events, sends heartbeats and watches them.
// Subscribing may block (PostgreSQL connects its listener): it runs here,
// not on a request's path.
func (c *Cache) run(ctx context.Context) {
	defer close(c.done)
	events, unsubscribe := c.st.Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	c.heartbeat(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				c.setLive(false, "the store's event subscription ended")
				return
			}
			c.handle(ctx, ev)
		case <-tick.C:
			if stale := time.Since(c.start) - time.Duration(c.acked.Load()); c.live.Load() && stale > c.stale {
				c.setLive(false, "no heartbeat came back through the store's events for "+stale.Round(time.Millisecond).String())
			}
			c.heartbeat(ctx)
		}
	}
}

// heartbeat publishes this cache's heartbeat with its send time.
func (c *Cache) heartbeat(ctx context.Context) {
	sent := int64(time.Since(c.start))
	pctx, cancel := context.WithTimeout(ctx, c.interval)
	defer cancel()
	if err := c.st.Publish(pctx, store.Event{Topic: TopicHeartbeat, Payload: c.holder + " " + strconv.FormatInt(sent, 10)}); err != nil && ctx.Err() == nil {
		c.log.Debug("token cache heartbeat not published", "err", err)
	}
}

func (c *Cache) handle(ctx context.Context, ev store.Event) {
	switch ev.Topic {
	case store.TopicConnection:
		c.invalidate(ev.Payload)
	case store.TopicIntegration:
		c.invalidateIntegration(ev.Payload)
	case store.TopicReset:
		// Events may have been lost, and may still be (the listener
		// connection dropped and is not back yet): serve nothing until a
		// heartbeat sent from now on comes back, which proves the
		// subscription delivers again. Send one at once.
		c.resetAt = int64(time.Since(c.start))
		if c.live.Load() {
			c.setLive(false, "") // empties the cache
		} else {
			c.reset()
		}
		c.heartbeat(ctx)
	case TopicHeartbeat:
		holder, sent, ok := cut(ev.Payload)
		if !ok || holder != c.holder {
			return
		}
		ns, err := strconv.ParseInt(sent, 10, 64)
		if err != nil || ns < c.resetAt {
			return
		}
		if ns > c.acked.Load() {
			c.acked.Store(ns)
		}
		if !c.live.Load() {
			c.setLive(true, "")
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// setLive changes whether entries are served; either way the cache is
// emptied and fills in progress are fenced out. why is logged as a warning
// when the cache stops serving ("" logs at debug level only).
func (c *Cache) setLive(live bool, why string) {
	if c.disabled || c.live.Load() == live {
		return
	}
	c.live.Store(live)
	c.reset()
	switch {
	case live:
		c.log.Debug("token cache: event subscription live; caching")
	case why == "":
		c.log.Debug("token cache: the store's events may have been lost; reading every connection from the database until a heartbeat comes back")
	case why != "closed":
		c.log.Warn("token cache: event subscription not live; reading every connection from the database until it is", "reason", why)
	}
}

// trackedStore invalidates the cache after each write of this process.
type trackedStore struct {
	store.Store
	c *Cache
}

func (t *trackedStore) connWritten(pk, id string) {
	t.c.invalidate(store.ConnectionEventPayload(pk, id))
}

func (t *trackedStore) UpsertConnection(ctx context.Context, conn *store.Connection) (bool, error) {
	created, err := t.Store.UpsertConnection(ctx, conn)
	t.connWritten(conn.ProviderConfigKey, conn.ConnectionID)
	return created, err
}

func (t *trackedStore) UpdateConnection(ctx context.Context, pk, id string, fn func(*store.Connection) error) (store.Connection, error) {
	conn, err := t.Store.UpdateConnection(ctx, pk, id, fn)
	t.connWritten(pk, id)
	return conn, err
}

func (t *trackedStore) DeleteConnection(ctx context.Context, pk, id string) error {
	err := t.Store.DeleteConnection(ctx, pk, id)
	t.connWritten(pk, id)
	return err
}

func (t *trackedStore) UnlockRefresh(ctx context.Context, pk, id, holder string, fn func(*store.Connection) error) (store.Connection, error) {
	conn, err := t.Store.UnlockRefresh(ctx, pk, id, holder, fn)
	t.connWritten(pk, id)
	return conn, err
}

func (t *trackedStore) CreateIntegration(ctx context.Context, in *store.Integration) error {
	err := t.Store.CreateIntegration(ctx, in)
	t.c.invalidateIntegration(in.Key)
	return err
}

func (t *trackedStore) UpdateIntegration(ctx context.Context, key string, fn func(*store.Integration) error) (store.Integration, error) {
	in, err := t.Store.UpdateIntegration(ctx, key, fn)
	t.c.invalidateIntegration(key)
	return in, err
}

// DeleteIntegration deletes the integration's connections too: everything
// is dropped.
func (t *trackedStore) DeleteIntegration(ctx context.Context, key string) (int64, error) {
	n, err := t.Store.DeleteIntegration(ctx, key)
	t.c.reset()
	return n, err
}

// PoolStats forwards the driver's pool statistics (store.PoolStatser).
func (t *trackedStore) PoolStats() []store.PoolStats {
	if p, ok := t.Store.(store.PoolStatser); ok {
		return p.PoolStats()
	}
	return nil
}

// AddActivities forwards to the driver's batch write when it has one
// (store.AddActivities).
func (t *trackedStore) AddActivities(ctx context.Context, entries []store.Activity) error {
	return store.AddActivities(ctx, t.Store, entries)
}

// --- encodings -------------------------------------------------------------

// Codec is an encoding of connections: the form a Cache keeps them in
// (CacheOptions.Codec), and the answer Service.GetEncoded returns. Make one
// per encoding with NewCodec and reuse it: GetEncoded with the cache's own
// Codec answers a hit with the kept bytes.
type Codec struct {
	encode func(store.Connection) ([]byte, error)
	decode func([]byte) (store.Connection, error)
}

// NewCodec returns a Codec. encode must be deterministic. decode, needed
// only by a Codec a Cache keeps connections in (nil otherwise), must
// reverse encode for the connection's ID, ProviderConfigKey, ConnectionID,
// Credentials, ConnectionConfig and Metadata exactly (decoded maps equal to
// what the store's own decoding gives); the cache keeps the timestamps
// and the refresh state itself. Both must be safe for concurrent use.
func NewCodec(encode func(store.Connection) ([]byte, error), decode func([]byte) (store.Connection, error)) *Codec {
	return &Codec{encode: encode, decode: decode}
}

// defaultCodec is the Cache's encoding when CacheOptions.Codec is nil.
var defaultCodec = NewCodec(
	func(c store.Connection) ([]byte, error) {
		return json.Marshal(codecJSON{ID: c.ID, Key: c.ProviderConfigKey, Conn: c.ConnectionID, Credentials: c.Credentials,
			Config: c.ConnectionConfig, Metadata: c.Metadata})
	},
	func(b []byte) (store.Connection, error) {
		var j codecJSON
		if err := json.Unmarshal(b, &j); err != nil {
			return store.Connection{}, err
		}
		return store.Connection{ID: j.ID, ProviderConfigKey: j.Key, ConnectionID: j.Conn, Credentials: j.Credentials,
			ConnectionConfig: orEmpty(j.Config), Metadata: orEmpty(j.Metadata)}, nil
	})

type codecJSON struct {
	ID          int64             `json:"id"`
	Key         string            `json:"k"`
	Conn        string            `json:"c"`
	Credentials store.Credentials `json:"cr"`
	Config      map[string]any    `json:"cc"`
	Metadata    map[string]any    `json:"md"`
}

// orEmpty is m, or an empty map for nil: the stores decode an empty JSON
// object as an empty, non-nil map.
func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
