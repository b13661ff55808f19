package oauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// ClientCredentialsRequest is what ClientCredentials needs.
type ClientCredentialsRequest struct {
	// Template is the provider template (auth mode OAUTH2_CC).
	Template *provider.Template
	// Integration supplies the client id and secret (and scopes) unless the
	// connection has its own.
	Integration store.Integration
	// Credentials are the connection's credentials so far: their ClientID,
	// ClientSecret, ClientCertificate and ClientPrivateKey, when set, are
	// used instead of the integration's. Zero for a first token.
	Credentials store.Credentials
	// ConnectionConfig fills the token URL's and parameters' placeholders
	// (plain keys); metadata is the fallback.
	ConnectionConfig map[string]any
	Metadata         map[string]any
}

// ClientCredentials obtains an access token with the client-credentials
// grant (RFC 6749 §4.4) for an OAUTH2_CC connection:
//
//   - a POST to the interpolated token_url (Accept: application/json,
//     User-Agent: Nango, the template's token_headers);
//   - parameters, form-encoded (body_format json: a JSON object; query: the
//     URL query): grant_type=client_credentials unless token_params or the
//     token URL's own query name one, the interpolated token_params, and
//     scope — the connection config's oauth_scopes, else the integration's
//     scopes joined with scope_separator — when not empty and not already a
//     token parameter;
//   - client authentication: the connection's client id/secret, else the
//     integration's; in the body by default; token_request_auth_method:
//     basic or authorization_method: header send them as a Basic header
//     instead (and not in the body); private_key_jwt sends client_id and a
//     client_assertion JWT (RS256/ES256, 5 minutes) signed with the
//     connection's client_private_key (PEM or JWK); custom (zoominfo) sends
//     {"username","password"} as JSON; require_client_certificate makes the
//     call over mutual TLS with the connection's client_certificate and
//     client_private_key.
//
// The answer's token is read from access_token (or the template's
// alternate_access_token_response_path), else token, jwt, data.token or
// data.access_token; its expiry as for OAuth 2 tokens. The result's
// credentials are of type OAUTH2_CC and carry the connection's own client
// credentials forward.
//
// Errors: *FlowError (url_param_err), *ProviderError, *ResponseError,
// *ConfigError (a key or certificate that cannot be used), or a transport
// error.
func (c *Client) ClientCredentials(ctx context.Context, r ClientCredentialsRequest) (TokenResult, error) {
	t := r.Template
	if t == nil {
		return TokenResult{}, errors.New("oauth: ClientCredentials without a template")
	}
	id, sec := r.Integration.ClientID, r.Integration.ClientSecret
	if r.Credentials.ClientID != "" {
		id = r.Credentials.ClientID
	}
	if !r.Credentials.ClientSecret.IsZero() {
		sec = r.Credentials.ClientSecret
	}
	client := store.Integration{Key: r.Integration.Key, Provider: r.Integration.Provider, ClientID: id, ClientSecret: sec, Scopes: r.Integration.Scopes}
	endpoint, err := interpolateURL(t.TokenURL, r.ConnectionConfig, r.Metadata, id)
	if err != nil {
		return TokenResult{}, err
	}
	tp, err := interpolateParams(t, t.TokenParams, r.ConnectionConfig, r.Metadata, client)
	if err != nil {
		return TokenResult{}, err
	}
	var p params
	_, inParams := t.TokenParams.Get("grant_type")
	if !inParams && endpoint.Query().Get("grant_type") == "" && t.TokenRequestAuthMethod != provider.TokenAuthCustom {
		p.set("grant_type", "client_credentials")
	}
	for _, x := range tp {
		p.set(x.name, x.value)
	}
	if _, ok := t.TokenParams.Get("scope"); !ok && t.TokenRequestAuthMethod != provider.TokenAuthCustom {
		scopes := r.Integration.Scopes
		if s, ok := lookupString(r.ConnectionConfig, "oauth_scopes"); ok && strings.TrimSpace(s) != "" {
			scopes = strings.Join(strings.Fields(s), ",")
		}
		if js := joinScopes(scopes, t.ScopeSeparator); js != "" {
			p.set("scope", js)
		}
	}

	header := make(http.Header)
	header.Set("Accept", "application/json")
	header.Set("User-Agent", userAgent)
	redact := []string{sec.Reveal()}
	switch {
	case t.TokenRequestAuthMethod == provider.TokenAuthCustom:
		p.set("username", id)
		p.set("password", sec.Reveal())
	case t.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT:
		assertion, err := clientAssertion(id, endpoint, r.Credentials.ClientPrivateKey, sec, c.now())
		if err != nil {
			return TokenResult{}, err
		}
		redact = append(redact, assertion)
		p.set("client_id", id)
		p.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		p.set("client_assertion", assertion)
	case t.AuthorizationMethod == provider.AuthorizationMethodHeader:
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basicEscape(id)+":"+basicEscape(sec.Reveal()))))
	case t.TokenRequestAuthMethod == provider.TokenAuthBasic:
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+sec.Reveal())))
	default:
		p.set("client_id", id)
		p.set("client_secret", sec.Reveal())
	}
	for _, h := range t.TokenHeaders {
		v, err := provider.Interpolate(h.Value, provider.Vars{ConnectionConfig: r.ConnectionConfig, Metadata: r.Metadata, ClientID: id, ClientSecret: sec})
		if err != nil {
			return TokenResult{}, &ConfigError{Problem: fmt.Sprintf("token header %s of template %s: %v", h.Name, t.Name, err)}
		}
		header.Set(h.Name, v)
	}

	u := *endpoint
	var body []byte
	format := t.BodyFormat
	if t.TokenRequestAuthMethod == provider.TokenAuthCustom {
		format = provider.BodyFormatJSON
	}
	switch format {
	case provider.BodyFormatJSON:
		header.Set("Content-Type", "application/json")
		body = p.json()
	case provider.BodyFormatQuery:
		q := p.encode(querystringEscape)
		if u.RawQuery != "" {
			q = u.RawQuery + "&" + q
		}
		u.RawQuery = q
	default:
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		body = []byte(p.encode(querystringEscape))
	}

	hc := c.httpClient()
	if t.RequireClientCertificate {
		hc, err = c.mtlsClient(r.Credentials)
		if err != nil {
			return TokenResult{}, err
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(c.guardCtx(ctx, t.TokenURL), timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), rd)
	if err != nil {
		return TokenResult{}, fmt.Errorf("oauth: building the token request to %s: %w", endpointText(endpoint), err)
	}
	req.Header = header
	ep := endpointText(endpoint)
	raw, err := c.sendWith(hc, req, ep, redact)
	if err != nil {
		return TokenResult{}, err
	}
	creds, err := c.parseCCCredentials(t, raw)
	if err != nil {
		return TokenResult{}, withEndpoint(err, endpoint)
	}
	creds.ClientID = r.Credentials.ClientID
	creds.ClientSecret = r.Credentials.ClientSecret
	creds.ClientCertificate = r.Credentials.ClientCertificate
	creds.ClientPrivateKey = r.Credentials.ClientPrivateKey
	md := pickMetadata(raw, t.TokenResponseMetadata)
	return TokenResult{Credentials: creds, Metadata: nilIfEmpty(md), ConnectionConfig: automatedConfig(t, md, raw, nil)}, nil
}

