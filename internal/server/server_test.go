package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/client"
	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a server under test behind httptest.
type instance struct {
	srv  *server.Server
	http *httptest.Server
	logs *syncBuffer
}

func (i *instance) close() {
	i.http.Close()
	_ = i.srv.Close()
}

// start opens a server with env (plus defaults that keep tests hermetic).
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	full := map[string]string{"TELEMETRY": "false", "LOG_LEVEL": "debug", "LOG_FORMAT": "json"}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := full[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{srv: srv, http: httptest.NewServer(srv.Handler()), logs: logs}
	t.Cleanup(inst.close)
	return inst
}

// driverEnvs returns the environments of both drivers: SQLite in a temp
// dir, and PostgreSQL in a fresh schema (skipped unless configured).
func forEachDriver(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, map[string]string{"NANGO_DATA_DIR": t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, map[string]string{"NANGO_DATABASE_URL": pgtest.DSN(t)})
	})
}

func newClient(t *testing.T, inst *instance, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(inst.http.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegrationsRoundTripAndRestart(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		ctx := context.Background()
		inst := start(t, env)
		c := newClient(t, inst)

		resp, err := http.Get(inst.http.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"result":"ok"}` {
			t.Fatalf("health = %d %s", resp.StatusCode, body)
		}

		id, err := c.CreateIntegration(ctx, client.IntegrationInput{
			ProviderConfigKey: "github-prod", Provider: "github",
			OAuthClientID: "Iv1.0123", OAuthClientSecret: "shh", OAuthScopes: "repo user,,gist",
		})
		if err != nil || id <= 0 {
			t.Fatalf("create = %d, %v", id, err)
		}
		got, err := c.GetIntegration(ctx, "github-prod")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id || got.Provider != "github" || got.OAuthClientID != "Iv1.0123" ||
			got.OAuthClientSecret != "shh" || got.OAuthScopes != "repo,user,gist" || got.CreatedAt.IsZero() {
			t.Errorf("get = %+v", got)
		}
		if err := c.UpdateIntegration(ctx, client.IntegrationInput{
			ProviderConfigKey: "github-prod", Provider: "github", OAuthClientID: "Iv1.9", OAuthClientSecret: "new", OAuthScopes: "repo",
		}); err != nil {
			t.Fatal(err)
		}

		// Restart on the same database: the integration is still there.
		inst.close()
		inst2 := start(t, env)
		c2 := newClient(t, inst2)
		list, err := c2.ListIntegrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].UniqueKey != "github-prod" || list[0].OAuthClientSecret != "new" || list[0].OAuthScopes != "repo" {
			t.Fatalf("after restart: %+v", list)
		}
		if err := c2.DeleteIntegration(ctx, "github-prod"); err != nil {
			t.Fatal(err)
		}
		if err := c2.DeleteIntegration(ctx, "github-prod"); err != nil {
			t.Errorf("deleting an absent integration should succeed: %v", err)
		}
		if _, err := c2.GetIntegration(ctx, "github-prod"); !client.IsType(err, "unknown_provider_config") {
			t.Errorf("get after delete: %v", err)
		}
	})
}

func TestSecretKeyGuard(t *testing.T) {
	inst := start(t, map[string]string{"NANGO_DATA_DIR": t.TempDir(), "NANGO_SECRET_KEY": "sk-test-123"})
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, header string
		want         int
		typ          string
	}{
		{"no header", "", 401, "missing_auth_header"},
		{"wrong basic", basic("sk-wrong:"), 401, "invalid_secret_key"},
		{"wrong bearer", "Bearer sk-wrong", 401, "invalid_secret_key"},
		{"right basic", basic("sk-test-123:"), 200, ""},
		{"right bearer", "Bearer sk-test-123", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/config", "/config/x"} {
				req, _ := http.NewRequest("GET", inst.http.URL+path, nil)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := tt.want
				if path == "/config/x" && want == 200 {
					want = 400 // authenticated, but no such integration
				}
				if resp.StatusCode != want {
					t.Errorf("%s: status = %d, want %d (%s)", path, resp.StatusCode, want, body)
				}
				if tt.typ != "" && !strings.Contains(string(body), `"type":"`+tt.typ+`"`) {
					t.Errorf("%s: body = %s, want type %s", path, body, tt.typ)
				}
				if strings.Contains(string(body), "sk-test-123") {
					t.Errorf("body leaks the key: %s", body)
				}
			}
		})
	}
	// /health stays public.
	resp, err := http.Get(inst.http.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health = %d with a secret key set", resp.StatusCode)
	}
	if strings.Contains(inst.logs.String(), "sk-test-123") {
		t.Error("a log line contains the secret key")
	}
	// The Go client authenticates both ways.
	for _, scheme := range []client.AuthScheme{client.Basic, client.Bearer} {
		c := newClient(t, inst, client.WithSecretKey("sk-test-123"), client.WithAuthScheme(scheme))
		if _, err := c.ListIntegrations(context.Background()); err != nil {
			t.Errorf("client scheme %d: %v", scheme, err)
		}
	}
}

// send makes a raw request and decodes the error envelope.
func send(t *testing.T, method, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatalf("%s %s: non-JSON body %q", method, url, data)
		}
	}
	return resp.StatusCode, env
}

func TestConfigValidation(t *testing.T) {
	inst := start(t, map[string]string{"NANGO_DATA_DIR": t.TempDir()})
	u := inst.http.URL
	full := `{"provider_config_key":"gh","provider":"github","oauth_client_id":"id","oauth_client_secret":"s","oauth_scopes":"repo"}`
	if code, env := send(t, "POST", u+"/config", "application/json", full); code != 200 {
		t.Fatalf("seed create: %d %v", code, env)
	}
	tests := []struct {
		name, method, body, ct string
		status                 int
		typ, msg               string
	}{
		{"missing body", "POST", "", "application/json", 400, "missing_body", "Missing request body."},
		{"missing key", "POST", `{"provider":"github"}`, "application/json", 400, "missing_provider_config", "Missing param 'provider_config_key'."},
		{"empty key", "POST", `{"provider_config_key":"","provider":"github"}`, "application/json", 400, "missing_provider_config", ""},
		{"missing provider", "POST", `{"provider_config_key":"x"}`, "application/json", 400, "missing_provider_template", "Missing param 'provider'."},
		{"unknown provider", "POST", `{"provider_config_key":"x","provider":"nope-nope"}`, "application/json", 400, "unknown_provider_template", "No Provider Template matching the 'provider' parameter."},
		{"missing client id", "POST", `{"provider_config_key":"x","provider":"github"}`, "application/json", 400, "missing_client_id", "Missing param 'oauth_client_id'."},
		{"missing client secret", "POST", `{"provider_config_key":"x","provider":"github","oauth_client_id":"i"}`, "application/json", 400, "missing_client_secret", "Missing param 'oauth_client_secret'."},
		{"duplicate", "POST", full, "application/json", 400, "duplicate_provider_config", "There is already a Provider Configuration matching the param 'provider_config_key'."},
		{"put unknown", "PUT", `{"provider_config_key":"zzz","provider":"github","oauth_client_id":"i","oauth_client_secret":"s"}`, "application/json", 400, "unknown_provider_config", "There is no Provider Configuration matching this key."},
		{"put missing secret", "PUT", `{"provider_config_key":"gh","provider":"github","oauth_client_id":"i"}`, "application/json", 400, "missing_client_secret", ""},
		{"malformed json", "POST", `{"provider_config_key":`, "application/json", 400, "invalid_body", ""},
		{"wrong field type", "POST", `{"provider_config_key":42}`, "application/json", 400, "invalid_body", "provider_config_key"},
		{"scopes wrong type", "POST", `{"provider_config_key":"y","provider":"github","oauth_client_id":"i","oauth_client_secret":"s","oauth_scopes":{"a":1}}`, "application/json", 400, "invalid_body", "oauth_scopes"},
		{"not an object", "POST", `"hello"`, "application/json", 400, "invalid_body", ""},
		{"form content type", "POST", `provider_config_key=x`, "application/x-www-form-urlencoded", 415, "invalid_content_type", ""},
		{"oversized", "POST", `{"provider_config_key":"` + strings.Repeat("a", 2<<20) + `"}`, "application/json", 413, "request_too_large", ""},
		{"overlong key", "POST", `{"provider_config_key":"` + strings.Repeat("k", 300) + `","provider":"github"}`, "application/json", 400, "invalid_provider_config", ""},
		{"control chars in key", "POST", `{"provider_config_key":"a\u0001b","provider":"github"}`, "application/json", 400, "invalid_provider_config", ""},
		{"NUL in a value", "POST", `{"provider_config_key":"a\u0000b","provider":"github"}`, "application/json", 400, "invalid_body", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, env := send(t, tt.method, u+"/config", tt.ct, tt.body)
			if code != tt.status || env["type"] != tt.typ {
				t.Fatalf("got %d %v; want %d %s", code, env, tt.status, tt.typ)
			}
			if msg, _ := env["error"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("error = %q, want %q", msg, tt.msg)
			}
			if _, ok := env["payload"].(map[string]any); !ok {
				t.Errorf("payload missing: %v", env)
			}
		})
	}
	// Nothing above changed the stored integration.
	c := newClient(t, inst)
	got, err := c.GetIntegration(context.Background(), "gh")
	if err != nil || got.OAuthClientID != "id" || got.OAuthClientSecret != "s" {
		t.Errorf("stored integration changed: %+v %v", got, err)
	}
	// API-key templates need no OAuth client.
	if code, env := send(t, "POST", u+"/config", "application/json", `{"provider_config_key":"k","provider":"1password-scim"}`); code != 200 {
		t.Errorf("api-key integration: %d %v", code, env)
	}
	// Client-credentials templates that take the client per connection
	// (1password-users) need none on the integration; those that share the
	// integration's client (adobe-umapi) do.
	if code, env := send(t, "POST", u+"/config", "application/json", `{"provider_config_key":"cc-per","provider":"1password-users"}`); code != 200 {
		t.Errorf("per-connection client credentials: %d %v", code, env)
	}
	if code, env := send(t, "POST", u+"/config", "application/json", `{"provider_config_key":"cc-shared","provider":"adobe-umapi"}`); code != 400 || env["type"] != "missing_client_id" {
		t.Errorf("shared client credentials without a client: %d %v", code, env)
	}
	// Scopes may be sent as an array.
	if code, env := send(t, "POST", u+"/config", "application/json", `{"provider_config_key":"arr","provider":"github","oauth_client_id":"i","oauth_client_secret":"s","oauth_scopes":["repo","user"]}`); code != 200 {
		t.Errorf("array scopes: %d %v", code, env)
	}
	if got, err := c.GetIntegration(context.Background(), "arr"); err != nil || got.OAuthScopes != "repo,user" {
		t.Errorf("array scopes stored as %q (%v)", got.OAuthScopes, err)
	}
}

func TestCORSAndRouting(t *testing.T) {
	inst := start(t, map[string]string{"NANGO_DATA_DIR": t.TempDir()})
	req, _ := http.NewRequest("OPTIONS", inst.http.URL+"/config", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type,authorization" {
		t.Errorf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	code, env := send(t, "GET", inst.http.URL+"/config", "", "")
	if code != 200 || env["configs"] == nil {
		t.Errorf("list = %d %v", code, env)
	}
	code, env = send(t, "DELETE", inst.http.URL+"/config", "", "")
	if code != 405 || env["type"] != "method_not_allowed" {
		t.Errorf("DELETE /config = %d %v", code, env)
	}
	code, env = send(t, "POST", inst.http.URL+"/no/such/route", "", "")
	if code != 404 || env["type"] != "not_found" {
		t.Errorf("unknown route = %d %v", code, env)
	}
}

func TestOneLogLinePerRequestWithoutQuery(t *testing.T) {
	inst := start(t, map[string]string{"NANGO_DATA_DIR": t.TempDir()})
	req, _ := http.NewRequest("GET", inst.http.URL+"/config/abc?hmac=topsecretvalue", nil)
	req.Header.Set("X-Request-Id", "req-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "req-42" {
		t.Errorf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}
	// The line is written as the middleware returns, which can be after
	// the client has read the answer: wait for it a little.
	var lines []map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		lines = lines[:0]
		for _, l := range strings.Split(strings.TrimSpace(inst.logs.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == "req-42" {
				lines = append(lines, m)
			}
		}
		if len(lines) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one request line for req-42, got %d:\n%s", len(lines), inst.logs.String())
	}
	l := lines[0]
	if l["method"] != "GET" || l["path"] != "/config/abc" || l["status"] != float64(400) || l["duration_ms"] == nil {
		t.Errorf("log line = %v", l)
	}
	if strings.Contains(inst.logs.String(), "topsecretvalue") {
		t.Error("the query string reached the log")
	}
}

func TestMain_noStrayDataDir(t *testing.T) {
	// Opening with an explicit data dir never writes to the working directory.
	if _, err := os.Stat("nango-data"); err == nil {
		t.Fatal("a test wrote ./nango-data in the package directory")
	}
}
