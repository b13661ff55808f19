package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// Every auth mode: import, then read back with connection:get and
// token:get, in text and JSON.
func TestConnectionImportGetTokenEveryMode(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	ctx := context.Background()
	dir := t.TempDir()
	atFile := filepath.Join(dir, "at.txt")
	if err := os.WriteFile(atFile, []byte("at-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		stdin     string
		args      []string // after connection:import
		mode      store.AuthMode
		check     func(c store.Connection) bool
		tokenText string         // token:get's stdout
		tokenJSON map[string]any // token:get --json
		hidden    []string       // never in connection:get's text
	}{
		{
			name: "oauth2 with refresh token and expiry",
			args: []string{"oauth2", "u1", "--access-token", "at-1", "--refresh-token", "rt-1", "--expires-in", "2h", "--connection-config", "subdomain=acme", "--metadata", `{"plan":"pro"}`},
			mode: store.OAuth2,
			check: func(c store.Connection) bool {
				return c.Credentials.AccessToken.Reveal() == "at-1" && c.Credentials.RefreshToken.Reveal() == "rt-1" &&
					c.Credentials.ExpiresAt != nil && time.Until(*c.Credentials.ExpiresAt) > 115*time.Minute &&
					c.ConnectionConfig["subdomain"] == "acme" && c.Metadata["plan"] == "pro"
			},
			tokenText: "at-1\n",
			tokenJSON: map[string]any{"type": "OAUTH2", "access_token": "at-1"},
			hidden:    []string{"at-1", "rt-1"},
		},
		{
			name:  "oauth2 token from stdin",
			stdin: "at-stdin\n",
			args:  []string{"oauth2", "u2", "--access-token", "-", "--expires-at", "2031-02-03T04:05:06Z"},
			mode:  store.OAuth2,
			check: func(c store.Connection) bool {
				return c.Credentials.AccessToken.Reveal() == "at-stdin" && c.Credentials.ExpiresAt.Equal(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC))
			},
			tokenText: "at-stdin\n",
			tokenJSON: map[string]any{"type": "OAUTH2", "access_token": "at-stdin", "expires_at": "2031-02-03T04:05:06Z"},
			hidden:    []string{"at-stdin"},
		},
		{
			name:      "client credentials token from a file",
			args:      []string{"cc", "u1", "--access-token", "@" + atFile, "--expires-in", "3600"},
			mode:      store.OAuth2CC,
			check:     func(c store.Connection) bool { return c.Credentials.AccessToken.Reveal() == "at-from-file" },
			tokenText: "at-from-file\n",
			tokenJSON: map[string]any{"type": "OAUTH2_CC", "access_token": "at-from-file"},
			hidden:    []string{"at-from-file"},
		},
		{
			name: "client credentials obtained by the server",
			args: []string{"cc", "u2", "--client-id", "own-id", "--client-secret", "own-secret"},
			mode: store.OAuth2CC,
			check: func(c store.Connection) bool {
				return c.Credentials.AccessToken.Reveal() == "cc-own-id" && c.Credentials.ClientID == "own-id" && c.Credentials.ClientSecret.Reveal() == "own-secret"
			},
			tokenText: "cc-own-id\n",
			tokenJSON: map[string]any{"type": "OAUTH2_CC", "access_token": "cc-own-id"},
			hidden:    []string{"cc-own-id", "own-secret"},
		},
		{
			name: "oauth1",
			args: []string{"oauth1", "u1", "--oauth-token", "ot-1", "--oauth-token-secret", "ots-1"},
			mode: store.OAuth1,
			check: func(c store.Connection) bool {
				return c.Credentials.OAuthToken.Reveal() == "ot-1" && c.Credentials.OAuthTokenSecret.Reveal() == "ots-1"
			},
			tokenText: "oauth_token         ot-1\noauth_token_secret  ots-1\n",
			tokenJSON: map[string]any{"type": "OAUTH1", "oauth_token": "ot-1", "oauth_token_secret": "ots-1"},
			hidden:    []string{"ot-1", "ots-1"},
		},
		{
			name:      "api key",
			args:      []string{"apikey", "u1", "--api-key", "key-1"},
			mode:      store.APIKey,
			check:     func(c store.Connection) bool { return c.Credentials.APIKey.Reveal() == "key-1" },
			tokenText: "key-1\n",
			tokenJSON: map[string]any{"type": "API_KEY", "api_key": "key-1"},
			hidden:    []string{"key-1"},
		},
		{
			name: "basic",
			args: []string{"basic", "u1", "--username", "alice", "--password", "pw-1"},
			mode: store.Basic,
			check: func(c store.Connection) bool {
				return c.Credentials.Username == "alice" && c.Credentials.Password.Reveal() == "pw-1"
			},
			tokenText: "username  alice\npassword  pw-1\n",
			tokenJSON: map[string]any{"type": "BASIC", "username": "alice", "password": "pw-1"},
			hidden:    []string{"pw-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, id := tt.args[0], tt.args[1]
			r := s.runStdin(tt.stdin, append([]string{"connection:import"}, tt.args...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "Imported connection \""+id+"\" into integration \""+key+"\" ("+string(tt.mode)) {
				t.Fatalf("import: %v", r)
			}
			c, err := s.store().GetConnection(ctx, key, id)
			if err != nil || c.Credentials.Type != tt.mode || !tt.check(c) {
				t.Fatalf("stored = %+v, %v", c.Credentials, err)
			}

			r = s.mustRun(t, "token:get", key, id)
			if r.stdout != tt.tokenText {
				t.Errorf("token:get stdout = %q, want %q", r.stdout, tt.tokenText)
			}
			var tok map[string]any
			decodeJSON(t, s.mustRun(t, "token:get", key, id, "--json"), &tok)
			for k, v := range tt.tokenJSON {
				if tok[k] != v {
					t.Errorf("token:get --json [%s] = %v, want %v (all: %v)", k, tok[k], v, tok)
				}
			}

			r = s.mustRun(t, "connection:get", key, id)
			if !strings.Contains(r.stdout, "credentials") || !strings.Contains(r.stdout, string(tt.mode)) {
				t.Errorf("connection:get text:\n%s", r.stdout)
			}
			for _, h := range tt.hidden {
				if strings.Contains(r.stdout, h) {
					t.Errorf("connection:get text shows %q:\n%s", h, r.stdout)
				}
			}
			var conn struct {
				ConnectionID string `json:"connection_id"`
				Credentials  struct {
					Type string `json:"type"`
				} `json:"credentials"`
			}
			decodeJSON(t, s.mustRun(t, "connection:get", key, id, "--json"), &conn)
			if conn.ConnectionID != id || conn.Credentials.Type != string(tt.mode) {
				t.Errorf("connection:get --json = %+v", conn)
			}
		})
	}

	// Re-import with --json returns the stored connection, config kept.
	var imported struct {
		ConnectionConfig map[string]any `json:"connection_config"`
		Credentials      struct {
			AccessToken string `json:"access_token"`
		} `json:"credentials"`
	}
	decodeJSON(t, s.mustRun(t, "connection:import", "oauth2", "u1", "--access-token", "at-2", "--json"), &imported)
	if imported.Credentials.AccessToken != "at-2" || imported.ConnectionConfig["subdomain"] != "acme" {
		t.Errorf("re-import --json = %+v", imported)
	}
}

func TestConnectionListAndDelete(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	ctx := context.Background()
	r := s.mustRun(t, "connection:list")
	if strings.TrimSpace(r.stdout) != "No connections." {
		t.Errorf("empty list: %v", r)
	}
	s.mustRun(t, "connection:import", "apikey", "u1", "--api-key", "k1")
	s.mustRun(t, "connection:import", "apikey", "u2", "--api-key", "k2")
	s.mustRun(t, "connection:import", "basic", "u1", "--username", "b", "--password", "")

	r = s.mustRun(t, "connection:list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "CONNECTION_ID") || !strings.HasPrefix(lines[1], "u1") || !strings.Contains(lines[1], "basic") || !strings.HasPrefix(lines[2], "u2") {
		t.Errorf("list:\n%s", r.stdout)
	}
	var list struct {
		Connections []struct {
			ID           int64  `json:"id"`
			ConnectionID string `json:"connection_id"`
			Provider     string `json:"provider"`
			Created      string `json:"created"`
		} `json:"connections"`
	}
	decodeJSON(t, s.mustRun(t, "connection:list", "--json", "--connection-id", "u1"), &list)
	if len(list.Connections) != 2 || list.Connections[0].Provider != "basic" || list.Connections[1].Provider != "apikey" || list.Connections[0].Created == "" {
		t.Errorf("list --json --connection-id u1 = %+v", list)
	}

	r = s.mustRun(t, "connection:delete", "apikey", "u1")
	if !strings.Contains(r.stdout, `Deleted connection "u1" of integration "apikey".`) {
		t.Errorf("delete: %v", r)
	}
	if _, err := s.store().GetConnection(ctx, "apikey", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("still stored: %v", err)
	}
	if _, err := s.store().GetConnection(ctx, "basic", "u1"); err != nil {
		t.Errorf("basic/u1 deleted too: %v", err)
	}
	var del map[string]any
	decodeJSON(t, s.mustRun(t, "connection:delete", "apikey", "u2", "--json"), &del)
	if del["connection_id"] != "u2" || del["provider_config_key"] != "apikey" || del["deleted"] != true {
		t.Errorf("delete --json = %v", del)
	}
	page, err := s.store().ListConnections(ctx, store.ConnectionFilter{})
	if err != nil || len(page.Connections) != 1 {
		t.Errorf("stored connections = %d, %v", len(page.Connections), err)
	}
}

func TestConnectionServerErrors(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	const unknownConn = "No connection matching params 'connection_id' and 'provider_config_key'."
	tests := []struct {
		name     string
		args     []string
		msg, typ string
	}{
		{"import without token", []string{"connection:import", "oauth2", "u", "--refresh-token", "r"}, "", "missing_access_token"},
		{"import oauth1 without secret", []string{"connection:import", "oauth1", "u", "--oauth-token", "t"}, "", "missing_oauth_token_secret"},
		{"import basic without username", []string{"connection:import", "basic", "u", "--password", "p"}, "", "missing_basic_username"},
		{"import api key without key", []string{"connection:import", "apikey", "u"}, "", "missing_api_key"},
		{"import into unknown integration", []string{"connection:import", "nope", "u", "--api-key", "k"}, "There is no Provider Configuration matching this key.", "unknown_provider_config"},
		{"get unknown", []string{"connection:get", "apikey", "nobody"}, unknownConn, "unkown_connection"},
		{"token unknown", []string{"token:get", "apikey", "nobody", "--json"}, unknownConn, "unkown_connection"},
		{"delete unknown", []string{"connection:delete", "apikey", "nobody"}, unknownConn, "unkown_connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.run(tt.args...)
			if tt.msg == "" {
				// The message is the server's; the type is what scripts match.
				if r.code != ExitError || !strings.Contains(r.stderr, "❌ ") || !strings.Contains(r.stderr, "("+tt.typ+")") || r.stdout != "" {
					t.Fatalf("want exit 1 with ❌ … (%s); got %v", tt.typ, r)
				}
				return
			}
			wantServerError(t, r, tt.msg, tt.typ)
		})
	}
	page, err := s.store().ListConnections(context.Background(), store.ConnectionFilter{})
	if err != nil || len(page.Connections) != 0 {
		t.Errorf("stored connections = %d, %v", len(page.Connections), err)
	}
}

