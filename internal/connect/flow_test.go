package connect

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/store"
)

// TestSDKFlow runs the browser SDK's sequence end to end: socket, ack,
// popup on the connect URL with ws_client_id, provider, callback, success
// message, socket closed — and checks what was stored.
func TestSDKFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws, id := e.dial("/")
	connID := "user 42+x"
	p := get(t, e.sdkURL(keyOK, browserEncode(connID), [][2]string{{"subdomain", "acme"}, {"region", browserEncode("eu west")}}, "", id))
	p.check(t, http.StatusOK)
	if p.posted(t) != nil {
		t.Errorf("a WebSocket popup must post nothing to its opener:\n%s", p.body)
	}
	if p.url.Path != "/oauth/callback" {
		t.Errorf("popup ended on %s", p.url)
	}
	msg := readResult(t, ws)
	// The SDK sends '+' unencoded: it reads as a space, as in the reference.
	wantID := "user 42 x"
	want := map[string]string{"message_type": "success", "provider_config_key": keyOK, "connection_id": wantID}
	if !jsonEqual(msg, want) {
		t.Errorf("message = %v, want %v", msg, want)
	}

	c, err := e.store.GetConnection(context.Background(), keyOK, wantID)
	if err != nil {
		t.Fatalf("connection not stored: %v", err)
	}
	cr := c.Credentials
	if cr.Type != store.OAuth2 || !strings.HasPrefix(cr.AccessToken.Reveal(), "at-code-") ||
		!strings.HasPrefix(cr.RefreshToken.Reveal(), "rt-code-") || cr.ExpiresAt == nil {
		t.Errorf("credentials = %+v (access %q)", cr, cr.AccessToken.Reveal())
	} else if d := time.Until(*cr.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %v, want about 1h", d)
	}
	if !jsonEqual(c.ConnectionConfig, map[string]any{"subdomain": "acme", "region": "eu west"}) {
		t.Errorf("connection config = %v, want plain keys", c.ConnectionConfig)
	}
	if !jsonEqual(c.Metadata, map[string]any{"realmId": "realm-42", "instance_url": "https://acme.example"}) {
		t.Errorf("metadata = %v", c.Metadata)
	}

	// The authorization request carried the state and PKCE; the state is
	// unguessable (256 bits).
	e.prov.mu.Lock()
	ar := e.prov.authRequests[0]
	tc := e.prov.tokenCalls[0]
	e.prov.mu.Unlock()
	if len(ar.Get("state")) < 43 {
		t.Errorf("state %q is shorter than 256 bits of base64", ar.Get("state"))
	}
	if ar.Get("redirect_uri") != e.cfg.CallbackURL || ar.Get("scope") != "read write" {
		t.Errorf("authorization request = %v", ar)
	}
	if tc.Get("code_verifier") == "" {
		t.Errorf("token request without code_verifier: %v", tc)
	}

	// One activity entry, successful, holding no code, state or token.
	acts := e.activity()
	if len(acts) != 1 || !acts[0].Success || acts[0].ConnectionID != wantID || acts[0].Provider != "testprov" {
		t.Fatalf("activity = %+v", acts)
	}
	for _, s := range []string{ar.Get("state"), tc.Get("code"), tc.Get("code_verifier"), cr.AccessToken.Reveal(), cr.RefreshToken.Reveal()} {
		if strings.Contains(acts[0].Message, s) || strings.Contains(e.logs.String(), s) {
			t.Errorf("a secret value %q reached the activity log or the server log", s)
		}
	}
	waitFor(t, "the socket to be dropped", func() bool { return e.h.hub.count() == 0 })
}

// TestSDKFlowRepeatUpdates checks a second flow for the same connection
// replaces its credentials (upsert) and reports success again.
func TestSDKFlowRepeatUpdates(t *testing.T) {
	e := newEnv(t, envOptions{})
	var tokens []string
	for i := 0; i < 2; i++ {
		ws, id := e.dial("/some/other/path")
		get(t, e.sdkURL(keyOK, "u1", nil, "", id)).check(t, http.StatusOK)
		if m := readResult(t, ws); m["message_type"] != "success" {
			t.Fatalf("flow %d: %v", i, m)
		}
		c, err := e.store.GetConnection(context.Background(), keyOK, "u1")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, c.Credentials.AccessToken.Reveal())
	}
	if tokens[0] == tokens[1] {
		t.Errorf("the second flow did not replace the credentials")
	}
	acts := e.activity()
	if len(acts) != 2 || acts[0].Message != "connection updated" || acts[1].Message != "connection created" {
		t.Errorf("activity = %+v", acts)
	}
}

