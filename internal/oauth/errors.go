package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Flow error types (SPEC §2.5): the error_type of a WebSocket error message
// and the type of the legacy popup page.
const (
	ErrTypeMissingConnectionID = "missing_connection_id"
	ErrTypeNoProviderConfigKey = "no_provider_config_key"
	ErrTypeMissingHMAC         = "missing_hmac"
	ErrTypeInvalidHMAC         = "invalid_hmac"
	ErrTypeProviderConfig      = "provider_config_err"
	ErrTypeUnknownConfigKey    = "unknown_config_key"
	ErrTypeURLParam            = "url_param_err"
	ErrTypeGrantType           = "grant_type_err"
	ErrTypeAuthMode            = "auth_mode_err"
	ErrTypeToken               = "token_err"
	ErrTypeCallback            = "callback_err"
	ErrTypeUnknown             = "unknown_err"
	ErrTypeState               = "state_err"
)

// FlowError is a failure of the OAuth dance as shown to the popup and the
// WebSocket client: the reference's error_type and its exact error_desc
// (SPEC §2.5). Err is the internal cause, for the server log only; it is
// never shown to the end user.
type FlowError struct {
	Type        string
	Description string
	Err         error
}

// Error returns "type: description" (without the internal cause).
func (e *FlowError) Error() string { return e.Type + ": " + e.Description }

// Unwrap returns the internal cause.
func (e *FlowError) Unwrap() error { return e.Err }

func flowErr(typ, desc string) *FlowError { return &FlowError{Type: typ, Description: desc} }

// ErrMissingConnectionID is missing_connection_id: the connect request has
// no connection_id.
func ErrMissingConnectionID() *FlowError {
	return flowErr(ErrTypeMissingConnectionID, "Missing Connection ID.")
}

// ErrNoProviderConfigKey is no_provider_config_key: the connect request
// names no provider config key.
func ErrNoProviderConfigKey() *FlowError {
	return flowErr(ErrTypeNoProviderConfigKey, "Missing Provider Config unique key.")
}

// ErrMissingHMAC is missing_hmac: HMAC is enabled and the request has none.
func ErrMissingHMAC() *FlowError { return flowErr(ErrTypeMissingHMAC, "Missing HMAC digest.") }

// ErrInvalidHMAC is invalid_hmac: the HMAC digest does not match.
func ErrInvalidHMAC() *FlowError { return flowErr(ErrTypeInvalidHMAC, "Invalid HMAC digest.") }

// ErrProviderConfigNotFound is provider_config_err for an unknown
// integration key.
func ErrProviderConfigNotFound(key string) *FlowError {
	return flowErr(ErrTypeProviderConfig, fmt.Sprintf("Could not find a Provider Config matching the %q key.", key))
}

// ErrProviderConfigIncomplete is provider_config_err for an integration
// without client id or secret. The misspelling "cliend" is the reference's
// and is kept because clients show the text.
func ErrProviderConfigIncomplete(key string) *FlowError {
	return flowErr(ErrTypeProviderConfig, fmt.Sprintf("Provider Config %q is missing cliend ID, secret and/or scopes.", key))
}

// ErrUnknownConfigKey is unknown_config_key: the integration's provider
// template is not in the catalog.
func ErrUnknownConfigKey(provider string) *FlowError {
	return flowErr(ErrTypeUnknownConfigKey, fmt.Sprintf("No Provider Configuration with key %q.", provider))
}

// ErrURLParam is url_param_err: a template URL still holds placeholders
// after interpolation. url is the URL as interpolated (placeholders that had
// no value left in place) and connectionConfig what the caller provided.
func ErrURLParam(url string, connectionConfig map[string]any) *FlowError {
	if connectionConfig == nil {
		connectionConfig = map[string]any{}
	}
	return flowErr(ErrTypeURLParam, "Missing Connection Config param(s) in Auth request to interpolate url "+url+". Provided Connection Config: "+configJSON(connectionConfig))
}

