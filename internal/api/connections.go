package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/tokens"
)

// TokenGetter is the credential service the connection routes read through
// (tokens.Service): the one path to fresh credentials.
type TokenGetter interface {
	Get(ctx context.Context, providerConfigKey, connectionID string, opts tokens.GetOptions) (store.Connection, error)
}

// registerConnections adds the /connection routes (SPEC §1.8, Part A).
// Connection ids are taken from the rest of the path, so an id holding a
// slash works whether the client percent-encodes it or not.
func (a *API) registerConnections(mux Router) {
	mux.HandleFunc("GET /connection", a.listConnections)
	mux.HandleFunc("GET /connection/{connectionId...}", a.getConnection)
	mux.HandleFunc("DELETE /connection/{connectionId...}", a.deleteConnection)
	mux.HandleFunc("POST /connection", a.importConnection)
}

// connectionJSON is GET /connection/:id's body: the documented fields of
// the stored row (Part A), without encryption columns.
type connectionJSON struct {
	ID                int64             `json:"id"`
	CreatedAt         string            `json:"created_at"`
	UpdatedAt         string            `json:"updated_at"`
	ProviderConfigKey string            `json:"provider_config_key"`
	ConnectionID      string            `json:"connection_id"`
	Credentials       store.Credentials `json:"credentials"`
	ConnectionConfig  map[string]any    `json:"connection_config"`
	AccountID         int               `json:"account_id"`
	Metadata          map[string]any    `json:"metadata"`
}

func toConnectionJSON(c store.Connection) connectionJSON {
	cc, md := c.ConnectionConfig, c.Metadata
	if cc == nil {
		cc = map[string]any{}
	}
	if md == nil {
		md = map[string]any{}
	}
	return connectionJSON{
		ID: c.ID, CreatedAt: store.FormatTime(c.CreatedAt), UpdatedAt: store.FormatTime(c.UpdatedAt),
		ProviderConfigKey: c.ProviderConfigKey, ConnectionID: c.ConnectionID, Credentials: c.Credentials,
		ConnectionConfig: cc, Metadata: md,
	}
}

// connectionKeys reads and checks the path's connection id and the
// provider_config_key query parameter.
func connectionKeys(r *http.Request) (key, id string, e *httpx.Error) {
	id = r.PathValue("connectionId")
	if id == "" {
		return "", "", httpx.E("missing_connection")
	}
	if e := CheckKey("connection_id", id); e != nil {
		return "", "", e
	}
	key = httpx.QueryValue(r.URL.RawQuery, "provider_config_key")
	if key == "" {
		return "", "", httpx.E("missing_provider_config")
	}
	if e := CheckKey("provider_config_key", key); e != nil {
		return "", "", e
	}
	return key, id, nil
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request) {
	key, id, e := connectionKeys(r)
	if e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	force := httpx.QueryValue(r.URL.RawQuery, "force_refresh") == "true"
	if a.d.Tokens == nil {
		httpx.WriteError(w, r, errors.New("api: Deps.Tokens is not set"))
		return
	}
	opts := tokens.GetOptions{ForceRefresh: force, BeforeWait: func() { httpx.AllowSlowResponse(w) }}
	if enc, ok := a.d.Tokens.(encodedGetter); ok {
		// The hot path: a cached connection is kept as this answer.
		body, err := enc.GetEncoded(r.Context(), key, id, opts, ConnectionCodec)
		if err != nil {
			writeTokenError(w, r, err)
			return
		}
		httpx.WriteJSONBytes(w, http.StatusOK, body)
		return
	}
	c, err := a.d.Tokens.Get(r.Context(), key, id, opts)
	if err != nil {
		writeTokenError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toConnectionJSON(c))
}

// encodedGetter is the credential service's Get with the answer's encoding
// kept beside cached connections (tokens.Service).
type encodedGetter interface {
	GetEncoded(ctx context.Context, providerConfigKey, connectionID string, opts tokens.GetOptions, enc *tokens.Codec) ([]byte, error)
}

// ConnectionCodec encodes GET /connection/:id's answer (what WriteJSON
// writes for toConnectionJSON: the JSON and a newline) and decodes it back.
// The server's token cache keeps connections in it (tokens.CacheOptions),
// so a cached token fetch is answered with the kept bytes.
var ConnectionCodec = tokens.NewCodec(encodeConnection, decodeConnection)

