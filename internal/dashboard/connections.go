package dashboard

import (
	"errors"
	"net/http"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// connectionsView is the connections list.
type connectionsView struct {
	Query        string
	Integration  string
	Integrations []string
	Rows         []store.ConnectionSummary
	Total        int64
	Before       int64 // this page's cursor; 0 on the first page
	Next         int64 // the next page's cursor; 0 when this is the last page
}

// connections is GET /connections?q=&integration=&before=: newest first,
// 50 a page, keyset-paginated (the cursor is the last row's id), so any
// page costs the same however many connections there are.
func (h *Handler) connections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := connectionsView{Query: q.Get("q"), Integration: q.Get("integration")}
	var err error
	v.Before, err = cursor(r)
	if err == nil {
		err = checkText("Search", v.Query, 255)
	}
	if err == nil {
		err = optionalKey("Integration", v.Integration)
	}
	if err != nil {
		v.Query, v.Integration, v.Before = "", "", 0
		v.Integrations, _ = h.integrationKeys(r)
		h.render(w, r, http.StatusBadRequest, "connections", view{Title: "Connections", Nav: "connections", Error: err.Error(), Data: v})
		return
	}
	v.Integrations, err = h.integrationKeys(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.d.Store.ListConnections(r.Context(), store.ConnectionFilter{
		ProviderConfigKey: v.Integration, Search: v.Query, BeforeID: v.Before, Limit: pageSize + 1,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Rows, v.Total = page.Connections, page.Total
	if len(v.Rows) > pageSize {
		v.Rows = v.Rows[:pageSize]
		v.Next = v.Rows[pageSize-1].ID
	}
	h.render(w, r, http.StatusOK, "connections", view{Title: "Connections", Nav: "connections", Flash: connectionFlash(r), Data: v})
}

// integrationKeys lists the integration keys for filters and pickers.
func (h *Handler) integrationKeys(r *http.Request) ([]string, error) {
	list, err := h.d.Store.ListIntegrations(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = in.Key
	}
	return out, nil
}

func connectionFlash(r *http.Request) string {
	switch r.URL.Query().Get("flash") {
	case "deleted":
		return "Connection deleted."
	case "refreshed":
		return "The access token was refreshed."
	case "refresh-failed":
		return "The refresh failed: the provider's answer is shown below. The stored credentials were kept."
	case "not-refreshable":
		return "This connection has no refresh token: there is nothing to refresh."
	}
	return ""
}

// connectionView is the connection detail page.
type connectionView struct {
	Conn        store.Connection
	Display     string
	Mode        string
	Refreshable bool
	// RefreshError is the error of a refresh attempted while loading the
	// page (the page then shows the stored credentials).
	RefreshError string
	Orphan       bool
	// Plain are credential values shown as they are (a Basic username);
	// Secrets are masked until revealed.
	Plain   []plainRow
	Secrets []secretRow
	HasRaw  bool
}

type plainRow struct{ Label, Value string }

// secretRow is a masked credential; Name is its key in the JSON of
// /connections/secrets.
type secretRow struct{ Label, Name, Masked string }

// credentialRows splits a connection's credentials into plain and masked
// rows, in display order.
func credentialRows(c store.Credentials) (plain []plainRow, secrets []secretRow) {
	add := func(label, name string, v secret.String) {
		if !v.IsZero() {
			secrets = append(secrets, secretRow{Label: label, Name: name, Masked: mask(v)})
		}
	}
	switch c.Type {
	case store.OAuth2:
		add("Access token", "access_token", c.AccessToken)
		add("Refresh token", "refresh_token", c.RefreshToken)
	case store.OAuth2CC:
		add("Access token", "access_token", c.AccessToken)
	case store.OAuth1:
		add("OAuth token", "oauth_token", c.OAuthToken)
		add("OAuth token secret", "oauth_token_secret", c.OAuthTokenSecret)
	case store.APIKey:
		add("API key", "api_key", c.APIKey)
	case store.Basic:
		plain = append(plain, plainRow{Label: "Username", Value: c.Username})
		add("Password", "password", c.Password)
	}
	return plain, secrets
}

// connectionRef reads and validates the integration key and connection id
// of a detail, refresh or delete request.
func connectionRef(r *http.Request) (key, id string, err error) {
	key, id = r.FormValue("integration"), r.FormValue("id")
	if err = checkKey("Integration key", key); err == nil {
		err = checkKey("Connection ID", id)
	}
	return key, id, err
}

// connection is GET /connections/detail?integration=&id=. It reads the
// connection through the token service, so an access token due for
// refresh is refreshed first, as the reference's dashboard did.
func (h *Handler) connection(w http.ResponseWriter, r *http.Request) {
	key, id, err := connectionRef(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	v := connectionView{}
	conn, err := h.d.Tokens.Get(r.Context(), key, id, tokens.GetOptions{BeforeWait: func() { httpx.AllowSlowResponse(w) }})
	var re *tokens.RefreshError
	switch {
	case errors.Is(err, tokens.ErrUnknownConnection):
		h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted.")
		return
	case errors.As(err, &re), errors.Is(err, tokens.ErrUnknownIntegration):
		if re != nil {
			v.RefreshError = re.Message
		} else {
			v.Orphan = true
		}
		conn, err = h.d.Store.GetConnection(r.Context(), key, id)
		if errors.Is(err, store.ErrNotFound) {
			h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted.")
			return
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Conn = conn
	v.Mode = string(conn.Credentials.Type)
	if in, err := h.d.Store.GetIntegration(r.Context(), key); err == nil {
		v.Display = in.Provider
		if t, ok := h.d.Catalog.Get(in.Provider); ok {
			v.Display = t.DisplayName
		}
	}
	v.Plain, v.Secrets = credentialRows(conn.Credentials)
	v.HasRaw = len(conn.Credentials.Raw) > 0
	v.Refreshable = conn.Credentials.Type == store.OAuth2 && !conn.Credentials.RefreshToken.IsZero()
	h.render(w, r, http.StatusOK, "connection", view{Title: "Connection " + id, Nav: "connections", Flash: connectionFlash(r), Data: v})
}

// secretFields are the credential values the detail page can reveal, in
// display order.
func secretFields(c store.Credentials) map[string]string {
	out := map[string]string{}
	put := func(name, v string) {
		if v != "" {
			out[name] = v
		}
	}
	switch c.Type {
	case store.OAuth2, store.OAuth2CC:
		put("access_token", c.AccessToken.Reveal())
		put("refresh_token", c.RefreshToken.Reveal())
	case store.OAuth1:
		put("oauth_token", c.OAuthToken.Reveal())
		put("oauth_token_secret", c.OAuthTokenSecret.Reveal())
	case store.APIKey:
		put("api_key", c.APIKey.Reveal())
	case store.Basic:
		put("password", c.Password.Reveal())
	}
	return out
}

// connectionSecrets is GET /connections/secrets?integration=&id=: the
// stored credentials as JSON, for the detail page's reveal and copy
// buttons. Like every state-changing request it needs the CSRF header,
// so only the dashboard's own script can read it.
func (h *Handler) connectionSecrets(w http.ResponseWriter, r *http.Request) {
	if !csrfHeaderOK(r) {
		h.forbidden(w, r, true)
		return
	}
	key, id, err := connectionRef(r)
	if err != nil {
		httpx.WriteError(w, r, httpx.Ef("invalid_request", "%s", err.Error()))
		return
	}
	conn, err := h.d.Store.GetConnection(r.Context(), key, id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unkown_connection"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	raw := conn.Credentials.Raw
	if raw == nil {
		raw = map[string]any{}
	}
	h.log(r).Info("connection credentials revealed in the dashboard", "provider_config_key", key, "connection_id", id)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"fields": secretFields(conn.Credentials), "raw": raw})
}

// refreshConnection is POST /connections/refresh: a forced refresh through
// the token service, then back to the detail page.
func (h *Handler) refreshConnection(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	key, id, err := connectionRef(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	back := func(flash string) {
		http.Redirect(w, r, link("/connections/detail", "integration", key, "id", id, "flash", flash), http.StatusSeeOther)
	}
	conn, err := h.d.Store.GetConnection(r.Context(), key, id)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if conn.Credentials.Type != store.OAuth2 || conn.Credentials.RefreshToken.IsZero() {
		back("not-refreshable")
		return
	}
	start := time.Now()
	_, err = h.d.Tokens.Get(r.Context(), key, id, tokens.GetOptions{ForceRefresh: true, BeforeWait: func() { httpx.AllowSlowResponse(w) }})
	var re *tokens.RefreshError
	switch {
	case err == nil:
		h.log(r).Info("connection refreshed from the dashboard", "provider_config_key", key, "connection_id", id, "duration_ms", time.Since(start).Milliseconds())
		back("refreshed")
	case errors.As(err, &re):
		back("refresh-failed")
	case errors.Is(err, tokens.ErrUnknownConnection):
		h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted.")
	case errors.Is(err, tokens.ErrUnknownIntegration):
		h.errorPage(w, r, http.StatusConflict, "Cannot refresh", "The connection's integration no longer exists, so its token cannot be refreshed.")
	default:
		h.fail(w, r, err)
	}
}

// confirmDeleteConnection is GET /connections/delete?integration=&id=.
func (h *Handler) confirmDeleteConnection(w http.ResponseWriter, r *http.Request) {
	key, id, err := connectionRef(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	page, err := h.d.Store.ListConnections(r.Context(), store.ConnectionFilter{ProviderConfigKey: key, ConnectionID: id, Limit: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(page.Connections) == 0 {
		h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted.")
		return
	}
	h.render(w, r, http.StatusOK, "connection_delete", view{Title: "Delete connection " + id, Nav: "connections", Data: page.Connections[0]})
}

// deleteConnection is POST /connections/delete.
func (h *Handler) deleteConnection(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	key, id, err := connectionRef(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	err = h.d.Store.DeleteConnection(r.Context(), key, id)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such connection", "There is no connection with that integration key and connection ID. It may have been deleted already.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Info("connection deleted from the dashboard", "provider_config_key", key, "connection_id", id)
	http.Redirect(w, r, "/connections?flash=deleted", http.StatusSeeOther)
}
