package connect

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/httpx"
	"github.com/nango-go/nango/internal/oauth"
)

// maxKeyLength bounds provider config keys and connection ids, as the API
// does (api.MaxKeyLength).
const maxKeyLength = 255

// Flow error types of our own for values the reference accepted blindly.
const (
	// errTypeInvalidConnectionID: the connection id or provider config key
	// is too long, not UTF-8 or holds control characters.
	errTypeInvalidConnectionID = "invalid_connection_id"
	// errTypeInvalidConnectionConfig: a params[...] name or value holds a
	// NUL character (no database can store it alike).
	errTypeInvalidConnectionConfig = "invalid_connection_config"
)

// checkKey validates a provider config key or connection id from a public
// request: at most 255 bytes of UTF-8 without control characters, the
// rule the API applies to the same values. what names it in the message.
func checkKey(what, s string) *oauth.FlowError {
	problem := ""
	switch {
	case len(s) > maxKeyLength:
		problem = fmt.Sprintf("is longer than %d bytes", maxKeyLength)
	case !utf8.ValidString(s):
		problem = "is not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		problem = "contains control characters"
	default:
		return nil
	}
	return &oauth.FlowError{Type: errTypeInvalidConnectionID, Description: fmt.Sprintf("The %s %s.", what, problem)}
}

// checkConnectionConfig refuses params[...] names and values holding a NUL
// character: PostgreSQL cannot store one, so both drivers refuse it.
func checkConnectionConfig(cc map[string]any) *oauth.FlowError {
	for k, v := range cc {
		s, _ := v.(string)
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(s, 0) >= 0 {
			return &oauth.FlowError{Type: errTypeInvalidConnectionConfig,
				Description: "A connection config parameter (params[...]) contains a NUL character."}
		}
	}
	return nil
}

// wellFormedState reports whether s has the form of the states this server
// issues (secret.RandomToken(stateBytes): base64url without padding).
// Anything else is refused without a database lookup.
func wellFormedState(s string) bool {
	if len(s) != (stateBytes*8+5)/6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// storableClientID returns id when it can name a socket of this server,
// else "": an id this server cannot have issued is not kept in the
// session (it could be of any size). The popup still counts as a
// WebSocket one: its result goes nowhere, as before.
func storableClientID(id string) string {
	if validClientID(id) {
		return id
	}
	return ""
}

// checkHandshake validates a WebSocket opening handshake (RFC 6455 §4.2.1)
// before the WebSocket library sees it, so that a bad one is answered with
// the error envelope: 405 for a method other than GET, 426 (with the
// supported version) for a version other than 13, 400 for a missing or
// malformed key.
func checkHandshake(r *http.Request) *httpx.Error {
	if r.Method != http.MethodGet {
		return &httpx.Error{Status: http.StatusMethodNotAllowed, Type: "invalid_websocket_handshake",
			Message: fmt.Sprintf("A WebSocket handshake must be a GET request, not %s.", clip(r.Method, 20))}
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return &httpx.Error{Status: http.StatusUpgradeRequired, Type: "invalid_websocket_handshake",
			Message: "Unsupported WebSocket version: only Sec-WebSocket-Version: 13 is supported."}
	}
	k := r.Header.Values("Sec-WebSocket-Key")
	if len(k) != 1 {
		return &httpx.Error{Status: http.StatusBadRequest, Type: "invalid_websocket_handshake",
			Message: "The WebSocket handshake needs exactly one Sec-WebSocket-Key header."}
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k[0])); err != nil || len(b) != 16 {
		return &httpx.Error{Status: http.StatusBadRequest, Type: "invalid_websocket_handshake",
			Message: "The Sec-WebSocket-Key header must be 16 bytes in base64."}
	}
	return nil
}
