package store

import (
	"log/slog"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// AuthMode is a provider template's authentication mode, and the type of the
// credentials a connection holds.
type AuthMode string

// The auth modes the server knows.
const (
	OAuth2   AuthMode = "OAUTH2"
	OAuth1   AuthMode = "OAUTH1"
	APIKey   AuthMode = "API_KEY"
	Basic    AuthMode = "BASIC"
	OAuth2CC AuthMode = "OAUTH2_CC"
)

// Integration is what the reference calls a provider config: a user-chosen
// unique key bound to a provider template and the OAuth client registered
// with that provider.
type Integration struct {
	ID           int64
	Key          string // unique_key, the provider config key
	Provider     string // template name in the provider catalog
	ClientID     string
	ClientSecret secret.String
	Scopes       string // comma-separated, as the reference stores them
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// LogValue keeps the client secret out of logs.
func (i Integration) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", i.Key), slog.String("provider", i.Provider))
}

// Credentials is the secret part of a connection. Which fields are set depends
// on Type. The whole value is encrypted at rest when a key is configured.
// Its JSON encoding (MarshalJSON) is the wire and storage shape of the
// reference and reveals the secrets; it never appears in logs because
// LogValue redacts it.
type Credentials struct {
	Type AuthMode

	// OAUTH2 and OAUTH2_CC.
	AccessToken  secret.String
	RefreshToken secret.String // OAUTH2 only
	ExpiresAt    *time.Time

	// OAUTH2_CC: the connection's own client credentials, for templates that
	// declare them per connection (credentials: client_id, client_secret,
	// client_certificate, client_private_key). Empty when the integration's
	// client id and secret are used. The server re-uses them to obtain new
	// tokens.
	ClientID          string
	ClientSecret      secret.String
	ClientCertificate secret.String // PEM, for mutual TLS
	ClientPrivateKey  secret.String // PEM or JWK: mutual TLS key or private_key_jwt signing key

	// OAUTH1.
	OAuthToken       secret.String
	OAuthTokenSecret secret.String

	// API_KEY.
	APIKey secret.String

	// BASIC.
	Username string
	Password secret.String

	// Raw is the provider's token response as received (OAuth2: plus the
	// computed expires_at). It holds tokens: treat it as secret.
	Raw map[string]any
}

// LogValue redacts everything but the type.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", string(c.Type)), slog.String("secrets", secret.Redacted))
}

// Connection is an end user's account at a provider, as linked through one
// integration.
type Connection struct {
	ID                int64
	ProviderConfigKey string
	ConnectionID      string
	Credentials       Credentials
	// ConnectionConfig holds the connection's template parameters with plain
	// keys ({"subdomain":"acme"}); values are usually strings.
	ConnectionConfig map[string]any
	// Metadata holds values the provider returned during the flow.
	Metadata  map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time // moves on every write

	// Refresh state.
	LastRefreshAt        *time.Time // last successful refresh
	LastRefreshFailureAt *time.Time // last failed refresh; nil after a success
	LastRefreshError     string     // the provider's error of the last failure; never a token
	RefreshFailures      int        // consecutive failures since the last success
}

// LogValue keeps credentials out of logs.
func (c Connection) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider_config_key", c.ProviderConfigKey),
		slog.String("connection_id", c.ConnectionID),
	)
}

// ConnectionSummary is a connection without its credentials, for listings.
// Listing never decrypts anything.
type ConnectionSummary struct {
	ID                int64
	ProviderConfigKey string
	ConnectionID      string
	Provider          string   // template of the connection's integration; "" when it is gone
	AuthMode          AuthMode // the credentials' type
	ExpiresAt         *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastRefreshError  string
}

// ConnectionFilter selects connections for ListConnections. Zero fields do not
// filter. Results are ordered newest first (descending ID).
type ConnectionFilter struct {
	ProviderConfigKey string // exact integration key
	ConnectionID      string // exact connection id
	Search            string // case-insensitive substring of the connection id
	BeforeID          int64  // keyset pagination: only IDs below this one
	Limit             int    // 0 means no limit
}

// ConnectionPage is one page of ListConnections.
type ConnectionPage struct {
	Connections []ConnectionSummary
	// Total is the number of connections matching the filter, ignoring
	// BeforeID and Limit, counted up to the store's count cap
	// (Options.CountCap): cap+1 means "more than cap".
	Total int64
}

// OAuthSession is the server-side state of one OAuth dance, from
// /oauth/connect to /oauth/callback. ID is the state parameter.
type OAuthSession struct {
	ID                 string
	Provider           string
	ProviderConfigKey  string
	ConnectionID       string
	CallbackURL        string
	AuthMode           AuthMode
	ConnectionConfig   map[string]any
	WSClientID         string
	CodeVerifier       secret.String // PKCE; sealed at rest
	RequestTokenSecret secret.String // OAuth1; sealed at rest
	CreatedAt          time.Time
	ExpiresAt          time.Time
}

// LogValue keeps the session's secrets and state out of logs.
func (s OAuthSession) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider_config_key", s.ProviderConfigKey),
		slog.String("connection_id", s.ConnectionID),
	)
}

// Activity is one entry of the activity log: an OAuth flow, a token fetch or
// refresh, a proxied call. It never holds headers, bodies or secrets.
type Activity struct {
	ID                int64
	Time              time.Time
	Action            string // "oauth", "token", "refresh", "proxy", ...
	Success           bool
	ProviderConfigKey string
	ConnectionID      string
	Provider          string
	Method            string
	Endpoint          string // path without query values
	Status            int
	Duration          time.Duration
	Attempts          int
	Message           string
}

// ActivityFilter selects activity entries, newest first. Zero fields do not
// filter.
type ActivityFilter struct {
	Action            string
	ProviderConfigKey string
	ConnectionID      string
	Success           *bool
	BeforeID          int64
	Limit             int // 0 means 100
}

// KeyCount is how many stored secret values of one table use one key id ("" =
// plaintext).
type KeyCount struct {
	Table string
	KeyID string
	Count int64
}

// Event is a change notification shared by every instance on the same
// database. Delivery is at most once; a subscriber that may have missed
// events receives TopicReset.
type Event struct {
	Topic   string
	Payload string
}

// Event topics.
const (
	// TopicConnection: a connection was written or deleted. Payload:
	// ConnectionEventPayload(providerConfigKey, connectionID).
	TopicConnection = "connection"
	// TopicIntegration: an integration was written or deleted. Payload: its key.
	TopicIntegration = "integration"
	// TopicReset: the subscription may have missed events (for example the
	// listener reconnected); caches must drop everything.
	TopicReset = "reset"
	// TopicFlowResult: the outcome of an OAuth flow for a WebSocket client.
	// Payload: JSON chosen by the connect package.
	TopicFlowResult = "flow_result"
)

// ConnectionEventPayload is the payload of a TopicConnection event.
func ConnectionEventPayload(providerConfigKey, connectionID string) string {
	return providerConfigKey + "\x00" + connectionID
}
