package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// stateBytes is the entropy of an OAuth state (256 bits).
const stateBytes = 32

// activityAction is the store.Activity action of every flow outcome.
const activityAction = "oauth"

// flow is one auth mode's part of the popup dance. Adding a mode (OAUTH1,
// a mode completed without a provider redirect, ...) means adding a flow to
// flows(); the handlers around it (validation, session, persistence,
// notification, pages) stay as they are.
type flow interface {
	// needsClient reports whether the integration must hold a client id and
	// secret (provider_config_err otherwise).
	needsClient() bool
	// begin prepares the session (sess is stored after begin succeeds) and
	// returns the URL the popup is redirected to. Errors are *oauth.FlowError
	// or unexpected failures (reported as unknown_err).
	begin(ctx context.Context, req beginRequest) (redirectURL string, err error)
	// complete turns the provider's callback into credentials.
	complete(ctx context.Context, req completeRequest) (oauth.TokenResult, error)
}

// beginRequest is the input of flow.begin.
type beginRequest struct {
	Integration store.Integration
	Template    *provider.Template
	Session     *store.OAuthSession
}

// completeRequest is the input of flow.complete.
type completeRequest struct {
	Integration store.Integration
	Template    *provider.Template
	Session     store.OAuthSession
	// Query is the callback's query string.
	Query url.Values
}

// flows returns the flow of every auth mode the popup supports.
func flows(client *oauth.Client) map[provider.AuthMode]flow {
	return map[provider.AuthMode]flow{
		provider.OAuth2: oauth2Flow{client: client},
		provider.OAuth1: oauth1Flow{client: client},
	}
}

// flowInfo is what a flow's outcome is reported with.
type flowInfo struct {
	start             time.Time
	endpoint          string // route, never with its query
	wsClientID        string
	legacy            bool // popup opened without ws_client_id: post to window.opener
	providerConfigKey string
	connectionID      string
	provider          string
}

// serveConnect is GET /oauth/connect/{providerConfigKey} (SPEC §1.5).
func (h *Handlers) serveConnect(w http.ResponseWriter, r *http.Request) {
	log := h.reqLog(r)
	q := parseConnectQuery(r.URL.RawQuery)
	fi := flowInfo{
		start:             time.Now(),
		endpoint:          "/oauth/connect",
		wsClientID:        q.WSClientID,
		legacy:            q.WSClientID == "",
		providerConfigKey: r.PathValue("providerConfigKey"),
		connectionID:      q.ConnectionID,
	}
	if fi.providerConfigKey != "" {
		fi.endpoint += "/" + fi.providerConfigKey
	}
	// The flow goes on when the popup goes away: its result is still
	// reported to the socket and recorded.
	ctx := context.WithoutCancel(r.Context())

	if fi.providerConfigKey == "" {
		h.fail(ctx, w, log, fi, oauth.ErrNoProviderConfigKey())
		return
	}
	if q.ConnectionID == "" {
		h.fail(ctx, w, log, fi, oauth.ErrMissingConnectionID())
		return
	}
	if fe := checkKey("provider config key", fi.providerConfigKey); fe != nil {
		h.fail(ctx, w, log, fi, fe)
		return
	}
	if fe := checkKey("connection id", q.ConnectionID); fe != nil {
		h.fail(ctx, w, log, fi, fe)
		return
	}
	if fe := checkConnectionConfig(q.ConnectionConfig); fe != nil {
		h.fail(ctx, w, log, fi, fe)
		return
	}
	if h.cfg.HMAC.Enabled {
		if q.HMAC == "" {
			h.fail(ctx, w, log, fi, oauth.ErrMissingHMAC())
			return
		}
		ok, err := checkHMAC(h.cfg.HMAC.Algorithm, h.cfg.HMAC.Key, fi.providerConfigKey, q.ConnectionID, q.HMAC)
		if err != nil {
			h.fail(ctx, w, log, fi, oauth.ErrUnknown(err))
			return
		}
		if !ok {
			h.fail(ctx, w, log, fi, oauth.ErrInvalidHMAC())
			return
		}
	}
	integ, tmpl, fl, ferr := h.resolve(ctx, fi.providerConfigKey, "")
	if integ.Provider != "" {
		fi.provider = integ.Provider
	}
	if ferr != nil {
		h.fail(ctx, w, log, fi, ferr)
		return
	}

	now := h.now()
	sess := store.OAuthSession{
		ID:                secret.RandomToken(stateBytes),
		Provider:          integ.Provider,
		ProviderConfigKey: fi.providerConfigKey,
		ConnectionID:      q.ConnectionID,
		CallbackURL:       h.cfg.CallbackURL,
		AuthMode:          store.AuthMode(tmpl.AuthMode),
		ConnectionConfig:  q.ConnectionConfig,
		WSClientID:        storableClientID(q.WSClientID),
		CreatedAt:         now,
		ExpiresAt:         now.Add(h.stateTTL()),
	}
	target, err := fl.begin(ctx, beginRequest{Integration: integ, Template: tmpl, Session: &sess})
	if err != nil {
		h.fail(ctx, w, log, fi, asFlowError(err))
		return
	}
	if err := h.store.CreateOAuthSession(ctx, sess); err != nil {
		h.fail(ctx, w, log, fi, oauth.ErrUnknown(fmt.Errorf("storing the OAuth session: %w", err)))
		return
	}
	log.Debug("oauth flow started", "provider_config_key", fi.providerConfigKey, "connection_id", fi.connectionID,
		"provider", fi.provider, "ws", !fi.legacy)
	hd := w.Header()
	hd.Set("Location", target)
	hd.Set("Cache-Control", "no-store")
	// The connect URL carries the HMAC and the connection config: keep it
	// out of the provider's Referer.
	hd.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}

