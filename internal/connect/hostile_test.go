package connect

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/store"
)

// liveSessions counts (and deletes) the stored OAuth sessions: a prune far
// in the future removes every one.
func liveSessions(t *testing.T, e *env) int64 {
	t.Helper()
	n, err := e.store.PruneOAuthSessions(context.Background(), e.clock.now().Add(1000*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostileConnectInput checks values the popup URL may carry that no
// database should receive: each is a 400 page with a clear flow error, and
// no session is stored. Regression: a 10 kB connection id was accepted
// (and stored), and a NUL character in the connection id or a params value
// made PostgreSQL fail the request with a 500.
func TestHostileConnectInput(t *testing.T) {
	long := strings.Repeat("a", 10<<10)
	tests := []struct {
		name     string
		path     string
		wantType string
		wantDesc string
	}{
		{"overlong connection id", "/oauth/connect/" + keyOK + "?connection_id=" + long, "invalid_connection_id", "The connection id is longer than 255 bytes."},
		{"NUL in connection id", "/oauth/connect/" + keyOK + "?connection_id=a%00b", "invalid_connection_id", "The connection id contains control characters."},
		{"newline in connection id", "/oauth/connect/" + keyOK + "?connection_id=a%0Ab", "invalid_connection_id", "The connection id contains control characters."},
		{"overlong key", "/oauth/connect/" + long + "?connection_id=u1", "invalid_connection_id", "The provider config key is longer than 255 bytes."},
		{"NUL in key", "/oauth/connect/a%00b?connection_id=u1", "invalid_connection_id", "The provider config key contains control characters."},
		{"NUL in a params value", "/oauth/connect/" + keySub + "?connection_id=u1&params[subdomain]=%00", "invalid_connection_config", "A connection config parameter (params[...]) contains a NUL character."},
		{"NUL in a params name", "/oauth/connect/" + keySub + "?connection_id=u1&params[a%00]=x", "invalid_connection_config", "A connection config parameter (params[...]) contains a NUL character."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			p := get(t, e.srv.URL+tc.path)
			p.check(t, http.StatusBadRequest)
			p.wantLegacyError(t, tc.wantType, tc.wantDesc)
			if n := liveSessions(t, e); n != 0 {
				t.Errorf("%d sessions stored", n)
			}
			acts := e.activity()
			if len(acts) != 1 || len(acts[0].ConnectionID) > 300 || len(acts[0].ProviderConfigKey) > 300 ||
				strings.ContainsRune(acts[0].ConnectionID+acts[0].ProviderConfigKey, 0) {
				t.Errorf("activity = %+v", acts)
			}
		})
	}
}

// TestMalformedStateIsNotLookedUp checks a state this server cannot have
// issued is refused with 400 state_err before the database is asked: with
// the database gone it is still a 400, while a well-formed unknown state
// needs the database and says 503. Regression: a NUL in the state reached
// PostgreSQL and answered 500.
func TestMalformedStateIsNotLookedUp(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{"a%00b", "short", strings.Repeat("x", 10<<10), "%FF%FE", "'%20OR%201=1--"} {
		p := get(t, e.srv.URL+"/oauth/callback?code=c&state="+state)
		p.check(t, http.StatusBadRequest)
		if p.posted(t)["eventType"] != "AUTHORIZATION_FAILED" || !strings.Contains(p.body, "state_err") {
			t.Errorf("state %.20q: page %s", state, p.body)
		}
	}
	wellFormed := strings.Repeat("A", 43)
	get(t, e.srv.URL+"/oauth/callback?code=c&state="+wellFormed).check(t, http.StatusServiceUnavailable)
}

// TestFlowStatusDatabaseUnavailable checks a flow that cannot reach the
// database answers 503 (not 500) on both routes.
func TestFlowStatusDatabaseUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	get(t, e.sdkURL(keyOK, "u2", nil, "", "")).check(t, http.StatusServiceUnavailable)
	get(t, callback).check(t, http.StatusServiceUnavailable)
	if !strings.Contains(e.logs.String(), "status=503") {
		t.Errorf("the log does not say 503:\n%s", e.logs.String())
	}
}

// TestGarbageWSClientIDNotStored checks a ws_client_id this server cannot
// have issued is not kept in the session (it could be of any size).
func TestGarbageWSClientIDNotStored(t *testing.T) {
	e := newEnv(t, envOptions{})
	garbage := strings.Repeat("z", 5000)
	callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", garbage))
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.store.TakeOAuthSession(context.Background(), u.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	if sess.WSClientID != "" {
		t.Errorf("stored ws_client_id of %d bytes", len(sess.WSClientID))
	}
}

// TestPublicFailureFloodIsBounded checks an unauthenticated flood of
// failing requests to the public routes writes a bounded number of
// activity entries, that the next entry written once the rate allows says
// how many were dropped, and that successes are always written.
func TestPublicFailureFloodIsBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	const flood = 3 * failureBurst
	for i := 0; i < flood; i++ {
		var u string
		switch i % 3 {
		case 0:
			u = e.srv.URL + "/oauth/callback?state=forged"
		case 1:
			u = e.srv.URL + "/oauth/connect/nope?connection_id=x"
		default:
			u = e.srv.URL + "/api-auth/api-key/nope?connection_id=x"
		}
		var resp *http.Response
		var err error
		if i%3 == 2 {
			resp, err = browser.Post(u, "application/json", strings.NewReader(`{"apiKey":"k"}`))
		} else {
			resp, err = browser.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
	}
	acts := allActivity(t, e)
	if len(acts) < failureBurst || len(acts) > failureBurst+5 {
		t.Fatalf("activity entries after a flood of %d failures = %d, want about %d", flood, len(acts), failureBurst)
	}
	// A success is recorded even while failures are being dropped.
	get(t, e.sdkURL(keyOK, "u1", nil, "", "")).check(t, http.StatusOK)
	acts = allActivity(t, e)
	if !acts[0].Success {
		t.Fatalf("newest entry = %+v, want the success", acts[0])
	}
	// Later, the next failure says how many were dropped.
	e.clock.advance(time.Minute)
	get(t, e.srv.URL+"/oauth/callback?state=forged").check(t, http.StatusBadRequest)
	acts = allActivity(t, e)
	if acts[0].Success || !strings.Contains(acts[0].Message, "similar failed requests to public routes were not recorded") {
		t.Errorf("newest entry = %+v", acts[0])
	}
	if !strings.Contains(e.logs.String(), "were not recorded in the activity log") {
		t.Error("the drop was not logged")
	}
}

// TestLimiter checks the token bucket's arithmetic.
func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(3, time.Second, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := l.take(); !ok {
			t.Fatalf("take %d refused within the burst", i)
		}
	}
	if ok, _ := l.take(); ok {
		t.Fatal("take beyond the burst allowed")
	}
	if ok, _ := l.take(); ok {
		t.Fatal("take beyond the burst allowed")
	}
	now = now.Add(1500 * time.Millisecond)
	ok, dropped := l.take()
	if !ok || dropped != 2 {
		t.Fatalf("after refill: ok=%v dropped=%d, want true 2", ok, dropped)
	}
	if ok, _ := l.take(); ok {
		t.Fatal("half a token allowed a take")
	}
	now = now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take(); !ok {
			t.Fatalf("refill beyond the burst: take %d refused", i)
		}
	}
	if ok, _ := l.take(); ok {
		t.Fatal("the bucket held more than its burst")
	}
}

