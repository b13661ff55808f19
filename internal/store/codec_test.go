package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

func keyring(t *testing.T) *secret.Keyring {
	t.Helper()
	k, _ := secret.GenerateKey()
	kr, err := secret.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestCredentialsSealRoundTrip(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	creds := store.Credentials{Type: store.OAuth2, AccessToken: "at-secret", RefreshToken: "rt-secret", ExpiresAt: &exp,
		Raw: map[string]any{"access_token": "at-secret"}}
	tests := []struct {
		name   string
		sealer store.Sealer
	}{
		{"plaintext", store.Plaintext{}},
		{"keyring", keyring(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, keyID, err := store.SealCredentials(tt.sealer, creds, "gh", "u1")
			if err != nil {
				t.Fatal(err)
			}
			if keyID != tt.sealer.CurrentKeyID() {
				t.Errorf("keyID = %q, want %q", keyID, tt.sealer.CurrentKeyID())
			}
			if encrypted := keyID != ""; encrypted == strings.Contains(stored, "at-secret") {
				t.Errorf("stored value %q (key %q)", stored, keyID)
			}
			got, err := store.OpenCredentials(tt.sealer, stored, keyID, "gh", "u1")
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != "at-secret" || got.RefreshToken != "rt-secret" || !got.ExpiresAt.Equal(exp) || got.Raw["access_token"] != "at-secret" {
				t.Errorf("round trip = %+v", got)
			}
			if keyID != "" {
				_, err := store.OpenCredentials(tt.sealer, stored, keyID, "gh", "u2")
				if !errors.Is(err, store.ErrUndecryptable) {
					t.Errorf("opening under another row: %v, want ErrUndecryptable", err)
				}
				if strings.Contains(err.Error(), "at-secret") {
					t.Error("error message holds the secret")
				}
			}
		})
	}
}

func TestSealedValuesAreBoundToTheirPlace(t *testing.T) {
	kr := keyring(t)
	cs, kid, err := store.SealClientSecret(kr, "client-secret", "gh")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := store.OpenClientSecret(kr, cs, kid, "gh"); err != nil || v.Reveal() != "client-secret" {
		t.Fatalf("OpenClientSecret = %q, %v", v.Reveal(), err)
	}
	tests := []struct {
		name string
		open func() error
	}{
		{"client secret of another integration", func() error { _, err := store.OpenClientSecret(kr, cs, kid, "gl"); return err }},
		{"client secret as credentials", func() error { _, err := store.OpenCredentials(kr, cs, kid, "gh", ""); return err }},
		{"client secret as session secrets", func() error { _, _, err := store.OpenSessionSecrets(kr, cs, kid, "gh"); return err }},
		{"unknown key id", func() error { _, err := store.OpenClientSecret(kr, cs, "0123456789abcdef", "gh"); return err }},
		{"encrypted value without a key", func() error { _, err := store.OpenClientSecret(store.Plaintext{}, cs, kid, "gh"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.open(); !errors.Is(err, store.ErrUndecryptable) {
				t.Errorf("err = %v, want ErrUndecryptable", err)
			}
		})
	}
}

func TestSessionSecrets(t *testing.T) {
	kr := keyring(t)
	stored, kid, err := store.SealSessionSecrets(kr, "verifier", "rts", "state-1")
	if err != nil {
		t.Fatal(err)
	}
	cv, rts, err := store.OpenSessionSecrets(kr, stored, kid, "state-1")
	if err != nil || cv != "verifier" || rts != "rts" {
		t.Fatalf("OpenSessionSecrets = %q, %q, %v", cv.Reveal(), rts.Reveal(), err)
	}
	// Plaintext, and empty plaintext (a row with no secrets).
	stored, kid, _ = store.SealSessionSecrets(store.Plaintext{}, "", "", "s")
	if cv, rts, err := store.OpenSessionSecrets(store.Plaintext{}, stored, kid, "s"); err != nil || cv != "" || rts != "" {
		t.Errorf("empty secrets = %q, %q, %v", cv.Reveal(), rts.Reveal(), err)
	}
	if cv, _, err := store.OpenSessionSecrets(store.Plaintext{}, "", "", "s"); err != nil || cv != "" {
		t.Errorf("empty stored value = %q, %v", cv.Reveal(), err)
	}
}

func TestResealValue(t *testing.T) {
	old, cur := keyring(t), keyring(t)
	ad := store.ClientSecretAD("gh")
	stored, kid, _ := old.Seal([]byte("v"), ad)
	// Plaintext → current key.
	s2, k2, err := store.ResealValue(cur, "v", "", ad)
	if err != nil || k2 != cur.CurrentKeyID() {
		t.Fatalf("ResealValue from plaintext: %q %v", k2, err)
	}
	if v, err := cur.Open([]byte(s2), k2, ad); err != nil || string(v) != "v" {
		t.Errorf("resealed value opens to %q, %v", v, err)
	}
	// A key the sealer does not know: error, nothing else.
	if _, _, err := store.ResealValue(cur, string(stored), kid, ad); !errors.Is(err, store.ErrUndecryptable) {
		t.Errorf("ResealValue with an unknown key: %v", err)
	}
}

func TestJSONMaps(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"nil", nil, "{}"},
		{"empty", map[string]any{}, "{}"},
		{"values", map[string]any{"b": "x", "a": float64(1)}, `{"a":1,"b":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.EncodeJSONMap(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("EncodeJSONMap = %q, %v; want %q", got, err, tt.want)
			}
			back, err := store.DecodeJSONMap([]byte(got))
			if err != nil || back == nil || len(back) != len(tt.in) {
				t.Fatalf("DecodeJSONMap = %v, %v", back, err)
			}
		})
	}
	for _, in := range []string{"", "null", " {} "} {
		if m, err := store.DecodeJSONMap([]byte(in)); err != nil || m == nil || len(m) != 0 {
			t.Errorf("DecodeJSONMap(%q) = %v, %v; want an empty map", in, m, err)
		}
	}
	if _, err := store.DecodeJSONMap([]byte("[1]")); err == nil {
		t.Error("DecodeJSONMap accepted an array")
	}
}
