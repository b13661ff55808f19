package api

import (
	"reflect"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// asStored returns c as a store read gives it back: credentials through
// their stored JSON, config and metadata through the stores' JSON maps.
func asStored(t *testing.T, c store.Connection) store.Connection {
	t.Helper()
	b, err := c.Credentials.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Credentials.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*map[string]any{&c.ConnectionConfig, &c.Metadata} {
		s, err := store.EncodeJSONMap(*m)
		if err != nil {
			t.Fatal(err)
		}
		if *m, err = store.DecodeJSONMap([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestConnectionCodecRoundTrip: the token cache keeps connections as GET
// /connection/:id's answer; decoding it gives back exactly what a store read
// gave (tokens.NewCodec's contract), for every kind of credentials.
func TestConnectionCodecRoundTrip(t *testing.T) {
	exp := time.Date(2031, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
	cfg := map[string]any{"subdomain": "acme", "n": 12.5, "big": 12345678901234567890.0, "list": []any{"a", 1.0, true, nil},
		"nested": map[string]any{"x": map[string]any{"y": "z"}}, "html": "<a href='x'>&</a>\u2028"}
	tests := []struct {
		name string
		c    store.Credentials
	}{
		{"oauth2", store.Credentials{Type: store.OAuth2, AccessToken: "at", RefreshToken: "rt", ExpiresAt: &exp,
			Raw: map[string]any{"access_token": "at", "expires_in": 3600.0, "extra": map[string]any{"k": []any{"v", 2.0}}}}},
		{"oauth2 without refresh token or expiry", store.Credentials{Type: store.OAuth2, AccessToken: "at"}},
		{"oauth2 client credentials", store.Credentials{Type: store.OAuth2CC, AccessToken: "t", ExpiresAt: &exp, ClientID: "id",
			ClientSecret: "s", ClientCertificate: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", ClientPrivateKey: "k"}},
		{"oauth1", store.Credentials{Type: store.OAuth1, OAuthToken: "ot", OAuthTokenSecret: "s", Raw: map[string]any{"oauth_token": "ot"}}},
		{"api key", store.Credentials{Type: store.APIKey, APIKey: "key"}},
		{"basic", store.Credentials{Type: store.Basic, Username: "u", Password: "p"}},
		{"basic without password", store.Credentials{Type: store.Basic, Username: "u"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := asStored(t, store.Connection{ID: int64(i + 1), ProviderConfigKey: "k", ConnectionID: "id/with slash é",
				Credentials: tt.c, ConnectionConfig: cfg, Metadata: map[string]any{"i": float64(i)}})
			if i == 1 {
				c = asStored(t, store.Connection{ID: 9, ProviderConfigKey: "k", ConnectionID: "c", Credentials: tt.c})
			}
			b, err := encodeConnection(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeConnection(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("decoded\n %+v\nwant\n %+v", got, c)
			}
		})
	}
}
