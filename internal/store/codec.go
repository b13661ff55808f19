package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/nango-go/nango/internal/secret"
)

// This file holds the encoding helpers every driver shares, so that a value
// sealed by one driver (or by one version of the server) is laid out and
// bound to its row exactly as every other reads it.
//
// Sealed columns and their associated data:
//
//	integrations.client_secret    AD("integrations", "client_secret", key)
//	connections.credentials       AD("connections", "credentials", providerConfigKey, connectionID)
//	oauth_sessions.secrets        AD("oauth_sessions", "secrets", id)
//
// Each sealed column has a twin "<column>_key" holding the key id ("" for
// plaintext).

// Sealed table names, as KeyUsage reports them.
const (
	TableIntegrations  = "integrations"
	TableConnections   = "connections"
	TableOAuthSessions = "oauth_sessions"
)

// ClientSecretAD is the associated data of an integration's client secret.
func ClientSecretAD(key string) []byte {
	return AD(TableIntegrations, "client_secret", key)
}

// CredentialsAD is the associated data of a connection's credentials.
func CredentialsAD(providerConfigKey, connectionID string) []byte {
	return AD(TableConnections, "credentials", providerConfigKey, connectionID)
}

// SessionSecretsAD is the associated data of an OAuth session's secrets.
func SessionSecretsAD(id string) []byte {
	return AD(TableOAuthSessions, "secrets", id)
}

// SealCredentials encodes c (Credentials.MarshalJSON) and seals it for the
// connection row (providerConfigKey, connectionID). It returns the text to
// store and the key id to store beside it.
func SealCredentials(s Sealer, c Credentials, providerConfigKey, connectionID string) (stored, keyID string, err error) {
	b, err := c.MarshalJSON()
	if err != nil {
		return "", "", err
	}
	out, keyID, err := s.Seal(b, CredentialsAD(providerConfigKey, connectionID))
	if err != nil {
		clear(b)
		return "", "", fmt.Errorf("store: sealing credentials of connection %q/%q: %w", providerConfigKey, connectionID, err)
	}
	stored = string(out) // copy first: a Sealer with encryption off returns b itself
	clear(b)
	return stored, keyID, nil
}

// OpenCredentials reverses SealCredentials. A value that cannot be opened
// returns an error wrapping ErrUndecryptable that names the connection.
func OpenCredentials(s Sealer, stored, keyID, providerConfigKey, connectionID string) (Credentials, error) {
	b, err := s.Open([]byte(stored), keyID, CredentialsAD(providerConfigKey, connectionID))
	if err != nil {
		return Credentials{}, fmt.Errorf("store: credentials of connection %q/%q: %w", providerConfigKey, connectionID, err)
	}
	var c Credentials
	err = c.UnmarshalJSON(b)
	clear(b)
	if err != nil {
		return Credentials{}, fmt.Errorf("store: credentials of connection %q/%q: %w", providerConfigKey, connectionID, err)
	}
	return c, nil
}

// SealClientSecret seals an integration's client secret.
func SealClientSecret(s Sealer, v secret.String, key string) (stored, keyID string, err error) {
	out, keyID, err := s.Seal([]byte(v.Reveal()), ClientSecretAD(key))
	if err != nil {
		return "", "", fmt.Errorf("store: sealing client secret of integration %q: %w", key, err)
	}
	return string(out), keyID, nil
}

// OpenClientSecret reverses SealClientSecret.
func OpenClientSecret(s Sealer, stored, keyID, key string) (secret.String, error) {
	b, err := s.Open([]byte(stored), keyID, ClientSecretAD(key))
	if err != nil {
		return "", fmt.Errorf("store: client secret of integration %q: %w", key, err)
	}
	return secret.String(b), nil
}

// sessionSecrets is the sealed JSON blob of an OAuth session.
type sessionSecrets struct {
	CodeVerifier       string `json:"code_verifier,omitempty"`
	RequestTokenSecret string `json:"request_token_secret,omitempty"`
}

// SealSessionSecrets seals an OAuth session's code verifier and OAuth1
// request-token secret together as one JSON value.
func SealSessionSecrets(s Sealer, codeVerifier, requestTokenSecret secret.String, id string) (stored, keyID string, err error) {
	b, err := json.Marshal(sessionSecrets{CodeVerifier: codeVerifier.Reveal(), RequestTokenSecret: requestTokenSecret.Reveal()})
	if err != nil {
		return "", "", fmt.Errorf("store: encoding OAuth session secrets: %w", err)
	}
	out, keyID, err := s.Seal(b, SessionSecretsAD(id))
	if err != nil {
		clear(b)
		return "", "", fmt.Errorf("store: sealing OAuth session secrets: %w", err)
	}
	stored = string(out)
	clear(b)
	return stored, keyID, nil
}

// OpenSessionSecrets reverses SealSessionSecrets. An empty plaintext value
// opens as two empty secrets.
func OpenSessionSecrets(s Sealer, stored, keyID, id string) (codeVerifier, requestTokenSecret secret.String, err error) {
	b, err := s.Open([]byte(stored), keyID, SessionSecretsAD(id))
	if err != nil {
		return "", "", fmt.Errorf("store: OAuth session secrets: %w", err)
	}
	if len(b) == 0 {
		return "", "", nil
	}
	var v sessionSecrets
	if err := json.Unmarshal(b, &v); err != nil {
		return "", "", fmt.Errorf("store: decoding OAuth session secrets: %w", ErrUndecryptable)
	}
	return secret.String(v.CodeVerifier), secret.String(v.RequestTokenSecret), nil
}

// ResealValue opens a stored value with its key id and seals it again with the
// Sealer's current key, for Reseal implementations. ad must be the value's
// associated data.
func ResealValue(s Sealer, stored, keyID string, ad []byte) (newStored, newKeyID string, err error) {
	b, err := s.Open([]byte(stored), keyID, ad)
	if err != nil {
		return "", "", err
	}
	out, newKeyID, err := s.Seal(b, ad)
	if err != nil {
		clear(b)
		return "", "", err
	}
	newStored = string(out)
	clear(b)
	return newStored, newKeyID, nil
}

// EncodeJSONMap encodes a connection config or metadata map as a JSON object;
// nil encodes as {}.
func EncodeJSONMap(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("store: encoding JSON object: %w", err)
	}
	return string(b), nil
}

// DecodeJSONMap decodes what EncodeJSONMap wrote. Empty input and JSON null
// decode as an empty, non-nil map.
func DecodeJSONMap(b []byte) (map[string]any, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte("{}")) {
		return map[string]any{}, nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store: decoding JSON object: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}
