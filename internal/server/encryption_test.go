package server_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/server"
	"github.com/nango-go/nango/internal/store"
)

// encKey is a generated encryption key.
type encKey struct{ text, id string }

func newEncKey() encKey {
	k, text := secret.GenerateKey()
	return encKey{text: text.Reveal(), id: k.ID()}
}

// envWith returns a copy of env with the keys set (current "" = none).
func envWith(env map[string]string, current string, previous ...string) map[string]string {
	out := map[string]string{"TELEMETRY": "false", "LOG_LEVEL": "debug", "LOG_FORMAT": "json"}
	for k, v := range env {
		out[k] = v
	}
	if current != "" {
		out["NANGO_ENCRYPTION_KEY"] = current
	}
	if len(previous) > 0 {
		out["NANGO_ENCRYPTION_PREVIOUS_KEYS"] = strings.Join(previous, ",")
	}
	return out
}

func loadCfg(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.Options{DotenvPath: "-", Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// encServer is a server behind an httptest server whose URL is the
// configured server URL (so OAuth callbacks reach it).
type encServer struct {
	srv  *server.Server
	http *httptest.Server
	logs *syncBuffer
	cfg  *config.Config
}

// openServer starts a server on env (NANGO_SERVER_URL is set to its own
// address). It returns the error of server.Open instead of failing.
func openServer(t *testing.T, env map[string]string) (*encServer, error) {
	t.Helper()
	var h atomic.Value
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	env = envWith(env, "")
	env["NANGO_SERVER_URL"] = "http://" + ts.Listener.Addr().String()
	cfg := loadCfg(t, env)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		ts.Listener.Close()
		return &encServer{logs: logs, cfg: cfg}, err
	}
	h.Store(srv.Handler())
	ts.Start()
	s := &encServer{srv: srv, http: ts, logs: logs, cfg: cfg}
	t.Cleanup(s.close)
	return s, nil
}

func mustOpenServer(t *testing.T, env map[string]string) *encServer {
	t.Helper()
	s, err := openServer(t, env)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	return s
}

func (s *encServer) close() {
	if s.http != nil {
		s.http.Close()
	}
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

// do sends a request to the server's API with the secret key, if any.
func (s *encServer) do(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.http.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !s.cfg.SecretKey.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.cfg.SecretKey.Reveal())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitEncrypted waits until every stored value uses keyID.
func waitEncrypted(t *testing.T, st store.Store, keyID string) map[string]int64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		u := keyUsage(t, st)
		if len(u) == 1 && u[keyID] > 0 || len(u) == 0 {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("values never all reached key id %q: %v", keyID, u)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func keyUsage(t *testing.T, st store.Store) map[string]int64 {
	t.Helper()
	ku, err := st.KeyUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, k := range ku {
		m[k.KeyID] += k.Count
	}
	return m
}

// --- a scripted OAuth 2 provider --------------------------------------

// oauthProvider is an authorization server issuing random codes and
// tokens (rotating the refresh token on every refresh) and remembering
// every secret it issued or received.
type oauthProvider struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string

	mu      sync.Mutex
	codes   map[string]bool
	secrets []string // every code, token and the client secret
	refresh int
}

func newOAuthProvider(t *testing.T) *oauthProvider {
	p := &oauthProvider{clientID: "client-" + secret.RandomToken(6), clientSecret: "cs-" + secret.RandomToken(20), codes: map[string]bool{}}
	p.secrets = append(p.secrets, p.clientSecret)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != p.clientID || q.Get("state") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := "code-" + secret.RandomToken(16)
		p.mu.Lock()
		p.codes[code] = true
		p.secrets = append(p.secrets, code)
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"state": {q.Get("state")}, "code": {code}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		id, sec, ok := r.BasicAuth()
		if !ok {
			id, sec = f.Get("client_id"), f.Get("client_secret")
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if id != p.clientID || sec != p.clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		switch f.Get("grant_type") {
		case "authorization_code":
			if !p.codes[f.Get("code")] {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			delete(p.codes, f.Get("code"))
		case "refresh_token":
			p.refresh++
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"unsupported_grant_type"}`)
			return
		}
		at, rt, idt := "at-"+secret.RandomToken(24), "rt-"+secret.RandomToken(24), "idt-"+secret.RandomToken(24)
		p.secrets = append(p.secrets, at, rt, idt)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": rt, "id_token": idt, "expires_in": 3600, "token_type": "bearer"})
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		for _, s := range p.secrets {
			if s == tok && strings.HasPrefix(s, "at-") {
				_, _ = io.WriteString(w, `{"me":"user"}`)
				return
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *oauthProvider) issued() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.secrets...)
}

// providersFile writes a custom template for p and returns its path.
func (p *oauthProvider) providersFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "providers.yaml")
	yaml := fmt.Sprintf("enc-test:\n  auth_mode: OAUTH2\n  authorization_url: %s/authorize\n  token_url: %s/token\n  proxy:\n    base_url: %s\n",
		p.srv.URL, p.srv.URL, p.srv.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// connect runs the popup flow for connectionID like a browser without the
// SDK (legacy page), following the redirects through the provider.
func (s *encServer) connect(t *testing.T, key, connectionID string) {
	t.Helper()
	resp, err := http.Get(s.http.URL + "/oauth/connect/" + key + "?connection_id=" + connectionID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "AUTHORIZATION_SUCEEDED") {
		t.Fatalf("flow for %s ended with %d:\n%s", connectionID, resp.StatusCode, body)
	}
}

// getConnection reads a connection through the API and returns its
// access and refresh tokens.
func (s *encServer) getConnection(t *testing.T, key, connectionID string, force bool) (string, string) {
	t.Helper()
	path := "/connection/" + connectionID + "?provider_config_key=" + key
	if force {
		path += "&force_refresh=true"
	}
	code, body := s.do(t, "GET", path, nil)
	if code != 200 {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	var c struct {
		Credentials struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.Credentials.AccessToken == "" {
		t.Fatalf("GET %s: %v %s", path, err, body)
	}
	return c.Credentials.AccessToken, c.Credentials.RefreshToken
}

// --- raw database access --------------------------------------------------

// dumpDB returns every value of every column of every table, as text.
func dumpDB(t *testing.T, cfg *config.Config) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	if cfg.DB.Driver == "postgres" {
		c, err := pgx.Connect(ctx, cfg.DB.DSN.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var schema string
		if err := c.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		rows, err := c.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		cols := map[string][]string{}
		for rows.Next() {
			var tn, cn string
			if err := rows.Scan(&tn, &cn); err != nil {
				t.Fatal(err)
			}
			cols[tn] = append(cols[tn], cn)
		}
		rows.Close()
		if len(cols) == 0 {
			t.Fatal("no table found in the schema")
		}
		for table, cs := range cols {
			for _, col := range cs {
				q := fmt.Sprintf("SELECT %s::text FROM %s", pgx.Identifier{col}.Sanitize(), pgx.Identifier{schema, table}.Sanitize())
				rows, err := c.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var v *string
					if err := rows.Scan(&v); err != nil {
						t.Fatal(err)
					}
					if v != nil {
						out = append(out, table+"."+col+"="+*v)
					}
				}
				rows.Close()
			}
		}
		return out
	}
	db := rawSQLite(t, cfg)
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch v := v.(type) {
				case nil:
				case []byte:
					out = append(out, table+"."+cols[i]+"="+string(v), table+"."+cols[i]+"="+hex.EncodeToString(v))
				default:
					out = append(out, fmt.Sprint(table, ".", cols[i], "=", v))
				}
			}
		}
		rows.Close()
	}
	return out
}

func rawSQLite(t *testing.T, cfg *config.Config) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+cfg.DB.SQLitePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// execDB runs one SQL statement on cfg's database, bypassing the server.
func execDB(t *testing.T, cfg *config.Config, q string) {
	t.Helper()
	ctx := context.Background()
	if cfg.DB.Driver == "postgres" {
		c, err := pgx.Connect(ctx, cfg.DB.DSN.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return
	}
	if _, err := rawSQLite(t, cfg).Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// encodings returns the forms a secret could take in storage or logs.
func encodings(s string) []string {
	b := []byte(s)
	return []string{s, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
}

// findSecrets returns the secrets found in any of the texts, in any
// encoding (hex in either case).
func findSecrets(texts []string, secrets []string) []string {
	var found []string
	for _, sec := range secrets {
		lowerHex := hex.EncodeToString([]byte(sec))
	search:
		for _, text := range texts {
			for _, form := range encodings(sec) {
				if strings.Contains(text, form) {
					found = append(found, fmt.Sprintf("%.14s… (as %.10s…)", sec, form))
					break search
				}
			}
			if strings.Contains(strings.ToLower(text), lowerHex) {
				found = append(found, fmt.Sprintf("%.14s… (as hex)", sec))
				break
			}
		}
	}
	return found
}

// --- tests ------------------------------------------------------------

// A real OAuth flow, a refresh, reads and a proxied call through the
// server with a key set: no token, client secret or key is anywhere in the database or in
// any log line (debug level), tampered or moved ciphertexts answer a clear
// 500, and the same run without a key does show the tokens (so the check
// can fail).
func TestEncryptedFlowRawStorageAndLogs(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		for _, encrypted := range []bool{true, false} {
			name := "encrypted"
			if !encrypted {
				name = "plaintext control"
			}
			t.Run(name, func(t *testing.T) {
				if !encrypted && env["NANGO_DATABASE_URL"] != "" {
					t.Skip("the plaintext control runs on SQLite only")
				}
				k1, k0 := newEncKey(), newEncKey()
				secretKey := "sk-" + secret.RandomToken(20)
				prov := newOAuthProvider(t)
				e := map[string]string{"NANGO_PROVIDERS_FILE": prov.providersFile(t), "NANGO_SECRET_KEY": secretKey}
				for k, v := range env {
					e[k] = v
				}
				if encrypted {
					e = envWith(e, k1.text, k0.text)
				} else {
					e["NANGO_DATA_DIR"] = t.TempDir()
				}
				s := mustOpenServer(t, e)

				code, body := s.do(t, "POST", "/config", map[string]any{
					"provider_config_key": "enc", "provider": "enc-test",
					"oauth_client_id": prov.clientID, "oauth_client_secret": prov.clientSecret, "oauth_scopes": "read",
				})
				if code != 200 && code != 201 {
					t.Fatalf("POST /config = %d %s", code, body)
				}
				s.connect(t, "enc", "user-1")
				s.connect(t, "enc", "user-2")
				at1, rt1 := s.getConnection(t, "enc", "user-1", false)
				at2, rt2 := s.getConnection(t, "enc", "user-1", true)
				if at2 == at1 || rt2 == rt1 {
					t.Fatalf("force_refresh did not refresh")
				}
				s.getConnection(t, "enc", "user-2", false)
				if code, body := s.do(t, "GET", "/config/enc", nil); code != 200 || !strings.Contains(body, prov.clientSecret) {
					t.Fatalf("GET /config/enc = %d", code)
				}
				// A proxied call to the provider's API with the refreshed token.
				req, _ := http.NewRequest("GET", s.http.URL+"/proxy/api/me", nil)
				req.Header.Set("Authorization", "Bearer "+secretKey)
				req.Header.Set("Connection-Id", "user-1")
				req.Header.Set("Provider-Config-Key", "enc")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), `"me":"user"`) {
					t.Errorf("proxied call = %d %s", resp.StatusCode, b)
				}

				secrets := prov.issued()
				secrets = append(secrets, secretKey, k1.text, k0.text)
				dump := dumpDB(t, s.cfg)
				stored := findSecrets(dump, prov.issued())
				if encrypted {
					if len(stored) > 0 {
						t.Errorf("the database holds secrets in plaintext: %v", stored)
					}
					if !strings.Contains(strings.Join(dump, "\n"), k1.id) {
						t.Error("no stored value names the current key id: the dump does not show the sealed columns")
					}
				} else {
					joined := strings.Join(dump, "\n")
					for _, sec := range []string{prov.clientSecret, at2, rt2} {
						if !strings.Contains(joined, sec) {
							t.Errorf("control: a plaintext secret is missing from the dump: the raw-storage check could not fail")
						}
					}
				}
				if leaked := findSecrets(strings.Split(s.logs.String(), "\n"), secrets); len(leaked) > 0 {
					t.Errorf("log lines hold secrets: %v", leaked)
				}
				if !strings.Contains(s.logs.String(), "user-1") {
					t.Error("the logs do not mention the flow at all: the log check could not fail")
				}
				if !encrypted {
					return
				}

				// Moved and tampered ciphertexts: a clear 500, never a token.
				execDB(t, s.cfg, `UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE connection_id = 'user-1')
					WHERE connection_id = 'user-2'`)
				// A write behind the server's back is seen once announced:
				// TopicReset empties the token cache.
				if err := s.srv.Store().Publish(context.Background(), store.Event{Topic: store.TopicReset}); err != nil {
					t.Fatal(err)
				}
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
					if code, body = s.do(t, "GET", "/connection/user-2?provider_config_key=enc", nil); code != 200 || time.Now().After(deadline) {
						break
					}
				}
				if code != 500 || !strings.Contains(body, `"type":"undecryptable_secret"`) {
					t.Errorf("moved credentials: %d %s, want 500 undecryptable_secret", code, body)
				}
				if leaked := findSecrets([]string{body}, secrets); len(leaked) > 0 {
					t.Errorf("error body holds secrets: %v", leaked)
				}
				execDB(t, s.cfg, `UPDATE integrations SET client_secret = substr(client_secret, 1, 20) ||
					CASE WHEN substr(client_secret, 21, 1) = 'A' THEN 'B' ELSE 'A' END || substr(client_secret, 22) WHERE unique_key = 'enc'`)
				code, body = s.do(t, "GET", "/config/enc", nil)
				if code != 500 || !strings.Contains(body, `"type":"undecryptable_secret"`) || strings.Contains(body, prov.clientSecret) {
					t.Errorf("tampered client secret: %d %s, want 500 undecryptable_secret", code, body)
				}
				if code, _ := s.do(t, "GET", "/connection?connection_id=user-1", nil); code != 200 {
					t.Errorf("listing connections with a damaged row = %d, want 200 (lists never decrypt)", code)
				}
				if _, err := s.srv.Store().GetConnection(context.Background(), "enc", "user-1"); err != nil {
					t.Errorf("the intact connection no longer reads: %v", err)
				}
			})
		}
	})
}

// A server refuses to start with a key that cannot open the data, with
// no key while data is encrypted, and without an old key rows still
// use; the message names the key ids and what to do.
func TestServerRefusesWrongKeys(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		k1, k2, k3 := newEncKey(), newEncKey(), newEncKey()
		s := mustOpenServer(t, envWith(env, k1.text))
		ctx := context.Background()
		for i := range 3 {
			in := store.Integration{Key: fmt.Sprint("i", i), Provider: "github", ClientID: "c", ClientSecret: "s"}
			if err := s.srv.Store().CreateIntegration(ctx, &in); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		tests := []struct {
			name string
			env  map[string]string
			want string
		}{
			{"wrong key", envWith(env, k3.text),
				"refusing to start: encryption keys: the database holds secrets encrypted with key id " + k1.id + ", which is not configured (NANGO_ENCRYPTION_KEY has key id " + k3.id + "). If you changed the key, put the old one in NANGO_ENCRYPTION_PREVIOUS_KEYS so existing data can be read and re-encrypted; otherwise set NANGO_ENCRYPTION_KEY back to the key the data was encrypted with"},
			{"no key", envWith(env, ""),
				"refusing to start: encryption keys: the database holds secrets encrypted with key id " + k1.id + ", which is not configured: no encryption key is set. Set NANGO_ENCRYPTION_KEY to the key the data was encrypted with (to turn encryption off deliberately, use `nango keys decrypt`)"},
			{"old key removed", envWith(env, k2.text),
				"key id " + k1.id + ", which is not configured (NANGO_ENCRYPTION_KEY has key id " + k2.id + ")"},
			{"previous key only", envWith(env, "", k1.text),
				"refusing to start: encryption keys: NANGO_ENCRYPTION_KEY is not set but NANGO_ENCRYPTION_PREVIOUS_KEYS is, and the database holds 3 encrypted secret(s) (key id " + k1.id + ")"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := openServer(t, tt.env)
				if err == nil {
					s.close()
					t.Fatal("the server started")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error:\n  %v\nwant:\n  %s", err, tt.want)
				}
				for _, k := range []encKey{k1, k2, k3} {
					if strings.Contains(err.Error()+s.logs.String(), k.text) {
						t.Error("the message or logs hold a key")
					}
				}
			})
		}
		// The right key still starts, and nothing was changed by the refusals.
		ok := mustOpenServer(t, envWith(env, k1.text))
		if u := keyUsage(t, ok.srv.Store()); u[k1.id] != 3 || len(u) != 1 {
			t.Errorf("usage after refusals = %v", u)
		}
	})
}

// Rotation under load: while the server re-encrypts every row from the
// old key to the new one in the background, readers through the HTTP API
// never see an error.
func TestRotationUnderLoad(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		k1, k2 := newEncKey(), newEncKey()
		ctx := context.Background()
		old := mustOpenServer(t, envWith(env, k1.text))
		const n = 300
		for i := range n / 2 {
			in := store.Integration{Key: fmt.Sprint("int-", i), Provider: "github", ClientID: "c", ClientSecret: secret.String("cs-" + secret.RandomToken(8))}
			if err := old.srv.Store().CreateIntegration(ctx, &in); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			exp := time.Now().Add(time.Hour)
			c := store.Connection{ProviderConfigKey: fmt.Sprint("int-", i%(n/2)), ConnectionID: fmt.Sprint("conn-", i),
				Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(fmt.Sprint("at-", i)), ExpiresAt: &exp}}
			if _, err := old.srv.Store().UpsertConnection(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		old.close()

		s := mustOpenServer(t, envWith(env, k2.text, k1.text))
		var reads, errs, mixedReads atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; ; i += 2 {
					select {
					case <-stop:
						return
					default:
					}
					id := i % n
					code, body := s.do(t, "GET", fmt.Sprintf("/connection/conn-%d?provider_config_key=int-%d", id, id%(n/2)), nil)
					if code != 200 || !strings.Contains(body, fmt.Sprintf(`"access_token":"at-%d"`, id)) {
						errs.Add(1)
						t.Errorf("read during rotation: %d %s", code, body)
					}
					if code, _ := s.do(t, "GET", fmt.Sprintf("/config/int-%d", id%(n/2)), nil); code != 200 {
						errs.Add(1)
						t.Errorf("GET /config during rotation: %d", code)
					}
					reads.Add(1)
				}
			}()
		}
		// Watch the rotation happen.
		deadline := time.Now().Add(60 * time.Second)
		for {
			u := keyUsage(t, s.srv.Store())
			if u[k1.id] > 0 && u[k2.id] > 0 && reads.Load() > 0 {
				mixedReads.Store(reads.Load())
			}
			if len(u) == 1 && u[k2.id] > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rotation never finished: %v", u)
			}
			time.Sleep(2 * time.Millisecond)
		}
		before := reads.Load()
		for reads.Load() < before+20 { // and a little after
			time.Sleep(time.Millisecond)
		}
		close(stop)
		wg.Wait()
		if errs.Load() != 0 {
			t.Errorf("%d of %d reads failed during rotation", errs.Load(), reads.Load())
		}
		if mixedReads.Load() == 0 {
			t.Log("note: no read was observed while both keys were in use (rotation finished too fast to observe)")
		}
		t.Logf("%d reads, %d while both keys were in use", reads.Load(), mixedReads.Load())
		if u := keyUsage(t, s.srv.Store()); u[k2.id] != int64(n+n/2) {
			t.Errorf("usage after rotation = %v, want %d on the new key", u, n+n/2)
		}
		for !strings.Contains(s.logs.String(), "encryption: every stored secret uses the current key") {
			if time.Now().After(deadline) {
				t.Fatalf("no completion log line:\n%s", s.logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// Two servers started at once on one PostgreSQL database with the same
// new key encrypt every value exactly once and record the key once.
func TestTwoInstancesStartTogether(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		if env["NANGO_DATABASE_URL"] == "" {
			t.Skip("several instances share a database only on PostgreSQL")
		}
		ctx := context.Background()
		plain := mustOpenServer(t, env)
		want := map[string]string{}
		for i := range 200 {
			exp := time.Now().Add(time.Hour)
			at := "at-" + secret.RandomToken(10)
			c := store.Connection{ProviderConfigKey: "p", ConnectionID: fmt.Sprint("c-", i), Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), ExpiresAt: &exp}}
			if _, err := plain.srv.Store().UpsertConnection(ctx, &c); err != nil {
				t.Fatal(err)
			}
			want[c.ConnectionID] = at
		}
		plain.close()
		k := newEncKey()
		servers := make([]*encServer, 2)
		var wg sync.WaitGroup
		for i := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := openServer(t, envWith(env, k.text))
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
				servers[i] = s
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		waitEncrypted(t, servers[0].srv.Store(), k.id)
		for id, at := range want {
			c, err := servers[1].srv.Store().GetConnection(ctx, "p", id)
			if err != nil || c.Credentials.AccessToken.Reveal() != at {
				t.Fatalf("connection %s after two instances encrypted: %v", id, err)
			}
		}
		v, err := servers[0].srv.Store().GetMeta(ctx, secret.KeyRecordMeta)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := secret.ParseKeyRecord(v)
		if err != nil || len(rec.Keys) != 1 || rec.Keys[k.id] == "" {
			t.Errorf("record = %q, %v", v, err)
		}
	})
}

// crashChildEnv names the variable that turns the test binary into the
// child server of TestCrashedEncryptionResumes.
const crashChildEnv = "NANGO_TEST_ENCRYPTION_CHILD"

// A server encrypting a large plaintext table is killed (SIGKILL) half-way;
// the next start finishes the job: every value encrypted exactly once,
// nothing lost.
func TestCrashedEncryptionResumes(t *testing.T) {
	if v := os.Getenv(crashChildEnv); v != "" {
		crashChild(t, v)
		return
	}
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		ctx := context.Background()
		plain := mustOpenServer(t, env)
		const n = 3000
		want := make(map[string]string, n)
		for i := range n {
			exp := time.Now().Add(time.Hour)
			at := fmt.Sprintf("at-%d-%s", i, secret.RandomToken(8))
			c := store.Connection{ProviderConfigKey: "p", ConnectionID: fmt.Sprint("c-", i), Credentials: store.Credentials{Type: store.OAuth2, AccessToken: secret.String(at), ExpiresAt: &exp}}
			if _, err := plain.srv.Store().UpsertConnection(ctx, &c); err != nil {
				t.Fatal(err)
			}
			want[c.ConnectionID] = at
		}
		watch := plain.srv.Store() // reads KeyUsage only; never decrypts
		k := newEncKey()
		childEnv, _ := json.Marshal(envWith(env, k.text))
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedEncryptionResumes$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+string(childEnv))
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		var atKill map[string]int64
		for {
			u := keyUsage(t, watch)
			if u[k.id] >= 200 {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				atKill = u
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the child never encrypted anything: %v\n%s", u, out.String())
			}
			time.Sleep(time.Millisecond)
		}
		after := keyUsage(t, watch)
		t.Logf("killed the child at %v; after the kill: %v", atKill, after)
		if after[""] == 0 {
			t.Fatalf("the child finished before it was killed (%v): the test proves nothing; make the table larger", after)
		}
		plain.close()

		s := mustOpenServer(t, envWith(env, k.text))
		u := waitEncrypted(t, s.srv.Store(), k.id)
		if u[k.id] != n {
			t.Errorf("usage after resuming = %v, want %d on %s", u, n, k.id)
		}
		for id, at := range want {
			c, err := s.srv.Store().GetConnection(ctx, "p", id)
			if err != nil {
				t.Fatalf("connection %s: %v", id, err)
			}
			if c.Credentials.AccessToken.Reveal() != at {
				t.Fatalf("connection %s: access token differs after the crash and resume", id)
			}
		}
	})
}

// crashChild runs a server (which starts encrypting in the background)
// until it is killed.
func crashChild(t *testing.T, envJSON string) {
	var env map[string]string
	if err := json.Unmarshal([]byte(envJSON), &env); err != nil {
		t.Fatal(err)
	}
	cfg := loadCfg(t, env)
	srv, err := server.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	time.Sleep(2 * time.Minute)
}
