package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// TestScreenshots takes the screenshots of docs/dashboard.md: every page at
// a laptop and a phone width, with sample data and one real connection
// made through the popup against mockoidc. It runs only when
// NANGO_SCREENSHOTS names the output directory (`make screenshots`).
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("NANGO_SCREENSHOTS")
	if dir == "" {
		t.Skip("set NANGO_SCREENSHOTS=<dir> to write the dashboard screenshots (make screenshots)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m, providers := startMockOIDC(t)
	s := start(t, withAuth(map[string]string{
		"NANGO_PROVIDERS_FILE": providers,
		"NANGO_SECRET_KEY":     "sk-screenshots",
		"NANGO_ENCRYPTION_KEY": "q83vEjz3HxcHq5KJ6aC2Xl3I7NaUbQ1AbvjXhGg0pTs=",
		"LOG_LEVEL":            "warn",
	}))
	ctx := context.Background()
	mc := m.Config()
	for _, in := range []struct{ key, provider string }{
		{"hubspot", "hubspot"}, {"zendesk-support", "zendesk"}, {"slack", "slack"}, {"salesforce-prod", "salesforce"},
		{"openai", "openai"}, {"github", "github"},
	} {
		seedIntegration(t, s.store, in.key, in.provider)
	}
	if err := s.store.CreateIntegration(ctx, &store.Integration{Key: "demo-oidc", Provider: "mock-oidc", ClientID: mc.ClientID,
		ClientSecret: secret.String(mc.ClientSecret), Scopes: "openid,email,profile"}); err != nil {
		t.Fatal(err)
	}
	users := []string{"acme-corp", "globex", "initech", "umbrella", "hooli", "stark-industries", "wayne-enterprises", "wonka", "cyberdyne", "tyrell"}
	for i, u := range users {
		key := []string{"github", "salesforce-prod", "slack", "zendesk-support", "hubspot"}[i%5]
		seedConnection(t, s.store, key, u, func(c *store.Connection) {
			if key == "zendesk-support" {
				c.ConnectionConfig = map[string]any{"subdomain": u}
			}
			if i == 3 {
				c.LastRefreshError = "the provider rejected the refresh: invalid_grant (Token has been expired or revoked.)"
				c.RefreshFailures = 2
			}
		})
	}
	if _, err := s.store.UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "openai", ConnectionID: "research-team",
		Credentials: store.Credentials{Type: store.APIKey, APIKey: secret.String("sk-" + secret.RandomToken(30))}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	acts := []store.Activity{
		{Action: "oauth", Success: true, ProviderConfigKey: "github", ConnectionID: "acme-corp", Provider: "github", Method: "GET", Endpoint: "/oauth/callback", Status: 200, Duration: 840 * time.Millisecond, Attempts: 1},
		{Action: "refresh", Success: true, ProviderConfigKey: "salesforce-prod", ConnectionID: "globex", Provider: "salesforce", Method: "POST", Endpoint: "https://login.salesforce.com/services/oauth2/token", Status: 200, Duration: 312 * time.Millisecond, Attempts: 1},
		{Action: "proxy", Success: true, ProviderConfigKey: "hubspot", ConnectionID: "hooli", Provider: "hubspot", Method: "GET", Endpoint: "/crm/v3/objects/contacts", Status: 200, Duration: 221 * time.Millisecond, Attempts: 1},
		{Action: "refresh", Success: false, ProviderConfigKey: "zendesk-support", ConnectionID: "umbrella", Provider: "zendesk", Method: "POST", Endpoint: "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens", Status: 400, Duration: 190 * time.Millisecond, Attempts: 1, Message: "invalid_grant: Token has been expired or revoked."},
		{Action: "proxy", Success: false, ProviderConfigKey: "slack", ConnectionID: "initech", Provider: "slack", Method: "POST", Endpoint: "/chat.postMessage", Status: 429, Duration: 3120 * time.Millisecond, Attempts: 3, Message: "rate limited; gave up after 3 attempts"},
		{Action: "oauth", Success: false, ProviderConfigKey: "github", ConnectionID: "wonka", Provider: "github", Method: "GET", Endpoint: "/oauth/callback", Status: 500, Duration: 95 * time.Millisecond, Attempts: 1, Message: "callback_err: access_denied: The user has denied your application access."},
	}
	for i := range acts {
		acts[i].Time = now.Add(-time.Duration(len(acts)-i) * 7 * time.Minute)
		if err := s.store.AddActivity(ctx, &acts[i]); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t, basicHeader())
	shots := []struct {
		name, path string
		prepare    func()
	}{
		{"integrations", "/integrations", nil},
		{"integration-new", "/integrations/new", func() { b.run(chromedp.SendKeys(chromedp.ID("picker-search"), "sales")) }},
		{"integration-form", "/integrations/new?provider=salesforce", nil},
		{"integration-edit", "/integrations/edit?key=github", nil},
		{"integration-delete", "/integrations/delete?key=github", nil},
		{"connections", "/connections", nil},
		{"connection-new", "/connections/new?integration=demo-oidc", func() {
			b.run(chromedp.SendKeys(chromedp.ID("connection-id"), "user-42"), chromedp.Click(chromedp.ID("connect-button")))
			b.waitFor(`document.querySelector('#connect-result.ok, #connect-result.error') !== null`)
		}},
		{"connection-detail", "/connections/detail?" + url.Values{"integration": {"demo-oidc"}, "id": {"user-42"}}.Encode(), nil},
		{"activity", "/activity", nil},
		{"settings", "/settings", nil},
	}
	sizes := []struct {
		suffix        string
		width, height int64
		mobile        bool
	}{{"", 1280, 800, false}, {"-phone", 390, 844, true}}
	for _, size := range sizes {
		opts := []chromedp.EmulateViewportOption{}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		b.run(chromedp.EmulateViewport(size.width, size.height, opts...))
		for _, sh := range shots {
			if sh.name == "connection-new" && size.mobile {
				// One real flow is enough: the phone shot shows the form.
				b.open(s.URL+"/connections/new?integration=demo-oidc", http.StatusOK)
			} else {
				b.open(s.URL+sh.path, http.StatusOK)
				if sh.prepare != nil {
					sh.prepare()
				}
			}
			png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, fmt.Sprintf("dashboard-%s%s.png", sh.name, size.suffix))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", file, len(png))
		}
	}
	if p := b.problemsSince(0); len(p) > 0 {
		t.Errorf("console errors while taking screenshots: %q", p)
	}
}
