package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// decodeObject decodes a token endpoint's body: JSON (application/json,
// application/*+json, or any body that is a JSON object) or
// application/x-www-form-urlencoded (GitHub without an Accept header, some
// older servers; also tried for text/plain). Numbers stay json.Number so
// that raw keeps them exactly.
func decodeObject(contentType string, data []byte) (map[string]any, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(data)
	isJSON := mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
	if isJSON || len(trimmed) > 0 && trimmed[0] == '{' {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			if isJSON {
				return nil, errors.New("the response is not a JSON object")
			}
		} else {
			return obj, nil
		}
	}
	switch mt {
	case "application/x-www-form-urlencoded", "text/plain", "":
		if len(trimmed) == 0 {
			return nil, errors.New("the response body is empty")
		}
		if !utf8.Valid(trimmed) || !bytes.Contains(trimmed, []byte("=")) {
			return nil, errors.New("the response is neither JSON nor form-encoded")
		}
		q, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return nil, errors.New("the response is not valid form encoding")
		}
		obj := make(map[string]any, len(q))
		for k, v := range q {
			if len(v) > 0 {
				obj[k] = v[0]
			}
		}
		return obj, nil
	}
	return nil, fmt.Errorf("the response has content type %q, not JSON", clip(mt, 80))
}

// providerError builds the *ProviderError of an error answer: the OAuth
// error object (JSON or form) when there is one, else a short summary of
// the body. Values the request sent are redacted.
func providerError(endpoint string, status int, contentType string, data []byte, redact []string) *ProviderError {
	pe := &ProviderError{Status: status, Endpoint: endpoint}
	if obj, err := decodeObject(contentType, data); err == nil {
		code, _ := obj["error"].(string)
		desc, _ := obj["error_description"].(string)
		if desc == "" {
			// Non-standard shapes: {"message": "..."} or {"error": {"message": ...}}.
			if m, ok := obj["message"].(string); ok {
				desc = m
			} else if e, ok := obj["error"].(map[string]any); ok {
				desc, _ = e["message"].(string)
				code, _ = e["code"].(string)
			}
		}
		if code != "" || desc != "" {
			pe.Code = clip(redactAll(code, redact), 100)
			pe.Description = clip(redactAll(desc, redact), 200)
			return pe
		}
	}
	pe.Description = summarize(data, redact)
	return pe
}

// summarize renders at most 200 bytes of a non-OAuth error body as one line
// of text, with the request's secrets and anything that looks like a token
// (a long unbroken run of token characters) redacted.
func summarize(data []byte, redact []string) string {
	s := string(bytes.ToValidUTF8(data, []byte("?")))
	s = redactAll(s, redact)
	s = strings.Join(strings.Fields(s), " ")
	fields := strings.Fields(s)
	for i, f := range fields {
		if looksLikeToken(f) {
			fields[i] = secret.Redacted
		}
	}
	s = strings.Join(fields, " ")
	if s == "" {
		return "(empty body)"
	}
	return clip(s, 200)
}

