package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Defaults of TokenSource.
const (
	// DefaultExpiryMargin is how long before its expiry a cached token is
	// no longer used: the next Token call asks the server, which refreshes
	// it (the server refreshes tokens that expire within 15 minutes).
	DefaultExpiryMargin = time.Minute
	// DefaultMaxAge is how long a token whose expiry the provider did not
	// state is reused before the server is asked again.
	DefaultMaxAge = 5 * time.Minute
)

// TokenSourceOption configures TokenSource.
type TokenSourceOption func(*TokenSource)

// WithExpiryMargin sets how long before its expiry a cached token stops
// being used (default DefaultExpiryMargin; zero uses it until it expires).
func WithExpiryMargin(d time.Duration) TokenSourceOption {
	return func(s *TokenSource) { s.margin = d }
}

// WithMaxAge sets how long a token without a stated expiry is reused
// (default DefaultMaxAge). Zero or less asks the server on every call for
// such tokens.
func WithMaxAge(d time.Duration) TokenSourceOption {
	return func(s *TokenSource) { s.maxAge = d }
}

// TokenSource is an oauth2.TokenSource whose tokens come from the nango
// server: golang.org/x/oauth2 users (oauth2.NewClient, oauth2.Transport,
// Google's and others' client libraries) get the connection's access token
// and never refresh it themselves.
//
// The server is the source of truth: it holds the refresh token, refreshes
// (once across all its instances) and stores the result. TokenSource only
// caches the last access token it was given, and asks the server again
// (GET /connection/:id) whenever the cached token is within its expiry
// margin (WithExpiryMargin), or older than WithMaxAge when the provider
// stated no expiry, or after Invalidate. The tokens it returns carry no
// refresh token.
//
// It is safe for concurrent use; concurrent callers share one request to
// the server. It works for OAUTH2 and OAUTH2_CC connections; others are an
// error.
type TokenSource struct {
	c                 *Client
	ctx               context.Context
	providerConfigKey string
	connectionID      string
	margin, maxAge    time.Duration
	now               func() time.Time

	mu      sync.Mutex
	tok     *oauth2.Token
	fetched time.Time
	force   bool
}

// TokenSource returns an oauth2.TokenSource of the connection's access
// token. ctx is used for every request to the server (as with
// oauth2.Config.TokenSource): cancelling it makes later Token calls fail.
//
//	ts := c.TokenSource(ctx, "google", "user-42")
//	httpClient := oauth2.NewClient(ctx, ts)
func (c *Client) TokenSource(ctx context.Context, providerConfigKey, connectionID string, opts ...TokenSourceOption) *TokenSource {
	s := &TokenSource{
		c: c, ctx: ctx, providerConfigKey: providerConfigKey, connectionID: connectionID,
		margin: DefaultExpiryMargin, maxAge: DefaultMaxAge, now: time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Token returns the cached access token while it is fresh, else asks the
// server for the current one. Server errors are *APIError values.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && !s.force && s.fresh() {
		return cloneToken(s.tok), nil
	}
	t, err := s.c.Token(s.ctx, s.providerConfigKey, s.connectionID, s.force)
	if err != nil {
		return nil, err
	}
	o2, ok := t.(OAuth2Token)
	if !ok {
		return nil, fmt.Errorf("client: connection %q of integration %q holds %s credentials, not an OAuth 2 access token", s.connectionID, s.providerConfigKey, t.AuthMode())
	}
	s.tok = &oauth2.Token{AccessToken: o2.AccessToken, TokenType: "Bearer", Expiry: o2.Expiry}
	s.fetched = s.now()
	s.force = false
	return cloneToken(s.tok), nil
}

// Invalidate drops the cached token, so that the next Token call asks the
// server; with forceRefresh, that call also makes the server refresh the
// token at the provider (force_refresh=true), e.g. after the provider
// rejected a token it had not declared expired.
func (s *TokenSource) Invalidate(forceRefresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = nil
	s.force = s.force || forceRefresh
}

// fresh reports whether the cached token may still be used. s.mu is held.
func (s *TokenSource) fresh() bool {
	now := s.now()
	if s.tok.Expiry.IsZero() {
		return s.maxAge > 0 && now.Before(s.fetched.Add(s.maxAge))
	}
	return now.Before(s.tok.Expiry.Add(-s.margin))
}

func cloneToken(t *oauth2.Token) *oauth2.Token {
	c := *t
	return &c
}

var _ oauth2.TokenSource = (*TokenSource)(nil)
