package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/nango-go/nango/internal/store"
)

// Error is an API error: an HTTP status and the reference's envelope
// {"error": Message, "type": Type, "payload": Payload}. Messages never carry
// secrets.
type Error struct {
	Status  int
	Type    string
	Message string
	Payload map[string]any
}

// Error returns "type: message".
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// WithPayload returns a copy of e carrying payload.
func (e *Error) WithPayload(p map[string]any) *Error {
	c := *e
	c.Payload = p
	return &c
}

// catalogue holds the reference's error types with their exact messages
// (misspellings included: clients print them) and our additions. Part A:
// bad client input is a 4xx; 500 is only ever a server fault.
var catalogue = map[string]Error{
	// Reference (SPEC §1.3).
	"missing_auth_header":       {401, "", "Authentication failed. The request is missing the Authorization header.", nil},
	"malformed_auth_header":     {401, "", "Authentication failed. The Authorization header is malformed.", nil},
	"invalid_secret_key":        {401, "", "Authentication failed. The provided secret key is invalid.", nil},
	"missing_body":              {400, "", "Missing request body.", nil},
	"unknown_endpoint":          {404, "", "The API endpoint could not be found and returned a 404. Please ensure you have the endpoint specified and spelled correctly.", nil},
	"fobidden":                  {403, "", "The API endpoint returned back a 403 error. Check the scopes requested to make sure proper access is requested to the API.", nil},
	"bad_request":               {400, "", "The API endpoint returned back a 400 error. Check the headers to ensure all proper headers are passed to the API.", nil},
	"missing_provider_config":   {400, "", "Missing param 'provider_config_key'.", nil},
	"missing_callback_url":      {400, "", "Missing param 'callback_url'.", nil},
	"unknown_provider_config":   {400, "", "There is no Provider Configuration matching this key.", nil},
	"missing_provider_template": {400, "", "Missing param 'provider'.", nil},
	"missing_client_id":         {400, "", "Missing param 'oauth_client_id'.", nil},
	"missing_client_secret":     {400, "", "Missing param 'oauth_client_secret'.", nil},
	"missing_scopes":            {400, "", "Missing param 'oauth_scopes'.", nil},
	"missing_connection":        {400, "", "Missing param 'connection_id'.", nil},
	"unkown_connection":         {400, "", "No connection matching params 'connection_id' and 'provider_config_key'.", nil},
	"unknown_provider_template": {400, "", "No Provider Template matching the 'provider' parameter.", nil},
	"duplicate_provider_config": {400, "", "There is already a Provider Configuration matching the param 'provider_config_key'.", nil},

	// Reference types the reference answered with 500 unhandled_<x>; a 400
	// per Part A.
	"missing_connection_id":       {400, "", "Missing header 'Connection-Id'.", nil},
	"missing_provider_config_key": {400, "", "Missing header 'Provider-Config-Key'.", nil},
	"missing_endpoint":            {400, "", "Missing the API endpoint after /proxy/.", nil},
	"missing_base_api_url":        {400, "", "The provider template of this integration has no base API URL, so it cannot be proxied.", nil},

	// Import (Part A).
	"missing_access_token":       {400, "", "Missing param 'access_token'.", nil},
	"missing_oauth_token":        {400, "", "Missing param 'oauth_token'.", nil},
	"missing_oauth_token_secret": {400, "", "Missing param 'oauth_token_secret'.", nil},
	"missing_basic_username":     {400, "", "Missing param 'username'.", nil},
	"missing_basic_password":     {400, "", "Missing param 'password'.", nil},
	"missing_api_key":            {400, "", "Missing param 'api_key'.", nil},

	// Ours.
	"invalid_body":            {400, "", "The request body is not valid.", nil},
	"invalid_content_type":    {415, "", "The request body must be JSON (Content-Type: application/json).", nil},
	"request_too_large":       {413, "", "The request body is too large.", nil},
	"not_found":               {404, "", "No such route.", nil},
	"method_not_allowed":      {405, "", "This method is not allowed on this route.", nil},
	"invalid_request":         {400, "", "The request is not valid.", nil},
	"database_unavailable":    {503, "", "The database is unavailable right now; retry shortly.", nil},
	"undecryptable_secret":    {500, "", "A stored secret could not be decrypted with the configured encryption keys; check NANGO_ENCRYPTION_KEY and NANGO_ENCRYPTION_PREVIOUS_KEYS.", nil},
	"internal_error":          {500, "", "An internal error occurred. The server log has the details.", nil},
	"request_timeout":         {408, "", "The request took too long to send.", nil},
	"service_shutting_down":   {503, "", "The server is shutting down; retry on another instance.", nil},
	"unsupported_auth_mode":   {400, "", "This operation is not supported for the integration's auth mode.", nil},
	"invalid_connection_id":   {400, "", "The connection id is not valid.", nil},
	"invalid_provider_config": {400, "", "The provider config key is not valid.", nil},

	// Proxy (issue 5).
	"upstream_unreachable":          {502, "", "The provider's API could not be reached.", nil},
	"upstream_timeout":              {502, "", "The provider's API did not answer in time.", nil},
	"upstream_not_allowed":          {403, "", "The proxy may not call this address: it is not a public address and NANGO_PROXY_ALLOW_PRIVATE_NETWORKS is off.", nil},
	"missing_connection_config":     {400, "", "The connection lacks values the provider template needs to call its API.", nil},
	"invalid_connection_config":     {400, "", "A connection config value cannot be used in the provider's API URL.", nil},
	"base_url_override_not_allowed": {403, "", "The Base-Url-Override header is disabled on this server (NANGO_PROXY_ALLOW_BASE_URL_OVERRIDE).", nil},
	"invalid_base_url_override":     {400, "", "The Base-Url-Override header must be an absolute http(s) URL without credentials or fragment.", nil},
}

