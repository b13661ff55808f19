package cli

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/store"
)

func TestConfigCommands(t *testing.T) {
	s := startCLIServer(t, nil)
	ctx := context.Background()

	r := s.mustRun(t, "config:create", "gh", "github", "Iv1.0123", "shh-secret", "repo user,,gist")
	if !strings.Contains(r.stdout, `Created integration "gh" (provider github, id `) {
		t.Errorf("create: %v", r)
	}
	in, err := s.store().GetIntegration(ctx, "gh")
	if err != nil || in.Provider != "github" || in.ClientID != "Iv1.0123" || in.ClientSecret.Reveal() != "shh-secret" || in.Scopes != "repo,user,gist" {
		t.Fatalf("stored = %+v, %v", in, err)
	}

	// The client secret from standard input; a template without a client.
	r = s.runStdin("stdin-secret\n", "config:create", "gh2", "github", "Iv1.2", "-", "repo", "--json")
	var created struct {
		ConfigID int64 `json:"config_id"`
	}
	decodeJSON(t, r, &created)
	if in, err := s.store().GetIntegration(ctx, "gh2"); err != nil || in.ID != created.ConfigID || in.ClientSecret.Reveal() != "stdin-secret" {
		t.Fatalf("gh2 stored = %+v, %v (json id %d)", in, err, created.ConfigID)
	}
	s.mustRun(t, "config:create", "stripe", "stripe-api-key")

	r = s.mustRun(t, "config:list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "UNIQUE_KEY") || !strings.Contains(r.stdout, "repo,user,gist") || strings.Contains(r.stdout, "shh-secret") {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = s.mustRun(t, "config:list", "--json")
	var list struct {
		Configs []struct {
			UniqueKey string `json:"unique_key"`
			Secret    string `json:"oauth_client_secret"`
		} `json:"configs"`
	}
	decodeJSON(t, r, &list)
	if len(list.Configs) != 3 || list.Configs[0].UniqueKey == "" {
		t.Errorf("list --json: %+v", list)
	}

	r = s.mustRun(t, "config:get", "gh")
	for _, want := range []string{"unique_key", "gh", "github", "Iv1.0123", "hidden; use --json", "repo,user,gist"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("get text lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "shh-secret") {
		t.Errorf("get text shows the client secret:\n%s", r.stdout)
	}
	r = s.mustRun(t, "config:get", "--json", "gh")
	var got struct {
		Config struct {
			UniqueKey string `json:"unique_key"`
			Secret    string `json:"oauth_client_secret"`
			Scopes    string `json:"oauth_scopes"`
		} `json:"config"`
	}
	decodeJSON(t, r, &got)
	if got.Config.UniqueKey != "gh" || got.Config.Secret != "shh-secret" || got.Config.Scopes != "repo,user,gist" {
		t.Errorf("get --json = %+v", got)
	}

	r = s.mustRun(t, "config:edit", "gh", "github", "Iv1.9", "new-secret", "read:org")
	if !strings.Contains(r.stdout, `Updated integration "gh".`) {
		t.Errorf("edit: %v", r)
	}
	if in, err := s.store().GetIntegration(ctx, "gh"); err != nil || in.ClientID != "Iv1.9" || in.ClientSecret.Reveal() != "new-secret" || in.Scopes != "read:org" {
		t.Fatalf("stored after edit = %+v, %v", in, err)
	}
	var edited map[string]any
	decodeJSON(t, s.mustRun(t, "config:edit", "gh2", "github", "Iv1.2", "s2", "--json"), &edited)
	if edited["provider_config_key"] != "gh2" || edited["updated"] != true {
		t.Errorf("edit --json = %v", edited)
	}

	// Deleting an integration deletes its connections.
	s.mustRun(t, "connection:import", "gh", "u1", "--access-token", "at")
	r = s.mustRun(t, "config:delete", "gh")
	if !strings.Contains(r.stdout, `Deleted integration "gh" and its connections.`) {
		t.Errorf("delete: %v", r)
	}
	if _, err := s.store().GetIntegration(ctx, "gh"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("integration still stored: %v", err)
	}
	if _, err := s.store().GetConnection(ctx, "gh", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("connection still stored: %v", err)
	}
	var deleted map[string]any
	decodeJSON(t, s.mustRun(t, "config:delete", "gh2", "--json"), &deleted)
	if deleted["provider_config_key"] != "gh2" || deleted["deleted"] != true {
		t.Errorf("delete --json = %v", deleted)
	}
	r = s.mustRun(t, "config:list")
	if !strings.Contains(r.stdout, "stripe") || strings.Contains(r.stdout, "gh") {
		t.Errorf("list after deletes:\n%s", r.stdout)
	}
}

func TestConfigServerErrors(t *testing.T) {
	s := startCLIServer(t, nil)
	s.mustRun(t, "config:create", "gh", "github", "i", "s")
	tests := []struct {
		name      string
		args      []string
		msg, typ  string
		wantStore int // integrations stored afterwards
	}{
		{"duplicate", []string{"config:create", "gh", "github", "i", "s"}, "There is already a Provider Configuration matching the param 'provider_config_key'.", "duplicate_provider_config", 1},
		{"unknown template", []string{"config:create", "x", "no-such-template"}, "No Provider Template matching the 'provider' parameter.", "unknown_provider_template", 1},
		{"missing client", []string{"config:create", "x", "github"}, "Missing param 'oauth_client_id'.", "missing_client_id", 1},
		{"get unknown", []string{"config:get", "nope"}, "There is no Provider Configuration matching this key.", "unknown_provider_config", 1},
		{"edit unknown", []string{"config:edit", "nope", "github", "i", "s"}, "There is no Provider Configuration matching this key.", "unknown_provider_config", 1},
		{"json mode too", []string{"config:get", "nope", "--json"}, "There is no Provider Configuration matching this key.", "unknown_provider_config", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantServerError(t, s.run(tt.args...), tt.msg, tt.typ)
			list, err := s.store().ListIntegrations(context.Background())
			if err != nil || len(list) != tt.wantStore {
				t.Errorf("stored integrations = %d, %v", len(list), err)
			}
		})
	}
}

// Which server and key: flags over environment over the default; the
// line naming the server goes to stderr in text mode only.
func TestHostAndSecretKey(t *testing.T) {
	s := startCLIServer(t, nil)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(cliSecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"env", map[string]string{"NANGO_HOSTPORT": s.url + "/", "NANGO_SECRET_KEY": cliSecretKey}, nil, 0, "Using nango at " + s.url + " (from NANGO_HOSTPORT)"},
		{"flags", map[string]string{"NANGO_HOSTPORT": "http://127.0.0.1:1", "NANGO_SECRET_KEY": "wrong"}, []string{"--host", s.url, "--secret-key", cliSecretKey}, 0, "Using nango at " + s.url + " (from --host)"},
		{"key file", map[string]string{"NANGO_HOSTPORT": s.url, "NANGO_SECRET_KEY_FILE": keyFile}, nil, 0, "(from NANGO_HOSTPORT)"},
		{"no key", map[string]string{"NANGO_HOSTPORT": s.url}, nil, 1, "❌ Authentication failed. The request is missing the Authorization header. (missing_auth_header)"},
		{"wrong key", map[string]string{"NANGO_HOSTPORT": s.url, "NANGO_SECRET_KEY": "nope"}, nil, 1, "❌ Authentication failed. The provided secret key is invalid. (invalid_secret_key)"},
		{"bad env host", map[string]string{"NANGO_HOSTPORT": "localhost:3003"}, nil, 1, `NANGO_HOSTPORT "localhost:3003" is not an http(s) URL`},
		{"bad flag host", nil, []string{"--host", "ftp://x"}, 2, `--host "ftp://x" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(tt.env, "", append([]string{"config:list"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Fatalf("want exit %d with %q; got %v", tt.wantCode, tt.wantStderr, r)
			}
			if tt.wantCode == 0 && !strings.Contains(r.stdout, "No integrations.") {
				t.Errorf("stdout = %q", r.stdout)
			}
		})
	}

	// --json: nothing but JSON on stdout, no server line on stderr.
	r := runCLI(s.env(), "", "config:list", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `{
  "configs": []
}` || r.stderr != "" {
		t.Errorf("--json run: %v", r)
	}

	// The default server, named as such (the command fails before any
	// request: its arguments are checked after the server is chosen).
	r = runCLI(nil, "", "connection:import", "k", "c", "--expires-at", "tomorrow")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Using nango at http://localhost:3003 (the default; set NANGO_HOSTPORT or --host to change it)") {
		t.Errorf("default host: %v", r)
	}

	// A server that is not there.
	gone := httptest.NewServer(nil)
	gone.Close()
	r = runCLI(map[string]string{"NANGO_HOSTPORT": gone.URL}, "", "config:list")
	if r.code != ExitError || !strings.Contains(r.stderr, "cannot reach nango at "+gone.URL) || !strings.Contains(r.stderr, "nango serve") {
		t.Errorf("unreachable server: %v", r)
	}
}
