package tokens

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// DefaultMargin is how long before its expiry an access token is refreshed
// when the template sets no token_expiration_buffer (SPEC Part A).
const DefaultMargin = 15 * time.Minute

// DefaultLeaseTTL is the refresh lease's lifetime between renewals.
const DefaultLeaseTTL = 15 * time.Second

// Options configure a Service. Store, Templates and OAuth are required.
type Options struct {
	// Store holds the connections and the refresh leases.
	Store store.Store
	// Templates returns the provider template of an integration (the
	// catalog's Get).
	Templates func(name string) (*provider.Template, bool)
	// OAuth calls the providers; its Timeout bounds each refresh request.
	OAuth *oauth.Client
	// Logger receives refresh outcomes (never a token); nil discards.
	Logger *slog.Logger
	// Now is the clock deciding whether a token is due; nil means time.Now.
	Now func() time.Time
	// Holder names this instance in refresh leases; "" means a random id.
	// Two Services must never share one.
	Holder string
	// DefaultMargin replaces DefaultMargin when positive.
	DefaultMargin time.Duration
	// LeaseTTL is how long a refresh lease lasts (by the database clock)
	// without renewal. The holder renews it every LeaseTTL/3 while it calls
	// the provider, so a slow provider keeps it, while a holder that dies
	// (SIGKILL, a lost machine) blocks other instances for at most LeaseTTL.
	// 0 means DefaultLeaseTTL; values under a second are raised to one.
	LeaseTTL time.Duration
	// MaxPoll is the longest pause between two looks at a lease another
	// instance holds, when no event arrives; 0 means 500ms.
	MaxPoll time.Duration
	// Observe, when set, is told about every Get once it returns (for
	// metrics and telemetry), with the Get's context. It must be quick and
	// safe for concurrent use.
	Observe func(context.Context, GetStats)
	// Cache, when set, keeps decrypted connections and integrations in
	// memory (see Cache); the Service's store must be the one Cache.Track
	// returned (or write through it), so that this process's writes drop
	// what they change. nil reads every connection from the store.
	Cache *Cache
}

// GetStats describes one finished Get (Options.Observe).
type GetStats struct {
	// CacheHit: the credentials came from the in-process cache (Options.Cache).
	CacheHit bool
	// Provider is the template of the connection's integration ("" when
	// Get failed before reading it).
	Provider string
	// Err is what Get returned; nil on success.
	Err error
	// Refreshed: the credentials were due, so Get ran or joined a refresh.
	Refreshed bool
	// RefreshWait is how long Get waited for that refresh (its own provider
	// call, or another caller's or instance's).
	RefreshWait time.Duration
}

// GetOptions modify one Get.
type GetOptions struct {
	// ForceRefresh refreshes even when the token is not due (it still needs
	// a refresh token). A refresh already running is shared, not repeated.
	ForceRefresh bool
	// BeforeWait, when set, is called once before Get waits on a refresh
	// (its own or another instance's), which can take as long as the
	// provider: HTTP handlers extend their write deadline there
	// (httpx.AllowSlowResponse), so reads that need no refresh pay nothing.
	BeforeWait func()
}

// Service hands out connections with fresh credentials. It is safe for
// concurrent use. Close it to stop its event subscription.
type Service struct {
	o       Options
	timeout time.Duration

	mu      sync.Mutex
	flights map[string]*flight

	watchOnce sync.Once
	watchMu   sync.Mutex
	watchers  map[string]map[chan struct{}]struct{}
	stopWatch func()
	closed    bool
}

// flight is one in-process refresh of one connection; every goroutine of
// this process that needs it waits on done.
type flight struct {
	done chan struct{}
	conn store.Connection
	err  error
}

// New returns a Service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OAuth == nil {
		o.OAuth = &oauth.Client{}
	}
	if o.Holder == "" {
		var b [12]byte
		_, _ = crand.Read(b[:])
		o.Holder = "tokens-" + hex.EncodeToString(b[:])
	}
	if o.DefaultMargin <= 0 {
		o.DefaultMargin = DefaultMargin
	}
	timeout := o.OAuth.Timeout
	if timeout <= 0 {
		timeout = oauth.DefaultTimeout
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	o.LeaseTTL = max(o.LeaseTTL, time.Second)
	if o.MaxPoll <= 0 {
		o.MaxPoll = 500 * time.Millisecond
	}
	return &Service{o: o, timeout: timeout, flights: map[string]*flight{}, watchers: map[string]map[chan struct{}]struct{}{}}
}

