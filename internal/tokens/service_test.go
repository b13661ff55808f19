package tokens_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

func TestRefreshDecision(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tests := []struct {
			name        string
			expiresIn   time.Duration // 0 = no expiry
			noRefresh   bool
			force       bool
			margin      time.Duration // template token_expiration_buffer
			wantRefresh bool
		}{
			{name: "due: expires within 15 minutes", expiresIn: 5 * time.Minute, wantRefresh: true},
			{name: "already expired", expiresIn: -time.Hour, wantRefresh: true},
			{name: "not due: expires in an hour", expiresIn: time.Hour},
			{name: "forced although not due", expiresIn: time.Hour, force: true, wantRefresh: true},
			{name: "no expiry, not forced", expiresIn: 0},
			{name: "no expiry, forced", expiresIn: 0, force: true, wantRefresh: true},
			{name: "expired without a refresh token: stale token returned", expiresIn: -time.Hour, noRefresh: true},
			{name: "forced without a refresh token", expiresIn: time.Hour, noRefresh: true, force: true},
			{name: "template margin of 2h makes 1h due", expiresIn: time.Hour, margin: 2 * time.Hour, wantRefresh: true},
			{name: "template margin of 30s makes 5m not due", expiresIn: 5 * time.Minute, margin: 30 * time.Second},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, b)
				e.tmpls["rotating"].RefreshMargin = tt.margin
				before := e.connection("rot", "c1", tt.expiresIn, tt.noRefresh)
				stored := e.stored("rot", "c1")
				got, err := e.service(nil, nil).Get(ctxT(t), "rot", "c1", tokens.GetOptions{ForceRefresh: tt.force})
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				reqs := e.prov.requests.Load()
				if tt.wantRefresh {
					if reqs != 1 {
						t.Fatalf("provider got %d requests, want 1", reqs)
					}
					if got.Credentials.AccessToken == before.Credentials.AccessToken || !e.prov.works(got.Credentials.AccessToken.Reveal()) {
						t.Errorf("Get returned the old or an unknown token")
					}
					after := e.stored("rot", "c1")
					if after.Credentials.AccessToken != got.Credentials.AccessToken || after.Credentials.RefreshToken != got.Credentials.RefreshToken {
						t.Errorf("stored credentials differ from the returned ones")
					}
					if after.LastRefreshAt == nil || after.Credentials.ExpiresAt == nil || time.Until(*after.Credentials.ExpiresAt) < 50*time.Minute {
						t.Errorf("after refresh: last_refresh_at %v expires_at %v", after.LastRefreshAt, after.Credentials.ExpiresAt)
					}
					if after.Credentials.Raw["expires_at"] == nil {
						t.Errorf("raw has no computed expires_at: %v", after.Credentials.Raw)
					}
					acts, _ := e.st.ListActivity(ctxT(t), store.ActivityFilter{Action: "refresh"})
					if len(acts) != 1 || !acts[0].Success || acts[0].ConnectionID != "c1" {
						t.Errorf("activity %+v, want one successful refresh", acts)
					}
					for _, a := range acts {
						if strings.Contains(a.Message, got.Credentials.AccessToken.Reveal()) || strings.Contains(a.Message, "rt-") {
							t.Errorf("activity leaks a token: %q", a.Message)
						}
					}
					return
				}
				if reqs != 0 {
					t.Fatalf("provider got %d requests, want none", reqs)
				}
				if got.Credentials.AccessToken != before.Credentials.AccessToken {
					t.Errorf("token changed without a refresh")
				}
				if after := e.stored("rot", "c1"); !after.UpdatedAt.Equal(stored.UpdatedAt) {
					t.Errorf("a Get without refresh wrote the connection (updated_at %v → %v)", stored.UpdatedAt, after.UpdatedAt)
				}
			})
		}
	})
}