// configJSON renders a connection config as JSON.stringify does.
func configJSON(connectionConfig map[string]any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as JSON.stringify; pages escape what they show
	if enc.Encode(connectionConfig) != nil {
		return "{}"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ErrGrantType is grant_type_err: the template's token_params.grant_type is
// not authorization_code.
func ErrGrantType(grant string) *FlowError {
	return flowErr(ErrTypeGrantType, fmt.Sprintf("The grant type %q is not supported by this OAuth flow.", grant))
}

// ErrAuthMode is auth_mode_err: the template's auth mode has no OAuth flow.
func ErrAuthMode(mode string) *FlowError {
	return flowErr(ErrTypeAuthMode, fmt.Sprintf("Auth mode %s not supported.", mode))
}

// ErrToken is token_err: the OAuth 1 request-token call failed. cause is
// logged only.
func ErrToken(cause error) *FlowError {
	return &FlowError{Type: ErrTypeToken, Description: "Error storing/retrieving the token.", Err: cause}
}

// ErrMissingCode is callback_err: an OAuth 2 callback without a code.
func ErrMissingCode() *FlowError {
	return flowErr(ErrTypeCallback, "Did not get authorization code in the callback.")
}

// ErrMissingOAuth1Params is callback_err: an OAuth 1 callback without
// oauth_token or oauth_verifier.
func ErrMissingOAuth1Params() *FlowError {
	return flowErr(ErrTypeCallback, "Did not get oauth_token and/or oauth_verifier in the callback.")
}

// ErrProviderDenied is callback_err for a callback carrying the provider's
// own error= parameter (RFC 6749 §4.1.2.1), which the reference ignored:
// the description names the provider's error code and description, each
// cut to 200 bytes. The values come from the query string: pages must
// escape them (they do, as every value).
func ErrProviderDenied(code, description string) *FlowError {
	msg := "The provider reported an error in the callback: " + clip(code, 200)
	if description != "" {
		msg += " (" + clip(description, 200) + ")"
	}
	return flowErr(ErrTypeCallback, msg+".")
}

// ErrUnknown is unknown_err: any other failure, including a failed token
// exchange. cause is logged only.
func ErrUnknown(cause error) *FlowError {
	return &FlowError{Type: ErrTypeUnknown, Description: "Unkown error during the Oauth flow.", Err: cause}
}

// ErrState is state_err: the callback's state is missing, unknown, expired
// or already used.
func ErrState(state string) *FlowError {
	return flowErr(ErrTypeState, "Invalid state parameter passed in the callback: "+clip(state, 200))
}

// ProviderError is a refusal by a provider's token endpoint: an HTTP error
// status, or a 2xx body carrying an OAuth "error" field. It never holds a
// token, a code or a client secret: values the request sent are redacted
// from the provider's description.
type ProviderError struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code is the OAuth error code ("invalid_grant"), or "" when the body
	// had none.
	Code string
	// Description is the provider's error_description, or a summary (at most
	// about 200 bytes) of a body that was not an OAuth error object.
	Description string
	// Endpoint is the URL called, without its query string.
	Endpoint string
}

// Error describes the refusal.
func (e *ProviderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "oauth: %s answered %d", e.Endpoint, e.Status)
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// InvalidGrant reports whether the provider rejected the grant (the code or
// refresh token is invalid, expired, revoked or already used).
func (e *ProviderError) InvalidGrant() bool { return e.Code == "invalid_grant" }

// Message is the text shown to API clients (payload.external_message):
// the code and description, or the status when the provider said nothing.
func (e *ProviderError) Message() string {
	switch {
	case e.Code != "" && e.Description != "":
		return e.Code + ": " + e.Description
	case e.Code != "":
		return e.Code
	case e.Description != "":
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Description)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// ErrBadResponse is wrapped by every *ResponseError.
var ErrBadResponse = errors.New("oauth: unusable token response")

// ResponseError is a token endpoint answer that was accepted (2xx) but
// cannot be used: not JSON or form-encoded, malformed, or without an access
// token. It never holds the body.
type ResponseError struct {
	// Endpoint is the URL called, without its query string.
	Endpoint string
	// Status is the HTTP status.
	Status int
	// Problem says what is wrong.
	Problem string
}

// Error describes the problem.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("oauth: unusable token response from %s (HTTP %d): %s", e.Endpoint, e.Status, e.Problem)
}

// Unwrap returns ErrBadResponse.
func (e *ResponseError) Unwrap() error { return ErrBadResponse }

// ErrNoRefreshToken is returned by Refresh for a connection without a
// refresh token.
var ErrNoRefreshToken = errors.New("oauth: the connection has no refresh token")

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