// E returns the catalogued error of that type. An unknown type is a
// programming error and yields internal_error, so a typo never reaches a
// client as a made-up type.
func E(typ string) *Error {
	c, ok := catalogue[typ]
	if !ok {
		c = catalogue["internal_error"]
		c.Type = "internal_error"
		return &c
	}
	c.Type = typ
	return &c
}

// Ef returns the catalogued error of that type with its own message.
func Ef(typ, format string, args ...any) *Error {
	e := E(typ)
	e.Message = fmt.Sprintf(format, args...)
	return e
}

// Known reports whether typ is catalogued.
func Known(typ string) bool { _, ok := catalogue[typ]; return ok }

// envelope is the wire shape of an Error.
type envelope struct {
	Error   string         `json:"error"`
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload"`
}

// WriteError answers the request with err's envelope. An *Error is written
// as is; store.ErrUnavailable and store.ErrUndecryptable map to their
// catalogued types, store.ErrInvalidValue (a value the database refuses:
// the request's fault) to 400 invalid_request; anything else is logged with the request id and answered
// with a generic internal_error whose body carries no detail.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrUnavailable):
		e = E("database_unavailable")
		Logger(r.Context()).Warn("database unavailable", "err", err)
	case errors.Is(err, store.ErrUndecryptable):
		e = E("undecryptable_secret")
		Logger(r.Context()).Error("stored secret cannot be decrypted", "err", err)
	case errors.Is(err, errBodyTooLarge):
		e = E("request_too_large")
	case errors.Is(err, store.ErrInvalidValue):
		e = Ef("invalid_request", "A value of the request cannot be stored: it contains a NUL character (U+0000).")
		Logger(r.Context()).Info("value refused by the database", "err", err)
	default:
		e = E("internal_error")
		Logger(r.Context()).Error("internal error", "err", err)
	}
	if e.Status >= 500 {
		w.Header().Set("Cache-Control", "no-store")
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	p := e.Payload
	if p == nil {
		p = map[string]any{}
	}
	if id := RequestID(r.Context()); id != "" && e.Status >= 500 {
		p = withRequestID(p, id)
	}
	WriteJSON(w, e.Status, envelope{Error: e.Message, Type: e.Type, Payload: p})
}

func withRequestID(p map[string]any, id string) map[string]any {
	c := make(map[string]any, len(p)+1)
	for k, v := range p {
		c[k] = v
	}
	c["request_id"] = id
	return c
}

// WriteJSON writes v as a JSON response with the given status: the
// encoding of json.Marshal followed by a newline, written in one piece.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBufs.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	if err := enc.Encode(v); err != nil {
		// Only our own types are written here; this is a programming error.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"An internal error occurred. The server log has the details.","type":"internal_error","payload":{}}` + "\n")
	}
	WriteJSONBytes(w, status, buf.Bytes())
	if buf.Cap() <= maxPooledBuf {
		jsonBufs.Put(buf)
	}
}

// WriteJSONBytes writes body, already encoded JSON ending with a newline,
// as a response with the given status (for answers encoded once and kept).
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonContentType is shared by every JSON answer (never modified: Set and
// Add replace or copy the slice).
var jsonContentType = []string{"application/json; charset=utf-8"}

// jsonBufs recycles WriteJSON's encoding buffers; buffers grown past
// maxPooledBuf (large listings) are left to the collector.
var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 64 << 10

// WriteEmpty writes the reference's "empty 200": no body, no content type.
func WriteEmpty(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }
