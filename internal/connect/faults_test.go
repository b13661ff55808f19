package connect

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tokenFaults are ways the provider's token endpoint fails during the
// callback's code exchange.
var tokenFaults = []struct {
	name string
	do   func(w http.ResponseWriter, r *http.Request)
}{
	{"hangs", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}},
	{"resets the connection", func(w http.ResponseWriter, r *http.Request) {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}
	}},
	{"answers an HTML page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>Login</html>"))
	}},
	{"answers a 500 HTML page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		_, _ = w.Write([]byte("<html>oops</html>"))
	}},
	{"answers garbage", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("\x00\xff{{{"))
	}},
	{"answers JSON without a token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_type":"bearer","expires_in":"soon"}`))
	}},
}

// TestCallbackAgainstMisbehavingTokenEndpoint runs the OAuth flow for a
// connection that already exists while the token endpoint misbehaves: the
// popup page answers 502 within the OAuth client's timeout, the socket
// gets unknown_err, and the stored connection keeps its credentials.
func TestCallbackAgainstMisbehavingTokenEndpoint(t *testing.T) {
	for _, tf := range tokenFaults {
		t.Run(tf.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.h.oauth.Timeout = time.Second
			var faulty atomic.Bool
			next := e.prov.srv.Config.Handler
			e.prov.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if faulty.Load() && strings.HasPrefix(r.URL.Path, "/token/") {
					// Read the request first, as a server does: then a
					// client going away cancels r's context.
					_, _ = io.Copy(io.Discard, r.Body)
					tf.do(w, r)
					return
				}
				next.ServeHTTP(w, r)
			})
			get(t, e.sdkURL(keyOK, "u1", nil, "", "")).check(t, http.StatusOK)
			before, err := e.store.GetConnection(context.Background(), keyOK, "u1")
			if err != nil {
				t.Fatal(err)
			}

			faulty.Store(true)
			ws, id := e.dial("/")
			start := time.Now()
			p := get(t, e.sdkURL(keyOK, "u1", nil, "", id))
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the callback answered after %v with a 1 s provider timeout", took)
			}
			p.check(t, http.StatusBadGateway)
			if m := readResult(t, ws); m["error_type"] != "unknown_err" {
				t.Errorf("socket message = %v", m)
			}
			after, err := e.store.GetConnection(context.Background(), keyOK, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if after.Credentials.AccessToken != before.Credentials.AccessToken || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Error("the failed flow changed the stored connection")
			}
			acts := e.activity()
			if acts[0].Success || acts[0].Status != http.StatusBadGateway {
				t.Errorf("activity = %+v", acts[0])
			}
		})
	}
}