// sendWith is send on a given client (mutual TLS).
func (c *Client) sendWith(hc *http.Client, req *http.Request, ep string, redact []string) (map[string]any, error) {
	cc := *c
	cc.HTTP = hc
	obj, err := cc.send(req, ep, redact, false)
	if err != nil {
		return nil, err
	}
	if code, ok := obj["error"].(string); ok && code != "" && obj["access_token"] == nil {
		desc, _ := obj["error_description"].(string)
		return nil, &ProviderError{Status: http.StatusOK, Code: clip(redactAll(code, redact), 100), Description: clip(redactAll(desc, redact), 200), Endpoint: ep}
	}
	return obj, nil
}

// ccTokenPaths are where client-credentials token answers put the token
// when it is not access_token: personio {"data":{"token"}}, zoominfo
// {"jwt"}, and plain {"token"}.
var ccTokenPaths = []string{"token", "jwt", "data.token", "data.access_token"}

// parseCCCredentials parses a client-credentials answer into OAUTH2_CC
// credentials.
func (c *Client) parseCCCredentials(t *provider.Template, raw map[string]any) (store.Credentials, error) {
	obj := raw
	if s, _ := raw["access_token"].(string); s == "" && t.AlternateAccessTokenResponsePath == "" {
		for _, path := range ccTokenPaths {
			if v, ok := lookupPath(raw, path).(string); ok && v != "" {
				obj = make(map[string]any, len(raw)+1)
				for k, x := range raw {
					obj[k] = x
				}
				obj["access_token"] = v
				if d, ok := raw["data"].(map[string]any); ok && strings.HasPrefix(path, "data.") {
					for _, k := range []string{"expires_in", "expires_at"} {
						if x, ok := d[k]; ok {
							if _, top := obj[k]; !top {
								obj[k] = x
							}
						}
					}
				}
				break
			}
		}
	}
	creds, err := c.parseCredentials(t, obj, "")
	if err != nil {
		return store.Credentials{}, err
	}
	creds.Type = store.OAuth2CC
	creds.RefreshToken = ""
	creds.Raw = raw
	if creds.ExpiresAt != nil {
		creds.Raw = make(map[string]any, len(raw)+1)
		for k, v := range raw {
			creds.Raw[k] = v
		}
		creds.Raw["expires_at"] = store.FormatTime(*creds.ExpiresAt)
	}
	return creds, nil
}

