package provider

import (
	"time"
)

// AuthMode says how connections of a template authenticate.
type AuthMode string

// The auth modes this server implements. Any other auth_mode in a catalog
// file is an error.
const (
	// OAuth2 is the OAuth 2.0 authorization-code flow (auth_mode: OAUTH2).
	OAuth2 AuthMode = "OAUTH2"
	// OAuth1 is the OAuth 1.0a three-legged flow (auth_mode: OAUTH1).
	OAuth1 AuthMode = "OAUTH1"
	// APIKey connections hold an API key the end user enters (auth_mode: API_KEY).
	APIKey AuthMode = "API_KEY"
	// Basic connections hold a username and password (auth_mode: BASIC).
	Basic AuthMode = "BASIC"
	// OAuth2CC is the OAuth 2.0 client-credentials grant (auth_mode: OAUTH2_CC).
	OAuth2CC AuthMode = "OAUTH2_CC"
)

// AuthModes lists the supported auth modes in a stable order.
var AuthModes = []AuthMode{OAuth2, OAuth1, APIKey, Basic, OAuth2CC}

// Valid reports whether m is one of the supported auth modes.
func (m AuthMode) Valid() bool {
	switch m {
	case OAuth2, OAuth1, APIKey, Basic, OAuth2CC:
		return true
	}
	return false
}

// Values of the enumerated template keys. Load fills the documented default
// when a key is absent, so the engine never sees an empty value for these.
const (
	// AuthorizationMethodBody sends client_id/client_secret in the token request body (default).
	AuthorizationMethodBody = "body"
	// AuthorizationMethodHeader sends them as a form-encoded Basic Authorization header instead.
	AuthorizationMethodHeader = "header"

	// BodyFormatForm encodes token requests as application/x-www-form-urlencoded (default).
	BodyFormatForm = "form"
	// BodyFormatJSON encodes token requests as a flat JSON object.
	BodyFormatJSON = "json"
	// BodyFormatQuery sends the token request parameters in the URL query string.
	BodyFormatQuery = "query"

	// TokenAuthBasic adds a raw "Authorization: Basic base64(id:secret)" header to token requests.
	TokenAuthBasic = "basic"
	// TokenAuthPrivateKeyJWT authenticates the client with a signed JWT assertion (RFC 7523).
	TokenAuthPrivateKeyJWT = "private_key_jwt"
	// TokenAuthCustom marks a provider-specific client authentication.
	TokenAuthCustom = "custom"

	// SignatureHMACSHA1 is the OAuth 1.0a HMAC-SHA1 signature method (default).
	SignatureHMACSHA1 = "HMAC-SHA1"
	// SignatureRSASHA1 is the OAuth 1.0a RSA-SHA1 signature method.
	SignatureRSASHA1 = "RSA-SHA1"
	// SignaturePlaintext is the OAuth 1.0a PLAINTEXT signature method.
	SignaturePlaintext = "PLAINTEXT"

	// ExpiresInSeconds says a token response's expires_in counts seconds (default).
	ExpiresInSeconds = "seconds"
	// ExpiresInMilliseconds says it counts milliseconds.
	ExpiresInMilliseconds = "milliseconds"
)

// Param is one name/value pair of an ordered parameter list.
type Param struct {
	Name  string
	Value string
}

// Params is an ordered list of parameters (URL or body parameters, headers,
// replacements), in file order. Scalar YAML values (numbers, booleans) are
// held as their text ("1", "true"). Order matters on the wire: the OAuth
// engine appends authorization_params and token_params in this order.
type Params []Param

// Get returns the value of the first parameter named name.
func (p Params) Get(name string) (string, bool) {
	for _, x := range p {
		if x.Name == name {
			return x.Value, true
		}
	}
	return "", false
}

// Map returns the parameters as a map (a later duplicate wins).
func (p Params) Map() map[string]string {
	if p == nil {
		return nil
	}
	m := make(map[string]string, len(p))
	for _, x := range p {
		m[x.Name] = x.Value
	}
	return m
}

// Names returns the parameter names in order.
func (p Params) Names() []string {
	out := make([]string, len(p))
	for i, x := range p {
		out[i] = x.Name
	}
	return out
}

