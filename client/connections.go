package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuthMode is a provider template's authentication mode, and the type of
// the credentials a connection holds (credentials.type on the wire).
type AuthMode string

// The auth modes a server may answer with.
const (
	ModeOAuth2   AuthMode = "OAUTH2"
	ModeOAuth1   AuthMode = "OAUTH1"
	ModeAPIKey   AuthMode = "API_KEY"
	ModeBasic    AuthMode = "BASIC"
	ModeOAuth2CC AuthMode = "OAUTH2_CC"
)

// Credentials is a connection's secret part, as GET /connection/:id answers
// it. Which fields are set depends on Type:
//
//	OAUTH2    AccessToken, RefreshToken (when the provider issued one), ExpiresAt (when known), Raw
//	OAUTH2_CC AccessToken (the wire's "token"), ExpiresAt, Raw, and the connection's own
//	          ClientID, ClientSecret, ClientCertificate, ClientPrivateKey when its template
//	          declares them per connection
//	OAUTH1    OAuthToken, OAuthTokenSecret, Raw
//	API_KEY   APIKey
//	BASIC     Username, Password
//
// Its JSON encoding is the server's. Printing it with fmt or logging it
// with log/slog shows only its type: the secrets never reach a log line by
// accident.
type Credentials struct {
	Type             AuthMode       `json:"type"`
	AccessToken      string         `json:"access_token,omitempty"`
	RefreshToken     string         `json:"refresh_token,omitempty"`
	ExpiresAt        *time.Time     `json:"expires_at,omitempty"`
	OAuthToken       string         `json:"oauth_token,omitempty"`
	OAuthTokenSecret string         `json:"oauth_token_secret,omitempty"`
	APIKey           string         `json:"apiKey,omitempty"`
	Username         string         `json:"username,omitempty"`
	Password         string         `json:"password,omitempty"`
	Raw              map[string]any `json:"raw,omitempty"`

	ClientID          string `json:"client_id,omitempty"`
	ClientSecret      string `json:"client_secret,omitempty"`
	ClientCertificate string `json:"client_certificate,omitempty"`
	ClientPrivateKey  string `json:"client_private_key,omitempty"`
}

// credentialsWire is the wire shape: OAUTH2_CC names its access token
// "token".
type credentialsWire struct {
	Type             AuthMode       `json:"type"`
	AccessToken      string         `json:"access_token,omitempty"`
	RefreshToken     string         `json:"refresh_token,omitempty"`
	Token            string         `json:"token,omitempty"`
	ExpiresAt        *time.Time     `json:"expires_at,omitempty"`
	OAuthToken       string         `json:"oauth_token,omitempty"`
	OAuthTokenSecret string         `json:"oauth_token_secret,omitempty"`
	APIKey           string         `json:"apiKey,omitempty"`
	Username         *string        `json:"username,omitempty"`
	Password         *string        `json:"password,omitempty"`
	Raw              map[string]any `json:"raw,omitempty"`

	ClientID          string `json:"client_id,omitempty"`
	ClientSecret      string `json:"client_secret,omitempty"`
	ClientCertificate string `json:"client_certificate,omitempty"`
	ClientPrivateKey  string `json:"client_private_key,omitempty"`
}

// UnmarshalJSON decodes the server's shape.
func (c *Credentials) UnmarshalJSON(b []byte) error {
	var w credentialsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Credentials{
		Type: w.Type, AccessToken: w.AccessToken, RefreshToken: w.RefreshToken, ExpiresAt: w.ExpiresAt,
		OAuthToken: w.OAuthToken, OAuthTokenSecret: w.OAuthTokenSecret, APIKey: w.APIKey, Raw: w.Raw,
		ClientID: w.ClientID, ClientSecret: w.ClientSecret, ClientCertificate: w.ClientCertificate, ClientPrivateKey: w.ClientPrivateKey,
	}
	if c.AccessToken == "" {
		c.AccessToken = w.Token
	}
	if w.Username != nil {
		c.Username = *w.Username
	}
	if w.Password != nil {
		c.Password = *w.Password
	}
	return nil
}