// TestActivityValue checks values from public requests are made storable.
func TestActivityValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "user-1", "user-1"},
		{"NUL", "a\x00b", "a\uFFFDb"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"long", strings.Repeat("é", 200), strings.Repeat("é", 127) + "…"},
	}
	for _, tc := range tests {
		if got := activityValue(tc.in, 255); got != tc.want {
			t.Errorf("%s: activityValue = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// allActivity lists every activity entry, newest first.
func allActivity(t *testing.T, e *env) []store.Activity {
	t.Helper()
	a, err := e.store.ListActivity(context.Background(), store.ActivityFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestBadWebSocketHandshakes checks a malformed opening handshake is
// answered with the error envelope and the right status, and opens no
// socket. Regression: the WebSocket library answered in plain text.
func TestBadWebSocketHandshakes(t *testing.T) {
	e := newEnv(t, envOptions{})
	good := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"POST", "POST", good, http.StatusMethodNotAllowed},
		{"no version", "GET", with("Sec-WebSocket-Version", ""), http.StatusUpgradeRequired},
		{"version 8", "GET", with("Sec-WebSocket-Version", "8"), http.StatusUpgradeRequired},
		{"two versions", "GET", with("Sec-WebSocket-Version", "13, 8"), http.StatusUpgradeRequired},
		{"no key", "GET", with("Sec-WebSocket-Key", ""), http.StatusBadRequest},
		{"key not base64", "GET", with("Sec-WebSocket-Key", "%%%"), http.StatusBadRequest},
		{"key of 15 bytes", "GET", with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), http.StatusBadRequest},
		{"huge key", "GET", with("Sec-WebSocket-Key", strings.Repeat("A", 5000)), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+"/any/path", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var env struct{ Error, Type string }
			err = json.NewDecoder(resp.Body).Decode(&env)
			resp.Body.Close()
			if resp.StatusCode != tc.want || err != nil || env.Type != "invalid_websocket_handshake" || env.Error == "" {
				t.Errorf("status %d, envelope %+v (%v); want %d", resp.StatusCode, env, err, tc.want)
			}
			if tc.want == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Error("426 without Sec-WebSocket-Version: 13")
			}
			if n := e.h.hub.count(); n != 0 {
				t.Errorf("%d sockets open", n)
			}
		})
	}
	// A good handshake still opens a socket.
	ws, _ := e.dial("/")
	_ = ws.CloseNow()
}