// serveCallback is GET /oauth/callback (SPEC §1.6).
func (h *Handlers) serveCallback(w http.ResponseWriter, r *http.Request) {
	log := h.reqLog(r)
	query := values(parseQuery(r.URL.RawQuery))
	// Until the session is known, the popup's mode is not: the page posts
	// the legacy message too, which current SDKs ignore.
	fi := flowInfo{start: time.Now(), endpoint: "/oauth/callback", legacy: true}
	ctx := context.WithoutCancel(r.Context())

	state := query.Get("state")
	if state == "" {
		h.fail(ctx, w, log, fi, oauth.ErrState(""))
		return
	}
	if !wellFormedState(state) {
		// Not a state this server issues: refused without a lookup.
		h.fail(ctx, w, log, fi, oauth.ErrState(state))
		return
	}
	sess, err := h.store.TakeOAuthSession(ctx, state)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Unknown, expired or already used: never echo more than a
			// forged value back (a real state is dead once taken).
			h.fail(ctx, w, log, fi, oauth.ErrState(state))
			return
		}
		h.fail(ctx, w, log, fi, oauth.ErrUnknown(fmt.Errorf("reading the OAuth session: %w", err)))
		return
	}
	fi.wsClientID = sess.WSClientID
	fi.legacy = sess.WSClientID == ""
	fi.providerConfigKey = sess.ProviderConfigKey
	fi.connectionID = sess.ConnectionID
	fi.provider = sess.Provider

	// The integration is read again: its current client id and secret are
	// the ones to use.
	integ, tmpl, fl, ferr := h.resolve(ctx, sess.ProviderConfigKey, sess.Provider)
	if ferr != nil {
		h.fail(ctx, w, log, fi, ferr)
		return
	}
	if provider.AuthMode(sess.AuthMode) != tmpl.AuthMode {
		h.fail(ctx, w, log, fi, oauth.ErrUnknown(fmt.Errorf("the template's auth mode changed from %s to %s during the flow", sess.AuthMode, tmpl.AuthMode)))
		return
	}
	res, err := fl.complete(ctx, completeRequest{Integration: integ, Template: tmpl, Session: sess, Query: query})
	if err != nil {
		h.fail(ctx, w, log, fi, asFlowError(err))
		return
	}

	cc := make(map[string]any, len(sess.ConnectionConfig)+len(res.ConnectionConfig))
	for k, v := range sess.ConnectionConfig {
		cc[k] = v
	}
	for k, v := range res.ConnectionConfig {
		cc[k] = v
	}
	conn := store.Connection{
		ProviderConfigKey: sess.ProviderConfigKey,
		ConnectionID:      sess.ConnectionID,
		Credentials:       res.Credentials,
		ConnectionConfig:  cc,
		Metadata:          res.Metadata,
	}
	created, err := h.store.UpsertConnection(ctx, &conn)
	if err != nil {
		h.fail(ctx, w, log, fi, oauth.ErrUnknown(fmt.Errorf("storing the connection: %w", err)))
		return
	}
	// Persisted: only now is anyone told.
	h.succeed(ctx, w, log, fi, created)
}

