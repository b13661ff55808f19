package dashboard

import (
	"errors"
	"net/http"
	"sort"

	"github.com/nango-go/nango/internal/connect"
	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/store"
)

// newConnView is the create-a-connection page.
type newConnView struct {
	Integrations []choice
	Selected     string
	Chosen       *chosen
	ServerURL    string
	HMAC         bool
	ConnectionID string
}

type choice struct{ Key, Display string }

// chosen is the selected integration and the fields its template asks
// for.
type chosen struct {
	Key, Provider, Display, Mode string
	// Flow is how the browser connects: "popup" (OAuth), "api-key" and
	// "basic" (credentials posted by the SDK), or "" when the browser
	// cannot create this kind of connection.
	Flow        string
	Note        string
	Params      []formField
	Credentials []formField
}

// formField is one input built from a template's field declaration.
type formField struct {
	Name, Label, Help, Placeholder, Pattern, Prefix, Suffix, Default, Type string
	Optional                                                               bool
	Enum                                                                   []string
}

func fieldFrom(name string, decl provider.Field, declared bool, typ string) formField {
	f := formField{Name: name, Label: name, Type: typ}
	if declared {
		if decl.Title != "" {
			f.Label = decl.Title
		}
		f.Help, f.Placeholder, f.Pattern = decl.Description, decl.Example, decl.Pattern
		f.Prefix, f.Suffix, f.Default, f.Optional = decl.Prefix, decl.Suffix, decl.DefaultValue, decl.Optional
		f.Enum = decl.Enum
		if decl.Secret {
			f.Type = "password"
		}
	}
	return f
}

// newConnection is GET /connections/new?integration=: choose an
// integration, enter the connection id and what the template asks for,
// then the page runs the real browser flow with /sdk/nango.js.
func (h *Handler) newConnection(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := newConnView{Selected: q.Get("integration"), ServerURL: h.d.Config.ServerURL, HMAC: h.d.Config.HMAC.Enabled, ConnectionID: q.Get("id")}
	list, err := h.d.Store.ListIntegrations(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, in := range list {
		c := choice{Key: in.Key, Display: in.Provider}
		if t, ok := h.d.Catalog.Get(in.Provider); ok {
			c.Display = t.DisplayName
		}
		v.Integrations = append(v.Integrations, c)
	}
	sort.Slice(v.Integrations, func(i, j int) bool { return v.Integrations[i].Key < v.Integrations[j].Key })
	title := view{Title: "New connection", Nav: "connections", Data: &v}
	if err := optionalKey("Integration", v.Selected); err != nil {
		v.Selected, title.Error = "", err.Error()
		h.render(w, r, http.StatusBadRequest, "connection_new", title)
		return
	}
	if err := optionalKey("Connection ID", v.ConnectionID); err != nil {
		v.ConnectionID, title.Error = "", err.Error()
		h.render(w, r, http.StatusBadRequest, "connection_new", title)
		return
	}
	if v.Selected == "" {
		h.render(w, r, http.StatusOK, "connection_new", title)
		return
	}
	in, err := h.d.Store.GetIntegration(r.Context(), v.Selected)
	if errors.Is(err, store.ErrNotFound) {
		v.Selected, title.Error = "", "There is no integration with that key."
		h.render(w, r, http.StatusNotFound, "connection_new", title)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := &chosen{Key: in.Key, Provider: in.Provider, Display: in.Provider}
	t, ok := h.d.Catalog.Get(in.Provider)
	if !ok {
		c.Note = "This integration's provider template is not in the catalog, so no connection can be made with it."
		v.Chosen = c
		h.render(w, r, http.StatusOK, "connection_new", title)
		return
	}
	c.Display, c.Mode = t.DisplayName, string(t.AuthMode)
	for _, name := range t.ConnectionConfigParams() {
		decl, declared := t.ConnectionConfigField(name)
		if declared && decl.Hidden {
			continue
		}
		c.Params = append(c.Params, fieldFrom(name, decl, declared, "text"))
	}
	switch t.AuthMode {
	case provider.OAuth2, provider.OAuth1:
		c.Flow = "popup"
	case provider.APIKey:
		c.Flow = "api-key"
		decl, declared := t.CredentialField("apiKey")
		f := fieldFrom("apiKey", decl, declared, "password")
		if !declared || decl.Title == "" {
			f.Label = "API key"
		}
		c.Credentials = []formField{f}
	case provider.Basic:
		c.Flow = "basic"
		for _, n := range []string{"username", "password"} {
			decl, declared := t.CredentialField(n)
			typ := "text"
			if n == "password" {
				typ = "password"
			}
			f := fieldFrom(n, decl, declared, typ)
			if !declared || decl.Title == "" {
				f.Label = map[string]string{"username": "Username", "password": "Password"}[n]
			}
			c.Credentials = append(c.Credentials, f)
		}
	default:
		c.Note = "Connections of " + modeName(t.AuthMode) + " integrations are not made in the browser: " +
			"create them through the API (POST /connection)."
	}
	v.Chosen = c
	h.render(w, r, http.StatusOK, "connection_new", title)
}

// connectionHMAC is POST /connections/hmac: the digest the SDK must send
// when NANGO_HMAC_ENABLED is set, computed on the server so that the HMAC
// key never reaches the browser. Body: {"provider_config_key", "connection_id"}.
func (h *Handler) connectionHMAC(w http.ResponseWriter, r *http.Request) {
	if !h.d.Config.HMAC.Enabled {
		httpx.WriteError(w, r, httpx.Ef("invalid_request", "HMAC verification is not enabled (NANGO_HMAC_ENABLED)."))
		return
	}
	var body struct {
		ProviderConfigKey string `json:"provider_config_key"`
		ConnectionID      string `json:"connection_id"`
	}
	if e := httpx.DecodeJSON(w, r, &body, 64<<10); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if err := checkKey("Integration key", body.ProviderConfigKey); err != nil {
		httpx.WriteError(w, r, httpx.Ef("invalid_provider_config", "%s", err.Error()))
		return
	}
	if err := checkKey("Connection ID", body.ConnectionID); err != nil {
		httpx.WriteError(w, r, httpx.Ef("invalid_connection_id", "%s", err.Error()))
		return
	}
	d, err := connect.HMACDigest(h.d.Config.HMAC.Algorithm, h.d.Config.HMAC.Key, body.ProviderConfigKey, body.ConnectionID)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"hmac": d})
}