// TestFlowStatus checks who is blamed for each kind of flow failure.
func TestFlowStatus(t *testing.T) {
	tests := []struct {
		name string
		fe   *oauth.FlowError
		want int
	}{
		{"bad input", oauth.ErrMissingConnectionID(), 400},
		{"state", oauth.ErrState("x"), 400},
		{"callback", oauth.ErrMissingCode(), 400},
		{"request token", oauth.ErrToken(errors.New("refused")), 502},
		{"provider refused the exchange", oauth.ErrUnknown(providerCause("token exchange", &oauth.ProviderError{Status: 400, Code: "invalid_grant"})), 502},
		{"provider unreachable", oauth.ErrUnknown(providerCause("token exchange", errors.New("dial tcp: connection refused"))), 502},
		{"unusable answer", oauth.ErrUnknown(providerCause("token exchange", &oauth.ResponseError{Problem: "no access_token"})), 502},
		{"template problem", oauth.ErrUnknown(providerCause("token exchange", &oauth.ConfigError{Problem: "bad header"})), 500},
		{"config host on the server's network", oauth.ErrUnknown(providerCause("token exchange", oauth.ErrNonPublicHost)), 400},
		{"database down", oauth.ErrUnknown(fmt.Errorf("storing: %w", store.ErrUnavailable)), 503},
		{"unstorable value", oauth.ErrUnknown(fmt.Errorf("storing: %w", store.ErrInvalidValue)), 400},
		{"anything else", oauth.ErrUnknown(errors.New("boom")), 500},
		{"no cause", oauth.ErrUnknown(nil), 500},
	}
	for _, tc := range tests {
		if got := flowStatus(tc.fe); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestStateIsUnguessable checks the states of many flows: 256 random bits
// each (43 base64url characters decoding to 32 bytes), all distinct, never
// logged, and a state one character off is refused without reaching the
// token endpoint.
func TestStateIsUnguessable(t *testing.T) {
	e := newEnv(t, envOptions{})
	seen := map[string]bool{}
	var last string
	for i := 0; i < 200; i++ {
		cb := e.authorizeOnly(t, e.sdkURL(keyOK, fmt.Sprintf("u%d", i), nil, "", ""))
		u, err := url.Parse(cb)
		if err != nil {
			t.Fatal(err)
		}
		st := u.Query().Get("state")
		b, err := base64.RawURLEncoding.DecodeString(st)
		if err != nil || len(b) != 32 || len(st) != 43 {
			t.Fatalf("state %q: %d bytes, %v", st, len(b), err)
		}
		if seen[st] {
			t.Fatalf("state %q issued twice", st)
		}
		seen[st] = true
		last = cb
	}
	for st := range seen {
		if strings.Contains(e.logs.String(), st) {
			t.Fatal("a state reached the log")
		}
	}
	u, _ := url.Parse(last)
	q := u.Query()
	st := q.Get("state")
	flip := "A"
	if st[0] == 'A' {
		flip = "B"
	}
	q.Set("state", flip+st[1:])
	u.RawQuery = q.Encode()
	get(t, u.String()).check(t, http.StatusBadRequest)
	if n := e.prov.tokenCallCount(); n != 0 {
		t.Errorf("a forged state reached the token endpoint (%d calls)", n)
	}
	// The real one still works (the forgery spent nothing).
	get(t, last).check(t, http.StatusOK)
}