// resolve finds the integration, its template and the template's flow, in
// the reference's order of errors. provider, when set, names the template
// to use (the one the flow started with) instead of the integration's.
func (h *Handlers) resolve(ctx context.Context, key, providerName string) (store.Integration, *provider.Template, flow, *oauth.FlowError) {
	integ, err := h.store.GetIntegration(ctx, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return integ, nil, nil, oauth.ErrProviderConfigNotFound(key)
		}
		return integ, nil, nil, oauth.ErrUnknown(fmt.Errorf("reading the integration: %w", err))
	}
	if providerName == "" {
		providerName = integ.Provider
	}
	tmpl, ok := h.catalog.Get(providerName)
	if !ok {
		return integ, nil, nil, oauth.ErrUnknownConfigKey(providerName)
	}
	fl, supported := h.flows[tmpl.AuthMode]
	if (!supported || fl.needsClient()) && (integ.ClientID == "" || integ.ClientSecret.IsZero()) {
		return integ, tmpl, nil, oauth.ErrProviderConfigIncomplete(key)
	}
	if !supported {
		return integ, tmpl, nil, oauth.ErrAuthMode(string(tmpl.AuthMode))
	}
	return integ, tmpl, fl, nil
}

// fail reports a flow error: server log (with the internal cause), activity
// log, the WebSocket client, then the popup page with the status that says
// who is at fault (flowStatus: 400 bad input, 502 the provider, 503 the
// database, 500 only a server fault).
func (h *Handlers) fail(ctx context.Context, w http.ResponseWriter, log *slog.Logger, fi flowInfo, ferr *oauth.FlowError) {
	status := flowStatus(ferr)
	attrs := []any{"error_type", ferr.Type, "error_desc", ferr.Description, "status", status,
		"provider_config_key", fi.providerConfigKey, "connection_id", fi.connectionID, "provider", fi.provider}
	msg := ferr.Type + ": " + ferr.Description
	if ferr.Err != nil {
		attrs = append(attrs, "cause", ferr.Err.Error())
		msg += " (" + ferr.Err.Error() + ")"
	}
	switch {
	case status >= 500 && status != http.StatusBadGateway:
		log.Error("oauth flow failed", attrs...)
	case status == http.StatusBadGateway:
		log.Warn("oauth flow failed", attrs...)
	default:
		log.Info("oauth flow failed", attrs...)
	}
	h.record(ctx, log, fi, false, status, msg)
	h.notify(ctx, log, fi.wsClientID, resultMessage{
		MessageType:       msgError,
		ProviderConfigKey: fi.providerConfigKey,
		ConnectionID:      fi.connectionID,
		ErrorType:         ferr.Type,
		ErrorDesc:         ferr.Description,
	})
	writePage(w, log, status, fi.legacy, legacyMessage{
		EventType: eventFailed,
		Data:      legacyFailure{Error: legacyError{Type: ferr.Type, Message: ferr.Description}},
	})
}