func TestGetErrorsAndOtherModes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		svc := e.service(nil, nil)
		if _, err := svc.Get(ctxT(t), "rot", "nope", tokens.GetOptions{}); !errors.Is(err, tokens.ErrUnknownConnection) {
			t.Errorf("unknown connection: err = %v", err)
		}
		// A connection whose integration does not exist.
		orphan := store.Connection{ProviderConfigKey: "gone", ConnectionID: "c", Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "a"}}
		if _, err := e.st.UpsertConnection(ctxT(t), &orphan); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctxT(t), "gone", "c", tokens.GetOptions{}); !errors.Is(err, tokens.ErrUnknownIntegration) {
			t.Errorf("integration gone: err = %v", err)
		}
		// API keys are returned as they are, even when forced.
		key := store.Connection{ProviderConfigKey: "rot", ConnectionID: "k", Credentials: store.Credentials{Type: store.APIKey, APIKey: "sk-1"}}
		if _, err := e.st.UpsertConnection(ctxT(t), &key); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(ctxT(t), "rot", "k", tokens.GetOptions{ForceRefresh: true})
		if err != nil || got.Credentials.APIKey != "sk-1" || e.prov.requests.Load() != 0 {
			t.Errorf("API key connection: %v %v", err, e.prov.requests.Load())
		}
		// An integration whose template left the catalog: stored credentials.
		e.integration("lost", "no-such-template")
		c := e.connection("lost", "c", -time.Hour, false)
		got, err = svc.Get(ctxT(t), "lost", "c", tokens.GetOptions{ForceRefresh: true})
		if err != nil || got.Credentials.AccessToken != c.Credentials.AccessToken {
			t.Errorf("unknown template: %v", err)
		}
	})
}

func TestRotationConcurrentReadersOneInstance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		svc := e.service(nil, nil)
		for round := 1; round <= 3; round++ {
			// Make the stored token due again.
			if _, err := e.st.UpdateConnection(ctxT(t), "rot", "c1", func(c *store.Connection) error {
				exp := time.Now().Add(time.Minute)
				c.Credentials.ExpiresAt = &exp
				return nil
			}); err != nil && round > 1 {
				t.Fatal(err)
			}
			if round == 1 {
				e.connection("rot", "c1", time.Minute, false)
			}
			tokensSeen := concurrentGets(t, 50, func(i int) *tokens.Service { return svc }, "rot", "c1", false)
			if len(tokensSeen) != 1 {
				t.Fatalf("round %d: readers got %d different tokens, want 1", round, len(tokensSeen))
			}
			for at := range tokensSeen {
				if !e.prov.works(at) {
					t.Fatalf("round %d: token not issued by the provider", round)
				}
			}
			if got := e.prov.requests.Load(); got != int64(round) {
				t.Fatalf("round %d: provider got %d requests in total, want %d", round, got, round)
			}
		}
		if r := e.prov.reuses.Load(); r != 0 {
			t.Fatalf("provider saw %d reused refresh tokens", r)
		}
	})
}

// concurrentGets runs n Gets at once (service chosen by index) and returns
// the set of access tokens they got. Any error fails the test.
func concurrentGets(t *testing.T, n int, svc func(i int) *tokens.Service, key, id string, force bool) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := svc(i).Get(ctxT(t), key, id, tokens.GetOptions{ForceRefresh: force})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			seen[c.Credentials.AccessToken.Reveal()]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Get: %v", err)
	}
	return seen
}