// Close stops the Service's event subscription. Gets keep working (waiting
// for another instance then relies on polling alone).
func (s *Service) Close() error {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	s.closed = true
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	return nil
}

// Get returns the connection (providerConfigKey, connectionID) with its
// credentials, refreshed first when they are OAuth 2 credentials with a
// refresh token and either opts.ForceRefresh is set or the access token
// expires within the template's refresh margin. Without a refresh token the
// stored (possibly stale) token is returned, as in the reference.
//
// OAUTH2_CC connections have no refresh token: when forced, when the token
// expires within the margin, or when the connection has no token yet, the
// server obtains a new one with the client-credentials grant, under the
// same single-refresh guarantees. API_KEY, BASIC and OAUTH1 credentials are
// returned as stored.
//
// Errors: ErrUnknownConnection, ErrUnknownIntegration, *RefreshError (the
// stored credentials are intact and the failure is recorded on the
// connection), the caller's context error, or a store error
// (store.ErrUnavailable, store.ErrUndecryptable...).
func (s *Service) Get(ctx context.Context, providerConfigKey, connectionID string, opts GetOptions) (store.Connection, error) {
	conn, _, err := s.get(ctx, providerConfigKey, connectionID, opts, nil)
	return conn, err
}

// GetEncoded is Get followed by enc's encoding of the connection. When enc
// is the Codec the cache keeps connections in (CacheOptions.Codec), a
// cached connection is answered with the kept bytes: no decoding, no
// encoding. The bytes are shared: callers must not modify them.
func (s *Service) GetEncoded(ctx context.Context, providerConfigKey, connectionID string, opts GetOptions, enc *Codec) ([]byte, error) {
	_, b, err := s.get(ctx, providerConfigKey, connectionID, opts, enc)
	return b, err
}

// got is what read found: a cache entry, a connection read from the
// store, or both (a read that filled the cache).
type got struct {
	pk, id string
	e      *entry
	conn   store.Connection
	loaded bool // conn holds the connection
}

// connection returns the connection read, decoding the entry when it was a
// hit.
func (s *Service) connection(ctx context.Context, g *got) (store.Connection, error) {
	if g.loaded {
		return g.conn, nil
	}
	conn, err := s.o.Cache.decoded(g.e)
	if err != nil {
		// Not expected (the codec reverses its own encoding): drop the
		// entry and read the store.
		s.o.Logger.Warn("token cache: a cached connection could not be decoded; reading the database", "err", err)
		s.o.Cache.invalidate(g.e.key)
		conn, err = s.readStore(ctx, g.pk, g.id)
		if err != nil {
			return store.Connection{}, err
		}
	}
	g.conn, g.loaded = conn, true
	return conn, nil
}

// answer returns what Get (enc nil) or GetEncoded returns for a connection
// that needs no refresh.
func (s *Service) answer(ctx context.Context, g *got, enc *Codec) (store.Connection, []byte, error) {
	if enc == nil {
		conn, err := s.connection(ctx, g)
		return conn, nil, err
	}
	if g.e != nil && enc == s.o.Cache.codec {
		return store.Connection{}, g.e.blob, nil
	}
	conn, err := s.connection(ctx, g)
	if err != nil {
		return store.Connection{}, nil, err
	}
	b, err := enc.encode(conn)
	return store.Connection{}, b, err
}

// get is Get (enc nil) and GetEncoded.
func (s *Service) get(ctx context.Context, providerConfigKey, connectionID string, opts GetOptions, enc *Codec) (_ store.Connection, _ []byte, err error) {
	var stats GetStats
	if s.o.Observe != nil {
		defer func() { stats.Err = err; s.o.Observe(ctx, stats) }()
	}
	g, err := s.read(ctx, providerConfigKey, connectionID)
	if err != nil {
		return store.Connection{}, nil, err
	}
	stats.CacheHit = !g.loaded
	in, err := s.integration(ctx, providerConfigKey)
	if err != nil {
		return store.Connection{}, nil, err
	}
	stats.Provider = in.Provider
	var d dueInputs
	if g.loaded {
		d = dueInputsOf(g.conn)
	} else {
		d = g.e.due // a hit: the inputs kept beside the answer
	}
	if d.typ != store.OAuth2 && d.typ != store.OAuth2CC {
		return s.answer(ctx, &g, enc)
	}
	tmpl, ok := s.o.Templates(in.Provider)
	if !ok {
		s.o.Logger.Warn("connection's provider template is not in the catalog; returning stored credentials",
			"provider_config_key", providerConfigKey, "provider", in.Provider)
		return s.answer(ctx, &g, enc)
	}
	// Checked on every read, cached or not: the cache keeps the inputs of
	// this decision, never its outcome.
	if !s.due(d, tmpl, opts.ForceRefresh) {
		return s.answer(ctx, &g, enc)
	}
	conn, err := s.connection(ctx, &g)
	if err != nil {
		return store.Connection{}, nil, err
	}
	start := time.Now()
	defer func() { stats.Refreshed, stats.RefreshWait = true, time.Since(start) }()
	if opts.BeforeWait != nil {
		opts.BeforeWait()
	}
	conn, err = s.join(ctx, conn, in, tmpl, opts.ForceRefresh)
	if err != nil || enc == nil {
		return conn, nil, err
	}
	b, err := enc.encode(conn)
	return conn, b, err
}