// succeed reports a stored connection: activity log, the WebSocket client,
// then the popup page (status 200).
func (h *Handlers) succeed(ctx context.Context, w http.ResponseWriter, log *slog.Logger, fi flowInfo, created bool) {
	msg := "connection updated"
	if created {
		msg = "connection created"
	}
	log.Info("oauth flow succeeded", "provider_config_key", fi.providerConfigKey, "connection_id", fi.connectionID,
		"provider", fi.provider, "created", created)
	h.record(ctx, log, fi, true, http.StatusOK, msg)
	h.notify(ctx, log, fi.wsClientID, resultMessage{
		MessageType:       msgSuccess,
		ProviderConfigKey: fi.providerConfigKey,
		ConnectionID:      fi.connectionID,
	})
	writePage(w, log, http.StatusOK, fi.legacy, legacyMessage{
		EventType: eventSucceeded,
		Data:      legacySuccess{ConnectionID: fi.connectionID, ProviderConfigKey: fi.providerConfigKey},
	})
}

// record adds the outcome to the activity log. Its message never holds a
// code, a state or a token: flow errors' texts and causes do not.
func (h *Handlers) record(ctx context.Context, log *slog.Logger, fi flowInfo, ok bool, status int, msg string) {
	h.addActivity(ctx, log, fi, activityAction, http.MethodGet, ok, status, msg)
}

// addActivity writes one activity entry of a public route. Failures are
// rate-limited (see limiter): when over the limit the entry is dropped
// (the server log has the failure) and the next one written says how many
// were dropped. Values from the request are made storable (activityValue).
func (h *Handlers) addActivity(ctx context.Context, log *slog.Logger, fi flowInfo, action, method string, ok bool, status int, msg string) {
	if !ok {
		allowed, dropped := h.failures.take()
		if !allowed {
			return
		}
		if dropped > 0 {
			msg = clip(msg, 1000) + suppressedNote(dropped)
			log.Warn("failed public requests were not recorded in the activity log: too many", "dropped", dropped)
		}
	}
	a := &store.Activity{
		Action:            action,
		Success:           ok,
		ProviderConfigKey: activityValue(fi.providerConfigKey, maxKeyLength),
		ConnectionID:      activityValue(fi.connectionID, maxKeyLength),
		Provider:          fi.provider,
		Method:            method,
		Endpoint:          activityValue(fi.endpoint, 300),
		Status:            status,
		Duration:          time.Since(fi.start),
		Attempts:          1,
		Message:           activityValue(msg, 1200),
	}
	if err := h.store.AddActivity(ctx, a); err != nil {
		log.Warn("recording the "+action+" activity", "err", err)
	}
}

// providerCause wraps the error of a call to the provider: marked as the
// provider's fault (502) unless it is a problem of the template or the
// connection's values (*oauth.ConfigError, a server-side fault).
func providerCause(doing string, err error) error {
	err = fmt.Errorf("%s: %w", doing, err)
	var ce *oauth.ConfigError
	if errors.As(err, &ce) {
		return err
	}
	return fromProvider(err)
}

// asFlowError returns err as a flow error; anything else is unknown_err
// with err as its (logged) cause.
func asFlowError(err error) *oauth.FlowError {
	var fe *oauth.FlowError
	if errors.As(err, &fe) {
		return fe
	}
	return oauth.ErrUnknown(err)
}

// stateTTL is how long a flow's state stays valid.
func (h *Handlers) stateTTL() time.Duration {
	if h.cfg.OAuthStateTTL > 0 {
		return h.cfg.OAuthStateTTL
	}
	return 15 * time.Minute
}

// reqLog returns the request-scoped logger the server's middleware set, or
// the handlers' own.
func (h *Handlers) reqLog(r *http.Request) *slog.Logger {
	if httpx.RequestID(r.Context()) != "" {
		return httpx.Logger(r.Context())
	}
	return h.log
}

// oauth2Flow is auth_mode OAUTH2: the authorization-code grant with PKCE.
type oauth2Flow struct {
	client *oauth.Client
}

func (oauth2Flow) needsClient() bool { return true }

func (oauth2Flow) begin(_ context.Context, req beginRequest) (string, error) {
	req.Session.CodeVerifier = oauth.NewCodeVerifier()
	return oauth.AuthorizationURL(oauth.AuthRequest{
		Template:         req.Template,
		ClientID:         req.Integration.ClientID,
		Scopes:           req.Integration.Scopes,
		CallbackURL:      req.Session.CallbackURL,
		State:            req.Session.ID,
		CodeVerifier:     req.Session.CodeVerifier,
		ConnectionConfig: req.Session.ConnectionConfig,
	})
}