// TestConcurrentReadersTwoInstances is the concurrency test of the OAuth
// issue at service level: two token services on two store instances of one
// database (on PostgreSQL: separate pools, leases and LISTEN/NOTIFY), 50
// concurrent Gets of a token about to expire split across both: exactly
// one token request reaches the provider (which rejects reused refresh
// tokens) and all 50 get the same token, which the provider accepts.
// Three rounds, so rotated refresh tokens are used in turn.
func TestConcurrentReadersTwoInstances(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, delay := range []time.Duration{0, 150 * time.Millisecond} {
			t.Run("provider latency "+delay.String(), func(t *testing.T) {
				e := newEnv(t, b)
				st2 := e.open(t)
				e.prov.hook = func(http.ResponseWriter, *http.Request, url.Values) bool {
					time.Sleep(delay)
					return false
				}
				svcs := []*tokens.Service{e.service(nil, nil), e.service(st2, nil)}
				e.connection("rot", "c1", time.Minute, false)
				for round := 1; round <= 3; round++ {
					if round > 1 {
						if _, err := e.st.UpdateConnection(ctxT(t), "rot", "c1", func(c *store.Connection) error {
							exp := time.Now().Add(time.Minute)
							c.Credentials.ExpiresAt = &exp
							return nil
						}); err != nil {
							t.Fatal(err)
						}
					}
					seen := concurrentGets(t, 50, func(i int) *tokens.Service { return svcs[i%2] }, "rot", "c1", false)
					if len(seen) != 1 {
						t.Fatalf("round %d: readers got %d different tokens, want 1", round, len(seen))
					}
					for at, n := range seen {
						if n != 50 || !e.prov.works(at) {
							t.Fatalf("round %d: %d readers got the token, accepted by the provider: %v", round, n, e.prov.works(at))
						}
					}
					if got := e.prov.requests.Load(); got != int64(round) {
						t.Fatalf("round %d: provider got %d token requests in total, want exactly %d", round, got, round)
					}
				}
				if r := e.prov.reuses.Load(); r != 0 {
					t.Fatalf("provider saw %d reused refresh tokens", r)
				}
			})
		}
	})
}

func TestFailureRecordedAndCredentialsIntact(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		tests := []struct {
			name     string
			status   int
			body     string
			ct       string
			wantKind tokens.RefreshKind
			wantIn   string
		}{
			{name: "invalid_grant", status: 400, body: `{"error":"invalid_grant","error_description":"revoked"}`, ct: "application/json", wantKind: tokens.Rejected, wantIn: "invalid_grant: revoked"},
			{name: "server error", status: 503, body: `<html>down</html>`, ct: "text/html", wantKind: tokens.Unavailable, wantIn: "HTTP 503"},
			{name: "unusable answer", status: 200, body: `{"token_type":"bearer"}`, ct: "application/json", wantKind: tokens.BadResponse, wantIn: "no access_token"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, b)
				e.prov.hook = func(w http.ResponseWriter, _ *http.Request, _ url.Values) bool {
					w.Header().Set("Content-Type", tt.ct)
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(tt.body))
					return true
				}
				orig := e.connection("rot", "c1", time.Minute, false)
				svc := e.service(nil, nil)
				for attempt := 1; attempt <= 2; attempt++ {
					_, err := svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
					var re *tokens.RefreshError
					if !errors.As(err, &re) {
						t.Fatalf("err = %v, want *RefreshError", err)
					}
					if re.Kind != tt.wantKind || !strings.Contains(re.Message, tt.wantIn) {
						t.Errorf("kind %v message %q, want %v containing %q", re.Kind, re.Message, tt.wantKind, tt.wantIn)
					}
					if strings.Contains(re.Error(), orig.Credentials.RefreshToken.Reveal()) || strings.Contains(re.Error(), "client-secret") {
						t.Errorf("error leaks a secret: %v", re)
					}
					c := e.stored("rot", "c1")
					if c.Credentials.AccessToken != orig.Credentials.AccessToken || c.Credentials.RefreshToken != orig.Credentials.RefreshToken || !c.Credentials.ExpiresAt.Equal(*orig.Credentials.ExpiresAt) {
						t.Errorf("a failed refresh changed the credentials")
					}
					if c.LastRefreshFailureAt == nil || c.RefreshFailures != attempt || !strings.Contains(c.LastRefreshError, tt.wantIn) {
						t.Errorf("recorded failure: at %v count %d error %q", c.LastRefreshFailureAt, c.RefreshFailures, c.LastRefreshError)
					}
				}
				acts, _ := e.st.ListActivity(ctxT(t), store.ActivityFilter{Action: "refresh"})
				if len(acts) != 2 || acts[0].Success {
					t.Errorf("activity %+v, want two failures", acts)
				}
				// A later success clears the failure state.
				e.prov.hook = nil
				if _, err := svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{}); err != nil {
					t.Fatalf("Get after recovery: %v", err)
				}
				c := e.stored("rot", "c1")
				if c.LastRefreshFailureAt != nil || c.RefreshFailures != 0 || c.LastRefreshError != "" || c.LastRefreshAt == nil {
					t.Errorf("failure state not cleared: %+v", c.LogValue())
				}
			})
		}
	})
}