// Template returns the provider template called name (the catalog's Get):
// the API validates imported values against its declarations.
func (s *Service) Template(name string) (*provider.Template, bool) { return s.o.Templates(name) }

// read is the single place connections are read: from the cache
// (Options.Cache) when it holds them, else from the store, filling the
// cache.
func (s *Service) read(ctx context.Context, providerConfigKey, connectionID string) (got, error) {
	key := store.ConnectionEventPayload(providerConfigKey, connectionID)
	e, token := s.o.Cache.lookup(key)
	if e != nil {
		return got{pk: providerConfigKey, id: connectionID, e: e}, nil
	}
	conn, err := s.readStore(ctx, providerConfigKey, connectionID)
	if err != nil {
		return got{}, err
	}
	return got{pk: providerConfigKey, id: connectionID, e: s.o.Cache.fill(key, conn, token), conn: conn, loaded: true}, nil
}

// readStore reads the connection from the store, bypassing the cache (for
// decisions that must see the latest committed value).
func (s *Service) readStore(ctx context.Context, providerConfigKey, connectionID string) (store.Connection, error) {
	conn, err := s.o.Store.GetConnection(ctx, providerConfigKey, connectionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Connection{}, ErrUnknownConnection
	}
	return conn, err
}

// Integration returns the integration called key, through the cache when
// there is one (Options.Cache: kept correct as connections are), so a
// caller that needs the integration beside a connection's credentials (the
// proxy) costs no database round trip either. An absent integration is
// store.ErrNotFound, as the store says it.
func (s *Service) Integration(ctx context.Context, key string) (store.Integration, error) {
	in, err := s.integration(ctx, key)
	if errors.Is(err, ErrUnknownIntegration) {
		return store.Integration{}, store.ErrNotFound
	}
	return in, err
}

// integration reads an integration through the cache.
func (s *Service) integration(ctx context.Context, key string) (store.Integration, error) {
	if in, ok := s.o.Cache.integration(key); ok {
		return in, nil
	}
	token := s.o.Cache.beginIntegration()
	in, err := s.o.Store.GetIntegration(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Integration{}, ErrUnknownIntegration
	}
	if err != nil {
		return store.Integration{}, err
	}
	s.o.Cache.fillIntegration(key, in, token)
	return in, nil
}

// margin is the template's refresh margin.
func (s *Service) margin(t *provider.Template) time.Duration {
	if t != nil && t.RefreshMargin > 0 {
		return t.RefreshMargin
	}
	return s.o.DefaultMargin
}

// due reports whether a connection needs a refresh.
func (s *Service) due(d dueInputs, t *provider.Template, force bool) bool {
	switch d.typ {
	case store.OAuth2:
		if !d.hasRefresh {
			return false
		}
	case store.OAuth2CC:
		if !d.hasAccess {
			return true
		}
	default:
		return false
	}
	if force {
		return true
	}
	return d.expires != nil && d.expires.Sub(s.o.Now()) < s.margin(t)
}

// join runs or joins the in-process flight of conn's refresh and waits for
// it or for ctx. The flight runs on a context detached from any one caller,
// so a caller giving up does not fail the others.
func (s *Service) join(ctx context.Context, conn store.Connection, in store.Integration, t *provider.Template, force bool) (store.Connection, error) {
	key := store.ConnectionEventPayload(conn.ProviderConfigKey, conn.ConnectionID)
	s.mu.Lock()
	f, ok := s.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		s.flights[key] = f
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.o.LeaseTTL+2*s.timeout)
			defer cancel()
			f.conn, f.err = s.refresh(fctx, conn, in, t, force)
			s.mu.Lock()
			delete(s.flights, key)
			s.mu.Unlock()
			close(f.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.conn, f.err
	case <-ctx.Done():
		return store.Connection{}, ctx.Err()
	}
}