// Field declares one value of a connection_config, credentials or
// integration_config map: something an end user (or the server, when
// Automated) supplies. The dashboard and the browser SDK build their forms
// from these declarations.
type Field struct {
	// Name is the key (the connection-config or credential name).
	Name string
	// Type is the value type; every reference template uses "string".
	Type string
	// Title is the form label.
	Title string
	// Description is help text (the built-in catalog leaves it empty).
	Description string
	// Example is an example value.
	Example string
	// Pattern is a JavaScript regular expression the value must match (for the
	// browser; it may use syntax Go's regexp lacks, such as look-ahead).
	Pattern string
	// Format is a value format hint: hostname, uuid, email, uri.
	Format string
	// Prefix and Suffix are shown around the input (e.g. "https://", ".zendesk.com").
	Prefix, Suffix string
	// Enum lists the allowed values, when restricted.
	Enum []string
	// DefaultValue is the value used when the user gives none.
	DefaultValue string
	// Optional fields may be left empty.
	Optional bool
	// Hidden fields are not shown in forms.
	Hidden bool
	// Automated fields are filled by the server (from the callback or token
	// response), never asked of the user.
	Automated bool
	// Secret fields are masked in forms.
	Secret bool
	// Order is the display position (0 = unspecified).
	Order int
	// DocSection is an anchor in the template's DocsConnect page.
	DocSection string
	// Warnings maps a value to a warning shown when it is chosen.
	Warnings map[string]string
}

// Retry tells the proxy how the provider signals rate limits.
type Retry struct {
	// After lists response headers holding a delay in seconds (Retry-After style).
	After []string
	// At lists response headers holding the reset time (Unix seconds or a date).
	At []string
	// ErrorCodes lists the HTTP statuses to retry ("429", "5xx", ...).
	ErrorCodes []string
	// Remaining names the header with the remaining request count.
	Remaining string
	// InBody detects a rate-limit message inside the response body.
	InBody *RetryInBody
}

// RetryInBody detects a rate limit from a value in a JSON response body.
type RetryInBody struct {
	// Path is the dotted path of the value in the body.
	Path string
	// Value is a pattern (JavaScript regex literal, /.../) the value matches.
	Value string
	// Strategy says how to read the delay from the match: "after" or "at".
	Strategy string
}

// Verification describes a request that checks API_KEY / BASIC / OAUTH2_CC
// credentials when a connection is created.
type Verification struct {
	// Method is the HTTP method (GET, POST, ...).
	Method string
	// Endpoints are paths relative to the proxy base URL (or BaseURLOverride);
	// the first one that answers 2xx proves the credentials.
	Endpoints []string
	// Headers are extra headers for the check (after interpolation).
	Headers Params
	// BaseURLOverride replaces the proxy base URL for the check.
	BaseURLOverride string
	// Data is a JSON body for the check (nil = none).
	Data any
}

// Proxy holds what the proxy needs to call the provider's API.
type Proxy struct {
	// BaseURL is the API base URL the proxied endpoint is appended to. Both the
	// seed-era key base_api_url and the current proxy.base_url land here. May
	// contain placeholders and "||" alternatives (see Interpolate).
	BaseURL string
	// Headers are added to every proxied request (values interpolated; this is
	// where API_KEY and many BASIC templates say how credentials are injected,
	// e.g. "authorization: Bearer ${apiKey}").
	Headers Params
	// Query parameters added to every proxied request (values interpolated).
	Query Params
	// Body is merged into JSON request bodies (values interpolated); nil = none.
	Body map[string]any
	// Retry describes the provider's rate-limit signals; nil = none declared.
	Retry *Retry
	// Decompress asks the proxy to decompress gzip responses before returning them.
	Decompress bool
	// Verification is the credential check; nil = none.
	Verification *Verification
}