// looksLikeToken reports whether w is a run of 32 or more base64/hex/JWT
// characters: an opaque token a provider might echo.
func looksLikeToken(w string) bool {
	run := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '=' {
			run++
			if run >= 32 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// parseCredentials turns a token response into OAUTH2 credentials (SPEC
// §3.5 and Part A): access_token is required (or found at the template's
// alternate_access_token_response_path); expires_at comes from the
// response's expires_at (Unix seconds, numeric string or ISO-8601), else
// expires_in (number or numeric string, in expires_in_unit), else the exp
// claim of a JWT access token, else the template's token_expires_in_ms;
// raw is the response plus that expires_at as ISO-8601. previousRefresh is
// kept when the response has no refresh_token.
func (c *Client) parseCredentials(t *provider.Template, raw map[string]any, previousRefresh secret.String) (store.Credentials, error) {
	src := raw
	at, ok := raw["access_token"]
	if (!ok || at == nil || at == "") && t.AlternateAccessTokenResponsePath != "" {
		switch v := lookupPath(raw, t.AlternateAccessTokenResponsePath).(type) {
		case string:
			at = v
		case map[string]any:
			at, src = v["access_token"], v
		}
	}
	token, _ := at.(string)
	if token == "" {
		problem := "the response has no access_token"
		if at != nil && at != "" {
			problem = "the response's access_token is not a string"
		}
		return store.Credentials{}, &ResponseError{Problem: problem}
	}
	now := c.now().UTC()
	var exp *time.Time
	if t0, ok := parseExpiresAt(src["expires_at"]); ok {
		exp = &t0
	} else if d, ok := parseExpiresIn(src["expires_in"], t.ExpiresInUnit); ok {
		t0 := now.Add(d)
		exp = &t0
	} else if t0, ok := jwtExpiry(token); ok {
		exp = &t0
	} else if t.TokenExpiresIn != nil && *t.TokenExpiresIn > 0 {
		t0 := now.Add(*t.TokenExpiresIn)
		exp = &t0
	}
	out := make(map[string]any, len(raw)+1)
	for k, v := range raw {
		out[k] = v
	}
	creds := store.Credentials{Type: store.OAuth2, AccessToken: secret.String(token), RefreshToken: previousRefresh, Raw: out}
	if rt, _ := src["refresh_token"].(string); rt != "" {
		creds.RefreshToken = secret.String(rt)
	}
	if exp != nil {
		e := exp.UTC().Truncate(time.Millisecond)
		creds.ExpiresAt = &e
		out["expires_at"] = store.FormatTime(e)
	}
	return creds, nil
}

// parseExpiresAt reads an absolute expiry: a number (or numeric string) of
// Unix seconds, or an ISO-8601 / RFC 1123 date.
func parseExpiresAt(v any) (time.Time, bool) {
	if f, ok := number(v); ok {
		if f <= 0 || f > 1e11 {
			return time.Time{}, false
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", time.RFC1123, time.RFC1123Z} {
		if t, err := time.Parse(layout, s); err == nil {
			// The bounds of the numeric form: a date before 1970 (an
			// always-expired token, refreshed on every read) or past the
			// year 5138 is no expiry.
			if t.Unix() <= 0 || t.Unix() > 1e11 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// maxLifetime is the longest token lifetime believed: providers write a
// huge expires_in (2147483647) to mean "never", and some servers write
// nanoseconds by mistake; either is treated as no expires_in.
const maxLifetime = 10 * 365 * 24 * time.Hour

// parseExpiresIn reads a lifetime: a positive number or numeric string
// (fractions truncated, as parseInt does) in seconds, or milliseconds when
// unit says so. 0 means unknown, as in the reference; so does a lifetime
// over ten years.
func parseExpiresIn(v any, unit string) (time.Duration, bool) {
	f, ok := number(v)
	if !ok || f < 1 {
		return 0, false
	}
	unitDur := time.Second
	if unit == provider.ExpiresInMilliseconds {
		unitDur = time.Millisecond
	}
	if f*float64(unitDur) > float64(maxLifetime) {
		return 0, false
	}
	return time.Duration(int64(f)) * unitDur, true
}

// number reads a JSON number, a Go number or a numeric string.
func number(v any) (float64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// jwtExpiry returns the exp claim of token when it is a JWT (three base64url
// parts whose header is a JSON object with "alg").
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	var hdr map[string]any
	if b, err := b64url(parts[0]); err != nil || json.Unmarshal(b, &hdr) != nil || hdr["alg"] == nil {
		return time.Time{}, false
	}
	var claims map[string]any
	b, err := b64url(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&claims) != nil {
		return time.Time{}, false
	}
	if _, isStr := claims["exp"].(string); isStr {
		return time.Time{}, false
	}
	return parseExpiresAt(claims["exp"])
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// lookupPath reads a dotted path ("authed_user.access_token") in nested
// objects; a literal key containing dots wins.
func lookupPath(m map[string]any, path string) any {
	if v, ok := m[path]; ok {
		return v
	}
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

// storable reports whether a string from a provider or a callback may go
// into the connection's metadata or config: PostgreSQL stores no NUL
// character, and a refresh whose metadata it refused would lose the new
// tokens. Such values are dropped, on every driver alike.
func storable(s string) bool { return strings.IndexByte(s, 0) < 0 }

// pickMetadata copies the named values (dotted paths allowed) of a token
// response: strings (without NUL characters), numbers and booleans.
func pickMetadata(raw map[string]any, names []string) map[string]any {
	md := map[string]any{}
	for _, n := range names {
		switch v := lookupPath(raw, n).(type) {
		case string:
			if v != "" && storable(v) {
				md[n] = v
			}
		case json.Number, bool, float64:
			md[n] = v
		}
	}
	return md
}

// automatedConfig fills the template's automated connection_config entries
// from the metadata, the token response's top level or the callback query.
func automatedConfig(t *provider.Template, md, raw map[string]any, query url.Values) map[string]any {
	cc := map[string]any{}
	for _, f := range t.ConnectionConfig {
		if !f.Automated {
			continue
		}
		if v, ok := md[f.Name]; ok {
			cc[f.Name] = v
		} else if v, ok := raw[f.Name].(string); ok && v != "" && storable(v) {
			cc[f.Name] = v
		} else if v := query.Get(f.Name); v != "" && storable(v) {
			cc[f.Name] = v
		}
	}
	return nilIfEmpty(cc)
}
