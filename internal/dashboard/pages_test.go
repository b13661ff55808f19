package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// Hostile values: each would run script or break out of its context if a
// page printed it unescaped.
const (
	evilKey  = `<script>alert("key")</script>'&"`
	evilID   = `"><img src=x onerror=alert(1)>/../%2F?#&`
	evilMeta = `</pre><script>alert(2)</script>`
)

func TestHostileValuesAreEscaped(t *testing.T) {
	s := start(t, nil)
	ctx := context.Background()
	seedIntegration(t, s.store, evilKey, "github")
	seedConnection(t, s.store, evilKey, evilID, func(c *store.Connection) {
		c.Metadata = map[string]any{"note": evilMeta, evilMeta: "k"}
		c.ConnectionConfig = map[string]any{"subdomain": evilMeta}
		c.LastRefreshError = evilMeta
	})
	if err := s.store.AddActivity(ctx, &store.Activity{Action: "oauth", ProviderConfigKey: evilKey, ConnectionID: evilID,
		Method: "GET", Endpoint: "/oauth/" + evilMeta, Message: evilMeta}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t, false)
	q := url.Values{"integration": {evilKey}, "id": {evilID}}.Encode()
	pages := []string{
		"/integrations",
		"/integrations/edit?" + url.Values{"key": {evilKey}}.Encode(),
		"/integrations/delete?" + url.Values{"key": {evilKey}}.Encode(),
		"/connections",
		"/connections?" + url.Values{"q": {evilID}, "integration": {evilKey}}.Encode(),
		"/connections/detail?" + q,
		"/connections/delete?" + q,
		"/connections/new?" + url.Values{"integration": {evilKey}, "id": {evilID}}.Encode(),
		"/activity",
		"/activity?" + url.Values{"integration": {evilKey}, "connection": {evilID}}.Encode(),
		"/integrations/new?" + url.Values{"q": {evilMeta}}.Encode(),
	}
	for _, p := range pages {
		r := c.get(p)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d: %s", p, r.status, clipText(r.body))
			continue
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "</pre><script>"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("GET %s: the page contains %q unescaped", p, raw)
			}
		}
		if n := strings.Count(r.body, "<script"); n > 2 {
			t.Errorf("GET %s: %d script tags, want at most our 2", p, n)
		}
	}
	// The escaped values are there (the page shows the data, escaped).
	detail := c.get("/connections/detail?" + q).body
	for _, want := range []string{"&lt;script&gt;alert(&#34;key&#34;)&lt;/script&gt;", "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail page lacks the escaped value %q", want)
		}
	}
	// Links carry the values percent-encoded in the query.
	if !strings.Contains(c.get("/connections").body, "/connections/detail?id=%22%3E%3Cimg") {
		t.Error("the list's link to the connection is not query-encoded")
	}
}