func TestInvalidGrantFromConcurrentRotationRecovered(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, stillDue := range []bool{false, true} {
			name := map[bool]string{false: "rotated token is fresh", true: "rotated token still due: one retry"}[stillDue]
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, b)
				e.connection("rot", "c1", time.Minute, false)
				var once sync.Once
				var rotatedAT string
				// Before answering the first request, "another instance"
				// uses the same refresh token and stores its result, so our
				// request meets a used token.
				e.prov.hook = func(w http.ResponseWriter, r *http.Request, form url.Values) bool {
					done := false
					once.Do(func() {
						rt := form.Get("refresh_token")
						e.prov.mu.Lock()
						delete(e.prov.valid, rt)
						e.prov.used[rt] = true
						e.prov.mu.Unlock()
						at, nrt := e.prov.issue()
						rotatedAT = at
						exp := time.Now().Add(time.Hour)
						if stillDue {
							exp = time.Now().Add(time.Minute)
						}
						if _, err := e.st.UpdateConnection(context.Background(), "rot", "c1", func(c *store.Connection) error {
							c.Credentials.AccessToken, c.Credentials.RefreshToken, c.Credentials.ExpiresAt = secret.String(at), secret.String(nrt), &exp
							return nil
						}); err != nil {
							t.Error(err)
						}
						writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
						done = true
					})
					return done
				}
				got, err := e.service(nil, nil).Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
				if err != nil {
					t.Fatalf("Get: %v (an invalid_grant from a concurrent rotation must not be reported)", err)
				}
				if !e.prov.works(got.Credentials.AccessToken.Reveal()) {
					t.Fatalf("returned token unknown to the provider")
				}
				wantReqs := int64(1)
				if stillDue {
					wantReqs = 2
				} else if got.Credentials.AccessToken.Reveal() != rotatedAT {
					t.Errorf("did not return the concurrently rotated token")
				}
				if n := e.prov.requests.Load(); n != wantReqs {
					t.Errorf("provider got %d requests, want %d", n, wantReqs)
				}
				c := e.stored("rot", "c1")
				if c.LastRefreshFailureAt != nil || c.RefreshFailures != 0 {
					t.Errorf("a recovered invalid_grant was recorded as a failure: %q", c.LastRefreshError)
				}
				if e.prov.reuses.Load() != 0 {
					t.Errorf("the service reused a refresh token %d times", e.prov.reuses.Load())
				}
			})
		}
	})
}

func TestRotatedTokenWrittenAfterLeaseLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "c1", time.Minute, false)
		e.prov.hook = func(http.ResponseWriter, *http.Request, url.Values) bool {
			// The lease is lost while the provider works: it is released
			// and another holder takes it.
			ctx := context.Background()
			if _, err := e.st.UnlockRefresh(ctx, "rot", "c1", "holder-A", nil); err != nil {
				t.Error(err)
			}
			if _, ok, err := e.st.TryLockRefresh(ctx, "rot", "c1", "thief", time.Minute); err != nil || !ok {
				t.Errorf("thief could not take the lease: %v %v", ok, err)
			}
			return false
		}
		svc := e.service(nil, func(o *tokens.Options) { o.Holder = "holder-A" })
		got, err := svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := e.stored("rot", "c1")
		if c.Credentials.RefreshToken != got.Credentials.RefreshToken || !e.prov.works(c.Credentials.AccessToken.Reveal()) {
			t.Fatal("the rotated refresh token was not stored after the lease was lost")
		}
		// The thief's lease is untouched.
		if _, ok, _ := e.st.TryLockRefresh(ctxT(t), "rot", "c1", "third", time.Minute); ok {
			t.Error("the thief's lease was released by the old holder")
		}
	})
}

