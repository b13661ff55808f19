package connect

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// twoInstances opens two handler sets on two store instances sharing one
// PostgreSQL schema (and one fake provider), as two servers behind a load
// balancer.
func twoInstances(t *testing.T) (a, b *env) {
	t.Helper()
	dsn := pgtest.DSN(t)
	c := &clock{}
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn}, store.Options{Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	sa, sb := open(), open()
	seedIntegrations(t, sa)
	prov := newFakeProvider(t)
	a = newEnv(t, envOptions{store: sa, clock: c, prov: prov})
	b = newEnv(t, envOptions{store: sb, clock: c, prov: prov})
	return a, b
}

// onInstance rewrites u to be served by e (the load balancer's choice).
func onInstance(t *testing.T, u string, e *env) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := url.Parse(e.srv.URL)
	p.Host = srv.Host
	return p.String()
}

// TestCrossInstance holds the WebSocket on instance A while the popup's
// requests land on instance B: the result still reaches the socket.
func TestCrossInstance(t *testing.T) {
	a, b := twoInstances(t)

	t.Run("callback on the other instance", func(t *testing.T) {
		ws, id := a.dial("/")
		callback := a.authorizeOnly(t, a.sdkURL(keySub, "u1", [][2]string{{"subdomain", "acme"}}, "", id))
		get(t, onInstance(t, callback, b)).check(t, http.StatusOK)
		want := map[string]string{"message_type": "success", "provider_config_key": keySub, "connection_id": "u1"}
		if got := readResult(t, ws); !jsonEqual(got, want) {
			t.Errorf("message = %v, want %v", got, want)
		}
		// Stored before the notification, readable from either instance.
		for _, e := range []*env{a, b} {
			c, err := e.store.GetConnection(context.Background(), keySub, "u1")
			if err != nil || !jsonEqual(c.ConnectionConfig, map[string]any{"subdomain": "acme"}) {
				t.Errorf("connection = %+v, %v", c, err)
			}
		}
	})

	t.Run("connect error on the other instance", func(t *testing.T) {
		ws, id := a.dial("/")
		get(t, onInstance(t, a.sdkURL(keyOrphan, "u2", nil, "", id), b)).check(t, http.StatusBadRequest)
		want := map[string]string{"message_type": "error", "provider_config_key": keyOrphan, "connection_id": "u2",
			"error_type": "unknown_config_key", "error_desc": `No Provider Configuration with key "gone".`}
		if got := readResult(t, ws); !jsonEqual(got, want) {
			t.Errorf("message = %v, want %v", got, want)
		}
	})

	t.Run("long error on the other instance", func(t *testing.T) {
		ws, id := a.dial("/")
		long := strings.Repeat("%3C%22", 2000)
		get(t, onInstance(t, a.sdkURL(keySub, "u3", [][2]string{{"other", long}}, "", id), b)).check(t, http.StatusBadRequest)
		got := readResult(t, ws)
		if got["error_type"] != "url_param_err" || !strings.HasPrefix(got["error_desc"], "Missing Connection Config param(s)") ||
			!strings.HasSuffix(got["error_desc"], "…") {
			t.Errorf("message = %v", got)
		}
	})

	t.Run("state taken once across instances", func(t *testing.T) {
		callback := a.authorizeOnly(t, a.sdkURL(keyOK, "u4", nil, "", ""))
		get(t, onInstance(t, callback, b)).check(t, http.StatusOK)
		get(t, callback).wantLegacyError(t, "state_err", "Invalid state parameter passed in the callback: "+mustQuery(t, callback).Get("state"))
	})
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}