// TestLegacyFlow runs the flow without a WebSocket: the success page posts
// AUTHORIZATION_SUCEEDED to window.opener.
func TestLegacyFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := get(t, e.sdkURL(keySub, "legacy-1", [][2]string{{"subdomain", "acme"}}, "", ""))
	p.check(t, http.StatusOK)
	want := map[string]any{"eventType": "AUTHORIZATION_SUCEEDED", "data": map[string]any{"connectionId": "legacy-1", "providerConfigKey": keySub}}
	if got := p.posted(t); !jsonEqual(got, want) {
		t.Errorf("posted %v, want %v", got, want)
	}
	if _, err := e.store.GetConnection(context.Background(), keySub, "legacy-1"); err != nil {
		t.Errorf("connection not stored: %v", err)
	}
}

// flowCase is one failure reachable from outside.
type flowCase struct {
	name     string
	setup    func(e *env)
	path     func(e *env, wsID string) string // the popup URL
	wantType string
	wantDesc func(e *env) string
	// wantKey and wantConn are the message's provider_config_key and
	// connection_id ("" = omitted).
	wantKey, wantConn string
	// wantStatus is the page's status; 0 means 400 (bad input).
	wantStatus int
}

// status is the page status the case expects.
func (tc flowCase) status() int {
	if tc.wantStatus == 0 {
		return http.StatusBadRequest
	}
	return tc.wantStatus
}

func connectURL(key, conn string, params ...[2]string) func(e *env, wsID string) string {
	return func(e *env, wsID string) string { return e.sdkURL(key, conn, params, "", wsID) }
}

func fixed(s string) func(*env) string { return func(*env) string { return s } }

var flowCases = []flowCase{
	{
		name: "no provider config key",
		path: func(e *env, wsID string) string {
			u := e.srv.URL + "/oauth/connect/?connection_id=u1"
			if wsID != "" {
				u += "&ws_client_id=" + wsID
			}
			return u
		},
		wantType: "no_provider_config_key", wantDesc: fixed("Missing Provider Config unique key."), wantConn: "u1",
	},
	{
		name: "missing connection id",
		path: func(e *env, wsID string) string {
			u := e.srv.URL + "/oauth/connect/" + keyOK + "?public_key=ignored"
			if wsID != "" {
				u += "&ws_client_id=" + wsID
			}
			return u
		},
		wantType: "missing_connection_id", wantDesc: fixed("Missing Connection ID."), wantKey: keyOK,
	},
	{
		name: "unknown integration", path: connectURL("nope", "u1"),
		wantType: "provider_config_err", wantDesc: fixed(`Could not find a Provider Config matching the "nope" key.`),
		wantKey: "nope", wantConn: "u1",
	},
	{
		name: "incomplete integration", path: connectURL(keyIncomplete, "u1"),
		wantType: "provider_config_err", wantDesc: fixed(`Provider Config "incomplete" is missing cliend ID, secret and/or scopes.`),
		wantKey: keyIncomplete, wantConn: "u1",
	},
	{
		name: "template missing", path: connectURL(keyOrphan, "u1"),
		wantType: "unknown_config_key", wantDesc: fixed(`No Provider Configuration with key "gone".`),
		wantKey: keyOrphan, wantConn: "u1",
	},
	{
		name: "missing url param", path: connectURL(keySub, "u1", [2]string{"other", "x"}),
		wantType: "url_param_err",
		wantDesc: func(e *env) string {
			return oauth.ErrURLParam(e.prov.srv.URL+"/authorize/${connectionConfig.params.subdomain}", map[string]any{"other": "x"}).Description
		},
		wantKey: keySub, wantConn: "u1",
	},
	{
		name: "grant type", path: connectURL(keyGrant, "u1"),
		wantType: "grant_type_err", wantDesc: fixed(`The grant type "client_credentials" is not supported by this OAuth flow.`),
		wantKey: keyGrant, wantConn: "u1",
	},
	{
		name: "auth mode", path: connectURL(keyAPIKey, "u1"),
		wantType: "auth_mode_err", wantDesc: fixed("Auth mode API_KEY not supported."),
		wantKey: keyAPIKey, wantConn: "u1",
	},
	{
		name:  "callback without code",
		setup: func(e *env) { e.prov.omitCode = true },
		path:  connectURL(keyOK, "u1"), wantType: "callback_err",
		wantDesc: fixed("Did not get authorization code in the callback."), wantKey: keyOK, wantConn: "u1",
	},
	{
		name:  "provider error in callback",
		setup: func(e *env) { e.prov.deny = [2]string{"access_denied", `The user said "no" </script>`} },
		path:  connectURL(keyOK, "u1"), wantType: "callback_err",
		wantDesc: fixed(oauth.ErrProviderDenied("access_denied", `The user said "no" </script>`).Description),
		wantKey:  keyOK, wantConn: "u1",
	},
	{
		name:  "token exchange refused",
		setup: func(e *env) { e.prov.tokenFails = true },
		path:  connectURL(keyOK, "u1"), wantType: "unknown_err",
		wantDesc: fixed("Unkown error during the Oauth flow."), wantKey: keyOK, wantConn: "u1",
		wantStatus: http.StatusBadGateway, // the provider's fault
	},
}

