package tokens_test

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/tokens"
)

// misbehaviours are ways a token endpoint fails, with the refresh error
// kind each must give.
var misbehaviours = []struct {
	name string
	kind tokens.RefreshKind
	do   func(w http.ResponseWriter, r *http.Request)
}{
	{"hangs", tokens.Unavailable, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}},
	{"resets the connection", tokens.Unavailable, func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}
	}},
	{"answers an HTML page", tokens.BadResponse, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
	}},
	{"answers a 502 HTML page", tokens.Unavailable, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html><h1>502 Bad Gateway</h1></html>"))
	}},
	{"answers garbage", tokens.BadResponse, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("\x00\x01\xff{garbage"))
	}},
	{"answers an empty body", tokens.BadResponse, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
	}},
	{"cuts the body short", tokens.Unavailable, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"access_token":"half`))
		http.NewResponseController(w).Flush()
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = c.Close()
		}
	}},
	{"stalls mid-body", tokens.Unavailable, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"access_token":`))
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}},
}

// TestRefreshAgainstMisbehavingProvider checks a refresh against a token
// endpoint that hangs, resets, answers HTML or garbage: it ends within the
// OAuth client's timeout with a refresh error of the right kind, the stored
// credentials are untouched, and the failure is recorded on the
// connection.
func TestRefreshAgainstMisbehavingProvider(t *testing.T) {
	for _, mb := range misbehaviours {
		t.Run(mb.name, func(t *testing.T) {
			e := newEnv(t, sqliteBackend)
			before := e.connection("rot", "u1", time.Hour, false)
			e.prov.hook = func(w http.ResponseWriter, r *http.Request, _ url.Values) bool { mb.do(w, r); return true }
			svc := e.service(nil, func(o *tokens.Options) { o.OAuth = &oauth.Client{Timeout: time.Second} })
			start := time.Now()
			_, err := svc.Get(ctxT(t), "rot", "u1", tokens.GetOptions{ForceRefresh: true})
			took := time.Since(start)
			var re *tokens.RefreshError
			if !errors.As(err, &re) || re.Kind != mb.kind {
				t.Fatalf("err = %v, want a %v refresh error", err, mb.kind)
			}
			if took > 5*time.Second {
				t.Errorf("the refresh took %v with a 1 s provider timeout", took)
			}
			if strings.Contains(re.Message, before.Credentials.RefreshToken.Reveal()) {
				t.Error("the error holds the refresh token")
			}
			after := e.stored("rot", "u1")
			if after.Credentials.AccessToken != before.Credentials.AccessToken || after.Credentials.RefreshToken != before.Credentials.RefreshToken {
				t.Error("the stored credentials changed")
			}
			if after.RefreshFailures != 1 || after.LastRefreshError == "" {
				t.Errorf("failure not recorded: %d %q", after.RefreshFailures, after.LastRefreshError)
			}
			// Once the provider behaves, the next refresh works.
			e.prov.hook = nil
			if _, err := svc.Get(ctxT(t), "rot", "u1", tokens.GetOptions{ForceRefresh: true}); err != nil {
				t.Errorf("refresh after the provider recovered: %v", err)
			}
		})
	}
}