// MarshalJSON encodes the server's shape (revealing the secrets).
func (c Credentials) MarshalJSON() ([]byte, error) {
	w := credentialsWire{
		Type: c.Type, AccessToken: c.AccessToken, RefreshToken: c.RefreshToken, ExpiresAt: c.ExpiresAt,
		OAuthToken: c.OAuthToken, OAuthTokenSecret: c.OAuthTokenSecret, APIKey: c.APIKey, Raw: c.Raw,
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, ClientCertificate: c.ClientCertificate, ClientPrivateKey: c.ClientPrivateKey,
	}
	switch c.Type {
	case ModeOAuth2CC:
		w.Token, w.AccessToken = c.AccessToken, ""
	case ModeBasic:
		w.Username, w.Password = &c.Username, &c.Password
	}
	return json.Marshal(w)
}

// String describes the credentials without their secrets.
func (c Credentials) String() string {
	if c.ExpiresAt != nil {
		return fmt.Sprintf("{%s credentials, expires %s, secrets redacted}", c.Type, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("{%s credentials, secrets redacted}", c.Type)
}

// GoString is String, so %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs the type only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", string(c.Type)), slog.String("secrets", "[redacted]"))
}

// Connection is GET /connection/:id's answer: a connection with its
// credentials.
type Connection struct {
	ID                int64          `json:"id"`
	CreatedAt         time.Time      `json:"created_at"`
	UpdatedAt         time.Time      `json:"updated_at"`
	ProviderConfigKey string         `json:"provider_config_key"`
	ConnectionID      string         `json:"connection_id"`
	Credentials       Credentials    `json:"credentials"`
	ConnectionConfig  map[string]any `json:"connection_config"`
	AccountID         int            `json:"account_id"`
	Metadata          map[string]any `json:"metadata"`
}

// ConnectionSummary is one entry of GET /connection: no credentials.
type ConnectionSummary struct {
	ID           int64  `json:"id"`
	ConnectionID string `json:"connection_id"`
	// ProviderConfigKey is the connection's integration (the wire calls it
	// "provider", as the reference does).
	ProviderConfigKey string    `json:"provider"`
	Created           time.Time `json:"created"`
}

// ConnectionFilter selects connections for ListConnections; zero fields do
// not filter.
type ConnectionFilter struct {
	// ConnectionID keeps only the connections with this exact id (one per
	// integration that has it).
	ConnectionID string
}

// ListConnections lists connections, newest first, without credentials
// (GET /connection[?connectionId=]). Listing never refreshes anything.
func (c *Client) ListConnections(ctx context.Context, f ConnectionFilter) ([]ConnectionSummary, error) {
	var q url.Values
	if f.ConnectionID != "" {
		q = url.Values{"connectionId": {f.ConnectionID}}
	}
	var out struct {
		Connections []ConnectionSummary `json:"connections"`
	}
	if err := c.do(ctx, http.MethodGet, c.endpoint(q, "connection"), nil, &out); err != nil {
		return nil, err
	}
	if out.Connections == nil {
		out.Connections = []ConnectionSummary{}
	}
	return out.Connections, nil
}

// GetConnection returns a connection with fresh credentials
// (GET /connection/:id?provider_config_key=&force_refresh=). The server
// refreshes OAuth 2 tokens that are about to expire before answering, and
// always when forceRefresh is set; a refresh the provider refuses is an
// *APIError of type refresh_token_external_error (payload.external_message
// says why).
func (c *Client) GetConnection(ctx context.Context, providerConfigKey, connectionID string, forceRefresh bool) (*Connection, error) {
	q := url.Values{
		"provider_config_key": {providerConfigKey},
		"force_refresh":       {strconv.FormatBool(forceRefresh)},
	}
	var out Connection
	if err := c.do(ctx, http.MethodGet, c.endpoint(q, "connection", connectionID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteConnection deletes a connection
// (DELETE /connection/:id?provider_config_key=). An unknown connection is
// an *APIError of type unkown_connection (sic).
func (c *Client) DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error {
	q := url.Values{"provider_config_key": {providerConfigKey}}
	return c.do(ctx, http.MethodDelete, c.endpoint(q, "connection", connectionID), nil, nil)
}

// ImportConnectionInput is a connection to store with credentials obtained
// elsewhere (POST /connection), e.g. when migrating from another system.
// Which credential fields are required depends on the integration's auth
// mode:
//
//	OAUTH2             AccessToken; optional RefreshToken, ExpiresAt or ExpiresIn, Raw
//	OAUTH2_CC          optional AccessToken (with ExpiresAt or ExpiresIn, Raw): without one the server
//	                   obtains a token at once; ClientID, ClientSecret, ClientCertificate,
//	                   ClientPrivateKey when the template declares them per connection
//	OAUTH1             OAuthToken, OAuthTokenSecret; optional Raw
//	BASIC              Username, Password (sent, possibly empty, whenever Username is set)
//	API_KEY            APIKey
//
// A missing field is an *APIError naming it (missing_access_token,
// missing_oauth_token, missing_oauth_token_secret, missing_basic_username,
// missing_basic_password, missing_api_key); a value the template's
// declarations refuse is one of type invalid_body.
type ImportConnectionInput struct {
	ProviderConfigKey string
	ConnectionID      string

	AccessToken  string
	RefreshToken string
	// ExpiresAt is when the access token expires; zero means unknown (or
	// see ExpiresIn).
	ExpiresAt time.Time
	// ExpiresIn is the token's remaining lifetime, counted by the server
	// from its receipt; used when ExpiresAt is zero. Sent in seconds.
	ExpiresIn time.Duration
	// Raw is the provider's token response, kept as is (it holds tokens).
	Raw map[string]any

	OAuthToken       string
	OAuthTokenSecret string

	Username string
	Password string

	APIKey string

	// OAUTH2_CC: the connection's own client credentials.
	ClientID          string
	ClientSecret      string
	ClientCertificate string // PEM
	ClientPrivateKey  string // PEM

	// ConnectionConfig holds the template's parameters, with plain keys
	// ({"subdomain":"acme"}). Nil keeps the stored value on a re-import.
	ConnectionConfig map[string]any
	// Metadata is free-form. Nil keeps the stored value on a re-import.
	Metadata map[string]any
}

// String describes the input without its secrets.
func (in ImportConnectionInput) String() string {
	return fmt.Sprintf("{import %q/%q, secrets redacted}", in.ProviderConfigKey, in.ConnectionID)
}

// GoString is String, so %#v redacts too.
func (in ImportConnectionInput) GoString() string { return in.String() }

// MarshalJSON encodes the body of POST /connection: empty fields are left
// out, but a password is sent whenever a username is.
func (in ImportConnectionInput) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"provider_config_key": in.ProviderConfigKey,
		"connection_id":       in.ConnectionID,
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("access_token", in.AccessToken)
	set("refresh_token", in.RefreshToken)
	switch {
	case !in.ExpiresAt.IsZero():
		m["expires_at"] = in.ExpiresAt.UTC().Format(time.RFC3339Nano)
	case in.ExpiresIn > 0:
		m["expires_in"] = in.ExpiresIn.Seconds()
	}
	set("oauth_token", in.OAuthToken)
	set("oauth_token_secret", in.OAuthTokenSecret)
	set("username", in.Username)
	if in.Username != "" || in.Password != "" {
		m["password"] = in.Password
	}
	set("api_key", in.APIKey)
	set("client_id", in.ClientID)
	set("client_secret", in.ClientSecret)
	set("client_certificate", in.ClientCertificate)
	set("client_private_key", in.ClientPrivateKey)
	if in.Raw != nil {
		m["raw"] = in.Raw
	}
	if in.ConnectionConfig != nil {
		m["connection_config"] = in.ConnectionConfig
	}
	if in.Metadata != nil {
		m["metadata"] = in.Metadata
	}
	return json.Marshal(m)
}

// ImportConnection stores a connection with the given credentials
// (POST /connection) and returns it as stored. Importing an existing
// (integration, connection id) pair replaces its credentials.
func (c *Client) ImportConnection(ctx context.Context, in ImportConnectionInput) (*Connection, error) {
	var out Connection
	if err := c.do(ctx, http.MethodPost, c.endpoint(nil, "connection"), in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
