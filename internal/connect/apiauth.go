package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// maxCredentialBody bounds the JSON body of the credential endpoints.
const maxCredentialBody = 64 << 10

// credentialsAction is the activity action of the credential endpoints.
const credentialsAction = "connection"

// credentialKind is one of the browser credential endpoints.
type credentialKind struct {
	path string            // "api-key" or "basic"
	mode provider.AuthMode // the template auth mode it serves
	read func(*credentialBody) (store.Credentials, *httpx.Error)
}

// credentialBody is the JSON body the browser SDK posts.
type credentialBody struct {
	APIKey   *string `json:"apiKey"`
	Username *string `json:"username"`
	Password *string `json:"password"`
}

var (
	apiKeyKind = credentialKind{path: "api-key", mode: provider.APIKey, read: func(b *credentialBody) (store.Credentials, *httpx.Error) {
		if b.APIKey == nil || strings.TrimSpace(*b.APIKey) == "" {
			return store.Credentials{}, &httpx.Error{Status: http.StatusBadRequest, Type: "missing_api_key", Message: "Missing the API key: send {\"apiKey\": \"...\"}."}
		}
		return store.Credentials{Type: store.APIKey, APIKey: secret.String(*b.APIKey)}, nil
	}}
	basicKind = credentialKind{path: "basic", mode: provider.Basic, read: func(b *credentialBody) (store.Credentials, *httpx.Error) {
		if b.Username == nil || *b.Username == "" {
			return store.Credentials{}, &httpx.Error{Status: http.StatusBadRequest, Type: "missing_basic_username", Message: "Missing the username: send {\"username\": \"...\", \"password\": \"...\"}."}
		}
		c := store.Credentials{Type: store.Basic, Username: *b.Username}
		if b.Password != nil {
			c.Password = secret.String(*b.Password)
		}
		return c, nil
	}}
)

// registerCredentials adds the browser SDK's credential endpoints (public:
// end users' browsers call them):
//
//	POST /api-auth/api-key/{providerConfigKey}?connection_id=..[&params[k]=v..][&hmac=..]  {"apiKey"}
//	POST /api-auth/basic/{providerConfigKey}?...                                          {"username","password"}
func (h *Handlers) registerCredentials(mux Router) {
	for _, k := range []credentialKind{apiKeyKind, basicKind} {
		k := k
		serve := func(w http.ResponseWriter, r *http.Request) { h.serveCredentials(w, r, k) }
		mux.HandleFunc("POST /api-auth/"+k.path+"/{providerConfigKey}", serve)
		mux.HandleFunc("POST /api-auth/"+k.path+"/{$}", serve)
		mux.HandleFunc("POST /api-auth/"+k.path, serve)
	}
}

// credentialResult is the success answer the browser SDK reads.
type credentialResult struct {
	ProviderConfigKey string `json:"providerConfigKey"`
	ConnectionID      string `json:"connectionId"`
	// Verified is true when the provider accepted the credentials, false
	// when the template declares a verification request that reached no
	// verdict (the provider was unreachable); absent when the template
	// declares none.
	Verified *bool `json:"verified,omitempty"`
}

