package tokens_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/tokens"
)

// A provider slower than the lease does not let a second instance take the
// lease over: the holder renews it while it waits, so exactly one token
// request reaches the provider.
func TestLeaseRenewedDuringSlowProvider(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		st2 := e.open(t)
		e.prov.hook = func(http.ResponseWriter, *http.Request, url.Values) bool {
			time.Sleep(2500 * time.Millisecond) // 2.5 leases
			return false
		}
		short := func(o *tokens.Options) { o.LeaseTTL = time.Second; o.MaxPoll = 50 * time.Millisecond }
		svcs := []*tokens.Service{e.service(nil, short), e.service(st2, short)}
		e.connection("rot", "c1", time.Minute, false)
		seen := concurrentGets(t, 10, func(i int) *tokens.Service { return svcs[i%2] }, "rot", "c1", false)
		if len(seen) != 1 {
			t.Fatalf("readers got %d different tokens, want 1", len(seen))
		}
		if got := e.prov.requests.Load(); got != 1 {
			t.Fatalf("provider got %d token requests, want exactly 1", got)
		}
		if r := e.prov.reuses.Load(); r != 0 {
			t.Fatalf("provider saw %d reused refresh tokens", r)
		}
	})
}

// A holder that dies with the lease (it never renews nor releases it)
// blocks other instances only until the lease lapses, not for the provider
// timeout.
func TestLeaseOfDeadHolderLapses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.connection("rot", "c1", time.Minute, false)
		if _, ok, err := e.st.TryLockRefresh(context.Background(), "rot", "c1", "dead-instance", 2*time.Second); err != nil || !ok {
			t.Fatalf("taking the lease as the dead instance: %v %v", ok, err)
		}
		svc := e.service(nil, func(o *tokens.Options) { o.LeaseTTL = 2 * time.Second; o.MaxPoll = 50 * time.Millisecond })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got, err := svc.Get(ctx, "rot", "c1", tokens.GetOptions{})
		if err != nil {
			t.Fatalf("Get after the dead holder's lease: %v", err)
		}
		if !e.prov.works(got.Credentials.AccessToken.Reveal()) || e.prov.requests.Load() != 1 {
			t.Fatalf("want one refresh with a working token; provider requests = %d", e.prov.requests.Load())
		}
	})
}
