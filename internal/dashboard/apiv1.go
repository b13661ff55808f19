package dashboard

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// The reference's dashboard API (SPEC §1.10): camelCase JSON, the public
// API's error envelope. It sits behind the dashboard guard like the pages
// (Basic auth when configured; the CSRF header on every write).

// apiAccount is GET /api/v1/account. Unlike the reference it never returns
// the secret key: "(none)" when the API is open, "[redacted]" otherwise.
func (h *Handler) apiAccount(w http.ResponseWriter, r *http.Request) {
	key := "(none)"
	if !h.d.Config.SecretKey.IsZero() {
		key = secret.Redacted
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"account": map[string]any{
		"id": 0, "name": "My Organization", "owner_id": 0, "secret_key": key, "public_key": nil,
		"callback_url": h.d.Config.CallbackURL, "host": h.d.Config.ServerURL,
	}})
}

// apiUser is GET /api/v1/user: the self-hosted user 0.
func (h *Handler) apiUser(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": map[string]any{"id": 0, "accountId": 0, "email": "unknown", "name": "unknown"}})
}

type providerJSON struct {
	Name          string   `json:"name"`
	DisplayName   string   `json:"displayName"`
	AuthMode      string   `json:"authMode"`
	DefaultScopes []string `json:"defaultScopes,omitempty"`
}

// apiProviders is GET /api/v1/provider: every template sorted by name
// (aliases included), with its default scopes when it has some; plus its
// display name and auth mode.
func (h *Handler) apiProviders(w http.ResponseWriter, r *http.Request) {
	ts := h.d.Catalog.Templates()
	out := make([]providerJSON, len(ts))
	for i, t := range ts {
		out[i] = providerJSON{Name: t.Name, DisplayName: t.DisplayName, AuthMode: string(t.AuthMode), DefaultScopes: t.DefaultScopes}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

type integrationListJSON struct {
	UniqueKey              string   `json:"uniqueKey"`
	Provider               string   `json:"provider"`
	ConnectionCount        int64    `json:"connectionCount"`
	CreationDate           string   `json:"creationDate"`
	ConnectionConfigParams []string `json:"connectionConfigParams,omitempty"`
}

// apiIntegrations is GET /api/v1/integration, newest first.
func (h *Handler) apiIntegrations(w http.ResponseWriter, r *http.Request) {
	list, err := h.d.Store.ListIntegrations(r.Context())
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	counts, err := h.d.Store.CountConnections(r.Context())
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]integrationListJSON, len(list))
	for i, in := range list {
		out[i] = integrationListJSON{UniqueKey: in.Key, Provider: in.Provider, ConnectionCount: counts[in.Key], CreationDate: store.FormatTime(in.CreatedAt)}
		if t, ok := h.d.Catalog.Get(in.Provider); ok {
			out[i].ConnectionConfigParams = t.ConnectionConfigParams()
			if out[i].ConnectionConfigParams == nil {
				out[i].ConnectionConfigParams = []string{}
			}
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"integrations": out})
}

// apiIntegration is GET /api/v1/integration/{key} (client secret in clear,
// as the reference).
func (h *Handler) apiIntegration(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if e := api.CheckKey("provider_config_key", key); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	in, err := h.d.Store.GetIntegration(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unknown_provider_config"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"integration": map[string]any{
		"uniqueKey": in.Key, "provider": in.Provider, "clientId": in.ClientID,
		"clientSecret": in.ClientSecret.Reveal(), "scopes": in.Scopes,
	}})
}

// integrationBody is the body of POST and PUT /api/v1/integration.
type integrationBody struct {
	Provider          string     `json:"provider"`
	ProviderConfigKey string     `json:"provider_config_key"`
	ClientID          string     `json:"client_id"`
	ClientSecret      string     `json:"client_secret"`
	Scopes            api.Scopes `json:"scopes"`
}

func (b integrationBody) write() api.IntegrationWrite {
	return api.IntegrationWrite{Key: b.ProviderConfigKey, Provider: b.Provider, ClientID: b.ClientID,
		ClientSecret: b.ClientSecret, Scopes: b.Scopes}
}

// apiCreateIntegration is POST /api/v1/integration: POST /config's checks
// and storage with this body's field names; an empty 200.
func (h *Handler) apiCreateIntegration(w http.ResponseWriter, r *http.Request) {
	var b integrationBody
	if e := httpx.DecodeJSON(w, r, &b, 0); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if _, err := api.CreateIntegration(r.Context(), h.d.Store, h.d.Catalog.Get, b.write()); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteEmpty(w)
}

// apiUpdateIntegration is PUT /api/v1/integration.
func (h *Handler) apiUpdateIntegration(w http.ResponseWriter, r *http.Request) {
	var b integrationBody
	if e := httpx.DecodeJSON(w, r, &b, 0); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if err := api.UpdateIntegration(r.Context(), h.d.Store, h.d.Catalog.Get, b.write()); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteEmpty(w)
}

// apiDeleteIntegration is DELETE /api/v1/integration/{key} (its
// connections go with it).
func (h *Handler) apiDeleteIntegration(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if e := api.CheckKey("provider_config_key", key); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if _, err := h.d.Store.DeleteIntegration(r.Context(), key); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteEmpty(w)
}

type connectionListJSON struct {
	ID                int64  `json:"id"`
	ConnectionID      string `json:"connectionId"`
	ProviderConfigKey string `json:"providerConfigKey"`
	Provider          string `json:"provider"`
	CreationDate      string `json:"creationDate"`
}

