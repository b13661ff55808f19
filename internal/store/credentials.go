package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// TimeFormat is how the server writes timestamps on the wire: ISO-8601 in UTC
// with milliseconds, as JavaScript's Date.toISOString does.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime formats t with TimeFormat in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// credentialsWire is the JSON shape of Credentials (SPEC §1.8, §5.2, Part A).
type credentialsWire struct {
	Type             AuthMode       `json:"type"`
	AccessToken      string         `json:"access_token,omitempty"`
	RefreshToken     string         `json:"refresh_token,omitempty"`
	Token            string         `json:"token,omitempty"` // OAUTH2_CC
	OAuthToken       string         `json:"oauth_token,omitempty"`
	OAuthTokenSecret string         `json:"oauth_token_secret,omitempty"`
	APIKey           string         `json:"apiKey,omitempty"`
	Username         *string        `json:"username,omitempty"`
	Password         *string        `json:"password,omitempty"`
	ExpiresAt        string         `json:"expires_at,omitempty"`
	Raw              map[string]any `json:"raw,omitempty"`
	// OAUTH2_CC per-connection client credentials.
	ClientID          string `json:"client_id,omitempty"`
	ClientSecret      string `json:"client_secret,omitempty"`
	ClientCertificate string `json:"client_certificate,omitempty"`
	ClientPrivateKey  string `json:"client_private_key,omitempty"`
}

// MarshalJSON encodes the credentials in the reference's shape, revealing the
// secrets:
//
//	OAUTH2    {"type","access_token","refresh_token"?,"expires_at"?,"raw"}
//	OAUTH2_CC {"type","token","expires_at"?,"raw","client_id"?,"client_secret"?,
//	           "client_certificate"?,"client_private_key"?}
//	OAUTH1    {"type","oauth_token","oauth_token_secret","raw"}
//	API_KEY   {"type","apiKey"}
//	BASIC     {"type","username","password"}
func (c Credentials) MarshalJSON() ([]byte, error) {
	w := credentialsWire{Type: c.Type}
	switch c.Type {
	case OAuth2, OAuth2CC:
		if c.Type == OAuth2 {
			w.AccessToken = c.AccessToken.Reveal()
			w.RefreshToken = c.RefreshToken.Reveal()
		} else {
			w.Token = c.AccessToken.Reveal()
			w.ClientID = c.ClientID
			w.ClientSecret = c.ClientSecret.Reveal()
			w.ClientCertificate = c.ClientCertificate.Reveal()
			w.ClientPrivateKey = c.ClientPrivateKey.Reveal()
		}
		if c.ExpiresAt != nil {
			w.ExpiresAt = FormatTime(*c.ExpiresAt)
		}
		w.Raw = c.Raw
		if w.Raw == nil {
			w.Raw = map[string]any{}
		}
	case OAuth1:
		w.OAuthToken = c.OAuthToken.Reveal()
		w.OAuthTokenSecret = c.OAuthTokenSecret.Reveal()
		w.Raw = c.Raw
		if w.Raw == nil {
			w.Raw = map[string]any{}
		}
	case APIKey:
		w.APIKey = c.APIKey.Reveal()
	case Basic:
		u, p := c.Username, c.Password.Reveal()
		w.Username, w.Password = &u, &p
	default:
		return nil, fmt.Errorf("store: unknown credentials type %q", c.Type)
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the shape MarshalJSON writes.
func (c *Credentials) UnmarshalJSON(b []byte) error {
	var w credentialsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("store: decoding credentials: %w", err)
	}
	out := Credentials{Type: w.Type, Raw: w.Raw}
	switch w.Type {
	case OAuth2, OAuth2CC:
		out.AccessToken = secret.String(w.AccessToken)
		if w.Type == OAuth2CC {
			if w.Token != "" {
				out.AccessToken = secret.String(w.Token)
			}
			out.ClientID = w.ClientID
			out.ClientSecret = secret.String(w.ClientSecret)
			out.ClientCertificate = secret.String(w.ClientCertificate)
			out.ClientPrivateKey = secret.String(w.ClientPrivateKey)
		}
		out.RefreshToken = secret.String(w.RefreshToken)
		if w.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339Nano, w.ExpiresAt)
			if err != nil {
				return fmt.Errorf("store: credentials expires_at: %w", err)
			}
			out.ExpiresAt = &t
		}
	case OAuth1:
		out.OAuthToken = secret.String(w.OAuthToken)
		out.OAuthTokenSecret = secret.String(w.OAuthTokenSecret)
	case APIKey:
		out.APIKey = secret.String(w.APIKey)
	case Basic:
		if w.Username != nil {
			out.Username = *w.Username
		}
		if w.Password != nil {
			out.Password = secret.String(*w.Password)
		}
	default:
		return fmt.Errorf("store: unknown credentials type %q", w.Type)
	}
	*c = out
	return nil
}