// TestBadInputNeverFails sends malformed, hostile and overlong input to
// every page and endpoint: each answers 4xx or a clean page, never 5xx.
func TestBadInputNeverFails(t *testing.T) {
	s := start(t, nil)
	seedIntegration(t, s.store, "gh", "github")
	seedConnection(t, s.store, "gh", "u1", nil)
	c := s.client(t, false)
	long := strings.Repeat("x", 300)
	gets := []struct {
		path string
		want int
	}{
		{"/connections?before=abc", 400},
		{"/connections?before=-5", 400},
		{"/connections?before=0", 400},
		{"/connections?before=99999999999999999999999", 400},
		{"/connections?before=1e5", 400},
		{"/connections?before=9223372036854775807", 200},
		{"/connections?q=" + long, 400},
		{"/connections?q=%00%01", 400},
		{"/connections?q=%ff%fe", 400},
		{"/connections?q=%25_%5C", 200},
		{"/connections?integration=" + long, 400},
		{"/connections?integration=nope", 200},
		{"/connections?q=a&q=b&integration=gh&integration=x", 200},
		{"/connections/detail", 400},
		{"/connections/detail?integration=gh", 400},
		{"/connections/detail?integration=gh&id=" + long, 400},
		{"/connections/detail?integration=gh&id=%ff", 400},
		{"/connections/detail?integration=gh&id=nobody", 404},
		{"/connections/delete?integration=gh&id=nobody", 404},
		{"/connections/new?integration=" + long, 400},
		{"/connections/new?integration=nope", 404},
		{"/connections/new?integration=gh&id=%00", 400},
		{"/integrations/new?provider=nope", 404},
		{"/integrations/new?provider=" + long, 404},
		{"/integrations/new?q=%ff", 400},
		{"/integrations/edit", 400},
		{"/integrations/edit?key=nope", 404},
		{"/integrations/delete?key=" + long, 400},
		{"/activity?action=%3Cscript%3E", 400},
		{"/activity?action=" + long, 400},
		{"/activity?outcome=maybe", 400},
		{"/activity?before=x", 400},
		{"/activity?connection=%00", 400},
		{"/activity?action=oauth&outcome=failure&integration=gh&connection=u1", 200},
		{"/static/nope.css", 404},
		{"/static/..%2F..%2Fgo.mod", 404},
		{"/api/v1/connection/u1", 400},
		{"/api/v1/connection/nobody?provider_config_key=gh", 400},
		{"/api/v1/connection/u1?provider_config_key=" + long, 400},
		{"/api/v1/connection?limit=0", 400},
		{"/api/v1/connection?limit=abc", 400},
		{"/api/v1/connection?before=-1", 400},
		{"/api/v1/integration/%00", 400},
		{"/api/v1/integration/nope", 400},
		{"/connections/secrets?integration=gh", 403},
	}
	for _, g := range gets {
		r := c.get(g.path)
		if r.status != g.want {
			t.Errorf("GET %s: %d, want %d: %s", clipText(g.path), r.status, g.want, clipText(r.body))
		}
	}
	posts := []struct {
		path string
		form url.Values
		want int
	}{
		{"/integrations/new", url.Values{"provider": {"nope"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {long}, "client_id": {"a"}, "client_secret": {"b"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"k\x01"}, "client_id": {"a"}, "client_secret": {"b"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"k2"}, "client_secret": {"b"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"k2"}, "client_id": {"a"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"k2"}, "client_id": {strings.Repeat("a", 20000)}, "client_secret": {"b"}}, 400},
		{"/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"gh"}, "client_id": {"a"}, "client_secret": {"b"}}, 409},
		{"/integrations/edit", url.Values{"key": {"nope"}, "client_id": {"a"}}, 404},
		{"/integrations/edit", url.Values{"key": {"gh"}, "client_id": {""}}, 400},
		{"/integrations/delete", url.Values{"key": {"nope"}}, 404},
		{"/integrations/delete", url.Values{}, 400},
		{"/connections/refresh", url.Values{"integration": {"gh"}, "id": {"nobody"}}, 404},
		{"/connections/refresh", url.Values{"integration": {"gh"}}, 400},
		{"/connections/delete", url.Values{"integration": {"gh"}, "id": {"nobody"}}, 404},
		{"/connections/delete", url.Values{"integration": {long}, "id": {"u1"}}, 400},
	}
	for _, p := range posts {
		r := c.post(p.path, p.form)
		if r.status != p.want {
			t.Errorf("POST %s %v: %d, want %d: %s", p.path, clipText(p.form.Encode()), r.status, p.want, clipText(r.body))
		}
	}
	token := c.csrf()
	apis := []struct {
		method, path, body string
		want               int
		wantType           string
	}{
		{"POST", "/api/v1/integration", `{"provider_config_key":`, 400, "invalid_body"},
		{"POST", "/api/v1/integration", `{}`, 400, "missing_provider_config"},
		{"POST", "/api/v1/integration", `{"provider_config_key":"x"}`, 400, "missing_provider_template"},
		{"POST", "/api/v1/integration", `{"provider_config_key":"x","provider":"nope"}`, 400, "unknown_provider_template"},
		{"POST", "/api/v1/integration", `{"provider_config_key":"x","provider":"github"}`, 400, "missing_client_id"},
		{"POST", "/api/v1/integration", `{"provider_config_key":"gh","provider":"github","client_id":"a","client_secret":"b"}`, 400, "duplicate_provider_config"},
		{"PUT", "/api/v1/integration", `{"provider_config_key":"nope","provider":"github","client_id":"a","client_secret":"b"}`, 400, "unknown_provider_config"},
		{"POST", "/api/v1/integration", `[1,2]`, 400, "invalid_body"},
		{"POST", "/connections/hmac", `{"provider_config_key":"gh","connection_id":"u1"}`, 400, "invalid_request"},
		{"DELETE", "/api/v1/connection/nobody?provider_config_key=gh", "", 400, "unkown_connection"},
	}
	for _, a := range apis {
		r := c.do(a.method, a.path, strings.NewReader(a.body), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token})
		var env struct{ Type string }
		_ = json.Unmarshal([]byte(r.body), &env)
		if r.status != a.want || env.Type != a.wantType {
			t.Errorf("%s %s %s: %d %q, want %d %q", a.method, a.path, a.body, r.status, env.Type, a.want, a.wantType)
		}
	}
	if strings.Contains(s.logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad input was logged as a server error:\n%s", s.logs.String())
	}
}

func TestIntegrationLifecycle(t *testing.T) {
	s := start(t, nil)
	c := s.client(t, false)

	// The picker lists the whole catalog and filters without JavaScript.
	picker := c.get("/integrations/new")
	if n := strings.Count(picker.body, "<li data-search="); n < 800 {
		t.Fatalf("the picker lists %d templates, want the whole catalog", n)
	}
	if f := c.get("/integrations/new?q=github").body; !strings.Contains(f, "provider=github") || strings.Count(f, "<li data-search=") > 20 {
		t.Errorf("the ?q= filter does not narrow the list to github")
	}
	// The form pre-fills the key and the template's default scopes and shows the callback URL.
	form := c.get("/integrations/new?provider=brex").body
	for _, want := range []string{`name="unique_key" value="brex"`, `value="openid,offline_access"`, s.cfg.CallbackURL} {
		if !strings.Contains(form, want) {
			t.Errorf("the brex form lacks %s", want)
		}
	}
	r := c.post("/integrations/new", url.Values{"provider": {"github"}, "unique_key": {"gh"}, "client_id": {"cid"}, "client_secret": {"csecret"}, "scopes": {"repo user"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/integrations?flash=created" {
		t.Fatalf("create: %d %s", r.status, r.header.Get("Location"))
	}
	in, err := s.store.GetIntegration(context.Background(), "gh")
	if err != nil || in.Provider != "github" || in.ClientID != "cid" || in.ClientSecret.Reveal() != "csecret" || in.Scopes != "repo,user" {
		t.Fatalf("stored %+v (%v)", in, err)
	}
	// A second form for the same template proposes a free key.
	if !strings.Contains(c.get("/integrations/new?provider=github").body, `value="github"`) {
		t.Error("the key github is free but not proposed")
	}
	seedIntegration(t, s.store, "github", "github")
	if !strings.Contains(c.get("/integrations/new?provider=github").body, `value="github-2"`) {
		t.Error("github is taken; github-2 should be proposed")
	}
	// Edit: an empty secret keeps the stored one; the page never shows it.
	edit := c.get("/integrations/edit?key=gh").body
	if strings.Contains(edit, "csecret") {
		t.Error("the edit page shows the client secret")
	}
	r = c.post("/integrations/edit", url.Values{"key": {"gh"}, "client_id": {"cid2"}, "client_secret": {""}, "scopes": {"repo"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.status, clipText(r.body))
	}
	in, _ = s.store.GetIntegration(context.Background(), "gh")
	if in.ClientID != "cid2" || in.ClientSecret.Reveal() != "csecret" || in.Scopes != "repo" {
		t.Errorf("after edit: %+v", in)
	}
	// Delete: the confirmation names how many connections go with it.
	for i := range 3 {
		seedConnection(t, s.store, "gh", fmt.Sprint("user-", i), nil)
	}
	confirm := c.get("/integrations/delete?key=gh").body
	if !strings.Contains(confirm, "<strong>3 connection(s)</strong> will be permanently deleted") {
		t.Errorf("the confirmation does not name the 3 connections:\n%s", clipText(confirm))
	}
	r = c.post("/integrations/delete", url.Values{"key": {"gh"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/integrations?flash=deleted&n=3" {
		t.Fatalf("delete: %d %s", r.status, r.header.Get("Location"))
	}
	if !strings.Contains(c.get(r.header.Get("Location")).body, "Integration deleted, with its 3 connection(s).") {
		t.Error("no confirmation after the delete")
	}
	page, _ := s.store.ListConnections(context.Background(), store.ConnectionFilter{ProviderConfigKey: "gh"})
	if page.Total != 0 {
		t.Errorf("%d connections left", page.Total)
	}
}

func TestConnectionsPagination(t *testing.T) {
	s := start(t, nil)
	seedIntegration(t, s.store, "gh", "github")
	seedIntegration(t, s.store, "sf", "salesforce")
	for i := range 120 {
		key := "gh"
		if i%4 == 0 {
			key = "sf"
		}
		seedConnection(t, s.store, key, fmt.Sprintf("user-%03d", i), nil)
	}
	c := s.client(t, false)
	ids := regexp.MustCompile(`<code>(user-\d+)</code></a>`)
	next := regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	var seen []string
	path := "/connections"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		body := c.get(strings.ReplaceAll(path, "&amp;", "&")).body
		if !strings.Contains(body, "120 connection(s).") {
			t.Errorf("page %d does not show the total", pages)
		}
		for _, m := range ids.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[1])
		}
		path = ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = m[1]
		}
	}
	if len(seen) != 120 || seen[0] != "user-119" || seen[119] != "user-000" {
		t.Fatalf("walked %d connections (%v … %v), want 120 newest first", len(seen), first(seen), last(seen))
	}
	dup := map[string]bool{}
	for _, id := range seen {
		if dup[id] {
			t.Fatalf("%s listed twice", id)
		}
		dup[id] = true
	}
	tests := []struct {
		name, query string
		wantTotal   string
		wantRows    int
	}{
		{"search", "q=USER-01", "10 connection(s) match", 10},
		{"integration", "integration=sf", "30 connection(s) match", 30},
		{"both", "q=user-1&integration=sf", "5 connection(s) match", 5},
		{"like wildcards are literal", "q=%25", "0 connection(s) match", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := c.get("/connections?" + tt.query).body
			if !strings.Contains(body, tt.wantTotal) {
				t.Errorf("lacks %q", tt.wantTotal)
			}
			if n := len(ids.FindAllString(body, -1)); n != tt.wantRows {
				t.Errorf("%d rows, want %d", n, tt.wantRows)
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func TestConnectionDetailAndSecrets(t *testing.T) {
	s := start(t, withAuth(nil))
	seedIntegration(t, s.store, "gh", "github")
	conn := seedConnection(t, s.store, "gh", "u1", nil)
	c := s.client(t, true)
	body := c.get("/connections/detail?integration=gh&id=u1").body
	at, rt := conn.Credentials.AccessToken.Reveal(), conn.Credentials.RefreshToken.Reveal()
	if strings.Contains(body, at) || strings.Contains(body, rt) {
		t.Fatal("the detail page shows a token before it is revealed")
	}
	for _, want := range []string{"••••••••" + at[len(at)-4:], `data-reveal="access_token"`, `data-reveal="refresh_token"`, `id="refresh-now"`,
		"&#34;subdomain&#34;: &#34;acme&#34;", "&#34;team&#34;: &#34;core&#34;", "OAuth 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("detail page lacks %q", want)
		}
	}
	token := c.csrf()
	r := c.do("GET", "/connections/secrets?integration=gh&id=u1", nil, map[string]string{"X-CSRF-Token": token})
	var got struct {
		Fields map[string]string
		Raw    map[string]any
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("secrets: %d %s", r.status, r.body)
	}
	if got.Fields["access_token"] != at || got.Fields["refresh_token"] != rt || got.Raw["access_token"] != at {
		t.Errorf("secrets = %+v", got)
	}
	if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
		t.Error("secrets may be cached")
	}
	if strings.Contains(s.logs.String(), at) {
		t.Error("a revealed token reached the log")
	}
	// API-key connections cannot be refreshed; the button is absent and a post says so.
	seedIntegration(t, s.store, "key", "github")
	if _, err := s.store.UpsertConnection(context.Background(), &store.Connection{ProviderConfigKey: "key", ConnectionID: "k1",
		Credentials: store.Credentials{Type: store.APIKey, APIKey: "ak-123456789012345678901234567890"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.get("/connections/detail?integration=key&id=k1").body, `id="refresh-now"`) {
		t.Error("an API-key connection offers a refresh")
	}
	r = c.post("/connections/refresh", url.Values{"integration": {"key"}, "id": {"k1"}})
	if loc := r.header.Get("Location"); r.status != 303 || !strings.Contains(loc, "flash=not-refreshable") {
		t.Errorf("refresh of an API-key connection: %d %s", r.status, loc)
	}
	// Delete through the confirmation.
	if !strings.Contains(c.get("/connections/delete?integration=gh&id=u1").body, "Delete the connection") {
		t.Error("no delete confirmation")
	}
	r = c.post("/connections/delete", url.Values{"integration": {"gh"}, "id": {"u1"}})
	if r.status != 303 {
		t.Fatalf("delete: %d", r.status)
	}
	if _, err := s.store.GetConnection(context.Background(), "gh", "u1"); err == nil {
		t.Error("the connection survived its deletion")
	}
}

func TestAPIv1(t *testing.T) {
	s := start(t, map[string]string{"NANGO_SECRET_KEY": "sk-not-shown"})
	c := s.client(t, false)
	token := c.csrf()
	hdr := map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token}
	r := c.do("POST", "/api/v1/integration", strings.NewReader(`{"provider":"zendesk","provider_config_key":"zd","client_id":"a","client_secret":"b","scopes":"read write"}`), hdr)
	if r.status != 200 || r.body != "" {
		t.Fatalf("create: %d %q", r.status, r.body)
	}
	seedConnection(t, s.store, "zd", "u1", nil)
	var list struct {
		Integrations []map[string]any `json:"integrations"`
	}
	r = c.get("/api/v1/integration")
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list.Integrations) != 1 {
		t.Fatalf("list: %s", r.body)
	}
	got := list.Integrations[0]
	if got["uniqueKey"] != "zd" || got["provider"] != "zendesk" || got["connectionCount"] != float64(1) {
		t.Errorf("integration = %v", got)
	}
	if p, _ := got["connectionConfigParams"].([]any); len(p) == 0 || p[0] != "subdomain" {
		t.Errorf("connectionConfigParams = %v, want [subdomain]", got["connectionConfigParams"])
	}
	var one struct{ Integration map[string]any }
	_ = json.Unmarshal([]byte(c.get("/api/v1/integration/zd").body), &one)
	if one.Integration["clientSecret"] != "b" || one.Integration["scopes"] != "read,write" {
		t.Errorf("integration = %v", one.Integration)
	}
	var conn struct{ Connection map[string]any }
	r = c.get("/api/v1/connection/u1?provider_config_key=zd")
	_ = json.Unmarshal([]byte(r.body), &conn)
	if conn.Connection["connectionId"] != "u1" || conn.Connection["oauthType"] != "OAUTH2" || conn.Connection["provider"] != "zendesk" ||
		conn.Connection["accessToken"] == nil || conn.Connection["oauthToken"] != nil {
		t.Errorf("connection = %v", conn.Connection)
	}
	var conns struct {
		Connections []map[string]any
		Total       int
	}
	_ = json.Unmarshal([]byte(c.get("/api/v1/connection").body), &conns)
	if conns.Total != 1 || conns.Connections[0]["providerConfigKey"] != "zd" {
		t.Errorf("connections = %+v", conns)
	}
	var providers []map[string]any
	_ = json.Unmarshal([]byte(c.get("/api/v1/provider").body), &providers)
	if len(providers) < 800 {
		t.Errorf("%d providers", len(providers))
	}
	var account struct{ Account map[string]any }
	_ = json.Unmarshal([]byte(c.get("/api/v1/account").body), &account)
	if account.Account["secret_key"] != "[redacted]" || account.Account["callback_url"] != s.cfg.CallbackURL || account.Account["host"] != s.URL {
		t.Errorf("account = %v", account.Account)
	}
	if r := c.do("DELETE", "/api/v1/integration/zd", nil, hdr); r.status != 200 {
		t.Errorf("delete: %d", r.status)
	}
	if _, err := s.store.GetConnection(context.Background(), "zd", "u1"); err == nil {
		t.Error("the connection outlived its integration")
	}
}

func TestActivityRetention(t *testing.T) {
	s := start(t, map[string]string{"NANGO_ACTIVITY_RETENTION": "2d"})
	ctx := context.Background()
	now := time.Now()
	for i, age := range []time.Duration{72 * time.Hour, 49 * time.Hour, 47 * time.Hour, time.Minute} {
		if err := s.store.AddActivity(ctx, &store.Activity{Time: now.Add(-age), Action: "refresh", Success: i%2 == 0,
			ProviderConfigKey: "gh", ConnectionID: fmt.Sprint("u", i), Message: fmt.Sprint("entry-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The server's own retention job may prune first (it runs at
	// start-up); either way exactly the two old entries go.
	if _, err := s.handler(t).PruneActivity(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := s.store.ListActivity(ctx, store.ActivityFilter{})
	if err != nil || len(left) != 2 || left[0].Message != "entry-3" || left[1].Message != "entry-2" {
		t.Fatalf("left after pruning: %+v (%v), want entry-3 and entry-2", left, err)
	}
	body := s.client(t, false).get("/activity").body
	for i, want := range []bool{false, false, true, true} {
		if got := strings.Contains(body, fmt.Sprint("entry-", i)); got != want {
			t.Errorf("entry-%d shown = %v, want %v", i, got, want)
		}
	}
	if !strings.Contains(body, "older than 2 days are deleted") {
		t.Error("the page does not state the retention")
	}
	failed := s.client(t, false).get("/activity?outcome=failure").body
	if strings.Contains(failed, "entry-2") || !strings.Contains(failed, "entry-3") {
		t.Error("the outcome filter does not filter")
	}
}

func TestSettings(t *testing.T) {
	key := "q83vEjz3HxcHq5KJ6aC2Xl3I7NaUbQ1AbvjXhGg0pTs="
	// Distinctive secrets: a two-letter one matched a random CSP nonce or
	// CSRF token now and then.
	const hmacKey, secretKey = "hmac-key-never-shown", "secret-key-never-shown"
	s := start(t, withAuth(map[string]string{"NANGO_ENCRYPTION_KEY": key, "NANGO_HMAC_ENABLED": "true", "NANGO_HMAC_KEY": hmacKey, "NANGO_SECRET_KEY": secretKey}))
	seedIntegration(t, s.store, "gh", "github")
	body := s.client(t, true).get("/settings").body
	for _, want := range []string{s.cfg.CallbackURL, "secured</span>", "HMAC", "sha256", "Activity retention", "15 days", "login required"} {
		if !strings.Contains(body, want) {
			t.Errorf("settings lack %q", want)
		}
	}
	for _, secret := range []string{key, hmacKey, secretKey, testPass} {
		if strings.Contains(body, secret) {
			t.Errorf("settings show the secret %q", secret)
		}
	}
	if !regexp.MustCompile(`<table class="compact" id="key-usage">`).MatchString(body) {
		t.Error("no key-usage table")
	}
}
