package connect

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/oauth"
)

// hostile holds characters that break out of HTML, attributes and JS
// string literals when not escaped.
const hostile = "a\"b'c</script><script>alert(1)</script>\u2028d\u2029e&f<!--g`${h}\\"

// TestPageEscaping renders hostile values in legacy pages directly and
// checks they cannot leave the JSON literal and come back intact.
func TestPageEscaping(t *testing.T) {
	tests := []struct {
		name   string
		status int
		msg    legacyMessage
	}{
		{"success", http.StatusOK, legacyMessage{EventType: eventSucceeded, Data: legacySuccess{ConnectionID: hostile, ProviderConfigKey: hostile}}},
		{"failure", http.StatusInternalServerError, legacyMessage{EventType: eventFailed, Data: legacyFailure{Error: legacyError{Type: hostile, Message: hostile}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writePage(rec, slog.New(slog.DiscardHandler), tc.status, true, tc.msg)
			p := page{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
			p.check(t, tc.status)
			checkNoBreakout(t, p.body)
			if !jsonEqual(p.posted(t), tc.msg) {
				t.Errorf("posted %v, want %v", p.posted(t), tc.msg)
			}
		})
	}
}

// checkNoBreakout checks a page holds none of hostile's dangerous
// characters raw inside its script.
func checkNoBreakout(t *testing.T, body string) {
	t.Helper()
	script := body[strings.Index(body, "<script"):strings.Index(body, "</script>")]
	for _, bad := range []string{"</script", "<script>", "<!--", "\u2028", "\u2029", `a"b`, "c<"} {
		if strings.Contains(script[1:], bad) {
			t.Errorf("script holds raw %q:\n%s", bad, body)
		}
	}
}

// TestHostileValuesThroughTheFlow sends hostile values through real
// requests: a connection id in a successful legacy flow, and a provider
// config key in an error page.
func TestHostileValuesThroughTheFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Spaces, quotes, angle brackets and non-ASCII are encoded by the
	// browser; '&', '#', '%' and '+' cannot be sent unencoded by anyone.
	connID := "a\"b'c</script><script>alert(1)</script>\u2028d`${h}\\é"
	p := get(t, e.sdkURL(keyOK, browserEncode(connID), nil, "", ""))
	p.check(t, http.StatusOK)
	checkNoBreakout(t, p.body)
	want := map[string]any{"eventType": "AUTHORIZATION_SUCEEDED", "data": map[string]any{"connectionId": connID, "providerConfigKey": keyOK}}
	if got := p.posted(t); !jsonEqual(got, want) {
		t.Errorf("posted %v\nwant   %v", got, want)
	}

	key := "k\"</script><b>\u2028"
	p = get(t, e.srv.URL+"/oauth/connect/"+strings.NewReplacer("\"", "%22", "<", "%3C", ">", "%3E", "/", "%2F", "\u2028", "%E2%80%A8").Replace(key)+"?connection_id=u1")
	p.check(t, http.StatusBadRequest)
	checkNoBreakout(t, p.body)
	p.wantLegacyError(t, "provider_config_err", oauth.ErrProviderConfigNotFound(key).Description)
}

// TestPageNonceFresh checks every page gets its own CSP nonce.
func TestPageNonceFresh(t *testing.T) {
	nonce := regexp.MustCompile(`nonce="([^"]+)"`)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		writePage(rec, slog.New(slog.DiscardHandler), http.StatusOK, false, legacyMessage{})
		m := nonce.FindStringSubmatch(rec.Body.String())
		if m == nil || seen[m[1]] {
			t.Fatalf("nonce missing or reused: %v", m)
		}
		seen[m[1]] = true
		if strings.Contains(rec.Body.String(), "postMessage") {
			t.Errorf("a WebSocket page posts a message:\n%s", rec.Body.String())
		}
	}
}
