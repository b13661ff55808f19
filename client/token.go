package client

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Token is a connection's credentials reduced to what a caller sends to the
// provider, typed by auth mode. Its dynamic type is one of OAuth2Token
// (OAUTH2 and OAUTH2_CC), OAuth1Token, APIKeyToken or BasicToken:
//
//	switch t := tok.(type) {
//	case client.OAuth2Token:
//		req.Header.Set("Authorization", "Bearer "+t.AccessToken)
//	case client.APIKeyToken:
//		req.Header.Set("X-Api-Key", t.APIKey)
//	}
//
// Printing a Token with fmt or logging it with log/slog never shows its
// secrets.
type Token interface {
	// AuthMode is the credentials' type.
	AuthMode() AuthMode
	isToken()
}

// OAuth2Token is the access token of an OAUTH2 or OAUTH2_CC connection.
type OAuth2Token struct {
	Mode        AuthMode // ModeOAuth2 or ModeOAuth2CC
	AccessToken string
	// Expiry is when the access token expires; zero when the provider did
	// not say.
	Expiry time.Time
}

// OAuth1Token is the token and token secret of an OAUTH1 connection.
type OAuth1Token struct {
	Token  string
	Secret string
}

// APIKeyToken is the key of an API_KEY connection.
type APIKeyToken struct {
	APIKey string
}

// BasicToken is the username and password of a BASIC connection.
type BasicToken struct {
	Username string
	Password string
}

// AuthMode returns t.Mode (ModeOAuth2 when unset).
func (t OAuth2Token) AuthMode() AuthMode {
	if t.Mode == "" {
		return ModeOAuth2
	}
	return t.Mode
}

// AuthMode returns ModeOAuth1.
func (OAuth1Token) AuthMode() AuthMode { return ModeOAuth1 }

// AuthMode returns ModeAPIKey.
func (APIKeyToken) AuthMode() AuthMode { return ModeAPIKey }

// AuthMode returns ModeBasic.
func (BasicToken) AuthMode() AuthMode { return ModeBasic }

func (OAuth2Token) isToken() {}
func (OAuth1Token) isToken() {}
func (APIKeyToken) isToken() {}
func (BasicToken) isToken()  {}

// String describes the token without its secret.
func (t OAuth2Token) String() string {
	if t.Expiry.IsZero() {
		return fmt.Sprintf("{%s token, secrets redacted}", t.AuthMode())
	}
	return fmt.Sprintf("{%s token, expires %s, secrets redacted}", t.AuthMode(), t.Expiry.UTC().Format(time.RFC3339))
}

// String describes the token without its secrets.
func (t OAuth1Token) String() string { return "{OAUTH1 token, secrets redacted}" }

// String describes the key without revealing it.
func (t APIKeyToken) String() string { return "{API_KEY, secrets redacted}" }

// String shows the username, not the password.
func (t BasicToken) String() string {
	return fmt.Sprintf("{BASIC username %q, secrets redacted}", t.Username)
}

// GoString is String, so %#v redacts too.
func (t OAuth2Token) GoString() string { return t.String() }

// GoString is String, so %#v redacts too.
func (t OAuth1Token) GoString() string { return t.String() }

// GoString is String, so %#v redacts too.
func (t APIKeyToken) GoString() string { return t.String() }

// GoString is String, so %#v redacts too.
func (t BasicToken) GoString() string { return t.String() }

// LogValue logs the mode only.
func (t OAuth2Token) LogValue() slog.Value { return tokenLogValue(t) }

// LogValue logs the mode only.
func (t OAuth1Token) LogValue() slog.Value { return tokenLogValue(t) }

// LogValue logs the mode only.
func (t APIKeyToken) LogValue() slog.Value { return tokenLogValue(t) }

// LogValue logs the mode only.
func (t BasicToken) LogValue() slog.Value { return tokenLogValue(t) }

func tokenLogValue(t Token) slog.Value {
	return slog.GroupValue(slog.String("type", string(t.AuthMode())), slog.String("secrets", "[redacted]"))
}

// Token returns the connection's current credentials as a typed Token
// (GET /connection/:id, with the same refresh rules as GetConnection):
// what @nangohq/node's getToken returns, for every auth mode.
func (c *Client) Token(ctx context.Context, providerConfigKey, connectionID string, forceRefresh bool) (Token, error) {
	conn, err := c.GetConnection(ctx, providerConfigKey, connectionID, forceRefresh)
	if err != nil {
		return nil, err
	}
	return conn.Credentials.Token()
}

// Token reduces the credentials to a typed Token. Credentials of an unknown
// type, or missing their secret, are an error.
func (c Credentials) Token() (Token, error) {
	switch c.Type {
	case ModeOAuth2, ModeOAuth2CC:
		at := c.AccessToken
		if at == "" {
			return nil, fmt.Errorf("client: %s credentials without an access token", c.Type)
		}
		t := OAuth2Token{Mode: c.Type, AccessToken: at}
		if c.ExpiresAt != nil {
			t.Expiry = *c.ExpiresAt
		}
		return t, nil
	case ModeOAuth1:
		if c.OAuthToken == "" {
			return nil, fmt.Errorf("client: OAUTH1 credentials without an oauth_token")
		}
		return OAuth1Token{Token: c.OAuthToken, Secret: c.OAuthTokenSecret}, nil
	case ModeAPIKey:
		if c.APIKey == "" {
			return nil, fmt.Errorf("client: API_KEY credentials without a key")
		}
		return APIKeyToken{APIKey: c.APIKey}, nil
	case ModeBasic:
		return BasicToken{Username: c.Username, Password: c.Password}, nil
	}
	return nil, fmt.Errorf("client: unrecognized credentials type %q", c.Type)
}
