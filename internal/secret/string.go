package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is the text every secret prints as.
const Redacted = "[redacted]"

// String is a secret text value: a token, a client secret, a password or a
// key. It formats (with every fmt verb), stringifies and logs as
// "[redacted]"; Reveal returns the real value. It also marshals to JSON as
// "[redacted]", so a struct holding one cannot leak it through a JSON log
// handler or an error body: code that must put the real value on the wire or
// on disk calls Reveal explicitly. It unmarshals from a JSON string normally.
type String string

// Reveal returns the secret's real value.
func (s String) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s String) IsZero() bool { return s == "" }

// String returns "[redacted]", or "" for an empty secret.
func (s String) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString returns the redacted form for %#v.
func (s String) GoString() string { return `secret.String("` + s.String() + `")` }

// Format writes the redacted form whatever the verb.
func (s String) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalJSON encodes the redacted form (an empty secret encodes as "").
func (s String) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// LogValue makes slog record the redacted form.
func (s String) LogValue() slog.Value { return slog.StringValue(s.String()) }
