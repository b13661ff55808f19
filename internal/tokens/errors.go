package tokens

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownConnection: no connection has that provider config key and
// connection id.
var ErrUnknownConnection = errors.New("tokens: no connection matches the provider config key and connection id")

// ErrUnknownIntegration: the connection's integration no longer exists.
var ErrUnknownIntegration = errors.New("tokens: the connection's integration does not exist")

// ErrUnknownTemplate: the integration's provider template is not in the
// catalog.
var ErrUnknownTemplate = errors.New("tokens: the integration's provider template is not in the catalog")

// RefreshKind classifies a failed refresh.
type RefreshKind int

const (
	// Rejected: the provider refused the refresh (an OAuth error such as
	// invalid_grant or invalid_client, or another 4xx), or the connection's
	// token URL cannot be built from its config. Retrying will not help: the
	// end user must reconnect, or the integration must be fixed.
	Rejected RefreshKind = iota + 1
	// Unavailable: the provider could not be reached, timed out, answered
	// 5xx or 429. A later attempt may succeed.
	Unavailable
	// BadResponse: the provider answered 2xx with something that is not a
	// usable token response (no access_token, not JSON...).
	BadResponse
)

// String names the kind.
func (k RefreshKind) String() string {
	switch k {
	case Rejected:
		return "rejected"
	case Unavailable:
		return "unavailable"
	case BadResponse:
		return "bad_response"
	}
	return "unknown"
}

// RefreshError is a failed refresh. Its fields never contain a token or a
// client secret.
type RefreshError struct {
	// Kind classifies the failure.
	Kind RefreshKind
	// Message describes it (the API's payload.external_message).
	Message string
	// Status is the provider's HTTP status, 0 when there was no answer.
	Status int
	// Code is the provider's OAuth error code ("invalid_grant"), or "".
	Code string
	// Endpoint is the token endpoint called, without query.
	Endpoint string
	// Shared is true when another server instance made the attempt and this
	// one learned its outcome from the connection's recorded failure.
	Shared bool
	// Err is the underlying error (an *oauth.ProviderError,
	// *oauth.ResponseError, transport error...); nil when Shared.
	Err error
}

// Error describes the failure.
func (e *RefreshError) Error() string {
	return "tokens: refresh failed (" + e.Kind.String() + "): " + e.Message
}

// Unwrap returns the underlying error.
func (e *RefreshError) Unwrap() error { return e.Err }

// Recorded failure texts start with a prefix naming their kind, so that an
// instance that waited for another one's refresh reports the same kind.
var kindPrefix = map[RefreshKind]string{
	Rejected:    "the provider rejected the refresh",
	Unavailable: "the refresh request failed",
	BadResponse: "the provider's refresh response was unusable",
}

// recordText is what the connection's LastRefreshError holds.
func (e *RefreshError) recordText() string {
	return clip(kindPrefix[e.Kind]+": "+e.Message, 500)
}

// sharedError rebuilds the error recorded by another instance.
func sharedError(recorded string) *RefreshError {
	for k, p := range kindPrefix {
		if rest, ok := strings.CutPrefix(recorded, p+": "); ok {
			return &RefreshError{Kind: k, Message: rest, Shared: true}
		}
	}
	return &RefreshError{Kind: Unavailable, Message: recorded, Shared: true}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…", strings.ToValidUTF8(s[:n], ""))
}
