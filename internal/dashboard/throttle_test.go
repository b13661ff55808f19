package dashboard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/dashboard"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/sqlite"
)

// TestLoginThrottle checks guessing the dashboard password is slowed per
// client address: ten failed logins, then 429 (with Retry-After, the
// credentials unchecked — the right password does not get through either)
// until the bucket refills; another address is unaffected; requests
// without credentials and successful logins cost nothing; loopback peers
// are exempt.
func TestLoginThrottle(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "nango.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	cat, err := provider.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h, err := dashboard.New(dashboard.Deps{Store: st, Tokens: noTokens{}, Catalog: cat, Now: clock,
		Config: &config.Config{DashboardUsername: "admin", DashboardPassword: "right-password", SecretKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	try := func(addr, user, pass string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/settings", nil)
		r.RemoteAddr = addr + ":40000"
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	const attacker, other = "203.0.113.7", "198.51.100.9"

	for i := 0; i < 50; i++ {
		if w := try(attacker, "", ""); w.Code != 401 {
			t.Fatalf("unauthenticated request %d: %d", i, w.Code)
		}
	}
	for i := 0; i < 3; i++ {
		if w := try(attacker, "admin", "right-password"); w.Code != 200 {
			t.Fatalf("login %d: %d", i, w.Code)
		}
	}
	for i := 0; i < 10; i++ {
		if w := try(attacker, "admin", "guess-"+strconv.Itoa(i)); w.Code != 401 {
			t.Fatalf("failed login %d: %d, want 401", i, w.Code)
		}
	}
	w := try(attacker, "admin", "right-password")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("after 10 failures: %d %v, want 429 with Retry-After", w.Code, w.Header())
	}
	if w := try(other, "admin", "right-password"); w.Code != 200 {
		t.Fatalf("another address: %d", w.Code)
	}
	advance(31 * time.Second)
	if w := try(attacker, "admin", "guess-x"); w.Code != 401 {
		t.Fatalf("after one refill: %d, want one more check (401)", w.Code)
	}
	if w := try(attacker, "admin", "right-password"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after the refilled token was spent: %d, want 429", w.Code)
	}
	advance(10 * time.Minute)
	if w := try(attacker, "admin", "right-password"); w.Code != 200 {
		t.Fatalf("after the bucket refilled: %d", w.Code)
	}
	// A loopback peer (a reverse proxy on the same host) is not throttled.
	for i := 0; i < 30; i++ {
		if w := try("127.0.0.1", "admin", "guess"); w.Code != 401 {
			t.Fatalf("loopback failure %d: %d, want 401", i, w.Code)
		}
	}
}