// token:get --force-refresh makes the server refresh at the provider; a
// refusal exits 1 with the provider's message, the stored token intact.
func TestTokenForceRefresh(t *testing.T) {
	s := startCLIServer(t, nil)
	s.createIntegrations(t)
	s.mustRun(t, "connection:import", "oauth2", "u", "--access-token", "at-0", "--refresh-token", "rt-0", "--expires-in", "7200")
	if r := s.mustRun(t, "token:get", "oauth2", "u"); r.stdout != "at-0\n" || !strings.Contains(r.stderr, "OAUTH2 access token; expires ") || s.up.refreshes.Load() != 0 {
		t.Fatalf("token:get: %v", r)
	}
	r := s.mustRun(t, "token:get", "oauth2", "u", "--force-refresh")
	if r.stdout != "at-new-1\n" || s.up.refreshes.Load() != 1 {
		t.Fatalf("forced token:get: %v", r)
	}
	var conn struct {
		Credentials struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"credentials"`
	}
	decodeJSON(t, s.mustRun(t, "connection:get", "oauth2", "u", "--force-refresh", "--json"), &conn)
	if conn.Credentials.AccessToken != "at-new-2" || conn.Credentials.RefreshToken != "rt-new-2" {
		t.Fatalf("forced connection:get = %+v", conn)
	}

	s.up.setRefuse(true)
	r = s.run("token:get", "oauth2", "u", "--force-refresh")
	if r.code != ExitError || !strings.Contains(r.stderr, "(refresh_token_external_error)") || !strings.Contains(r.stderr, "provider:") || r.stdout != "" {
		t.Fatalf("refused refresh: %v", r)
	}
	c, err := s.store().GetConnection(context.Background(), "oauth2", "u")
	if err != nil || c.Credentials.AccessToken.Reveal() != "at-new-2" {
		t.Fatalf("stored after refused refresh: %v", err)
	}
}
