package oauth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// OAuth1Version is the oauth_version this server sends. The reference
// (node-oauth) sent "1.0A"; RFC 5849 §3.1 says the parameter, when present,
// MUST be "1.0", and strict servers refuse anything else while every known
// provider accepts "1.0". docs/auth-modes.md records the choice.
const OAuth1Version = "1.0"

// OAuth1Signing is one request to sign with OAuth 1.0a (RFC 5849 §3.4).
type OAuth1Signing struct {
	// Method is the HTTP method.
	Method string
	// URL is the request URL; its query takes part in the signature.
	URL *url.URL
	// Form is the application/x-www-form-urlencoded body, or nil: its
	// parameters take part in the signature.
	Form []byte
	// ConsumerKey and ConsumerSecret are the integration's client id and
	// secret. For RSA-SHA1 the secret is the PEM private key (PKCS #1 or
	// PKCS #8).
	ConsumerKey    string
	ConsumerSecret secret.String
	// Token and TokenSecret are the request or access token ("" for the
	// request-token call).
	Token       string
	TokenSecret secret.String
	// SignatureMethod is HMAC-SHA1 (default), RSA-SHA1 or PLAINTEXT.
	SignatureMethod string
	// Extra are protocol parameters to sign and send besides the standard
	// ones (oauth_callback, oauth_verifier).
	Extra [][2]string
	// Timestamp is the Unix time sent; 0 means now.
	Timestamp int64
	// Nonce is the oauth_nonce; "" means a fresh random one.
	Nonce string
}

// SignOAuth1 returns the Authorization header value ("OAuth ...") of the
// request: the protocol parameters oauth_consumer_key, oauth_nonce,
// oauth_signature_method, oauth_timestamp, oauth_token (when set),
// oauth_version and the Extra ones, signed over the method, the base string
// URI and the query, form and protocol parameters, sorted (RFC 5849 §3.4.1).
func SignOAuth1(s OAuth1Signing) (string, error) {
	method := s.SignatureMethod
	if method == "" {
		method = provider.SignatureHMACSHA1
	}
	nonce := s.Nonce
	if nonce == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		nonce = hex.EncodeToString(b[:])
	}
	ts := s.Timestamp
	if ts == 0 {
		ts = time.Now().Unix()
	}
	proto := [][2]string{
		{"oauth_consumer_key", s.ConsumerKey},
		{"oauth_nonce", nonce},
		{"oauth_signature_method", method},
		{"oauth_timestamp", strconv.FormatInt(ts, 10)},
	}
	if s.Token != "" {
		proto = append(proto, [2]string{"oauth_token", s.Token})
	}
	proto = append(proto, [2]string{"oauth_version", OAuth1Version})
	proto = append(proto, s.Extra...)

	key := rfc3986(s.ConsumerSecret.Reveal()) + "&" + rfc3986(s.TokenSecret.Reveal())
	var sig string
	switch method {
	case provider.SignaturePlaintext:
		sig = key
	case provider.SignatureHMACSHA1:
		m := hmac.New(sha1.New, []byte(key))
		m.Write([]byte(OAuth1BaseString(s.Method, s.URL, s.Form, proto)))
		sig = base64.StdEncoding.EncodeToString(m.Sum(nil))
	case provider.SignatureRSASHA1:
		pk, err := rsaPrivateKey(s.ConsumerSecret.Reveal())
		if err != nil {
			return "", err
		}
		sum := sha1.Sum([]byte(OAuth1BaseString(s.Method, s.URL, s.Form, proto)))
		b, err := rsa.SignPKCS1v15(nil, pk, crypto.SHA1, sum[:])
		if err != nil {
			return "", fmt.Errorf("oauth: RSA-SHA1 signature: %w", err)
		}
		sig = base64.StdEncoding.EncodeToString(b)
	default:
		return "", fmt.Errorf("oauth: unsupported OAuth 1.0a signature method %q", method)
	}
	proto = append(proto, [2]string{"oauth_signature", sig})
	sort.SliceStable(proto, func(i, j int) bool { return proto[i][0] < proto[j][0] })
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, kv := range proto {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(rfc3986(kv[0]))
		b.WriteString(`="`)
		b.WriteString(rfc3986(kv[1]))
		b.WriteByte('"')
	}
	return b.String(), nil
}