func TestStuckProviderDoesNotBlockOthers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		stuck := newProvider(t)
		stuck.block = make(chan struct{})
		t.Cleanup(func() { close(stuck.block) })
		e.tmpls["stuck"] = &provider.Template{Name: "stuck", AuthMode: provider.OAuth2, TokenURL: stuck.URL + "/token"}
		e.integration("stk", "stuck")
		at, rt := stuck.issue()
		exp := time.Now().Add(time.Minute)
		sc := store.Connection{ProviderConfigKey: "stk", ConnectionID: "s1", Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: secret.String(rt), ExpiresAt: &exp}}
		if _, err := e.st.UpsertConnection(ctxT(t), &sc); err != nil {
			t.Fatal(err)
		}
		e.connection("rot", "c1", time.Minute, false)
		svc := e.service(nil, func(o *tokens.Options) { o.OAuth = &oauth.Client{Timeout: 2 * time.Second} })

		stuckDone := make(chan error, 1)
		go func() {
			_, err := svc.Get(context.Background(), "stk", "s1", tokens.GetOptions{})
			stuckDone <- err
		}()
		waitFor(t, "the stuck refresh to reach the provider", func() bool { return stuck.requests.Load() > 0 }, stuckDone)
		// Another connection is served while the stuck one waits.
		if _, err := svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{}); err != nil {
			t.Fatalf("other connection: %v", err)
		}
		// A reader of the stuck connection who gives up returns at once.
		ctx, cancel := context.WithCancel(context.Background())
		waiter := make(chan error, 1)
		go func() {
			_, err := svc.Get(ctx, "stk", "s1", tokens.GetOptions{})
			waiter <- err
		}()
		cancel()
		if err := <-waiter; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v", err)
		}
		select {
		case err := <-stuckDone:
			t.Fatalf("the stuck refresh returned before its timeout: %v", err)
		default:
		}
		// The provider timeout ends the stuck refresh with a recorded failure.
		err := <-stuckDone
		var re *tokens.RefreshError
		if !errors.As(err, &re) || re.Kind != tokens.Unavailable {
			t.Fatalf("stuck refresh: err = %v, want Unavailable", err)
		}
		if c := e.stored("stk", "s1"); c.RefreshFailures != 1 || c.Credentials.AccessToken.Reveal() != at {
			t.Errorf("stuck failure not recorded or credentials changed: %d", c.RefreshFailures)
		}
		// The lease was released: the next Get tries again at once.
		if _, ok, _ := e.st.TryLockRefresh(ctxT(t), "stk", "s1", "probe", time.Second); !ok {
			t.Error("lease still held after the failed refresh")
		}
	})
}

func TestWaitersCancelIndependently(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.prov.block = make(chan struct{})
		e.connection("rot", "c1", time.Minute, false)
		svc := e.service(nil, nil)
		// The first caller starts the refresh and gives up; the others
		// still get the result when the provider answers.
		ctx1, cancel1 := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := svc.Get(ctx1, "rot", "c1", tokens.GetOptions{})
			first <- err
		}()
		waitFor(t, "the refresh to reach the provider", func() bool { return e.prov.requests.Load() > 0 }, first)
		second := make(chan store.Connection, 1)
		go func() {
			c, err := svc.Get(ctxT(t), "rot", "c1", tokens.GetOptions{})
			if err != nil {
				t.Error(err)
			}
			second <- c
		}()
		cancel1()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("first: %v", err)
		}
		close(e.prov.block)
		c := <-second
		if !e.prov.works(c.Credentials.AccessToken.Reveal()) || e.prov.requests.Load() != 1 {
			t.Fatalf("second waiter: token works %v, requests %d", e.prov.works(c.Credentials.AccessToken.Reveal()), e.prov.requests.Load())
		}
		if e.stored("rot", "c1").Credentials.AccessToken != c.Credentials.AccessToken {
			t.Error("refresh result not stored")
		}
	})
}

// waitFor polls cond until it holds; it fails the test if done delivers
// first (the operation ended early) or after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool, done chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("waiting for %s: the operation ended first: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
