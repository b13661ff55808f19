package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxJSONBody is the default limit of a JSON request body.
const MaxJSONBody = 1 << 20

var errBodyTooLarge = errors.New("request body too large")

// DecodeJSON reads a JSON object from the request body into dst, allowing
// at most limit bytes (MaxJSONBody when limit ≤ 0). Every failure is an
// *Error with a 4xx status that says what was wrong: invalid_content_type
// (415), missing_body, request_too_large (413), invalid_body (malformed or
// truncated JSON, a field of the wrong type, not an object, invalid UTF-8,
// a NUL character, trailing data). Unknown fields are ignored, as the reference did.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) *Error {
	if limit <= 0 {
		limit = MaxJSONBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return Ef("invalid_content_type", "The request body must be JSON: send Content-Type: application/json (got %q).", truncate(ct, 80))
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Ef("request_too_large", "The request body is larger than %d bytes.", limit)
		}
		return Ef("invalid_body", "The request body could not be read: %s.", err.Error())
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return E("missing_body")
	}
	if !utf8.Valid(data) {
		return Ef("invalid_body", "The request body is not valid UTF-8.")
	}
	if hasNULEscape(data) {
		// PostgreSQL stores no NUL character: refuse it up front so both
		// drivers behave alike (and no value is half-accepted).
		return Ef("invalid_body", "The request body contains a NUL character (\\u0000), which cannot be stored.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Ef("invalid_body", "The request body has data after the JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Ef("invalid_body", "The request body has data after the JSON value.")
	}
	return nil
}

func jsonError(err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return Ef("invalid_body", "The request body is not valid JSON (at byte %d): %s.", se.Offset, se.Error())
	case errors.As(err, &te):
		if te.Field == "" {
			return Ef("invalid_body", "The request body must be a JSON object, not %s.", te.Value)
		}
		return Ef("invalid_body", "Field '%s' must be %s, not %s.", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Ef("invalid_body", "The request body is truncated JSON.")
	}
	return Ef("invalid_body", "The request body is not valid JSON: %s.", truncate(err.Error(), 200))
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	case "interface":
		return "a JSON value"
	default:
		return "a number"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…", s[:n])
}

// hasNULEscape reports whether a JSON text holds the escape \u0000 (a NUL
// character in a string; JSON cannot hold a raw one). A "\\u0000" (an
// escaped backslash followed by text) is not one.
func hasNULEscape(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("u0000"))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 5
	}
}
