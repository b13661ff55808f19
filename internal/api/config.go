package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// configJSON is the seed-era full shape of an integration (SPEC §1.7, Part A
// "GET /config ... including the client secret").
type configJSON struct {
	ID                int64  `json:"id"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	UniqueKey         string `json:"unique_key"`
	Provider          string `json:"provider"`
	OAuthClientID     string `json:"oauth_client_id"`
	OAuthClientSecret string `json:"oauth_client_secret"`
	OAuthScopes       string `json:"oauth_scopes"`
	AccountID         int    `json:"account_id"`
}

func toConfigJSON(in store.Integration) configJSON {
	return configJSON{
		ID:                in.ID,
		CreatedAt:         store.FormatTime(in.CreatedAt),
		UpdatedAt:         store.FormatTime(in.UpdatedAt),
		UniqueKey:         in.Key,
		Provider:          in.Provider,
		OAuthClientID:     in.ClientID,
		OAuthClientSecret: in.ClientSecret.Reveal(),
		OAuthScopes:       in.Scopes,
	}
}

func (a *API) listConfigs(w http.ResponseWriter, r *http.Request) {
	list, err := a.d.Store.ListIntegrations(r.Context())
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]configJSON, 0, len(list))
	for _, in := range list {
		out = append(out, toConfigJSON(in))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"configs": out})
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if e := CheckKey("provider_config_key", key); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	in, err := a.d.Store.GetIntegration(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unknown_provider_config"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"config": toConfigJSON(in)})
}

// Scopes is oauth_scopes in a request: a comma- or space-separated string
// (the reference's form) or an array of strings.
type Scopes struct {
	Set   bool
	Value string
}

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *Scopes) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		s.Set, s.Value = true, str
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return &json.UnmarshalTypeError{Value: "non-string", Type: stringType, Field: "oauth_scopes"}
	}
	s.Set, s.Value = true, strings.Join(list, ",")
	return nil
}

// NormalizeScopes turns every space into a comma and drops empty items, as
// the reference does on create: "a b,,c" → "a,b,c".
func NormalizeScopes(s string) string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	return strings.Join(parts, ",")
}

type configBody struct {
	ProviderConfigKey string `json:"provider_config_key"`
	Provider          string `json:"provider"`
	OAuthClientID     string `json:"oauth_client_id"`
	OAuthClientSecret string `json:"oauth_client_secret"`
	OAuthScopes       Scopes `json:"oauth_scopes"`
}

func (b configBody) write() IntegrationWrite {
	return IntegrationWrite{Key: b.ProviderConfigKey, Provider: b.Provider, ClientID: b.OAuthClientID,
		ClientSecret: b.OAuthClientSecret, Scopes: b.OAuthScopes}
}

// NeedsClient reports whether integrations of template t must hold an OAuth
// client id and secret: OAUTH2 and OAUTH1 always; OAUTH2_CC unless the
// template takes the client credentials per connection (it declares
// client_id among the credentials the end user supplies); API_KEY and BASIC
// never.
func NeedsClient(t *provider.Template) bool {
	switch t.AuthMode {
	case provider.OAuth2, provider.OAuth1:
		return true
	case provider.OAuth2CC:
		_, perConnection := t.CredentialField("client_id")
		return !perConnection
	}
	return false
}

// IntegrationWrite is a create or update of an integration from a JSON
// body: POST/PUT /config and the dashboard's /api/v1/integration, which name
// the same fields differently.
type IntegrationWrite struct {
	Key, Provider, ClientID, ClientSecret string
	Scopes                                Scopes
}

// maxIntegrationField bounds client ids, secrets and scopes.
const maxIntegrationField = 16 * 1024

// Validate checks w in the reference's order: key, provider, template,
// client id, client secret.
func (w IntegrationWrite) Validate(templates TemplateLookup) *httpx.Error {
	if w.Key == "" {
		return httpx.E("missing_provider_config")
	}
	if e := CheckKey("provider_config_key", w.Key); e != nil {
		return e
	}
	if w.Provider == "" {
		return httpx.E("missing_provider_template")
	}
	t, ok := templates(w.Provider)
	if !ok {
		return httpx.E("unknown_provider_template")
	}
	needsClient := NeedsClient(t)
	if needsClient && w.ClientID == "" {
		return httpx.E("missing_client_id")
	}
	if needsClient && w.ClientSecret == "" {
		return httpx.E("missing_client_secret")
	}
	for name, v := range map[string]string{"oauth_client_id": w.ClientID, "oauth_client_secret": w.ClientSecret, "oauth_scopes": w.Scopes.Value} {
		if len(v) > maxIntegrationField {
			return httpx.Ef("invalid_body", "Field '%s' is longer than %d bytes.", name, maxIntegrationField)
		}
	}
	return nil
}

// CreateIntegration validates w and stores it, scopes normalised (absent =
// "", Part A). The error is an *httpx.Error for bad input (including
// duplicate_provider_config) or a store error.
func CreateIntegration(ctx context.Context, st store.Store, templates TemplateLookup, w IntegrationWrite) (store.Integration, error) {
	if e := w.Validate(templates); e != nil {
		return store.Integration{}, e
	}
	in := store.Integration{
		Key:          w.Key,
		Provider:     w.Provider,
		ClientID:     w.ClientID,
		ClientSecret: secret.String(w.ClientSecret),
		Scopes:       NormalizeScopes(w.Scopes.Value),
	}
	err := st.CreateIntegration(ctx, &in)
	if errors.Is(err, store.ErrConflict) {
		return in, httpx.E("duplicate_provider_config")
	}
	return in, err
}

// UpdateIntegration validates w and replaces the stored integration's
// provider, client and (when sent) scopes, normalised. An unknown key is
// unknown_provider_config.
func UpdateIntegration(ctx context.Context, st store.Store, templates TemplateLookup, w IntegrationWrite) error {
	if e := w.Validate(templates); e != nil {
		return e
	}
	_, err := st.UpdateIntegration(ctx, w.Key, func(in *store.Integration) error {
		in.Provider = w.Provider
		in.ClientID = w.ClientID
		in.ClientSecret = secret.String(w.ClientSecret)
		if w.Scopes.Set {
			in.Scopes = NormalizeScopes(w.Scopes.Value)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return httpx.E("unknown_provider_config")
	}
	return err
}

func (a *API) createConfig(w http.ResponseWriter, r *http.Request) {
	var b configBody
	if e := httpx.DecodeJSON(w, r, &b, 0); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	in, err := CreateIntegration(r.Context(), a.d.Store, a.d.Templates, b.write())
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.Logger(r.Context()).Info("integration created", "provider_config_key", in.Key, "provider", in.Provider)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"config_id": in.ID})
}

func (a *API) updateConfig(w http.ResponseWriter, r *http.Request) {
	var b configBody
	if e := httpx.DecodeJSON(w, r, &b, 0); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if err := UpdateIntegration(r.Context(), a.d.Store, a.d.Templates, b.write()); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.Logger(r.Context()).Info("integration updated", "provider_config_key", b.ProviderConfigKey)
	httpx.WriteEmpty(w)
}

func (a *API) deleteConfig(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if e := CheckKey("provider_config_key", key); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	n, err := a.d.Store.DeleteIntegration(r.Context(), key)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.Logger(r.Context()).Info("integration deleted", "provider_config_key", key, "connections_deleted", n)
	httpx.WriteEmpty(w)
}

var stringType = reflect.TypeOf("")