// apiConnections is GET /api/v1/connection, newest first. Unlike the
// reference it returns pages: ?limit= (default and maximum 1000),
// ?before=<id> for the next page, plus ?search= and ?integration=.
func (h *Handler) apiConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 1000
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			httpx.WriteError(w, r, httpx.Ef("invalid_request", "limit must be a whole number from 1 to 1000."))
			return
		}
		limit = n
	}
	before, err := cursor(r)
	if err == nil {
		err = checkText("search", q.Get("search"), 255)
	}
	if err == nil {
		err = optionalKey("integration", q.Get("integration"))
	}
	if err != nil {
		httpx.WriteError(w, r, httpx.Ef("invalid_request", "%s", err.Error()))
		return
	}
	page, err := h.d.Store.ListConnections(r.Context(), store.ConnectionFilter{
		ProviderConfigKey: q.Get("integration"), Search: q.Get("search"), BeforeID: before, Limit: limit,
	})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]connectionListJSON, len(page.Connections))
	for i, c := range page.Connections {
		out[i] = connectionListJSON{ID: c.ID, ConnectionID: c.ConnectionID, ProviderConfigKey: c.ProviderConfigKey,
			Provider: c.Provider, CreationDate: store.FormatTime(c.CreatedAt)}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"connections": out, "total": page.Total})
}

// apiConnectionKeys reads the path's connection id and the
// provider_config_key query parameter.
func apiConnectionKeys(r *http.Request) (key, id string, e *httpx.Error) {
	id = r.PathValue("connectionId")
	if e := api.CheckKey("connection_id", id); e != nil {
		return "", "", e
	}
	key = r.URL.Query().Get("provider_config_key")
	if key == "" {
		return "", "", httpx.E("missing_provider_config")
	}
	if e := api.CheckKey("provider_config_key", key); e != nil {
		return "", "", e
	}
	return key, id, nil
}

// apiConnection is GET /api/v1/connection/{connectionId}?provider_config_key=&force_refresh=:
// the connection with fresh credentials (force_refresh is honoured, unlike
// the reference).
func (h *Handler) apiConnection(w http.ResponseWriter, r *http.Request) {
	key, id, e := apiConnectionKeys(r)
	if e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	c, err := h.d.Tokens.Get(r.Context(), key, id, tokens.GetOptions{
		ForceRefresh: r.URL.Query().Get("force_refresh") == "true",
		BeforeWait:   func() { httpx.AllowSlowResponse(w) },
	})
	if e := api.TokenError(err); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	var provName string
	if in, err := h.d.Store.GetIntegration(r.Context(), key); err == nil {
		provName = in.Provider
	}
	cr := c.Credentials
	str := func(s secret.String) any {
		if s.IsZero() {
			return nil
		}
		return s.Reveal()
	}
	var expires any
	if cr.ExpiresAt != nil {
		expires = store.FormatTime(*cr.ExpiresAt)
	}
	var username any
	if cr.Type == store.Basic {
		username = cr.Username
	}
	raw := cr.Raw
	if raw == nil {
		raw = map[string]any{}
	}
	cfg, meta := c.ConnectionConfig, c.Metadata
	if cfg == nil {
		cfg = map[string]any{}
	}
	if meta == nil {
		meta = map[string]any{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"connection": map[string]any{
		"id": c.ID, "connectionId": c.ConnectionID, "provider": provName, "providerConfigKey": c.ProviderConfigKey,
		"creationDate": store.FormatTime(c.CreatedAt), "oauthType": string(cr.Type),
		"connectionConfig": cfg, "connectionMetadata": meta,
		"accessToken": str(cr.AccessToken), "refreshToken": str(cr.RefreshToken), "expiresAt": expires,
		"oauthToken": str(cr.OAuthToken), "oauthTokenSecret": str(cr.OAuthTokenSecret),
		"apiKey": str(cr.APIKey), "username": username, "password": str(cr.Password),
		"rawCredentials": raw, "lastRefreshError": c.LastRefreshError,
	}})
}

// apiDeleteConnection is DELETE /api/v1/connection/{connectionId}?provider_config_key=.
func (h *Handler) apiDeleteConnection(w http.ResponseWriter, r *http.Request) {
	key, id, e := apiConnectionKeys(r)
	if e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	err := h.d.Store.DeleteConnection(r.Context(), key, id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unkown_connection"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteEmpty(w)
}

type activityJSON struct {
	ID                int64  `json:"id"`
	Timestamp         int64  `json:"timestamp"`
	Action            string `json:"action"`
	Success           bool   `json:"success"`
	ProviderConfigKey string `json:"providerConfigKey"`
	ConnectionID      string `json:"connectionId"`
	Provider          string `json:"provider"`
	Method            string `json:"method"`
	Endpoint          string `json:"endpoint"`
	Status            int    `json:"status"`
	DurationMs        int64  `json:"durationMs"`
	Attempts          int    `json:"attempts"`
	Message           string `json:"message"`
}

// apiActivity is GET /api/v1/activity: the 30 newest entries (a bare
// array, as the reference), in our own entry shape.
func (h *Handler) apiActivity(w http.ResponseWriter, r *http.Request) {
	list, err := h.d.Store.ListActivity(r.Context(), store.ActivityFilter{Limit: 30})
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]activityJSON, len(list))
	for i, a := range list {
		out[i] = activityJSON{ID: a.ID, Timestamp: a.Time.UnixMilli(), Action: a.Action, Success: a.Success,
			ProviderConfigKey: a.ProviderConfigKey, ConnectionID: a.ConnectionID, Provider: a.Provider, Method: a.Method,
			Endpoint: a.Endpoint, Status: a.Status, DurationMs: a.Duration.Milliseconds(), Attempts: a.Attempts, Message: a.Message}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