// Template is one provider template of the catalog. Field comments name the
// YAML key; docs/catalog.md describes each key and which component uses it.
// Fields of enumerated keys hold their default when the key is absent.
type Template struct {
	// Name is the template's name (its top-level key), the `provider` of an integration.
	Name string
	// Alias is the template this one was merged from (alias), or "".
	Alias string
	// AuthMode is auth_mode (after alias resolution), always a supported mode.
	AuthMode AuthMode

	// DisplayName is display_name (falls back to Name when absent).
	DisplayName string
	// Categories is categories.
	Categories []string
	// Docs is docs: a documentation link.
	Docs string
	// DocsConnect is docs_connect: the page explaining how to connect.
	DocsConnect string
	// SetupGuideURL is setup_guide_url: how to register an OAuth app.
	SetupGuideURL string

	// AuthorizationURL is authorization_url (OAUTH2: interpolated; OAUTH1: user authorization page).
	AuthorizationURL string
	// AuthorizationParams is authorization_params: extra query parameters on the authorization redirect.
	AuthorizationParams Params
	// AuthorizationURLReplacements is authorization_url_replacements: text
	// replacements applied, in order, to the built authorization URL
	// (e.g. "client_id" -> "client_key").
	AuthorizationURLReplacements Params
	// AuthorizationURLFragment is authorization_url_fragment: a path appended to
	// the authorization URL after interpolation.
	AuthorizationURLFragment string
	// AuthorizationURLSkipEmpty is authorization_url_skip_empty: omit empty
	// parameters (such as an empty scope) from the authorization URL.
	AuthorizationURLSkipEmpty bool
	// AuthorizationURLSkipEncode is authorization_url_skip_encode: names of
	// authorization URL parameters whose values are sent without percent-encoding.
	AuthorizationURLSkipEncode []string
	// DecodeURL is decode_url: percent-decode the built authorization URL before redirecting.
	DecodeURL bool
	// AuthorizationCodeParam is authorization_code_param_in_callback: the
	// callback query parameter holding the code (default "code").
	AuthorizationCodeParam string
	// AuthorizationCodeParamInWebhook is authorization_code_param_in_webhook:
	// the code arrives by webhook instead of the callback. No flow of this
	// server supports that; such a template cannot connect.
	AuthorizationCodeParamInWebhook string

	// TokenURL is token_url: code exchange, client-credentials and (unless
	// RefreshURL is set) refresh endpoint. OAUTH1: access-token endpoint.
	TokenURL string
	// TokenParams is token_params: extra token-request parameters.
	TokenParams Params
	// TokenHeaders is token_headers: extra headers on token requests.
	TokenHeaders Params
	// RefreshURL is refresh_url: refresh endpoint when it differs from TokenURL.
	RefreshURL string
	// RefreshParams is refresh_params (or refresh_token_params): parameters of
	// refresh requests, used instead of TokenParams when non-empty.
	RefreshParams Params
	// ScopeSeparator is scope_separator; default one space.
	ScopeSeparator string
	// DefaultScopes is default_scopes: suggested scopes for the dashboard.
	DefaultScopes []string
	// DisablePKCE is disable_pkce.
	DisablePKCE bool
	// AuthorizationMethod is authorization_method: "body" (default) or "header".
	AuthorizationMethod string
	// BodyFormat is body_format: "form" (default), "json" or "query".
	BodyFormat string
	// TokenRequestAuthMethod is token_request_auth_method: "", "basic",
	// "private_key_jwt" or "custom".
	TokenRequestAuthMethod string
	// RequireClientCertificate is require_client_certificate: token requests
	// use mutual TLS with the connection's client_certificate / client_private_key.
	RequireClientCertificate bool
	// AlternateAccessTokenResponsePath is alternate_access_token_response_path:
	// a dotted path in the token response where the access token lives when it
	// is not at the top level (slack: "authed_user").
	AlternateAccessTokenResponsePath string
	// ExpiresInUnit is expires_in_unit: "seconds" (default) or "milliseconds".
	ExpiresInUnit string
	// TokenExpiresIn comes from token_expires_in_ms: the lifetime to assume when
	// the token response carries no expiry; nil = none.
	TokenExpiresIn *time.Duration
	// RefreshMargin is token_expiration_buffer (integer seconds, or a Go
	// duration such as "5m"): refresh when the token expires within this
	// margin. 0 = the server default (15 minutes).
	RefreshMargin time.Duration
	// RedirectURIMetadata is redirect_uri_metadata: callback query parameters
	// stored in the connection metadata.
	RedirectURIMetadata []string
	// TokenResponseMetadata is token_response_metadata: token-response fields
	// (dotted paths allowed) stored in the connection metadata.
	TokenResponseMetadata []string
	// RefreshTokenResponseMetadata is refresh_token_response_metadata: the same
	// for refresh responses.
	RefreshTokenResponseMetadata []string

	// RequestURL is request_url (OAUTH1 request-token endpoint).
	RequestURL string
	// RequestParams is request_params (OAUTH1 request-token parameters).
	RequestParams Params
	// RequestHTTPMethod is request_http_method (OAUTH1), default "POST".
	RequestHTTPMethod string
	// TokenHTTPMethod is token_http_method (OAUTH1), default "POST".
	TokenHTTPMethod string
	// SignatureMethod is signature_method (OAUTH1), default "HMAC-SHA1".
	SignatureMethod string

	// Proxy is proxy (and the seed-era base_api_url).
	Proxy Proxy

	// ConnectionConfig is connection_config: the connection-config values the
	// template declares, in file order.
	ConnectionConfig []Field
	// Credentials is credentials: what the end user enters (API_KEY: apiKey;
	// BASIC: username, password; OAUTH2_CC: client_id, client_secret, ...).
	Credentials []Field
	// IntegrationConfig is integration_config: values set per integration.
	IntegrationConfig []Field
}

// ConnectionConfigField returns the declaration of connection-config value name.
func (t *Template) ConnectionConfigField(name string) (Field, bool) {
	for _, f := range t.ConnectionConfig {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// CredentialField returns the declaration of credential name.
func (t *Template) CredentialField(name string) (Field, bool) {
	for _, f := range t.Credentials {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}
