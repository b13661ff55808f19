package connect

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nango-go/nango/internal/config"
)

// TestHMACDigest checks the digest against values computed independently
// (printf 'github:user-42' | openssl dgst -<alg> -hmac 'secret key').
func TestHMACDigest(t *testing.T) {
	tests := []struct {
		alg, want string
	}{
		{"sha1", "02d5e95f9c9c8328c32ab276ecd8380e1e9f4ee3"},
		{"sha224", "621abb18ccc9327270fd1b1f99d69c6f0cae4dae0d8a85214dff777e"},
		{"sha256", "60e796f03c851e6558e2b1e2e1f7afa5e7296e7bfce7b04800a503c38f324266"},
		{"sha384", "96e31462df469417bf50e4465ae8cbfb3326d080d334177b114aae529ca2f8d650932906b205f116e8d9a3185aca0755"},
		{"sha512", "ed942304f65c547898288bacf7b7459d1ae543da5649bcf240454a7a6453f3a8cefa5b74ea8755d130ed0f803678c3e76f6b504de4ecdbdd4516e6103d376c5e"},
		{"sha512-256", "4b40bce66c9d394d0d54c1bf6cd9a4d1f4b412d4dbffbefecf6ce1f437cb1584"},
		{"md5", "3dab3be103d2f3257d9384fe24ddaa16"},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			got, err := HMACDigest(tc.alg, "secret key", "github", "user-42")
			if err != nil || got != tc.want {
				t.Errorf("HMACDigest = %q, %v; want %q", got, err, tc.want)
			}
			ok, err := checkHMAC(tc.alg, "secret key", "github", "user-42", tc.want)
			if !ok || err != nil {
				t.Errorf("checkHMAC refused the right digest: %v", err)
			}
			if ok, _ := checkHMAC(tc.alg, "secret key", "github", "user-43", tc.want); ok {
				t.Errorf("checkHMAC accepted the digest of another connection")
			}
		})
	}
	// Every configurable algorithm has a hash.
	for alg := range config.HMACAlgorithms {
		if _, err := HMACDigest(alg, "k", "a", "b"); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	if _, err := HMACDigest("crc32", "k", "a", "b"); err == nil {
		t.Errorf("an unknown algorithm was accepted")
	}
}

// TestHMAC checks the connect route with HMAC enabled: required, checked
// in the reference's order, and a valid digest lets the flow through.
func TestHMAC(t *testing.T) {
	e := newEnv(t, envOptions{hmac: true})
	good, err := HMACDigest("sha256", hmacKey, keyOK, "user 1")
	if err != nil {
		t.Fatal(err)
	}
	goodUnknown, _ := HMACDigest("sha256", hmacKey, "nope", "u1")
	tests := []struct {
		name               string
		key, conn, hmac    string
		wantType, wantDesc string
	}{
		{"missing connection id first", keyOK, "", "", "missing_connection_id", "Missing Connection ID."},
		{"missing", keyOK, "u1", "", "missing_hmac", "Missing HMAC digest."},
		{"wrong", keyOK, "u1", good, "invalid_hmac", "Invalid HMAC digest."},
		{"uppercase", keyOK, "user+1", strings.ToUpper(good), "invalid_hmac", "Invalid HMAC digest."},
		{"checked before the integration", "nope", "u1", good, "invalid_hmac", "Invalid HMAC digest."},
		{"valid for an unknown integration", "nope", "u1", goodUnknown, "provider_config_err", `Could not find a Provider Config matching the "nope" key.`},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/legacy", func(t *testing.T) {
			p := get(t, e.sdkURL(tc.key, tc.conn, nil, tc.hmac, ""))
			p.check(t, http.StatusBadRequest)
			p.wantLegacyError(t, tc.wantType, tc.wantDesc)
		})
		t.Run(tc.name+"/websocket", func(t *testing.T) {
			ws, id := e.dial("/")
			u := e.sdkURL(tc.key, tc.conn, nil, tc.hmac, "")
			sep := "&"
			if !strings.Contains(u, "?") {
				sep = "?"
			}
			get(t, u+sep+"ws_client_id="+id).check(t, http.StatusBadRequest)
			want := map[string]string{"message_type": "error", "provider_config_key": tc.key, "error_type": tc.wantType, "error_desc": tc.wantDesc}
			if tc.conn != "" {
				want["connection_id"] = strings.ReplaceAll(tc.conn, "+", " ")
			}
			if got := readResult(t, ws); !jsonEqual(got, want) {
				t.Errorf("message = %v\nwant      %v", got, want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		// '+' reads as a space, and the digest is over the decoded value.
		ws, id := e.dial("/")
		get(t, e.sdkURL(keyOK, "user+1", nil, good, id)).check(t, http.StatusOK)
		if m := readResult(t, ws); m["message_type"] != "success" || m["connection_id"] != "user 1" {
			t.Errorf("message = %v", m)
		}
		if _, err := e.store.GetConnection(context.Background(), keyOK, "user 1"); err != nil {
			t.Error(err)
		}
	})
}

// TestHMACOff checks the hmac parameter is ignored when HMAC is off.
func TestHMACOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	get(t, e.sdkURL(keyOK, "u1", nil, "garbage", "")).check(t, http.StatusOK)
}