// TestFlowErrors triggers every flow error reachable from outside, over
// the WebSocket and in legacy pages, and checks the exact texts.
func TestFlowErrors(t *testing.T) {
	for _, tc := range flowCases {
		for _, mode := range []string{"websocket", "legacy"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				e := newEnv(t, envOptions{})
				if tc.setup != nil {
					e.prov.mu.Lock()
					tc.setup(e)
					e.prov.mu.Unlock()
				}
				var ws *websocket.Conn
				var id string
				if mode == "websocket" {
					ws, id = e.dial("/")
				}
				p := get(t, tc.path(e, id))
				p.check(t, tc.status())
				desc := tc.wantDesc(e)
				if mode == "legacy" {
					p.wantLegacyError(t, tc.wantType, desc)
				} else {
					if p.posted(t) != nil {
						t.Errorf("a WebSocket popup must post nothing")
					}
					want := map[string]string{"message_type": "error", "error_type": tc.wantType, "error_desc": desc}
					if tc.wantKey != "" {
						want["provider_config_key"] = tc.wantKey
					}
					if tc.wantConn != "" {
						want["connection_id"] = tc.wantConn
					}
					if got := readResult(t, ws); !jsonEqual(got, want) {
						t.Errorf("message = %v\nwant      %v", got, want)
					}
				}
				acts := e.activity()
				if len(acts) != 1 || acts[0].Success || acts[0].Status != tc.status() ||
					!strings.HasPrefix(acts[0].Message, tc.wantType+": ") {
					t.Errorf("activity = %+v", acts)
				}
				if n, err := e.store.ListConnections(context.Background(), store.ConnectionFilter{}); err != nil || n.Total != 0 {
					t.Errorf("connections after a failure: %+v, %v", n, err)
				}
			})
		}
	}
}

// TestTokenFailureDetailsInActivity checks a failed exchange shows only
// unknown_err to the user but records the provider's refusal.
func TestTokenFailureDetailsInActivity(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.prov.tokenFails = true
	get(t, e.sdkURL(keyOK, "u1", nil, "", "")).wantLegacyError(t, "unknown_err", "Unkown error during the Oauth flow.")
	acts := e.activity()
	if len(acts) != 1 || !strings.Contains(acts[0].Message, "invalid_grant") || !strings.Contains(acts[0].Message, "The code has expired.") {
		t.Fatalf("activity = %+v", acts)
	}
	e.prov.mu.Lock()
	code := e.prov.tokenCalls[0].Get("code")
	e.prov.mu.Unlock()
	if strings.Contains(acts[0].Message, code) || strings.Contains(e.logs.String(), code) {
		t.Errorf("the authorization code reached a log")
	}
	if !strings.Contains(e.logs.String(), "invalid_grant") {
		t.Errorf("the server log lacks the provider's refusal:\n%s", e.logs.String())
	}
}

// TestCallbackRereadsIntegration checks the callback uses the integration
// as it is then: a new client secret is used, a deleted integration fails.
func TestCallbackRereadsIntegration(t *testing.T) {
	t.Run("secret changed", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
		if _, err := e.store.UpdateIntegration(context.Background(), keyOK, func(in *store.Integration) error {
			in.ClientSecret = "rotated-secret"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.prov.mu.Lock()
		e.prov.secret = "rotated-secret"
		e.prov.mu.Unlock()
		get(t, callback).check(t, http.StatusOK)
	})
	t.Run("deleted", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		ws, id := e.dial("/")
		callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", id))
		if _, err := e.store.DeleteIntegration(context.Background(), keyOK); err != nil {
			t.Fatal(err)
		}
		get(t, callback).check(t, http.StatusBadRequest)
		want := map[string]string{"message_type": "error", "provider_config_key": keyOK, "connection_id": "u1",
			"error_type": "provider_config_err", "error_desc": `Could not find a Provider Config matching the "test" key.`}
		if got := readResult(t, ws); !jsonEqual(got, want) {
			t.Errorf("message = %v", got)
		}
	})
}