// ConfigError is a connection or integration setting that cannot be used
// (a malformed private key or certificate, a broken template header). It
// never holds the secret itself.
type ConfigError struct {
	// Problem says what is wrong.
	Problem string
}

// Error describes the problem.
func (e *ConfigError) Error() string { return "oauth: " + e.Problem }

// mtlsClient returns an HTTP client presenting the connection's client
// certificate (mutual TLS), with the same redirect rules as httpClient.
func (c *Client) mtlsClient(cr store.Credentials) (*http.Client, error) {
	certPEM, keyPEM := normalizePEM(cr.ClientCertificate.Reveal()), normalizePEM(cr.ClientPrivateKey.Reveal())
	if certPEM == "" || keyPEM == "" {
		return nil, &ConfigError{Problem: "the template requires a client certificate (mutual TLS): the connection needs client_certificate and client_private_key credentials"}
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, &ConfigError{Problem: "the connection's client_certificate and client_private_key are not a matching PEM certificate and key: " + clip(strings.TrimPrefix(err.Error(), "tls: "), 120)}
	}
	hc := c.httpClient()
	rt := hc.Transport
	if g, ok := rt.(guardTransport); ok {
		rt = g.base
	}
	var base *http.Transport
	if tr, ok := rt.(*http.Transport); ok && tr != nil {
		base = tr.Clone()
	} else {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base.TLSClientConfig != nil {
		tc = base.TLSClientConfig.Clone()
	}
	tc.Certificates = []tls.Certificate{pair}
	base.TLSClientConfig = tc
	hc.Transport = guardTransport{base: base, tracer: c.Tracer}
	return hc, nil
}

// clientAssertion builds the private_key_jwt client assertion (RFC 7523
// §2.2): iss = sub = the client id, aud = the token endpoint, a fresh jti,
// iat now and exp five minutes later, signed with the connection's private
// key (else the client secret, when it holds one): RS256 for RSA keys, ES256
// (ES384, ES512) for EC keys; a JWK's kid is set in the header.
func clientAssertion(clientID string, endpoint *url.URL, key, fallback secret.String, now time.Time) (string, error) {
	src := key.Reveal()
	if strings.TrimSpace(src) == "" {
		src = fallback.Reveal()
	}
	signer, kid, err := parseSigningKey(src)
	if err != nil {
		return "", err
	}
	var alg string
	var hash crypto.Hash
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		alg, hash = "RS256", crypto.SHA256
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			alg, hash = "ES256", crypto.SHA256
		case elliptic.P384():
			alg, hash = "ES384", crypto.SHA384
		case elliptic.P521():
			alg, hash = "ES512", crypto.SHA512
		default:
			return "", &ConfigError{Problem: "private_key_jwt: unsupported EC curve"}
		}
	default:
		return "", &ConfigError{Problem: "private_key_jwt: the private key must be RSA or EC"}
	}
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		hdr["kid"] = kid
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": baseURL(endpoint),
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	var digest []byte
	switch hash {
	case crypto.SHA256:
		s := sha256.Sum256([]byte(input))
		digest = s[:]
	case crypto.SHA384:
		s := sha512.Sum384([]byte(input))
		digest = s[:]
	default:
		s := sha512.Sum512([]byte(input))
		digest = s[:]
	}
	var sig []byte
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(nil, k, hash, digest)
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest)
		if err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	}
	if err != nil {
		return "", &ConfigError{Problem: "private_key_jwt: signing failed: " + err.Error()}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// parseSigningKey reads a PEM (PKCS #1, PKCS #8 or SEC 1) or JWK private
// key; it returns the key and, for a JWK, its kid.
func parseSigningKey(s string) (crypto.Signer, string, error) {
	s = normalizePEM(s)
	if s == "" {
		return nil, "", &ConfigError{Problem: "private_key_jwt: the connection has no client_private_key"}
	}
	if strings.HasPrefix(s, "{") {
		return parseJWK(s)
	}
	blk, _ := pem.Decode([]byte(s))
	if blk == nil {
		return nil, "", &ConfigError{Problem: "private_key_jwt: client_private_key is neither a PEM private key nor a JWK"}
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, "", nil
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, "", nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, "", &ConfigError{Problem: "private_key_jwt: client_private_key is not a PKCS #1, PKCS #8 or SEC 1 private key"}
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, "", &ConfigError{Problem: "private_key_jwt: unsupported private key type"}
	}
	return signer, "", nil
}

// jwk is the subset of RFC 7517/7518 private key members read.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func parseJWK(s string) (crypto.Signer, string, error) {
	var k jwk
	if err := json.Unmarshal([]byte(s), &k); err != nil {
		return nil, "", &ConfigError{Problem: "private_key_jwt: client_private_key is not valid JWK JSON"}
	}
	num := func(v string) (*big.Int, bool) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
		if err != nil || len(b) == 0 {
			return nil, false
		}
		return new(big.Int).SetBytes(b), true
	}
	bad := &ConfigError{Problem: "private_key_jwt: the JWK lacks private key members or holds malformed ones"}
	switch k.Kty {
	case "RSA":
		n, ok1 := num(k.N)
		e, ok2 := num(k.E)
		d, ok3 := num(k.D)
		if !ok1 || !ok2 || !ok3 || !e.IsInt64() {
			return nil, "", bad
		}
		pk := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: int(e.Int64())}, D: d}
		if p, ok := num(k.P); ok {
			if q, ok := num(k.Q); ok {
				pk.Primes = []*big.Int{p, q}
			}
		}
		if len(pk.Primes) == 2 {
			if err := pk.Validate(); err != nil {
				return nil, "", bad
			}
			pk.Precompute()
		}
		return pk, k.Kid, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, "", &ConfigError{Problem: "private_key_jwt: unsupported JWK curve " + clip(k.Crv, 20)}
		}
		d, ok := num(k.D)
		if !ok {
			return nil, "", bad
		}
		size := (curve.Params().BitSize + 7) / 8
		raw := d.FillBytes(make([]byte, size))
		pk, err := ecdsa.ParseRawPrivateKey(curve, raw)
		if err != nil {
			return nil, "", bad
		}
		return pk, k.Kid, nil
	}
	return nil, "", &ConfigError{Problem: "private_key_jwt: unsupported JWK key type " + clip(k.Kty, 20)}
}
