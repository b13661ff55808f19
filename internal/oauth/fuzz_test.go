package oauth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/provider"
)

// FuzzTokenResponse feeds arbitrary token endpoint answers (JSON and
// form-encoded, odd expires_in/expires_at types) to the parser: no panic;
// an accepted answer has a string access token, an expiry (when any) that
// is a real time within ten years either way, and a raw map that JSON can
// encode; a refusal never quotes the body.
func FuzzTokenResponse(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"access_token":"at","expires_in":3600,"refresh_token":"rt"}`},
		{"application/json", `{"access_token":"at","expires_in":"3600"}`},
		{"application/json", `{"access_token":"at","expires_in":1e400}`},
		{"application/json", `{"access_token":"at","expires_in":-1,"expires_at":"2030-01-01T00:00:00Z"}`},
		{"application/json", `{"access_token":"at","expires_at":1e11}`},
		{"application/json", `{"access_token":"at","expires_at":"Wed, 21 Oct 2015 07:28:00 GMT"}`},
		{"application/json", `{"access_token":"at","expires_at":true,"expires_in":[1]}`},
		{"application/json", `{"access_token":{"x":1}}`},
		{"application/json", `{"authed_user":{"access_token":"u"},"ok":true}`},
		{"application/x-www-form-urlencoded", "access_token=at&expires_in=NaN&scope=a+b"},
		{"text/plain", "access_token=at&expires_in=Infinity"},
		{"text/html", "<html>oops</html>"},
		{"", "{\"access_token\":\"eyJhbGciOiJub25lIn0.eyJleHAiOjE5OTk5OTk5OTl9.\"}"},
		{"application/json", `{"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiIxIn0.x"}`},
		{"application/json", `{"error":"invalid_grant","error_description":"nope"}`},
		{"application/json", `{"access_token":"at","expires_in":9223372036854775807}`},
	} {
		f.Add(s.ct, []byte(s.body), "", uint8(0))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte, altPath string, unit uint8) {
		obj, err := decodeObject(ct, body)
		if err != nil {
			// The error may name the content type ("content type %q, not
			// JSON"): the provider's header, not the body. Look for the
			// body in the rest.
			msg := err.Error()
			if i := strings.LastIndex(msg, ", not JSON"); i >= 0 {
				msg = msg[i:]
			}
			if len(body) > 8 && strings.Contains(msg, string(body)) && !strings.Contains(ct, string(body)) {
				t.Fatalf("decode error quotes the body: %v", err)
			}
			return
		}
		tmpl := &provider.Template{Name: "fuzz", AlternateAccessTokenResponsePath: altPath}
		if unit%2 == 1 {
			tmpl.ExpiresInUnit = provider.ExpiresInMilliseconds
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c := &Client{Now: func() time.Time { return now }}
		creds, err := c.parseCredentials(tmpl, obj, "")
		if err != nil {
			return
		}
		if creds.AccessToken.IsZero() {
			t.Fatal("accepted without an access token")
		}
		if e := creds.ExpiresAt; e != nil {
			if e.Before(time.Unix(0, 0)) || e.After(now.Add(maxLifetime+24*time.Hour)) && e.After(time.Unix(1e11, 0)) {
				t.Fatalf("expiry %v from %q", e, body)
			}
		}
		if _, err := json.Marshal(creds.Raw); err != nil {
			t.Fatalf("raw cannot be encoded: %v", err)
		}
	})
}

// FuzzProviderError checks error answers are summarised without the
// secrets the request sent, in at most a few hundred bytes.
func FuzzProviderError(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"error":"invalid_grant","error_description":"code SECRETCODE123 expired"}`},
		{"text/html", "<h1>502 Bad Gateway</h1> SECRETCODE123"},
		{"application/json", `{"error":{"message":"bad SECRETCODE123","code":"E1"}}`},
		{"", "error=invalid_client&error_description=SECRETCODE123"},
		{"application/json", `{"message":"` + strings.Repeat("x", 5000) + `"}`},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	const sent = "SECRETCODE123"
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		pe := providerError("https://p.example/token", 400, ct, body, []string{sent})
		msg := pe.Error() + pe.Message()
		if strings.Contains(msg, sent) {
			t.Fatalf("the sent secret reached the error: %q", msg)
		}
		if len(pe.Code) > 110 || len(pe.Description) > 210 {
			t.Fatalf("unbounded error: %d/%d bytes", len(pe.Code), len(pe.Description))
		}
	})
}

// TestExpiresAtBounds checks an absolute expiry is believed only between
// 1970 and the year 5138, as text as well as as a number. Regression (found
// by FuzzTokenResponse): "0000-01-01 0:00:00" was taken as an expiry, so
// the token counted as expired forever and every read refreshed it.
func TestExpiresAtBounds(t *testing.T) {
	tests := []struct {
		in   any
		want bool
	}{
		{"0000-01-01 0:00:00", false}, {"1969-12-31T23:59:59Z", false}, {"9999-12-31T23:59:59Z", false},
		{"2030-01-01T00:00:00Z", true}, {json.Number("0"), false}, {json.Number("1e12"), false}, {json.Number("1900000000"), true},
	}
	for _, tc := range tests {
		if _, ok := parseExpiresAt(tc.in); ok != tc.want {
			t.Errorf("parseExpiresAt(%v) ok = %v, want %v", tc.in, ok, tc.want)
		}
	}
}
