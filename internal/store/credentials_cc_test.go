package store_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// TestCredentialsWireShapes checks the JSON of every mode's credentials
// (GET /connection, storage) and that it decodes back to the same value.
func TestCredentialsWireShapes(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		creds store.Credentials
		want  string
	}{
		{"api key", store.Credentials{Type: store.APIKey, APIKey: "k-1"}, `{"type":"API_KEY","apiKey":"k-1"}`},
		{"basic with empty password", store.Credentials{Type: store.Basic, Username: "u", Password: ""}, `{"type":"BASIC","username":"u","password":""}`},
		{"oauth1", store.Credentials{Type: store.OAuth1, OAuthToken: "t", OAuthTokenSecret: "s", Raw: map[string]any{"user_id": "42"}},
			`{"type":"OAUTH1","oauth_token":"t","oauth_token_secret":"s","raw":{"user_id":"42"}}`},
		{"client credentials, integration client", store.Credentials{Type: store.OAuth2CC, AccessToken: "cc", ExpiresAt: &exp, Raw: map[string]any{}},
			`{"type":"OAUTH2_CC","token":"cc","expires_at":"2026-01-02T03:04:05.000Z"}`},
		{"client credentials, own client and mTLS", store.Credentials{Type: store.OAuth2CC, AccessToken: "cc", Raw: map[string]any{"a": "b"},
			ClientID: "id", ClientSecret: "sec", ClientCertificate: "CERT", ClientPrivateKey: "KEY"},
			`{"type":"OAUTH2_CC","token":"cc","raw":{"a":"b"},"client_id":"id","client_secret":"sec","client_certificate":"CERT","client_private_key":"KEY"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.creds)
			if err != nil {
				t.Fatal(err)
			}
			// raw is always present for OAuth types; compare without it when the test omits it.
			got := string(b)
			if !strings.Contains(tt.want, `"raw"`) {
				got = strings.Replace(got, `,"raw":{}`, "", 1)
			}
			if got != tt.want {
				t.Fatalf("JSON\n got %s\nwant %s", b, tt.want)
			}
			var back store.Credentials
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Raw == nil && tt.creds.Raw != nil && len(tt.creds.Raw) == 0 {
				back.Raw = map[string]any{}
			}
			if !reflect.DeepEqual(back, tt.creds) {
				t.Errorf("round trip\n got %+v\nwant %+v", back, tt.creds)
			}
		})
	}
}
