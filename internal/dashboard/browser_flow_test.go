package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// TestBrowser drives the dashboard in headless Chromium, with Basic auth
// on, against a whole server and a real OpenID Connect provider
// (mockoidc): create and edit an integration through the picker, connect
// through the SDK's popup, reveal and refresh the token, delete, and check
// that every page renders without a console error.
func TestBrowser(t *testing.T) {
	m, providers := startMockOIDC(t)
	s := start(t, withAuth(map[string]string{"NANGO_PROVIDERS_FILE": providers, "NANGO_SECRET_KEY": "sk-browser"}))
	b := newBrowser(t, basicHeader())
	ctx := context.Background()
	mc := m.Config()
	const key = "mock"
	connID := "user 42 & co/ü" // spaces, &, / and non-ASCII survive the flow

	t.Run("the CSP blocks inline script and the console watcher sees it", func(t *testing.T) {
		b.t = t
		b.open(s.URL+"/settings", http.StatusOK)
		n := b.problemCount()
		ran := eval[bool](b, `(() => { const el = document.createElement('script'); el.textContent = 'window.inlineRan = true';
			document.body.appendChild(el); return window.inlineRan === true; })()`)
		if ran {
			t.Error("an inline script ran: the CSP does not apply")
		}
		if p := b.problemsSince(n); len(p) == 0 || !strings.Contains(strings.Join(p, " "), "Content Security Policy") {
			t.Errorf("the CSP violation was not reported on the console: %q (the no-console-error checks would be blind)", p)
		}
	})

	t.Run("create an integration through the picker", func(t *testing.T) {
		b.t = t
		n := b.problemCount()
		b.open(s.URL+"/", http.StatusOK) // redirects to /integrations
		if got := eval[string](b, `location.pathname`); got != "/integrations" {
			t.Fatalf("/ landed on %s", got)
		}
		b.open(s.URL+"/integrations/new", http.StatusOK)
		total := eval[int](b, `document.querySelectorAll('#picker li').length`)
		if total < 800 {
			t.Fatalf("the picker lists %d templates", total)
		}
		b.run(chromedp.SendKeys(chromedp.ID("picker-search"), "mock oi"))
		b.waitFor(`document.getElementById('picker-count').textContent === '1'`)
		if shown := eval[int](b, `[...document.querySelectorAll('#picker li')].filter(li => !li.hidden).length`); shown != 1 {
			t.Fatalf("the filter shows %d templates, want 1", shown)
		}
		b.clickAndLoad(`#picker li:not([hidden]) a`)
		if got := eval[string](b, `document.getElementById('scopes').value`); got != "openid,email,profile" {
			t.Errorf("scopes pre-filled with %q, want the template's defaults", got)
		}
		if got := b.text("#callback-url"); got != s.cfg.CallbackURL {
			t.Errorf("callback URL shown %q, want %q", got, s.cfg.CallbackURL)
		}
		b.run(
			chromedp.SetValue(chromedp.ID("unique_key"), key),
			chromedp.SendKeys(chromedp.ID("client_id"), mc.ClientID),
			chromedp.SendKeys(chromedp.ID("client_secret"), mc.ClientSecret),
		)
		b.clickAndLoad(`#integration-form button[type=submit]`)
		if got := b.text(".flash.ok"); got != "Integration created." {
			t.Fatalf("after create: %q", got)
		}
		in, err := s.store.GetIntegration(ctx, key)
		if err != nil || in.Provider != "mock-oidc" || in.ClientSecret.Reveal() != mc.ClientSecret || in.Scopes != "openid,email,profile" {
			t.Fatalf("stored integration %+v (%v)", in, err)
		}
		if p := b.problemsSince(n); len(p) > 0 {
			t.Errorf("console errors: %q", p)
		}
	})

	t.Run("edit the integration", func(t *testing.T) {
		b.t = t
		b.open(s.URL+"/integrations", http.StatusOK)
		b.clickAndLoad(`#integrations a[href="/integrations/edit?key=mock"]`)
		if got := eval[string](b, `document.getElementById('client_secret').value`); got != "" {
			t.Errorf("the edit form shows the client secret %q", got)
		}
		b.run(chromedp.SetValue(chromedp.ID("scopes"), "openid email  groups,profile"))
		b.clickAndLoad(`#integration-form button[type=submit]`)
		if got := b.text(".flash.ok"); got != "Integration saved." {
			t.Fatalf("after save: %q", got)
		}
		in, _ := s.store.GetIntegration(ctx, key)
		if in.Scopes != "openid,email,groups,profile" || in.ClientSecret.Reveal() != mc.ClientSecret {
			t.Errorf("after edit: scopes %q, secret kept %v", in.Scopes, in.ClientSecret.Reveal() == mc.ClientSecret)
		}
	})

	t.Run("connect through the popup with our SDK", func(t *testing.T) {
		b.t = t
		n := b.problemCount()
		b.open(s.URL+"/connections/new?integration="+key, http.StatusOK)
		b.run(chromedp.SendKeys(chromedp.ID("connection-id"), connID))
		snippet := b.text("#snippet")
		for _, want := range []string{"import Nango from '" + s.URL + "/sdk/nango.js';", `new Nango({ host: "` + s.URL + `" })`,
			`nango.auth("mock", "user 42 & co/ü")`} {
			if !strings.Contains(snippet, want) {
				t.Errorf("the snippet lacks %s:\n%s", want, snippet)
			}
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("server log:\n%s", s.logs.String())
				t.Logf("console: %q", b.problemsSince(0))
			}
		})
		b.run(chromedp.Click(chromedp.ID("connect-button")))
		b.waitFor(`(() => { const r = document.getElementById('connect-result'); return r && !r.hidden && !r.classList.contains('pending'); })()`)

		if got := b.text("#connect-result"); !strings.HasPrefix(got, "Connected "+connID+" to mock.") {
			t.Fatalf("result: %q", got)
		}
		conn, err := s.store.GetConnection(ctx, key, connID)
		if err != nil {
			t.Fatalf("the connection was not stored: %v", err)
		}
		if conn.Credentials.AccessToken.IsZero() || conn.Credentials.RefreshToken.IsZero() {
			t.Fatal("the connection has no access or refresh token")
		}
		if st := userinfo(t, m, conn.Credentials.AccessToken); st != http.StatusOK {
			t.Errorf("the provider refuses the stored access token: %d", st)
		}
		if p := b.problemsSince(n); len(p) > 0 {
			t.Errorf("console errors: %q", p)
		}
	})

	t.Run("reveal and copy the tokens", func(t *testing.T) {
		b.t = t
		b.clickAndLoad("#connection-link")
		conn, _ := s.store.GetConnection(ctx, key, connID)
		at := conn.Credentials.AccessToken.Reveal()
		if got := b.text(`[data-secret="access_token"]`); strings.Contains(got, at) || !strings.HasPrefix(got, "••••") {
			t.Fatalf("the access token is not masked: %q", got)
		}
		if strings.Contains(eval[string](b, `document.documentElement.outerHTML`), at) {
			t.Fatal("the page holds the access token before it is revealed")
		}
		b.run(chromedp.Click(chromedp.CSS(`[data-reveal="access_token"]`)))
		b.waitFor(`document.querySelector('[data-secret="access_token"]').textContent.length > 40`)
		if got := b.text(`[data-secret="access_token"]`); got != at {
			t.Errorf("revealed %q, want the stored token", clipText(got))
		}
		b.run(chromedp.Click(chromedp.CSS(`[data-reveal="raw"]`)))
		b.waitFor(`document.getElementById('raw-json').textContent.includes('access_token')`)
		b.run(chromedp.Click(chromedp.CSS(`[data-reveal="access_token"]`)))
		if got := b.text(`[data-secret="access_token"]`); !strings.HasPrefix(got, "••••") {
			t.Errorf("Hide did not mask the token again: %q", clipText(got))
		}
		// Copy puts the token on the clipboard (the page is on 127.0.0.1,
		// a secure context, so the Clipboard API is used).
		b.grantClipboard(s.URL)
		b.run(chromedp.Click(chromedp.CSS(`[data-copy-secret="access_token"]`)))
		b.waitFor(`document.querySelector('[data-copy-secret="access_token"]').textContent !== 'Copy'`)
		if got := eval[string](b, `navigator.clipboard.readText()`); got != at {
			t.Errorf("clipboard holds %q, want the access token", clipText(got))
		}
	})

	t.Run("refresh now", func(t *testing.T) {
		b.t = t
		// mockoidc's tokens live less than the 15-minute refresh margin, so
		// opening the page already refreshed once (as the reference's
		// dashboard does); "Refresh now" forces one more.
		m.FastForward(2 * time.Second) // a new iat, so the provider issues a new token
		before, _ := s.store.GetConnection(ctx, key, connID)
		refreshes := func() int {
			acts, _ := s.store.ListActivity(ctx, store.ActivityFilter{Action: "refresh", Success: new(true)})
			return len(acts)
		}
		n := refreshes()
		b.clickAndLoad("#refresh-now")
		if got := b.text(".flash.ok"); got != "The access token was refreshed." {
			t.Fatalf("after refresh: %q", got)
		}
		after, _ := s.store.GetConnection(ctx, key, connID)
		if after.Credentials.AccessToken == before.Credentials.AccessToken || after.LastRefreshAt == nil {
			t.Fatal("the refresh did not store a new access token")
		}
		if st := userinfo(t, m, after.Credentials.AccessToken); st != http.StatusOK {
			t.Errorf("the provider refuses the refreshed token: %d", st)
		}
		if got := b.text("#last-refresh"); !strings.Contains(got, "UTC") {
			t.Errorf("the page does not show the refresh: %q", got)
		}
		if got := refreshes(); got <= n {
			t.Errorf("%d successful refreshes in the activity log, want more than %d", got, n)
		}
		b.open(s.URL+"/activity?action=refresh", http.StatusOK)
		if got := b.text("#activity tbody tr"); !strings.Contains(got, "succeeded") {
			t.Errorf("activity row: %q", got)
		}
	})

	t.Run("an API-key connection through the page", func(t *testing.T) {
		b.t = t
		n := b.problemCount()
		if err := s.store.CreateIntegration(ctx, &store.Integration{Key: "keyed", Provider: "mock-apikey"}); err != nil {
			t.Fatal(err)
		}
		b.open(s.URL+"/connections/new?integration=keyed", http.StatusOK)
		const apiKey = "sk-test-0123456789abcdefghijklmnop"
		b.run(chromedp.SendKeys(chromedp.ID("connection-id"), "team-9"), chromedp.SendKeys(chromedp.ID("credential-apiKey"), apiKey))
		if snippet := b.text("#snippet"); strings.Contains(snippet, apiKey) || !strings.Contains(snippet, "credentials: { apiKey: '<the user\\'s API key>' }") {
			t.Errorf("the snippet should show a placeholder for the key:\n%s", snippet)
		}
		b.run(chromedp.Click(chromedp.ID("connect-button")))
		b.waitFor(`(() => { const r = document.getElementById('connect-result'); return r && !r.hidden && !r.classList.contains('pending'); })()`)
		if got := b.text("#connect-result"); !strings.HasPrefix(got, "Connected team-9 to keyed.") {
			t.Fatalf("result: %q", got)
		}
		conn, err := s.store.GetConnection(ctx, "keyed", "team-9")
		if err != nil || conn.Credentials.Type != store.APIKey || conn.Credentials.APIKey.Reveal() != apiKey {
			t.Fatalf("stored %v (%v)", conn.Credentials.Type, err)
		}
		b.clickAndLoad("#connection-link")
		b.run(chromedp.Click(chromedp.CSS(`[data-reveal="api_key"]`)))
		b.waitFor(`document.querySelector('[data-secret="api_key"]').textContent === '` + apiKey + `'`)
		if p := b.problemsSince(n); len(p) > 0 {
			t.Errorf("console errors: %q", p)
		}
	})

	t.Run("a POST without the CSRF token is refused", func(t *testing.T) {
		b.t = t
		b.open(s.URL+"/integrations", http.StatusOK)
		status := eval[int](b, `fetch('/integrations/delete', {method: 'POST', body: new URLSearchParams({key: 'mock'})}).then(r => r.status)`)
		if status != http.StatusForbidden {
			t.Errorf("CSRF-less POST answered %d, want 403", status)
		}
		withToken := eval[int](b, `fetch('/connections/hmac', {method: 'POST', headers: {'Content-Type': 'application/json',
			'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}, body: '{}'}).then(r => r.status)`)
		if withToken != http.StatusBadRequest { // accepted by the guard; HMAC is off
			t.Errorf("POST with the token answered %d, want 400 (past the guard)", withToken)
		}
		if _, err := s.store.GetIntegration(ctx, key); err != nil {
			t.Fatal("the refused POST deleted the integration")
		}
	})

	t.Run("delete the connection and the integration", func(t *testing.T) {
		b.t = t
		seedConnection(t, s.store, key, "second", nil)
		b.open(s.URL+"/connections/detail?"+url.Values{"integration": {key}, "id": {connID}}.Encode(), http.StatusOK)
		b.clickAndLoad("#delete-connection")
		b.clickAndLoad("#confirm-delete")
		if got := b.text(".flash.ok"); got != "Connection deleted." {
			t.Fatalf("after deleting the connection: %q", got)
		}
		b.open(s.URL+"/integrations/edit?key=mock", http.StatusOK)
		b.clickAndLoad("#delete-integration")
		if got := b.text("#delete-warning"); !strings.Contains(got, "1 connection(s) will be permanently deleted") {
			t.Errorf("delete warning: %q", got)
		}
		b.clickAndLoad("#confirm-delete")
		if got := b.text(".flash.ok"); got != "Integration deleted, with its 1 connection(s)." {
			t.Fatalf("after deleting the integration: %q", got)
		}
		if _, err := s.store.GetIntegration(ctx, key); err == nil {
			t.Fatal("the integration survived")
		}
	})

	t.Run("every page renders without console errors, also with hostile data", func(t *testing.T) {
		b.t = t
		seedIntegration(t, s.store, "github", "github")
		seedIntegration(t, s.store, evilKey, "zendesk")
		seedConnection(t, s.store, "github", "octocat", nil)
		seedConnection(t, s.store, evilKey, evilID, func(c *store.Connection) {
			c.Metadata = map[string]any{"note": evilMeta}
			c.LastRefreshError = evilMeta
		})
		if _, err := s.store.UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "github", ConnectionID: "basic-user",
			Credentials: store.Credentials{Type: store.Basic, Username: "bob", Password: secret.String("pw")}}); err != nil {
			t.Fatal(err)
		}
		_ = s.store.AddActivity(ctx, &store.Activity{Action: "proxy", ProviderConfigKey: evilKey, ConnectionID: evilID,
			Method: "GET", Endpoint: "/x", Status: 502, Message: evilMeta})
		evil := url.Values{"integration": {evilKey}, "id": {evilID}}.Encode()
		pages := []string{
			"/integrations", "/integrations/new", "/integrations/new?provider=github", "/integrations/new?provider=zendesk",
			"/integrations/edit?key=github", "/integrations/delete?key=github",
			"/integrations/edit?" + url.Values{"key": {evilKey}}.Encode(),
			"/connections", "/connections?q=oct", "/connections?integration=github",
			"/connections/new", "/connections/new?integration=github", "/connections/new?" + url.Values{"integration": {evilKey}}.Encode(),
			"/connections/detail?integration=github&id=octocat", "/connections/detail?integration=github&id=basic-user",
			"/connections/detail?" + evil, "/connections/delete?" + evil,
			"/activity", "/activity?outcome=failure", "/settings",
		}
		for _, width := range []int64{1280, 390} {
			b.run(chromedp.EmulateViewport(width, 860))
			for _, p := range pages {
				n := b.problemCount()
				b.open(s.URL+p, http.StatusOK)
				if got := eval[bool](b, `document.styleSheets.length > 0 && getComputedStyle(document.body).margin === '0px'`); !got {
					t.Errorf("%s at %dpx: the stylesheet did not apply", p, width)
				}
				if got := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); got > 1 {
					t.Errorf("%s at %dpx: the page scrolls sideways by %dpx", p, width, got)
				}
				if problems := b.problemsSince(n); len(problems) > 0 {
					t.Errorf("%s at %dpx: console errors %q", p, width, problems)
				}
			}
		}
		if d := b.dialogsSeen(); len(d) > 0 {
			t.Errorf("a hostile value ran script: dialogs %q", d)
		}
	})

	t.Run("without credentials every page is refused", func(t *testing.T) {
		// Headless Chromium cannot show the login prompt, so the pages are
		// fetched from the one public page of the origin.
		anon := newBrowser(t, nil)
		anon.run(chromedp.Navigate(s.URL + "/health"))
		for _, p := range []string{"/", "/integrations", "/connections/new", "/settings", "/api/v1/integration"} {
			got := eval[string](anon, `fetch('`+p+`', {credentials: 'omit'}).then(r => r.status + ' ' + r.headers.get('WWW-Authenticate'))`)
			if !strings.HasPrefix(got, "401 Basic realm=") {
				t.Errorf("GET %s without credentials: %s", p, got)
			}
		}
	})
}