// refresh is the body of a flight: take the lease (or wait for its holder
// and share its outcome), call the provider, write the outcome, release.
func (s *Service) refresh(ctx context.Context, orig store.Connection, in store.Integration, t *provider.Template, force bool) (store.Connection, error) {
	pk, id := orig.ProviderConfigKey, orig.ConnectionID
	var wake <-chan struct{}
	var unwatch func()
	defer func() {
		if unwatch != nil {
			unwatch()
		}
	}()
	pause := 10 * time.Millisecond
	for {
		cur, locked, err := s.o.Store.TryLockRefresh(ctx, pk, id, s.o.Holder, s.o.LeaseTTL)
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, ErrUnknownConnection
		}
		if err != nil {
			return store.Connection{}, err
		}
		// Someone refreshed (or failed to) since our read: share that.
		if refreshedSince(orig, cur) {
			if locked {
				s.release(pk, id)
			}
			return cur, nil
		}
		if failedSince(orig, cur) {
			if locked {
				s.release(pk, id)
			}
			return store.Connection{}, sharedError(cur.LastRefreshError)
		}
		if locked {
			if !s.due(dueInputsOf(cur), t, force) {
				s.release(pk, id)
				return cur, nil
			}
			return s.refreshLocked(ctx, cur, in, t)
		}
		// Another instance holds the lease: wait for its write (an event)
		// or poll, with back-off and jitter.
		if wake == nil {
			wake, unwatch = s.watch(pk, id)
		}
		timer := time.NewTimer(pause/2 + rand.N(pause/2+1))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return store.Connection{}, ctx.Err()
		}
		timer.Stop()
		pause = min(2*pause, s.o.MaxPoll)
	}
}

// refreshedSince reports whether the connection's credentials were
// refreshed or replaced between the reads old and cur.
func refreshedSince(old, cur store.Connection) bool {
	return cur.Credentials.AccessToken != old.Credentials.AccessToken ||
		cur.Credentials.RefreshToken != old.Credentials.RefreshToken ||
		!sameTime(cur.LastRefreshAt, old.LastRefreshAt)
}

// failedSince reports whether a refresh failure was recorded between the
// reads old and cur.
func failedSince(old, cur store.Connection) bool {
	return cur.LastRefreshFailureAt != nil &&
		(!sameTime(cur.LastRefreshFailureAt, old.LastRefreshFailureAt) || cur.RefreshFailures != old.RefreshFailures)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// refreshLocked calls the provider while holding the lease, recovers an
// invalid_grant caused by a concurrent rotation, and writes the outcome.
func (s *Service) refreshLocked(ctx context.Context, cur store.Connection, in store.Integration, t *provider.Template) (store.Connection, error) {
	pk, id := cur.ProviderConfigKey, cur.ConnectionID
	start := time.Now()
	attempts := 0
	var res oauth.TokenResult
	var err error
	used := cur
	// Renew the lease while the provider is called; stop renewing before
	// the lease is released or written, or a late renewal would take it
	// back.
	stopRenewing := s.renewLease(pk, id)
	for {
		attempts++
		if used.Credentials.Type == store.OAuth2CC {
			res, err = s.o.OAuth.ClientCredentials(ctx, ccRequest(t, in, used))
			break
		}
		res, err = s.o.OAuth.Refresh(ctx, oauth.RefreshRequest{Template: t, Integration: in, Connection: used})
		var pe *oauth.ProviderError
		if err == nil || !errors.As(err, &pe) || !pe.InvalidGrant() || attempts > 1 {
			break
		}
		// invalid_grant: if the stored refresh token changed since we read
		// it, someone else rotated it (an instance whose lease had expired,
		// a re-authorization, an older server): use theirs.
		now, rerr := s.readStore(ctx, pk, id)
		if rerr != nil || now.Credentials.RefreshToken == used.Credentials.RefreshToken {
			break
		}
		s.o.Logger.Info("refresh token rotated concurrently; re-read it", "provider_config_key", pk, "connection_id", id)
		if !s.due(dueInputsOf(now), t, false) {
			stopRenewing()
			s.release(pk, id)
			s.activity(in, pk, id, true, start, attempts, 0, "", "recovered: another refresh had rotated the refresh token")
			return now, nil
		}
		used = now
	}
	stopRenewing()
	if err != nil {
		return s.recordFailure(ctx, used, in, start, attempts, err)
	}

	wrote := false
	var kept bool
	write := func(c *store.Connection) error {
		wrote, kept = true, false
		if c.Credentials.RefreshToken != used.Credentials.RefreshToken ||
			(used.Credentials.Type == store.OAuth2CC && (c.Credentials.AccessToken != used.Credentials.AccessToken ||
				c.Credentials.ClientID != used.Credentials.ClientID || c.Credentials.ClientSecret != used.Credentials.ClientSecret)) {
			// The stored grant changed while we called the provider (a new
			// OAuth flow, or a refresh by an instance whose lease overlapped
			// ours): the stored credentials are newer; keep them.
			kept = true
			return nil
		}
		c.Credentials = res.Credentials
		if len(res.Metadata) > 0 {
			c.Metadata = merge(c.Metadata, res.Metadata)
		}
		if len(res.ConnectionConfig) > 0 {
			c.ConnectionConfig = merge(c.ConnectionConfig, res.ConnectionConfig)
		}
		now := s.o.Now().UTC()
		c.LastRefreshAt = &now
		c.LastRefreshFailureAt, c.LastRefreshError, c.RefreshFailures = nil, "", 0
		return nil
	}
	conn, err := s.unlock(pk, id, write)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, ErrUnknownConnection
		}
		s.o.Logger.Error("refreshed credentials could not be stored; the provider's new tokens are lost",
			"provider_config_key", pk, "connection_id", id, "err", err)
		return store.Connection{}, err
	}
	msg := "refreshed"
	if wrote && kept {
		msg = "refreshed, but the stored credentials had been replaced meanwhile and were kept"
	}
	s.activity(in, pk, id, true, start, attempts, 200, endpointOf(t), msg)
	s.o.Logger.Info("access token refreshed", "provider_config_key", pk, "connection_id", id, "provider", in.Provider, "duration", time.Since(start))
	return conn, nil
}