// serveCredentials creates (or replaces) an API_KEY or BASIC connection from
// credentials an end user typed: the same query, HMAC and integration checks
// as /oauth/connect, then the template's auth mode, the credential and
// connection-config declarations, and — when the template declares one — a
// verification request to the provider. See docs/auth-modes.md.
func (h *Handlers) serveCredentials(w http.ResponseWriter, r *http.Request, kind credentialKind) {
	log := h.reqLog(r)
	start := time.Now()
	q := parseConnectQuery(r.URL.RawQuery)
	key := r.PathValue("providerConfigKey")
	fi := flowInfo{start: start, endpoint: "/api-auth/" + kind.path, providerConfigKey: key, connectionID: q.ConnectionID}
	if key != "" {
		fi.endpoint += "/" + key
	}
	ctx := context.WithoutCancel(r.Context())
	fail := func(e *httpx.Error, cause error) {
		attrs := []any{"type", e.Type, "provider_config_key", fi.providerConfigKey, "connection_id", fi.connectionID, "provider", fi.provider}
		if cause != nil {
			attrs = append(attrs, "cause", cause.Error())
		}
		log.Info("credential connection refused", attrs...)
		h.recordCredentials(ctx, log, fi, false, e.Status, e.Type+": "+e.Message)
		httpx.WriteError(w, r, e)
	}
	flowFail := func(fe *oauth.FlowError, status int) {
		fail(&httpx.Error{Status: status, Type: fe.Type, Message: fe.Description}, fe.Err)
	}

	if key == "" {
		flowFail(oauth.ErrNoProviderConfigKey(), http.StatusBadRequest)
		return
	}
	if q.ConnectionID == "" {
		flowFail(oauth.ErrMissingConnectionID(), http.StatusBadRequest)
		return
	}
	if fe := checkKey("provider config key", key); fe != nil {
		flowFail(fe, http.StatusBadRequest)
		return
	}
	if fe := checkKey("connection id", q.ConnectionID); fe != nil {
		flowFail(fe, http.StatusBadRequest)
		return
	}
	if fe := checkConnectionConfig(q.ConnectionConfig); fe != nil {
		flowFail(fe, http.StatusBadRequest)
		return
	}
	if h.cfg.HMAC.Enabled {
		if q.HMAC == "" {
			flowFail(oauth.ErrMissingHMAC(), http.StatusUnauthorized)
			return
		}
		ok, err := checkHMAC(h.cfg.HMAC.Algorithm, h.cfg.HMAC.Key, key, q.ConnectionID, q.HMAC)
		if err != nil {
			fail(httpx.E("internal_error"), err)
			return
		}
		if !ok {
			flowFail(oauth.ErrInvalidHMAC(), http.StatusUnauthorized)
			return
		}
	}
	integ, err := h.store.GetIntegration(ctx, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			flowFail(oauth.ErrProviderConfigNotFound(key), http.StatusNotFound)
			return
		}
		fail(storeError(err), err)
		return
	}
	fi.provider = integ.Provider
	tmpl, ok := h.catalog.Get(integ.Provider)
	if !ok {
		flowFail(oauth.ErrUnknownConfigKey(integ.Provider), http.StatusBadRequest)
		return
	}
	if tmpl.AuthMode != kind.mode {
		fe := oauth.ErrAuthMode(string(tmpl.AuthMode))
		fe.Description = fmt.Sprintf("Auth mode %s not supported. The integration %q uses auth mode %s; this endpoint serves %s.", tmpl.AuthMode, key, tmpl.AuthMode, kind.mode)
		flowFail(fe, http.StatusBadRequest)
		return
	}

	var body credentialBody
	if e := httpx.DecodeJSON(w, r, &body, maxCredentialBody); e != nil {
		fail(e, nil)
		return
	}
	creds, e := kind.read(&body)
	if e != nil {
		fail(e, nil)
		return
	}
	if kind.mode == provider.Basic && body.Password == nil {
		if f, ok := tmpl.CredentialField("password"); !ok || !f.Optional {
			fail(&httpx.Error{Status: http.StatusBadRequest, Type: "missing_basic_password", Message: "Missing the password: send {\"username\": \"...\", \"password\": \"...\"}."}, nil)
			return
		}
	}
	if ferr := tmpl.CheckCredentials(credentialValues(creds)); ferr != nil {
		fail(&httpx.Error{Status: http.StatusBadRequest, Type: "invalid_credentials", Message: ferr.Error()}, nil)
		return
	}
	cc := tmpl.WithDefaults(q.ConnectionConfig)
	if ferr := tmpl.CheckConnectionConfig(cc, false); ferr != nil {
		fail(&httpx.Error{Status: http.StatusBadRequest, Type: "invalid_connection_config", Message: ferr.Error()}, nil)
		return
	}
	// The proxy needs its base URL: refuse a connection that lacks the
	// values it is built from.
	if _, err := provider.Interpolate(tmpl.Proxy.BaseURL, provider.Vars{ConnectionConfig: cc}); err != nil {
		var me *provider.MissingError
		if errors.As(err, &me) && len(me.Params()) > 0 {
			fail(&httpx.Error{Status: http.StatusBadRequest, Type: "missing_connection_config",
				Message: fmt.Sprintf("The provider template needs connection config values that were not given (send them as params[<name>]): %s.", strings.Join(me.Params(), ", ")),
				Payload: map[string]any{"missing": me.Params()}}, nil)
			return
		}
	}

	res := credentialResult{ProviderConfigKey: key, ConnectionID: q.ConnectionID}
	vr, verr := h.oauth.VerifyCredentials(ctx, oauth.VerifyRequest{
		Template: tmpl, Integration: integ, Credentials: creds, ConnectionConfig: cc,
		AllowPrivateNetworks: h.cfg.Proxy.AllowPrivateNetworks,
	})
	var rej *oauth.RejectedError
	var miss *oauth.MissingValuesError
	var unv *oauth.UnverifiedError
	switch {
	case verr == nil:
		if vr.Checked {
			t := true
			res.Verified = &t
		}
	case errors.As(verr, &rej):
		fail(&httpx.Error{Status: http.StatusBadRequest, Type: "invalid_credentials",
			Message: fmt.Sprintf("The provider rejected the credentials (HTTP %d from %s).", rej.Status, rej.Endpoint)}, nil)
		return
	case errors.As(verr, &miss):
		fail(&httpx.Error{Status: http.StatusBadRequest, Type: "missing_connection_config",
			Message: fmt.Sprintf("The provider template needs connection config values that were not given (send them as params[<name>]): %s.", strings.Join(miss.Names, ", ")),
			Payload: map[string]any{"missing": miss.Names}}, nil)
		return
	case errors.As(verr, &unv):
		// No verdict (provider unreachable, 5xx, 429, timeout): the
		// credentials are stored unverified; the answer says so.
		f := false
		res.Verified = &f
		log.Warn("credentials stored without verification: the provider gave no verdict",
			"provider_config_key", key, "connection_id", q.ConnectionID, "provider", integ.Provider, "problem", unv.Error())
	default:
		fail(httpx.E("internal_error"), verr)
		return
	}

	conn := store.Connection{ProviderConfigKey: key, ConnectionID: q.ConnectionID, Credentials: creds, ConnectionConfig: cc}
	if old, err := h.store.GetConnection(ctx, key, q.ConnectionID); err == nil {
		conn.Metadata = old.Metadata
	}
	created, err := h.store.UpsertConnection(ctx, &conn)
	if err != nil {
		fail(storeError(err), err)
		return
	}
	msg := "connection updated"
	if created {
		msg = "connection created"
	}
	switch {
	case res.Verified == nil:
		msg += " (the template declares no verification)"
	case *res.Verified:
		msg += " (credentials verified by the provider)"
	default:
		msg += " (unverified: " + clip(unv.Error(), 300) + ")"
	}
	log.Info("credential connection stored", "provider_config_key", key, "connection_id", q.ConnectionID, "provider", integ.Provider, "created", created)
	h.recordCredentials(ctx, log, fi, true, http.StatusOK, msg)
	httpx.WriteJSON(w, http.StatusOK, res)
}

// credentialValues lists the credential values by their declared names.
func credentialValues(c store.Credentials) map[string]string {
	switch c.Type {
	case store.APIKey:
		return map[string]string{"apiKey": c.APIKey.Reveal()}
	case store.Basic:
		return map[string]string{"username": c.Username, "password": c.Password.Reveal()}
	}
	return nil
}

// storeError maps a store failure to the answer.
func storeError(err error) *httpx.Error {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return httpx.E("database_unavailable")
	case errors.Is(err, store.ErrUndecryptable):
		return httpx.E("undecryptable_secret")
	case errors.Is(err, store.ErrInvalidValue):
		return httpx.Ef("invalid_request", "A value of the request cannot be stored (it contains a NUL character).")
	}
	return httpx.E("internal_error")
}

// recordCredentials adds the outcome of a credential endpoint to the
// activity log (never the credentials).
func (h *Handlers) recordCredentials(ctx context.Context, log *slog.Logger, fi flowInfo, ok bool, status int, msg string) {
	h.addActivity(ctx, log, fi, credentialsAction, http.MethodPost, ok, status, msg)
}
