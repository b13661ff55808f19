package proxy_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// This file holds an OAuth 1.0a verifier written from RFC 5849 for the
// tests, independent of the proxy's signer (different parsing and encoding
// code: net/url's, with the RFC 3986 fix-ups), and checked against the two
// published worked examples before it is trusted.

// rfcEncode is RFC 5849 §3.6 percent-encoding built on url.QueryEscape.
func rfcEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	return strings.ReplaceAll(e, "%7E", "~")
}

// verifierBaseString builds the signature base string (RFC 5849 §3.4.1) of
// a request: rawURL is scheme://host[:port]/path?query as sent, form the
// application/x-www-form-urlencoded body ("" if none), oauth the protocol
// parameters (oauth_signature and realm are left out).
func verifierBaseString(method, rawURL, form string, oauth map[string]string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	type pair struct{ k, v string }
	var pairs []pair
	for _, src := range []string{u.RawQuery, form} {
		vals, err := url.ParseQuery(src)
		if err != nil {
			return "", err
		}
		for k, vs := range vals {
			for _, v := range vs {
				pairs = append(pairs, pair{rfcEncode(k), rfcEncode(v)})
			}
		}
	}
	for k, v := range oauth {
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		pairs = append(pairs, pair{rfcEncode(k), rfcEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"http": ":80", "https": ":443"}[strings.ToLower(u.Scheme)])
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	uri := strings.ToLower(u.Scheme) + "://" + host + path
	return strings.ToUpper(method) + "&" + rfcEncode(uri) + "&" + rfcEncode(strings.Join(parts, "&")), nil
}

func hmacSHA1Base64(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// parseOAuthHeader reads `OAuth k="v", ...` (values percent-decoded).
func parseOAuthHeader(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil, fmt.Errorf("not an OAuth header: %q", h)
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, fmt.Errorf("malformed parameter %q", part)
		}
		dv, err := url.PathUnescape(v[1 : len(v)-1])
		if err != nil {
			return nil, err
		}
		out[k] = dv
	}
	return out, nil
}

// oauthVerifier checks requests signed with one consumer and token.
type oauthVerifier struct {
	consumerKey, consumerSecret, token, tokenSecret string
	rsaPub                                          *rsa.PublicKey
}

// verify checks r (its body already read into body) and returns the
// protocol parameters.
func (v oauthVerifier) verify(r *http.Request, body []byte) (map[string]string, error) {
	p, err := parseOAuthHeader(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if p["oauth_consumer_key"] != v.consumerKey || p["oauth_token"] != v.token {
		return p, fmt.Errorf("consumer %q token %q", p["oauth_consumer_key"], p["oauth_token"])
	}
	if p["oauth_version"] != "1.0" || p["oauth_nonce"] == "" {
		return p, fmt.Errorf("version %q nonce %q", p["oauth_version"], p["oauth_nonce"])
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return p, fmt.Errorf("timestamp %q is not now", p["oauth_timestamp"])
	}
	form := ""
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form = string(body)
	}
	base, err := verifierBaseString(r.Method, "http://"+r.Host+r.URL.RequestURI(), form, p)
	if err != nil {
		return p, err
	}
	key := rfcEncode(v.consumerSecret) + "&" + rfcEncode(v.tokenSecret)
	switch p["oauth_signature_method"] {
	case "HMAC-SHA1":
		if got, want := p["oauth_signature"], hmacSHA1Base64(key, base); got != want {
			return p, fmt.Errorf("HMAC-SHA1 signature %q, want %q over %q", got, want, base)
		}
	case "PLAINTEXT":
		if p["oauth_signature"] != key {
			return p, fmt.Errorf("PLAINTEXT signature %q, want %q", p["oauth_signature"], key)
		}
	case "RSA-SHA1":
		sig, err := base64.StdEncoding.DecodeString(p["oauth_signature"])
		if err != nil {
			return p, err
		}
		sum := sha1.Sum([]byte(base))
		if err := rsa.VerifyPKCS1v15(v.rsaPub, crypto.SHA1, sum[:], sig); err != nil {
			return p, fmt.Errorf("RSA-SHA1 signature does not verify over %q: %v", base, err)
		}
	default:
		return p, fmt.Errorf("signature method %q", p["oauth_signature_method"])
	}
	return p, nil
}