// OAuth1BaseString is the signature base string of RFC 5849 §3.4.1: the
// upper-case method, the base string URI and the normalized parameters
// (query, form body and protocol parameters, each name and value
// percent-encoded, sorted by name then value), each percent-encoded and
// joined with "&".
func OAuth1BaseString(method string, u *url.URL, form []byte, proto [][2]string) string {
	var pairs [][2]string
	pairs = append(pairs, splitForm(u.RawQuery)...)
	if len(form) > 0 {
		pairs = append(pairs, splitForm(string(form))...)
	}
	for _, kv := range proto {
		pairs = append(pairs, [2]string{rfc3986(kv[0]), rfc3986(kv[1])})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	parts := make([]string, len(pairs))
	for i, kv := range pairs {
		parts[i] = kv[0] + "=" + kv[1]
	}
	return strings.ToUpper(method) + "&" + rfc3986(oauth1BaseURI(u)) + "&" + rfc3986(strings.Join(parts, "&"))
}

// splitForm decodes an x-www-form-urlencoded string ('+' is a space) and
// re-encodes each name and value per RFC 3986, keeping duplicates and
// empty values.
func splitForm(s string) [][2]string {
	var out [][2]string
	for _, kv := range strings.Split(s, "&") {
		if kv == "" {
			continue
		}
		name, value, _ := strings.Cut(kv, "=")
		out = append(out, [2]string{rfc3986(formUnescape(name)), rfc3986(formUnescape(value))})
	}
	return out
}

func formUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// oauth1BaseURI is scheme://host[:port]/path in lower case scheme and host,
// without the default port (RFC 5849 §3.4.1.2).
func oauth1BaseURI(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// rfc3986 percent-encodes everything but the unreserved characters
// (ALPHA, DIGIT, "-", ".", "_", "~") with upper-case hex (RFC 5849 §3.6).
func rfc3986(s string) string {
	return escape(s, func(c byte) bool {
		return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
	}, false)
}

// rsaPrivateKey parses a PEM RSA private key (PKCS #1 or PKCS #8); literal
// "\n" sequences (a key pasted into a one-line field) are read as newlines.
func rsaPrivateKey(s string) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode([]byte(normalizePEM(s)))
	if blk == nil {
		return nil, errors.New("oauth: RSA-SHA1 needs the integration's client secret to be a PEM RSA private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("oauth: the private key is neither PKCS #1 nor PKCS #8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("oauth: the private key is not an RSA key")
	}
	return rk, nil
}

// normalizePEM trims s and turns literal "\n" into newlines.
func normalizePEM(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\\n`, "\n")
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	return s
}

// OAuth1TokenRequest is what RequestToken needs.
type OAuth1TokenRequest struct {
	// Template is the provider template (auth mode OAUTH1).
	Template *provider.Template
	// Integration supplies the consumer key and secret.
	Integration store.Integration
	// CallbackURL is the full oauth_callback, our callback URL carrying the
	// flow's state (<callback>?state=<state>).
	CallbackURL string
	// ConnectionConfig fills placeholders in the template URLs, if any.
	ConnectionConfig map[string]any
}

// RequestTokenResult is a temporary credential (RFC 5849 §2.1).
type RequestTokenResult struct {
	// Token is the request token (oauth_token).
	Token string
	// Secret is its secret (oauth_token_secret), kept with the OAuth session.
	Secret secret.String
}

// RequestToken obtains a request token (SPEC §3.8 step 1): a
// request_http_method (default POST) call to request_url signed with the
// integration's client id and secret, oauth_callback = r.CallbackURL in the
// Authorization header, the template's request_params in the form body
// (POST, PUT) or the query (GET) and in the signature, User-Agent: Nango.
// The answer must hold oauth_token and oauth_token_secret.
//
// Errors: *FlowError (url_param_err for an incomplete URL), *ProviderError,
// *ResponseError, or a transport error; the connect flow reports them all
// as token_err.
func (c *Client) RequestToken(ctx context.Context, r OAuth1TokenRequest) (RequestTokenResult, error) {
	t := r.Template
	if t == nil {
		return RequestTokenResult{}, errors.New("oauth: RequestToken without a template")
	}
	u, err := interpolateURL(t.RequestURL, r.ConnectionConfig, nil, r.Integration.ClientID)
	if err != nil {
		return RequestTokenResult{}, err
	}
	params, err := interpolateParams(t, t.RequestParams, r.ConnectionConfig, nil, r.Integration)
	if err != nil {
		return RequestTokenResult{}, err
	}
	obj, err := c.oauth1Call(c.guardCtx(ctx, t.RequestURL), oauth1Call{
		template: t, method: t.RequestHTTPMethod, endpoint: u, params: params,
		sign: OAuth1Signing{
			ConsumerKey: r.Integration.ClientID, ConsumerSecret: r.Integration.ClientSecret,
			SignatureMethod: t.SignatureMethod, Extra: [][2]string{{"oauth_callback", r.CallbackURL}},
		},
	})
	if err != nil {
		return RequestTokenResult{}, err
	}
	tok, _ := obj["oauth_token"].(string)
	sec, _ := obj["oauth_token_secret"].(string)
	if tok == "" || sec == "" {
		return RequestTokenResult{}, &ResponseError{Endpoint: endpointText(u), Status: http.StatusOK, Problem: "the request-token response lacks oauth_token or oauth_token_secret"}
	}
	return RequestTokenResult{Token: tok, Secret: secret.String(sec)}, nil
}

// OAuth1AuthorizationURL is the URL the end user is sent to (SPEC §3.8
// step 3): authorization_url (its own query dropped) with oauth_token, scope
// (the integration's comma-separated scopes joined with scope_separator,
// always present) and the template's authorization_params, form-encoded.
func OAuth1AuthorizationURL(t *provider.Template, requestToken, scopes string, connectionConfig map[string]any) (string, error) {
	u, err := interpolateURL(t.AuthorizationURL, connectionConfig, nil, "")
	if err != nil {
		return "", err
	}
	var p params
	p.set("oauth_token", requestToken)
	p.set("scope", joinScopes(scopes, t.ScopeSeparator))
	ap, err := interpolateParams(t, t.AuthorizationParams, connectionConfig, nil, store.Integration{})
	if err != nil {
		return "", err
	}
	for _, x := range ap {
		p.set(x.name, x.value)
	}
	return baseURL(u) + "?" + p.encode(formEscape), nil
}

// OAuth1AccessRequest is what AccessToken needs.
type OAuth1AccessRequest struct {
	// Template is the provider template (auth mode OAUTH1).
	Template *provider.Template
	// Integration supplies the consumer key and secret (re-read at callback
	// time).
	Integration store.Integration
	// Token is the oauth_token of the callback (the authorized request token).
	Token string
	// TokenSecret is the request token's secret kept with the OAuth session.
	TokenSecret secret.String
	// Verifier is the callback's oauth_verifier.
	Verifier string
	// ConnectionConfig fills placeholders in the template URLs, if any.
	ConnectionConfig map[string]any
	// CallbackQuery is the callback's query, for redirect_uri_metadata.
	CallbackQuery url.Values
}

// AccessToken trades the authorized request token for the access token
// (SPEC §3.8 step 5): a token_http_method (default POST) call to token_url
// signed with the request token and its secret, oauth_verifier among the
// protocol parameters, the template's token_params in the body (query for
// GET). The answer (form-encoded, or JSON) becomes raw and must hold
// oauth_token and oauth_token_secret. Metadata holds the callback
// parameters named by redirect_uri_metadata.
func (c *Client) AccessToken(ctx context.Context, r OAuth1AccessRequest) (TokenResult, error) {
	t := r.Template
	if t == nil {
		return TokenResult{}, errors.New("oauth: AccessToken without a template")
	}
	u, err := interpolateURL(t.TokenURL, r.ConnectionConfig, nil, r.Integration.ClientID)
	if err != nil {
		return TokenResult{}, err
	}
	params, err := interpolateParams(t, t.TokenParams, r.ConnectionConfig, nil, r.Integration)
	if err != nil {
		return TokenResult{}, err
	}
	obj, err := c.oauth1Call(c.guardCtx(ctx, t.TokenURL), oauth1Call{
		template: t, method: t.TokenHTTPMethod, endpoint: u, params: params,
		sign: OAuth1Signing{
			ConsumerKey: r.Integration.ClientID, ConsumerSecret: r.Integration.ClientSecret,
			Token: r.Token, TokenSecret: r.TokenSecret,
			SignatureMethod: t.SignatureMethod, Extra: [][2]string{{"oauth_verifier", r.Verifier}},
		},
		redact: []string{r.Verifier, r.TokenSecret.Reveal()},
	})
	if err != nil {
		return TokenResult{}, err
	}
	tok, _ := obj["oauth_token"].(string)
	sec, _ := obj["oauth_token_secret"].(string)
	if tok == "" || sec == "" {
		return TokenResult{}, &ResponseError{Endpoint: endpointText(u), Status: http.StatusOK, Problem: "the access-token response lacks oauth_token or oauth_token_secret"}
	}
	md := map[string]any{}
	for _, name := range t.RedirectURIMetadata {
		if v := r.CallbackQuery.Get(name); v != "" && storable(v) {
			md[name] = v
		}
	}
	res := TokenResult{
		Credentials: store.Credentials{Type: store.OAuth1, OAuthToken: secret.String(tok), OAuthTokenSecret: secret.String(sec), Raw: obj},
		Metadata:    nilIfEmpty(md),
	}
	res.ConnectionConfig = automatedConfig(t, md, obj, r.CallbackQuery)
	return res, nil
}

// oauth1Call is one signed call to an OAuth 1 endpoint.
type oauth1Call struct {
	template *provider.Template
	method   string
	endpoint *url.URL
	params   params
	sign     OAuth1Signing
	redact   []string
}

// oauth1Call sends a signed request and decodes its answer.
func (c *Client) oauth1Call(ctx context.Context, oc oauth1Call) (map[string]any, error) {
	method := strings.ToUpper(oc.method)
	if method == "" {
		method = http.MethodPost
	}
	u := *oc.endpoint
	var body io.Reader
	var form []byte
	if len(oc.params) > 0 {
		enc := oc.params.encode(rfc3986)
		if method == http.MethodGet {
			if u.RawQuery != "" {
				u.RawQuery += "&" + enc
			} else {
				u.RawQuery = enc
			}
		} else {
			form = []byte(enc)
			body = strings.NewReader(enc)
		}
	}
	s := oc.sign
	s.Method, s.URL, s.Form = method, &u, form
	auth, err := SignOAuth1(s)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("oauth: building the OAuth 1 request to %s: %w", endpointText(oc.endpoint), err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "*/*")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.send(req, endpointText(oc.endpoint), append(oc.redact, oc.sign.ConsumerSecret.Reveal()), true)
}

// send performs a token-endpoint request and decodes the answer object,
// mapping error statuses and bodies to *ProviderError / *ResponseError.
// With formAnyType, a form-encoded body is accepted whatever its content
// type (OAuth 1 servers answer text/html: Twitter).
func (c *Client) send(req *http.Request, ep string, redact []string, formAnyType bool) (map[string]any, error) {
	start := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		c.logger().Debug("oauth request failed", "endpoint", ep, "duration", time.Since(start), "err", transportText(err))
		if errors.Is(err, ErrNonPublicHost) {
			return nil, ErrNonPublicHost
		}
		return nil, fmt.Errorf("oauth: request to %s failed: %s", ep, transportText(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	c.logger().Debug("oauth request", "endpoint", ep, "status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("oauth: reading the response of %s failed: %s", ep, transportText(err))
	}
	if len(data) > maxResponse {
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: fmt.Sprintf("the response is larger than %d bytes", maxResponse)}
	}
	switch {
	case resp.StatusCode >= 400:
		return nil, providerError(ep, resp.StatusCode, resp.Header.Get("Content-Type"), data, redact)
	case resp.StatusCode >= 300:
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: "the endpoint redirected to another host; such redirects are not followed"}
	case resp.StatusCode < 200:
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: "unexpected informational status"}
	}
	ct := resp.Header.Get("Content-Type")
	obj, err := decodeObject(ct, data)
	if err != nil && formAnyType {
		obj, err = decodeObject("application/x-www-form-urlencoded", data)
	}
	if err != nil {
		return nil, &ResponseError{Endpoint: ep, Status: resp.StatusCode, Problem: err.Error()}
	}
	return obj, nil
}
