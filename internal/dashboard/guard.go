package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/secret"
)

const (
	// csrfCookie holds the browser's CSRF token (double submit: every
	// state-changing request repeats it in a form field or a header).
	csrfCookie = "nango_csrf"
	// csrfField is the hidden form field carrying the token.
	csrfField = "csrf_token"
	// csrfHeader carries the token on requests made by the dashboard's JS.
	csrfHeader = "X-CSRF-Token"
	// csrfBytes is the token's entropy.
	csrfBytes = 32
	// maxFormBody bounds a dashboard form post.
	maxFormBody = 256 << 10
	// realm is the Basic-auth realm the browser shows in its login prompt.
	realm = `Basic realm="nango dashboard", charset="UTF-8"`
)

type ctxKey int

const csrfKey ctxKey = 1

// csrfToken returns the request's CSRF token, set by the guard.
func csrfToken(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

// guard wraps every dashboard route (pages, assets, dashboard endpoints):
//
//  1. security headers: a CSP without inline scripts or styles, no framing,
//     no sniffing, same-origin referrers, no caching unless the handler
//     says otherwise; and no Access-Control-Allow-Origin (the server marks
//     every response shareable for the public API; the dashboard's are not);
//  2. HTTP Basic with the dashboard credentials when they are configured,
//     compared in constant time: 401 with WWW-Authenticate otherwise; an
//     address with too many failed logins gets 429 without a check
//     (loginThrottle);
//  3. CSRF: a random token in a SameSite=Strict cookie, which every request
//     with a method other than GET/HEAD/OPTIONS must repeat in the
//     csrf_token form field or the X-CSRF-Token header, and which must not
//     come cross-origin (Sec-Fetch-Site / Origin): 403 otherwise.
func (h *Handler) guard(api bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.securityHeaders(w, r)
		addr := peerAddr(r)
		if h.authRequired() {
			if wait := h.throttle.wait(addr); wait > 0 {
				secs := int(wait/time.Second) + 1
				httpx.Logger(r.Context()).Warn("dashboard login throttled: too many failed logins from this address", "addr", addr)
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = fmt.Fprintf(w, "Too many failed logins from your address; retry in %d seconds.\n", secs)
				return
			}
		}
		if !h.authorized(r) {
			if h.authRequired() && r.Header.Get("Authorization") != "" {
				h.throttle.failed(addr)
			}
			w.Header().Set("WWW-Authenticate", realm)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("Unauthorized\n"))
			return
		}
		token := h.ensureCSRF(w, r)
		if !safeMethod(r.Method) {
			if reason := h.checkCSRF(w, r, token, api); reason != "" {
				httpx.Logger(r.Context()).Warn("dashboard request refused: CSRF check failed", "reason", reason, "method", r.Method)
				h.forbidden(w, r, api)
				return
			}
		}
		next(w, r.WithContext(context.WithValue(r.Context(), csrfKey, token)))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// securityHeaders sets the headers every dashboard response carries.
func (h *Handler) securityHeaders(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Del("Access-Control-Allow-Origin")
	// The create-connection page runs the SDK, whose WebSocket goes to this
	// host; 'self' covers ws: in current browsers, the explicit sources
	// cover the others.
	connect := "'self'"
	if host := r.Host; host != "" && validHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src "+connect+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
}

// validHost accepts host[:port] made of the characters a Host header may
// hold, so that it can go into the CSP verbatim.
func validHost(s string) bool {
	if len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == ':' || c == '-' || c == '[' || c == ']' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// authorized checks the dashboard credentials; without configured
// credentials the dashboard is open.
func (h *Handler) authorized(r *http.Request) bool {
	if !h.authRequired() {
		return true
	}
	user, pass, ok := httpx.BasicCredentials(r.Header.Get("Authorization"))
	// Both comparisons always run, so the time taken does not tell which
	// part was wrong.
	userOK := secret.Equal(user, h.d.Config.DashboardUsername)
	passOK := secret.Equal(pass, h.d.Config.DashboardPassword.Reveal())
	return ok && userOK && passOK
}

// authRequired reports whether dashboard credentials are configured.
func (h *Handler) authRequired() bool {
	return h.d.Config.DashboardUsername != "" && !h.d.Config.DashboardPassword.IsZero()
}

// ensureCSRF returns the browser's CSRF token, issuing a new cookie when
// the request has none (or a malformed one).
func (h *Handler) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && wellFormedToken(c.Value) {
		return c.Value
	}
	token := secret.RandomToken(csrfBytes)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   strings.HasPrefix(h.d.Config.ServerURL, "https://") || r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return token
}

// wellFormedToken accepts what RandomToken(csrfBytes) produces.
func wellFormedToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

// checkCSRF returns why a state-changing request is refused, or "".
// cookieToken is the token of the request's cookie, or the fresh one just
// issued when it had none (which then cannot match).
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, cookieToken string, api bool) string {
	if err := h.cop.Check(r); err != nil {
		return "cross-origin request"
	}
	if c, err := r.Cookie(csrfCookie); err != nil || c.Value != cookieToken {
		return "no CSRF cookie"
	}
	given := r.Header.Get(csrfHeader)
	if given == "" && !api {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			return "unreadable form"
		}
		given = r.PostForm.Get(csrfField)
	}
	if given == "" {
		return "no CSRF token"
	}
	if !secret.Equal(given, cookieToken) {
		return "wrong CSRF token"
	}
	return ""
}

// forbidden answers a refused CSRF check.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, api bool) {
	const msg = "This request did not come from a dashboard page (missing or wrong CSRF token, or cross-origin). Reload the page and try again."
	if api {
		httpx.WriteJSON(w, http.StatusForbidden, map[string]any{"error": msg, "type": "csrf_failed", "payload": map[string]any{}})
		return
	}
	h.errorPage(w, r, http.StatusForbidden, "Request refused", msg)
}

// csrfHeaderOK reports whether a GET carries the CSRF token in its header:
// endpoints that return secrets require it, so that only the dashboard's
// own script, never a link or another site, can read them.
func csrfHeaderOK(r *http.Request) bool {
	token := csrfToken(r.Context())
	c, err := r.Cookie(csrfCookie)
	if err != nil || token == "" || c.Value != token {
		return false
	}
	return secret.Equal(r.Header.Get(csrfHeader), token)
}