func encodeConnection(c store.Connection) ([]byte, error) {
	b, err := json.Marshal(toConnectionJSON(c))
	if err != nil {
		return nil, err
	}
	// Exactly sized: the encoding is kept as long as the connection is
	// cached.
	out := make([]byte, len(b)+1)
	copy(out, b)
	out[len(b)] = '\n'
	return out, nil
}

// decodeConnection reverses encodeConnection for what the answer holds
// (tokens.NewCodec's contract: the timestamps, at millisecond precision
// here, are restored by the cache).
func decodeConnection(b []byte) (store.Connection, error) {
	var j connectionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return store.Connection{}, err
	}
	return store.Connection{ID: j.ID, ProviderConfigKey: j.ProviderConfigKey, ConnectionID: j.ConnectionID,
		Credentials: j.Credentials, ConnectionConfig: orEmpty(j.ConnectionConfig), Metadata: orEmpty(j.Metadata)}, nil
}

// orEmpty is m, or an empty map for nil (JSON null).
func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// TokenError maps the credential service's errors to the wire, for every
// route that reads credentials (GET /connection/:id, the proxy, the
// dashboard API); it returns nil for errors that are not the service's own.
//
// A failed refresh keeps the reference's types with statuses that say who
// is at fault (Part A: 500 is only a server fault):
//
//	the provider refused (invalid_grant, invalid_client, other 4xx)  400 refresh_token_external_error
//	the provider was unreachable, timed out, answered 5xx or 429      502 refresh_token_external_error
//	the provider's 2xx answer held no usable token                    502 refresh_token_parsing_error
//
// payload carries external_message (the provider's error, never a token)
// and, when known, external_status, external_error and retryable.
func TokenError(err error) *httpx.Error {
	var re *tokens.RefreshError
	switch {
	case errors.Is(err, tokens.ErrUnknownConnection):
		return httpx.E("unkown_connection")
	case errors.Is(err, tokens.ErrUnknownIntegration):
		return httpx.E("unknown_provider_config")
	case !errors.As(err, &re):
		return nil
	}
	e := &httpx.Error{Status: http.StatusBadGateway, Type: "refresh_token_external_error"}
	switch re.Kind {
	case tokens.Rejected:
		e.Status = http.StatusBadRequest
		e.Message = "The provider refused to refresh the access token; the end user may need to reconnect (see payload.external_message)."
	case tokens.BadResponse:
		e.Type = "refresh_token_parsing_error"
		e.Message = "The provider's answer to the token refresh could not be used (see payload.external_message)."
	default:
		e.Message = "The provider could not be reached to refresh the access token; retry later (see payload.external_message)."
	}
	p := map[string]any{"external_message": re.Message, "retryable": re.Kind == tokens.Unavailable}
	if re.Status != 0 {
		p["external_status"] = re.Status
	}
	if re.Code != "" {
		p["external_error"] = re.Code
	}
	return e.WithPayload(p)
}

// writeTokenError answers a failed credential read.
func writeTokenError(w http.ResponseWriter, r *http.Request, err error) {
	switch e := TokenError(err); {
	case e != nil:
		httpx.WriteError(w, r, e)
	case r.Context().Err() != nil:
		// The client has gone (or the server's deadline passed): nobody
		// reads an answer.
		httpx.Logger(r.Context()).Info("connection request abandoned", "err", err)
	default:
		httpx.WriteError(w, r, err)
	}
}