// recordFailure records a failed refresh on the connection (credentials
// untouched), releases the lease and returns the *RefreshError.
func (s *Service) recordFailure(ctx context.Context, used store.Connection, in store.Integration, start time.Time, attempts int, err error) (store.Connection, error) {
	pk, id := used.ProviderConfigKey, used.ConnectionID
	re := classify(err)
	if ctxErr := ctx.Err(); ctxErr != nil && re.Kind == Unavailable {
		re.Message = "the refresh did not finish in time"
	}
	_, uerr := s.unlock(pk, id, func(c *store.Connection) error {
		now := s.o.Now().UTC()
		c.LastRefreshFailureAt = &now
		c.LastRefreshError = re.recordText()
		c.RefreshFailures++
		return nil
	})
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		s.o.Logger.Warn("refresh failure could not be recorded", "provider_config_key", pk, "connection_id", id, "err", uerr)
	}
	s.activity(in, pk, id, false, start, attempts, re.Status, re.Endpoint, re.recordText())
	s.o.Logger.Warn("access token refresh failed", "provider_config_key", pk, "connection_id", id, "provider", in.Provider,
		"kind", re.Kind.String(), "status", re.Status, "error", re.Message)
	if errors.Is(uerr, store.ErrNotFound) {
		return store.Connection{}, ErrUnknownConnection
	}
	return store.Connection{}, re
}

// classify turns an engine error into a *RefreshError.
func classify(err error) *RefreshError {
	var pe *oauth.ProviderError
	var rse *oauth.ResponseError
	var fe *oauth.FlowError
	var ce *oauth.ConfigError
	switch {
	case errors.As(err, &pe):
		kind := Rejected
		if pe.Status >= 500 || pe.Status == 429 {
			kind = Unavailable
		}
		return &RefreshError{Kind: kind, Message: fmt.Sprintf("%s (HTTP %d from %s)", pe.Message(), pe.Status, pe.Endpoint), Status: pe.Status, Code: pe.Code, Endpoint: pe.Endpoint, Err: err}
	case errors.As(err, &rse):
		return &RefreshError{Kind: BadResponse, Message: rse.Problem + " (from " + rse.Endpoint + ")", Status: rse.Status, Endpoint: rse.Endpoint, Err: err}
	case errors.As(err, &fe):
		return &RefreshError{Kind: Rejected, Message: fe.Description, Err: err}
	case errors.As(err, &ce):
		return &RefreshError{Kind: Rejected, Message: ce.Problem, Err: err}
	}
	return &RefreshError{Kind: Unavailable, Message: err.Error(), Err: err}
}

