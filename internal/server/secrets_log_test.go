package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nango-go/nango/internal/connect"
	"github.com/nango-go/nango/internal/secret"
)

// TestNoSecretInLogsOfAuthModes runs the API-key and Basic flows end to end
// at debug log level — the browser SDK's credential endpoints with HMAC
// (verified by the provider, refused by it, unreachable), proxied calls
// that carry the credentials (one whose upstream echoes them back in an
// error), imports, reads and the dashboard's activity API — then scans
// every log line, the activity log and every answer that is not meant to
// carry them for each secret: the secret key, the HMAC key, the API key,
// the password, the dashboard password.
func TestNoSecretInLogsOfAuthModes(t *testing.T) {
	forEachDriver(t, func(t *testing.T, env map[string]string) {
		var (
			apiKey    = "ak-" + secret.RandomToken(20)
			password  = "pw-" + secret.RandomToken(20)
			badKey    = "bad-" + secret.RandomToken(20)
			secretKey = "sk-" + secret.RandomToken(20)
			hmacKey   = "hk-" + secret.RandomToken(20)
			dashPass  = "dp-" + secret.RandomToken(20)
		)
		var echo atomic.Bool
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			switch {
			case strings.Contains(auth, badKey):
				w.WriteHeader(401)
			case echo.Load():
				// A provider that echoes what it got in its error.
				w.WriteHeader(500)
				_, _ = io.WriteString(w, "bad request with "+auth)
			default:
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"ok":true}`)
			}
		}))
		defer up.Close()
		providers := filepath.Join(t.TempDir(), "providers.yaml")
		yaml := `
logkey:
  auth_mode: API_KEY
  proxy:
    base_url: ` + up.URL + `
    headers:
      authorization: Bearer ${apiKey}
    verification:
      method: GET
      endpoints:
        - /verify
logbasic:
  auth_mode: BASIC
  proxy:
    base_url: ` + up.URL + `
    verification:
      method: GET
      endpoints:
        - /verify
`
		if err := os.WriteFile(providers, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"NANGO_PROVIDERS_FILE": providers, "NANGO_SECRET_KEY": secretKey, "NANGO_HMAC_ENABLED": "true", "NANGO_HMAC_KEY": hmacKey,
			"NANGO_DASHBOARD_USERNAME": "admin", "NANGO_DASHBOARD_PASSWORD": dashPass, "LOG_LEVEL": "debug",
		} {
			env[k] = v
		}
		inst := start(t, env)
		var answers []string
		do := func(method, path, body string, hdr map[string]string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(method, inst.http.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secretKey)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := hostileClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		digest := func(key, id string) string {
			d, err := connect.HMACDigest("sha256", secret.String(hmacKey), key, id)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		for _, key := range []string{"logkey", "logbasic"} {
			if s, b := do("POST", "/config", `{"provider_config_key":"`+key+`","provider":"`+key+`"}`, nil); s != 200 {
				t.Fatalf("create %s: %d %s", key, s, b)
			}
		}
		// The browser SDK's credential endpoints (public: no secret key).
		creds := func(kind, key, id, body string) (int, string) {
			req, _ := http.NewRequest("POST", inst.http.URL+"/api-auth/"+kind+"/"+key+"?connection_id="+id+"&hmac="+digest(key, id), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := hostileClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers = append(answers, string(b))
			return resp.StatusCode, string(b)
		}
		if s, b := creds("api-key", "logkey", "u1", `{"apiKey":"`+apiKey+`"}`); s != 200 || !strings.Contains(b, `"verified":true`) {
			t.Fatalf("api key: %d %s", s, b)
		}
		if s, b := creds("api-key", "logkey", "u2", `{"apiKey":"`+badKey+`"}`); s != 400 {
			t.Fatalf("refused api key: %d %s", s, b)
		}
		if s, b := creds("basic", "logbasic", "u1", `{"username":"user","password":"`+password+`"}`); s != 200 {
			t.Fatalf("basic: %d %s", s, b)
		}
		// Proxied calls carry the credentials; one upstream echoes them.
		for _, key := range []string{"logkey", "logbasic"} {
			hd := map[string]string{"Provider-Config-Key": key, "Connection-Id": "u1"}
			if s, b := do("GET", "/proxy/things", "", hd); s != 200 {
				t.Fatalf("proxy %s: %d %s", key, s, b)
			}
			echo.Store(true)
			s, b := do("GET", "/proxy/things?x=1", "", hd)
			echo.Store(false)
			if s != 500 {
				t.Fatalf("proxy %s with an echoing upstream: %d %s", key, s, b)
			}
			// The upstream's own answer is passed through as is (Part A):
			// that is the caller's business, not a log's.
		}
		// The upstream goes away: the proxy and the verification fail.
		up.Close()
		if s, b := creds("api-key", "logkey", "u3", `{"apiKey":"`+apiKey+`"}`); s != 200 || !strings.Contains(b, `"verified":false`) {
			t.Fatalf("unverified api key: %d %s", s, b)
		}
		if s, b := do("GET", "/proxy/x", "", map[string]string{"Provider-Config-Key": "logbasic", "Connection-Id": "u1"}); s != 502 {
			t.Fatalf("proxy to a dead upstream: %d %s", s, b)
		} else {
			answers = append(answers, b)
		}
		// Wrong keys everywhere.
		s, b := do("GET", "/config", "", map[string]string{"Authorization": "Bearer " + secretKey + "x"})
		answers = append(answers, b)
		if s != 401 {
			t.Fatalf("wrong secret key: %d", s)
		}
		// The activity log, as the dashboard shows it.
		req, _ := http.NewRequest("GET", inst.http.URL+"/api/v1/activity", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+dashPass)))
		resp, err := hostileClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		activity, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var parsed any
		if resp.StatusCode != 200 || json.Unmarshal(activity, &parsed) != nil || !strings.Contains(string(activity), "logkey") {
			t.Fatalf("activity: %d %.300s", resp.StatusCode, activity)
		}

		logs := inst.logs.String()
		if !strings.Contains(logs, "logbasic") || !strings.Contains(logs, "credential") {
			t.Fatal("the logs do not mention the flows: the scan could not fail")
		}
		basicHeader := base64.StdEncoding.EncodeToString([]byte("user:" + password))
		for name, s := range map[string]string{
			"api key": apiKey, "refused api key": badKey, "password": password, "basic header": basicHeader,
			"secret key": secretKey, "hmac key": hmacKey, "dashboard password": dashPass,
		} {
			if strings.Contains(logs, s) {
				for _, line := range strings.Split(logs, "\n") {
					if strings.Contains(line, s) {
						t.Errorf("a log line holds the %s: %.300s", name, line)
						break
					}
				}
			}
			if strings.Contains(string(activity), s) {
				t.Errorf("the activity log holds the %s", name)
			}
			for _, a := range answers {
				if strings.Contains(a, s) {
					t.Errorf("an answer holds the %s: %.300s", name, a)
				}
			}
		}
	})
}