// connectionListItem is one entry of GET /connection.
type connectionListItem struct {
	ID           int64  `json:"id"`
	ConnectionID string `json:"connection_id"`
	Provider     string `json:"provider"` // the provider config key, as the reference names it
	Created      string `json:"created"`
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request) {
	f := store.ConnectionFilter{ConnectionID: r.URL.Query().Get("connectionId")}
	if f.ConnectionID != "" {
		if e := CheckKey("connection_id", f.ConnectionID); e != nil {
			httpx.WriteError(w, r, e)
			return
		}
	}
	page, err := a.d.Store.ListConnections(r.Context(), f)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	out := make([]connectionListItem, 0, len(page.Connections))
	for _, c := range page.Connections {
		out = append(out, connectionListItem{ID: c.ID, ConnectionID: c.ConnectionID, Provider: c.ProviderConfigKey, Created: store.FormatTime(c.CreatedAt)})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"connections": out})
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request) {
	key, id, e := connectionKeys(r)
	if e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	err := a.d.Store.DeleteConnection(r.Context(), key, id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unkown_connection"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.Logger(r.Context()).Info("connection deleted", "provider_config_key", key, "connection_id", id)
	httpx.WriteEmpty(w)
}

// importBody is POST /connection's body (Part A "Connections can be
// imported"). Pointer fields distinguish absent from empty.
type importBody struct {
	ConnectionID      string         `json:"connection_id"`
	ProviderConfigKey string         `json:"provider_config_key"`
	AccessToken       *string        `json:"access_token"`
	RefreshToken      *string        `json:"refresh_token"`
	ExpiresAt         *string        `json:"expires_at"`
	ExpiresIn         *float64       `json:"expires_in"`
	Raw               map[string]any `json:"raw"`
	Metadata          map[string]any `json:"metadata"`
	ConnectionConfig  map[string]any `json:"connection_config"`
	OAuthToken        *string        `json:"oauth_token"`
	OAuthTokenSecret  *string        `json:"oauth_token_secret"`
	Username          *string        `json:"username"`
	Password          *string        `json:"password"`
	APIKey            *string        `json:"api_key"`
	// OAUTH2_CC: the connection's own client credentials, for templates
	// that declare them per connection.
	ClientID          *string `json:"client_id"`
	ClientSecret      *string `json:"client_secret"`
	ClientCertificate *string `json:"client_certificate"`
	ClientPrivateKey  *string `json:"client_private_key"`
}

// ccIssuer obtains the first token of an OAUTH2_CC connection
// (tokens.Service).
type ccIssuer interface {
	IssueClientCredentials(ctx context.Context, providerConfigKey string, c *store.Connection) error
}

// templateSource gives the provider template of an integration
// (tokens.Service), for validating imported values against its
// declarations.
type templateSource interface {
	Template(name string) (*provider.Template, bool)
}

// maxImportBody bounds an import body (raw token responses can be large).
const maxImportBody = 256 << 10

func (a *API) importConnection(w http.ResponseWriter, r *http.Request) {
	var b importBody
	if e := httpx.DecodeJSON(w, r, &b, maxImportBody); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if b.ConnectionID == "" {
		httpx.WriteError(w, r, httpx.E("missing_connection"))
		return
	}
	if e := CheckKey("connection_id", b.ConnectionID); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	if b.ProviderConfigKey == "" {
		httpx.WriteError(w, r, httpx.E("missing_provider_config"))
		return
	}
	if e := CheckKey("provider_config_key", b.ProviderConfigKey); e != nil {
		httpx.WriteError(w, r, e)
		return
	}
	in, err := a.d.Store.GetIntegration(r.Context(), b.ProviderConfigKey)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.E("unknown_provider_config"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	tmpl, ok := a.d.Templates(in.Provider)
	if !ok {
		httpx.WriteError(w, r, httpx.Ef("unsupported_auth_mode", "The integration's provider template %q is not in the catalog, so its credentials cannot be imported.", in.Provider))
		return
	}
	mode := store.AuthMode(tmpl.AuthMode)
	issue := mode == store.OAuth2CC && (b.AccessToken == nil || *b.AccessToken == "")
	var creds store.Credentials
	var e *httpx.Error
	if issue {
		creds = store.Credentials{Type: store.OAuth2CC}
	} else {
		creds, e = importCredentials(mode, &b, time.Now())
		if e != nil {
			httpx.WriteError(w, r, e)
			return
		}
	}
	if mode == store.OAuth2CC {
		creds.ClientID = deref(b.ClientID)
		creds.ClientSecret = secret.String(deref(b.ClientSecret))
		creds.ClientCertificate = secret.String(deref(b.ClientCertificate))
		creds.ClientPrivateKey = secret.String(deref(b.ClientPrivateKey))
	}
	if ts, ok := a.d.Tokens.(templateSource); ok {
		if t, ok := ts.Template(in.Provider); ok {
			if e := checkDeclarations(t, creds, b.ConnectionConfig); e != nil {
				httpx.WriteError(w, r, e)
				return
			}
		}
	}
	c := store.Connection{
		ProviderConfigKey: b.ProviderConfigKey, ConnectionID: b.ConnectionID, Credentials: creds,
		ConnectionConfig: b.ConnectionConfig, Metadata: b.Metadata,
	}
	if b.ConnectionConfig == nil || b.Metadata == nil {
		// Re-importing replaces the credentials; config and metadata the
		// body leaves out are kept.
		old, err := a.d.Store.GetConnection(r.Context(), c.ProviderConfigKey, c.ConnectionID)
		switch {
		case err == nil:
			if b.ConnectionConfig == nil {
				c.ConnectionConfig = old.ConnectionConfig
			}
			if b.Metadata == nil {
				c.Metadata = old.Metadata
			}
		case !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrUndecryptable):
			httpx.WriteError(w, r, err)
			return
		}
	}
	if issue {
		// No token given: the server obtains the first one itself.
		iss, ok := a.d.Tokens.(ccIssuer)
		if !ok {
			httpx.WriteError(w, r, errors.New("api: Deps.Tokens cannot obtain client-credentials tokens"))
			return
		}
		httpx.AllowSlowResponse(w) // the first token comes from the provider
		if err := iss.IssueClientCredentials(r.Context(), c.ProviderConfigKey, &c); err != nil {
			writeIssueError(w, r, err)
			return
		}
	}
	created, err := a.d.Store.UpsertConnection(r.Context(), &c)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.Logger(r.Context()).Info("connection imported", "provider_config_key", c.ProviderConfigKey, "connection_id", c.ConnectionID, "created", created)
	httpx.WriteJSON(w, http.StatusCreated, toConnectionJSON(c))
}

// importCredentials validates the credential fields for the template's
// auth mode and builds the stored credentials.
func importCredentials(mode store.AuthMode, b *importBody, now time.Time) (store.Credentials, *httpx.Error) {
	missing := func(p *string) bool { return p == nil || *p == "" }
	switch mode {
	case store.OAuth2, store.OAuth2CC:
		if missing(b.AccessToken) {
			return store.Credentials{}, httpx.E("missing_access_token")
		}
		c := store.Credentials{Type: mode, AccessToken: secret.String(*b.AccessToken)}
		if b.RefreshToken != nil && mode == store.OAuth2 {
			c.RefreshToken = secret.String(*b.RefreshToken)
		}
		switch {
		case b.ExpiresAt != nil && *b.ExpiresAt != "":
			t, err := parseISO(*b.ExpiresAt)
			if err != nil {
				return store.Credentials{}, httpx.Ef("invalid_body", "Field 'expires_at' must be an ISO-8601 date and time such as 2024-05-06T07:08:09Z, not %q.", clip(*b.ExpiresAt, 60))
			}
			c.ExpiresAt = &t
		case b.ExpiresIn != nil:
			if *b.ExpiresIn <= 0 || *b.ExpiresIn > 10*365*24*3600 {
				return store.Credentials{}, httpx.Ef("invalid_body", "Field 'expires_in' must be a positive number of seconds (at most ten years).")
			}
			t := now.Add(time.Duration(*b.ExpiresIn * float64(time.Second))).UTC().Truncate(time.Millisecond)
			c.ExpiresAt = &t
		}
		raw := make(map[string]any, len(b.Raw)+4)
		for k, v := range b.Raw {
			raw[k] = v
		}
		if b.Raw == nil {
			raw["access_token"] = *b.AccessToken
			if !c.RefreshToken.IsZero() {
				raw["refresh_token"] = c.RefreshToken.Reveal()
			}
			if b.ExpiresIn != nil {
				raw["expires_in"] = *b.ExpiresIn
			}
		}
		if c.ExpiresAt != nil {
			raw["expires_at"] = store.FormatTime(*c.ExpiresAt)
		}
		c.Raw = raw
		return c, nil
	case store.OAuth1:
		if missing(b.OAuthToken) {
			return store.Credentials{}, httpx.E("missing_oauth_token")
		}
		if missing(b.OAuthTokenSecret) {
			return store.Credentials{}, httpx.E("missing_oauth_token_secret")
		}
		raw := b.Raw
		if raw == nil {
			raw = map[string]any{"oauth_token": *b.OAuthToken, "oauth_token_secret": *b.OAuthTokenSecret}
		}
		return store.Credentials{Type: store.OAuth1, OAuthToken: secret.String(*b.OAuthToken), OAuthTokenSecret: secret.String(*b.OAuthTokenSecret), Raw: raw}, nil
	case store.Basic:
		if missing(b.Username) {
			return store.Credentials{}, httpx.E("missing_basic_username")
		}
		if b.Password == nil {
			return store.Credentials{}, httpx.E("missing_basic_password")
		}
		return store.Credentials{Type: store.Basic, Username: *b.Username, Password: secret.String(*b.Password)}, nil
	case store.APIKey:
		if missing(b.APIKey) {
			return store.Credentials{}, httpx.E("missing_api_key")
		}
		return store.Credentials{Type: store.APIKey, APIKey: secret.String(*b.APIKey)}, nil
	}
	return store.Credentials{}, httpx.Ef("unsupported_auth_mode", "Connections of auth mode %s cannot be imported.", mode)
}

// parseISO parses an ISO-8601 date-time with a time zone (RFC 3339, with
// or without fractional seconds).
func parseISO(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// Compile-time check that the credential service fits.
var (
	_ TokenGetter   = (*tokens.Service)(nil)
	_ encodedGetter = (*tokens.Service)(nil)
)

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkDeclarations validates imported credentials and connection config
// against the template's declarations (patterns Go's regexp can compile,
// enums).
func checkDeclarations(t *provider.Template, c store.Credentials, cc map[string]any) *httpx.Error {
	vals := map[string]string{}
	switch c.Type {
	case store.APIKey:
		vals["apiKey"] = c.APIKey.Reveal()
	case store.Basic:
		vals["username"], vals["password"] = c.Username, c.Password.Reveal()
	case store.OAuth2CC:
		vals["client_id"], vals["client_secret"] = c.ClientID, c.ClientSecret.Reveal()
		vals["client_certificate"], vals["client_private_key"] = c.ClientCertificate.Reveal(), c.ClientPrivateKey.Reveal()
	}
	if fe := t.CheckCredentials(vals); fe != nil {
		return httpx.Ef("invalid_body", "%s", fe.Error())
	}
	if fe := t.CheckConnectionConfig(cc, false); fe != nil {
		return httpx.Ef("invalid_body", "%s", fe.Error())
	}
	return nil
}

// writeIssueError answers a failed first client-credentials token request:
// 400 when the provider refused (or the template cannot be built from the
// connection's values), 502 when it was unreachable or its answer unusable.
func writeIssueError(w http.ResponseWriter, r *http.Request, err error) {
	var re *tokens.RefreshError
	switch {
	case errors.Is(err, tokens.ErrUnknownIntegration):
		httpx.WriteError(w, r, httpx.E("unknown_provider_config"))
	case errors.Is(err, tokens.ErrUnknownTemplate):
		httpx.WriteError(w, r, httpx.Ef("unsupported_auth_mode", "The integration's provider template is not in the catalog."))
	case errors.As(err, &re):
		e := &httpx.Error{Status: http.StatusBadGateway, Type: "client_credentials_error",
			Message: "The provider's token endpoint could not be reached; retry later (see payload.external_message)."}
		switch re.Kind {
		case tokens.Rejected:
			e.Status = http.StatusBadRequest
			e.Message = "The provider refused the client-credentials token request (see payload.external_message)."
		case tokens.BadResponse:
			e.Message = "The provider's answer to the client-credentials token request could not be used (see payload.external_message)."
		}
		p := map[string]any{"external_message": re.Message, "retryable": re.Kind == tokens.Unavailable}
		if re.Status != 0 {
			p["external_status"] = re.Status
		}
		if re.Code != "" {
			p["external_error"] = re.Code
		}
		httpx.WriteError(w, r, e.WithPayload(p))
	default:
		writeTokenError(w, r, err)
	}
}