// authorizeOnly runs the popup up to the provider's redirect and returns
// the callback URL without opening it.
func (e *env) authorizeOnly(t *testing.T, connect string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/oauth/callback" {
			return errStop
		}
		return nil
	}}
	resp, err := c.Get(connect)
	var ue *url.Error
	if !errors.As(err, &ue) || !errors.Is(err, errStop) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("the flow did not reach the callback: %v", err)
	}
	return ue.URL
}

// TestState checks the callback refuses a missing, forged, replayed or
// expired state with the error page (never a hang), and exchanges nothing.
func TestState(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		p := get(t, e.srv.URL+"/oauth/callback?code=abc")
		p.check(t, http.StatusBadRequest)
		p.wantLegacyError(t, "state_err", "Invalid state parameter passed in the callback: ")
	})
	t.Run("forged", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		p := get(t, e.srv.URL+"/oauth/callback?state=forged-state&code=abc")
		p.check(t, http.StatusBadRequest)
		p.wantLegacyError(t, "state_err", "Invalid state parameter passed in the callback: forged-state")
		if e.prov.tokenCallCount() != 0 {
			t.Errorf("a forged state reached the token endpoint")
		}
	})
	t.Run("replayed", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
		get(t, callback).check(t, http.StatusOK)
		first, err := e.store.GetConnection(context.Background(), keyOK, "u1")
		if err != nil {
			t.Fatal(err)
		}
		p := get(t, callback)
		p.check(t, http.StatusBadRequest)
		state, _ := url.Parse(callback)
		p.wantLegacyError(t, "state_err", "Invalid state parameter passed in the callback: "+state.Query().Get("state"))
		if n := e.prov.tokenCallCount(); n != 1 {
			t.Errorf("token calls = %d, want 1", n)
		}
		again, err := e.store.GetConnection(context.Background(), keyOK, "u1")
		if err != nil || again.Credentials.AccessToken != first.Credentials.AccessToken {
			t.Errorf("the replay changed the connection: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		ws, id := e.dial("/")
		callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", id))
		e.clock.advance(e.cfg.OAuthStateTTL + time.Second)
		p := get(t, callback)
		p.check(t, http.StatusBadRequest)
		if p.posted(t)["eventType"] != "AUTHORIZATION_FAILED" {
			t.Errorf("expired state page: %s", p.body)
		}
		if e.prov.tokenCallCount() != 0 {
			t.Errorf("an expired state reached the token endpoint")
		}
		// The socket learns nothing (its flow is unknown now) but is
		// still open, until its own lifetime ends.
		if e.h.hub.count() != 1 {
			t.Errorf("open sockets = %d", e.h.hub.count())
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	})
	t.Run("concurrent callbacks", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
		statuses := make(chan int, 4)
		for i := 0; i < 4; i++ {
			go func() {
				resp, err := browser.Get(callback)
				if err != nil {
					statuses <- 0
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			}()
		}
		ok := 0
		for i := 0; i < 4; i++ {
			if <-statuses == http.StatusOK {
				ok++
			}
		}
		if ok != 1 || e.prov.tokenCallCount() != 1 {
			t.Errorf("successes = %d, token calls = %d; want exactly one of each", ok, e.prov.tokenCallCount())
		}
	})
}

// TestHeadSpendsNothing checks HEAD neither starts a flow nor spends a
// state.
func TestHeadSpendsNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	callback := e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
	for _, u := range []string{callback, e.sdkURL(keyOK, "u2", nil, "", "")} {
		resp, err := browser.Head(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
			t.Errorf("HEAD %s: %d", u, resp.StatusCode)
		}
	}
	get(t, callback).check(t, http.StatusOK)
	if n := len(e.activity()); n != 1 {
		t.Errorf("activity entries = %d, want 1", n)
	}
}

// TestPruneExpiredSessions checks Run deletes sessions once expired.
func TestPruneExpiredSessions(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.authorizeOnly(t, e.sdkURL(keyOK, "u1", nil, "", ""))
	e.clock.advance(time.Hour)
	e.h.prune(context.Background())
	n, err := e.store.PruneOAuthSessions(context.Background(), e.clock.now().Add(48*time.Hour))
	if err != nil || n != 0 {
		t.Errorf("sessions left after prune: %d, %v", n, err)
	}
}