// unlock writes fn's changes (if any) and releases the lease, on a context
// of its own: fresh credentials must reach the database even when every
// caller has gone. A briefly unavailable database is retried for a while.
func (s *Service) unlock(pk, id string, fn func(*store.Connection) error) (store.Connection, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		c, err := s.o.Store.UnlockRefresh(ctx, pk, id, s.o.Holder, fn)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// renewLease extends this holder's lease on a connection every LeaseTTL/3
// until the returned function is called; that function returns once no
// renewal is running, and may be called more than once.
func (s *Service) renewLease(pk, id string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.o.LeaseTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, held, err := s.o.Store.TryLockRefresh(ctx, pk, id, s.o.Holder, s.o.LeaseTTL)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				s.o.Logger.Warn("refresh lease could not be renewed; another instance may take it over when it lapses",
					"provider_config_key", pk, "connection_id", id, "err", err)
			case !held:
				s.o.Logger.Warn("refresh lease was taken over by another instance while the provider was being called",
					"provider_config_key", pk, "connection_id", id)
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// release gives the lease back without writing.
func (s *Service) release(pk, id string) {
	if _, err := s.unlock(pk, id, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.o.Logger.Warn("refresh lease could not be released; it expires by itself", "provider_config_key", pk, "connection_id", id, "err", err)
	}
}

// activity records a refresh in the activity log (never a token).
func (s *Service) activity(in store.Integration, pk, id string, ok bool, start time.Time, attempts, status int, endpoint, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a := &store.Activity{
		Time: s.o.Now().UTC(), Action: "refresh", Success: ok, ProviderConfigKey: pk, ConnectionID: id,
		Provider: in.Provider, Method: "POST", Endpoint: endpoint, Status: status, Duration: time.Since(start),
		Attempts: attempts, Message: msg,
	}
	if err := s.o.Store.AddActivity(ctx, a); err != nil {
		s.o.Logger.Warn("activity entry could not be written", "err", err)
	}
}

// endpointOf names the template's refresh endpoint without placeholders'
// values (they are connection config, not secrets, but the template text
// is enough).
func endpointOf(t *provider.Template) string {
	if t.RefreshURL != "" {
		return t.RefreshURL
	}
	return t.TokenURL
}

func merge(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		out[k] = v
	}
	return out
}

// ccRequest is the client-credentials request of an OAUTH2_CC connection.
func ccRequest(t *provider.Template, in store.Integration, c store.Connection) oauth.ClientCredentialsRequest {
	return oauth.ClientCredentialsRequest{
		Template: t, Integration: in, Credentials: c.Credentials,
		ConnectionConfig: c.ConnectionConfig, Metadata: c.Metadata,
	}
}

// IssueClientCredentials obtains the first token of an OAUTH2_CC connection
// that is about to be stored (POST /connection without a token): c holds the
// connection's config, metadata and, when the template declares them per
// connection, its client credentials; on success c's credentials, metadata
// and connection config are filled from the provider's answer. Nothing is
// written: the caller stores c.
//
// Errors: ErrUnknownIntegration, ErrUnknownTemplate, or a *RefreshError
// (Rejected: the provider refused the client or the template cannot be built
// from the connection's values; Unavailable; BadResponse).
func (s *Service) IssueClientCredentials(ctx context.Context, providerConfigKey string, c *store.Connection) error {
	in, err := s.o.Store.GetIntegration(ctx, providerConfigKey)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownIntegration
	}
	if err != nil {
		return err
	}
	t, ok := s.o.Templates(in.Provider)
	if !ok {
		return ErrUnknownTemplate
	}
	c.Credentials.Type = store.OAuth2CC
	start := time.Now()
	res, err := s.o.OAuth.ClientCredentials(ctx, ccRequest(t, in, *c))
	if err != nil {
		re := classify(err)
		s.activity(in, providerConfigKey, c.ConnectionID, false, start, 1, re.Status, re.Endpoint, "client credentials: "+re.recordText())
		return re
	}
	c.Credentials = res.Credentials
	if len(res.Metadata) > 0 {
		c.Metadata = merge(c.Metadata, res.Metadata)
	}
	if len(res.ConnectionConfig) > 0 {
		c.ConnectionConfig = merge(c.ConnectionConfig, res.ConnectionConfig)
	}
	s.activity(in, providerConfigKey, c.ConnectionID, true, start, 1, 200, t.TokenURL, "client credentials: first token obtained")
	return nil
}
