package oauth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"strconv"
	"testing"

	"github.com/nango-go/nango/internal/oauth"
	"github.com/nango-go/nango/internal/secret"
)

// TestSignOAuth1PublishedVectors signs the two published worked examples
// (OAuth Core 1.0 appendix A.5, Twitter's "creating a signature") with the
// same nonce and timestamp and compares the signatures.
func TestSignOAuth1PublishedVectors(t *testing.T) {
	tests := []struct {
		name, method, url, form string
		key, token, nonce       string
		ts                      int64
		cs, tsec, want          string
	}{
		{"appendix A.5", "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", "",
			"dpf43f3p2l4k3l03", "nnch734d00sl2jdk", "kllo9940pd9333jh", 1191242096, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00", "tR3+Ty81lMeYAr/Fid0kMTYa/WM="},
		{"twitter", "POST", "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
			"status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
			"xvz1evFS4wEEPTGEFPHBog", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1318622958,
			"kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE", "hCtSmYh+iHYCEqBWrE7C7hYmtUk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			var form []byte
			if tt.form != "" {
				form = []byte(tt.form)
			}
			h, err := oauth.SignOAuth1(oauth.OAuth1Signing{Method: tt.method, URL: u, Form: form, ConsumerKey: tt.key, ConsumerSecret: secret.String(tt.cs),
				Token: tt.token, TokenSecret: secret.String(tt.tsec), SignatureMethod: "HMAC-SHA1", Timestamp: tt.ts, Nonce: tt.nonce})
			if err != nil {
				t.Fatal(err)
			}
			p := oauthHeader(h)
			if p["oauth_signature"] != tt.want || p["oauth_version"] != "1.0" || p["oauth_timestamp"] != strconv.FormatInt(tt.ts, 10) {
				t.Fatalf("header %s: signature %q, want %q", h, p["oauth_signature"], tt.want)
			}
		})
	}
}

func TestSignOAuth1PlaintextAndRSA(t *testing.T) {
	u, _ := url.Parse("https://api.example.com/x?a=1")
	h, err := oauth.SignOAuth1(oauth.OAuth1Signing{Method: "GET", URL: u, ConsumerKey: "k", ConsumerSecret: "c s&", Token: "t", TokenSecret: "t/s",
		SignatureMethod: "PLAINTEXT", Extra: [][2]string{{"oauth_verifier", "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := oauthHeader(h); p["oauth_signature"] != "c%20s%26&t%2Fs" || p["oauth_verifier"] != "v" {
		t.Fatalf("PLAINTEXT header %s", h)
	}

	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	h, err = oauth.SignOAuth1(oauth.OAuth1Signing{Method: "POST", URL: u, Form: []byte("b=2"), ConsumerKey: "k", ConsumerSecret: secret.String(pemKey),
		SignatureMethod: "RSA-SHA1", Timestamp: 1700000000, Nonce: "n"})
	if err != nil {
		t.Fatal(err)
	}
	p := oauthHeader(h)
	proto := [][2]string{{"oauth_consumer_key", "k"}, {"oauth_nonce", "n"}, {"oauth_signature_method", "RSA-SHA1"}, {"oauth_timestamp", "1700000000"}, {"oauth_version", "1.0"}}
	base := oauth.OAuth1BaseString("POST", u, []byte("b=2"), proto)
	if base != "POST&https%3A%2F%2Fapi.example.com%2Fx&a%3D1%26b%3D2%26oauth_consumer_key%3Dk%26oauth_nonce%3Dn%26oauth_signature_method%3DRSA-SHA1%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0" {
		t.Fatalf("base string %s", base)
	}
	sig, _ := base64.StdEncoding.DecodeString(p["oauth_signature"])
	sum := sha1.Sum([]byte(base))
	if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA1, sum[:], sig); err != nil {
		t.Fatalf("RSA-SHA1 signature does not verify: %v", err)
	}
	if _, err := oauth.SignOAuth1(oauth.OAuth1Signing{Method: "GET", URL: u, ConsumerSecret: "not a key", SignatureMethod: "RSA-SHA1"}); err == nil {
		t.Fatal("RSA-SHA1 with a non-PEM secret: no error")
	}
}