// The verifier reproduces both published worked examples, so it can be
// trusted to judge the proxy's signatures.
func TestVerifierMatchesPublishedExamples(t *testing.T) {
	tests := []struct {
		name, method, url, form     string
		oauth                       map[string]string
		consumerSecret, tokenSecret string
		wantBase, wantSig           string
	}{
		{
			name: "OAuth Core 1.0 appendix A.5 (photos)", method: "GET", url: "http://photos.example.net/photos?file=vacation.jpg&size=original",
			oauth: map[string]string{"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk", "oauth_signature_method": "HMAC-SHA1",
				"oauth_timestamp": "1191242096", "oauth_nonce": "kllo9940pd9333jh", "oauth_version": "1.0"},
			consumerSecret: "kd94hf93k423kf44", tokenSecret: "pfkkdhi9sl3r4s00",
			wantBase: "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal",
			wantSig:  "tR3+Ty81lMeYAr/Fid0kMTYa/WM=",
		},
		{
			name: "Twitter's 'creating a signature' (query and form body)", method: "POST", url: "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
			form: "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
			oauth: map[string]string{"oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog", "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "1318622958", "oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "oauth_version": "1.0"},
			consumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", tokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
			wantBase: "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521",
			wantSig:  "hCtSmYh+iHYCEqBWrE7C7hYmtUk=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := verifierBaseString(tt.method, tt.url, tt.form, tt.oauth)
			if err != nil {
				t.Fatal(err)
			}
			if base != tt.wantBase {
				t.Fatalf("base string\n got %s\nwant %s", base, tt.wantBase)
			}
			if sig := hmacSHA1Base64(rfcEncode(tt.consumerSecret)+"&"+rfcEncode(tt.tokenSecret), base); sig != tt.wantSig {
				t.Errorf("signature %s, want %s", sig, tt.wantSig)
			}
		})
	}
}

