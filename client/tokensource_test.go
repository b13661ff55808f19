package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/nango-go/nango/client"
)

// countingTransport counts the requests a client sends to the server.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// countedClient is f's client with a request counter.
func countedClient(t *testing.T, f *fixture) (*client.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{}
	return newAPIClient(t, f.srv, client.WithSecretKey(testSecretKey), client.WithHTTPClient(&http.Client{Transport: ct})), ct
}

func importOAuth2(t *testing.T, f *fixture, id string, in client.ImportConnectionInput) {
	t.Helper()
	in.ProviderConfigKey, in.ConnectionID = "oauth2", id
	if _, err := f.c.ImportConnection(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func mustToken(t *testing.T, ts oauth2.TokenSource) *oauth2.Token {
	t.Helper()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A token the server refreshes on read (it expires within the server's
// margin) reaches the x/oauth2 user, who never sees a refresh token; the
// fresh token is then reused without asking the server again.
func TestTokenSourceSeesServerRefresh(t *testing.T) {
	f := newFixture(t)
	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at-old", RefreshToken: "rt-old", ExpiresIn: 5 * time.Minute})
	c, ct := countedClient(t, f)
	ts := c.TokenSource(context.Background(), "oauth2", "u")

	tok := mustToken(t, ts)
	if tok.AccessToken != "at-refreshed-1" || tok.RefreshToken != "" || tok.TokenType != "Bearer" ||
		time.Until(tok.Expiry) < 55*time.Minute || !tok.Valid() {
		t.Fatalf("Token = %+v", tok)
	}
	if f.provider.refreshes.Load() != 1 || ct.n.Load() != 1 {
		t.Fatalf("refreshes %d, server requests %d; want 1, 1", f.provider.refreshes.Load(), ct.n.Load())
	}
	for range 3 {
		if got := mustToken(t, ts); got.AccessToken != "at-refreshed-1" {
			t.Fatalf("cached Token = %+v", got)
		}
	}
	if ct.n.Load() != 1 {
		t.Errorf("server requests = %d after cached reads, want 1", ct.n.Load())
	}

	// Used through oauth2.NewClient, the provider's API gets the token.
	hc := oauth2.NewClient(context.Background(), ts)
	resp, err := hc.Get(f.provider.srv.URL + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := f.provider.auth(); got != "Bearer at-refreshed-1" {
		t.Errorf("API got Authorization %q", got)
	}
}

// A cached token within its expiry margin is not used: the server is
// asked each time, and what it answers is what the caller gets.
func TestTokenSourceExpiryMargin(t *testing.T) {
	f := newFixture(t)
	// 20 minutes left: outside the server's 15-minute refresh margin.
	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at-1", RefreshToken: "rt-1", ExpiresIn: 20 * time.Minute})
	c, ct := countedClient(t, f)
	tests := []struct {
		name     string
		margin   time.Duration
		wantReqs int64 // server requests for 3 Token calls
	}{
		{"token within margin: asked each time", 30 * time.Minute, 3},
		{"token outside margin: cached", 10 * time.Minute, 1},
		{"zero margin: cached until expiry", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ct.n.Load()
			ts := c.TokenSource(context.Background(), "oauth2", "u", client.WithExpiryMargin(tt.margin))
			for range 3 {
				if tok := mustToken(t, ts); tok.AccessToken != "at-1" {
					t.Fatalf("Token = %+v", tok)
				}
			}
			if got := ct.n.Load() - before; got != tt.wantReqs {
				t.Errorf("server requests = %d, want %d", got, tt.wantReqs)
			}
		})
	}
	if f.provider.refreshes.Load() != 0 {
		t.Errorf("the server refreshed a token outside its margin")
	}
}

// Tokens without a stated expiry are reused for MaxAge only.
func TestTokenSourceMaxAge(t *testing.T) {
	f := newFixture(t)
	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at-forever"})
	c, ct := countedClient(t, f)
	for _, tt := range []struct {
		name     string
		opts     []client.TokenSourceOption
		wantReqs int64
	}{
		{"default max age", nil, 1},
		{"zero max age", []client.TokenSourceOption{client.WithMaxAge(0)}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := ct.n.Load()
			ts := c.TokenSource(context.Background(), "oauth2", "u", tt.opts...)
			for range 3 {
				if tok := mustToken(t, ts); tok.AccessToken != "at-forever" || !tok.Expiry.IsZero() {
					t.Fatalf("Token = %+v", tok)
				}
			}
			if got := ct.n.Load() - before; got != tt.wantReqs {
				t.Errorf("server requests = %d, want %d", got, tt.wantReqs)
			}
		})
	}
}

// A refresh done elsewhere (another process forcing it) shows once the
// cache is invalidated; Invalidate(true) makes the server refresh.
func TestTokenSourceInvalidate(t *testing.T) {
	f := newFixture(t)
	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at-1", RefreshToken: "rt-1", ExpiresIn: 2 * time.Hour})
	ts := f.c.TokenSource(context.Background(), "oauth2", "u")
	if tok := mustToken(t, ts); tok.AccessToken != "at-1" {
		t.Fatalf("Token = %+v", tok)
	}
	if _, err := f.c.GetConnection(context.Background(), "oauth2", "u", true); err != nil {
		t.Fatal(err)
	}
	if tok := mustToken(t, ts); tok.AccessToken != "at-1" {
		t.Fatalf("cached Token = %+v, want the cached at-1", tok)
	}
	ts.Invalidate(false)
	if tok := mustToken(t, ts); tok.AccessToken != "at-refreshed-1" {
		t.Fatalf("Token after Invalidate(false) = %+v", tok)
	}
	ts.Invalidate(true)
	if tok := mustToken(t, ts); tok.AccessToken != "at-refreshed-2" {
		t.Fatalf("Token after Invalidate(true) = %+v", tok)
	}
	if n := f.provider.refreshes.Load(); n != 2 {
		t.Errorf("refreshes = %d, want 2", n)
	}
}

// Concurrent callers share one request to the server.
func TestTokenSourceConcurrent(t *testing.T) {
	f := newFixture(t)
	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at-old", RefreshToken: "rt-old", ExpiresIn: time.Minute})
	c, ct := countedClient(t, f)
	ts := c.TokenSource(context.Background(), "oauth2", "u")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			tok, err := ts.Token()
			if err == nil && tok.AccessToken != "at-refreshed-1" {
				err = errors.New("got " + tok.AccessToken)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ct.n.Load() != 1 || f.provider.refreshes.Load() != 1 {
		t.Errorf("server requests %d, refreshes %d; want 1, 1", ct.n.Load(), f.provider.refreshes.Load())
	}
}

func TestTokenSourceErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "apikey", ConnectionID: "k", APIKey: "the-api-key"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.TokenSource(ctx, "apikey", "k").Token()
	if err == nil || !strings.Contains(err.Error(), "API_KEY credentials, not an OAuth 2 access token") || strings.Contains(err.Error(), "the-api-key") {
		t.Errorf("API key connection: %v", err)
	}
	_, err = f.c.TokenSource(ctx, "oauth2", "nobody").Token()
	wantAPIError(t, err, http.StatusBadRequest, "unkown_connection")

	importOAuth2(t, f, "u", client.ImportConnectionInput{AccessToken: "at", RefreshToken: "rt", ExpiresIn: time.Minute})
	f.provider.refuse(true)
	_, err = f.c.TokenSource(ctx, "oauth2", "u").Token()
	wantAPIError(t, err, http.StatusBadRequest, "refresh_token_external_error")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.c.TokenSource(cctx, "oauth2", "u").Token(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