func (f oauth2Flow) complete(ctx context.Context, req completeRequest) (oauth.TokenResult, error) {
	q := req.Query
	if code := q.Get("error"); code != "" {
		return oauth.TokenResult{}, oauth.ErrProviderDenied(code, q.Get("error_description"))
	}
	param := req.Template.AuthorizationCodeParam
	if param == "" {
		param = "code"
	}
	code := q.Get(param)
	if code == "" {
		return oauth.TokenResult{}, oauth.ErrMissingCode()
	}
	res, err := f.client.Exchange(ctx, oauth.ExchangeRequest{
		Template:         req.Template,
		Integration:      req.Integration,
		Code:             code,
		CodeVerifier:     req.Session.CodeVerifier,
		CallbackURL:      req.Session.CallbackURL,
		ConnectionConfig: req.Session.ConnectionConfig,
		CallbackQuery:    q,
	})
	if err != nil {
		var fe *oauth.FlowError
		if errors.As(err, &fe) {
			return oauth.TokenResult{}, fe
		}
		return oauth.TokenResult{}, oauth.ErrUnknown(providerCause("token exchange", err))
	}
	return res, nil
}

// oauth1Flow is auth_mode OAUTH1: the three-legged OAuth 1.0a flow (SPEC
// §3.8). The request token's secret is kept, sealed, with the session.
type oauth1Flow struct {
	client *oauth.Client
}

func (oauth1Flow) needsClient() bool { return true }

func (f oauth1Flow) begin(ctx context.Context, req beginRequest) (string, error) {
	cb := req.Session.CallbackURL
	if strings.Contains(cb, "?") {
		cb += "&"
	} else {
		cb += "?"
	}
	cb += "state=" + url.QueryEscape(req.Session.ID)
	rt, err := f.client.RequestToken(ctx, oauth.OAuth1TokenRequest{
		Template:         req.Template,
		Integration:      req.Integration,
		CallbackURL:      cb,
		ConnectionConfig: req.Session.ConnectionConfig,
	})
	if err != nil {
		var fe *oauth.FlowError
		if errors.As(err, &fe) {
			return "", fe
		}
		return "", oauth.ErrToken(fmt.Errorf("request token: %w", err))
	}
	req.Session.RequestTokenSecret = rt.Secret
	return oauth.OAuth1AuthorizationURL(req.Template, rt.Token, req.Integration.Scopes, req.Session.ConnectionConfig)
}

func (f oauth1Flow) complete(ctx context.Context, req completeRequest) (oauth.TokenResult, error) {
	q := req.Query
	if d := q.Get("denied"); d != "" {
		// Twitter's refusal: ?denied=<request token>.
		return oauth.TokenResult{}, oauth.ErrProviderDenied("access_denied", "the user refused the authorization")
	}
	if code := q.Get("error"); code != "" {
		return oauth.TokenResult{}, oauth.ErrProviderDenied(code, q.Get("error_description"))
	}
	token, verifier := q.Get("oauth_token"), q.Get("oauth_verifier")
	if token == "" || verifier == "" {
		return oauth.TokenResult{}, oauth.ErrMissingOAuth1Params()
	}
	res, err := f.client.AccessToken(ctx, oauth.OAuth1AccessRequest{
		Template:         req.Template,
		Integration:      req.Integration,
		Token:            token,
		TokenSecret:      req.Session.RequestTokenSecret,
		Verifier:         verifier,
		ConnectionConfig: req.Session.ConnectionConfig,
		CallbackQuery:    q,
	})
	if err != nil {
		var fe *oauth.FlowError
		if errors.As(err, &fe) {
			return oauth.TokenResult{}, fe
		}
		return oauth.TokenResult{}, oauth.ErrUnknown(providerCause("access token", err))
	}
	return res, nil
}