func TestOAuth1SignedRequests(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))

	var mu sync.Mutex
	var problems []string
	var nonces []string
	verifiers := map[string]oauthVerifier{
		"/hmac":      {consumerKey: "ck-hmac", consumerSecret: "cs &secret", token: "tok-1", tokenSecret: "ts/1+2"},
		"/plaintext": {consumerKey: "ck-plain", consumerSecret: "cs-plain", token: "tok-2", tokenSecret: "ts&2"},
		"/rsa":       {consumerKey: "ck-rsa", consumerSecret: rsaPEM, token: "tok-3", tokenSecret: "unused", rsaPub: &rsaKey.PublicKey},
	}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int, body []byte) {
		prefix := "/" + strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
		v := verifiers[prefix]
		p, err := v.verify(r, body)
		mu.Lock()
		if err != nil {
			problems = append(problems, r.Method+" "+r.URL.RequestURI()+": "+err.Error())
		}
		nonces = append(nonces, p["oauth_nonce"])
		mu.Unlock()
		if err != nil {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, err.Error())
			return
		}
		if r.URL.Query().Get("fail") == "once" && len(nonces) == 1 {
			w.WriteHeader(503)
			return
		}
		_, _ = io.WriteString(w, "verified")
	})
	e := newEnv(t, envOptions{})
	tmpl := func(name, method, path string) string {
		return name + ":\n  auth_mode: OAUTH1\n  authorization_url: https://example.com/authorize\n  token_url: https://example.com/access\n  request_url: https://example.com/request\n  signature_method: " + method + "\n  proxy:\n    base_url: " + up.URL + path + "\n"
	}
	e.addTemplates(tmpl("t-hmac", "HMAC-SHA1", "/hmac") + tmpl("t-plain", "PLAINTEXT", "/plaintext") + tmpl("t-rsa", "RSA-SHA1", "/rsa") +
		"t-hmac-query:\n  auth_mode: OAUTH1\n  authorization_url: https://example.com/authorize\n  token_url: https://example.com/access\n  request_url: https://example.com/request\n  proxy:\n    base_url: " + up.URL + "/hmac/q\n    query:\n      format: j son\n")
	for key, tm := range map[string]string{"hmac": "t-hmac", "plain": "t-plain", "rsa": "t-rsa", "hmacq": "t-hmac-query"} {
		prefix := map[string]string{"hmac": "/hmac", "plain": "/plaintext", "rsa": "/rsa", "hmacq": "/hmac"}[key]
		v := verifiers[prefix]
		e.integration(key, tm, v.consumerKey, v.consumerSecret)
		e.connection(key, "u", store.Credentials{Type: store.OAuth1, OAuthToken: secret.String(v.token), OAuthTokenSecret: secret.String(v.tokenSecret)}, nil)
	}
	form := "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21&dup=b&dup=a&empty="
	tests := []struct {
		name, key, method, path, ctype, body string
		retries                              string
	}{
		{"hmac GET with a query", "hmac", "GET", "/proxy/1.1/statuses.json?include_entities=true&q=a%20b%2Bc~&dup=2&dup=1&empty=", "", "", ""},
		{"hmac GET, encoded path", "hmac", "GET", "/proxy/files/a%20b%2Fc", "", "", ""},
		{"hmac POST form body", "hmac", "POST", "/proxy/1.1/statuses/update.json?include_entities=true", "application/x-www-form-urlencoded", form, ""},
		{"hmac POST form body with charset", "hmac", "POST", "/proxy/update", "application/x-www-form-urlencoded; charset=utf-8", form, ""},
		{"hmac POST JSON body (not signed over)", "hmac", "POST", "/proxy/update?x=1", "application/json", `{"status":"a&b=c"}`, ""},
		{"hmac DELETE", "hmac", "DELETE", "/proxy/items/9", "", "", ""},
		{"hmac with the template's query", "hmacq", "GET", "/proxy/list?page=3", "", "", ""},
		{"plaintext", "plain", "GET", "/proxy/x?y=z", "", "", ""},
		{"rsa-sha1 GET", "rsa", "GET", "/proxy/x?y=z%20w", "", "", ""},
		{"rsa-sha1 POST form", "rsa", "PUT", "/proxy/x", "application/x-www-form-urlencoded", form, ""},
		{"re-signed on each attempt", "hmac", "POST", "/proxy/retry?fail=once", "application/x-www-form-urlencoded", "a=1", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			problems, nonces = nil, nil
			mu.Unlock()
			c := call{method: tt.method, path: tt.path, key: tt.key, id: "u", header: map[string]string{}}
			if tt.body != "" {
				c.body = strings.NewReader(tt.body)
				c.header["Content-Type"] = tt.ctype
			}
			if tt.retries != "" {
				c.header["Retries"] = tt.retries
			}
			resp := e.do(c)
			body := readAll(t, resp)
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != 200 || len(problems) > 0 {
				t.Fatalf("status %d %q; verifier: %v", resp.StatusCode, body, problems)
			}
			if tt.retries != "" {
				if len(nonces) != 2 || nonces[0] == nonces[1] {
					t.Errorf("attempts used nonces %q; want two different ones", nonces)
				}
			}
		})
	}

	t.Run("the verifier rejects a tampered request", func(t *testing.T) {
		mu.Lock()
		problems = nil
		mu.Unlock()
		resp := e.do(call{path: "/proxy/x?a=1", key: "hmac", id: "u", header: map[string]string{"Nango-Proxy-Authorization": `OAuth oauth_consumer_key="ck-hmac", oauth_nonce="n", oauth_signature="AAAA", oauth_signature_method="HMAC-SHA1", oauth_timestamp="` + strconv.FormatInt(time.Now().Unix(), 10) + `", oauth_token="tok-1", oauth_version="1.0"`}})
		readAll(t, resp)
		if resp.StatusCode != 401 {
			t.Errorf("a forged signature got %d", resp.StatusCode)
		}
	})
}
