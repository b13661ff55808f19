package proxy

import (
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
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/nango-go/nango/internal/provider"
)

// oauth1Request is what an OAuth 1.0a signature covers (RFC 5849 §3.4).
type oauth1Request struct {
	Method string
	URL    *url.URL
	// Form is an application/x-www-form-urlencoded body, or nil.
	Form []byte
	// ConsumerKey and ConsumerSecret are the integration's client id and
	// secret; for RSA-SHA1 the secret is the PEM private key (PKCS #1 or
	// PKCS #8).
	ConsumerKey, ConsumerSecret string
	Token, TokenSecret          string
	// SignatureMethod is HMAC-SHA1 (default), RSA-SHA1 or PLAINTEXT.
	SignatureMethod string
	Timestamp       int64
	// Nonce is the oauth_nonce; "" means a fresh random one.
	Nonce string
}

// signOAuth1 returns the Authorization header value ("OAuth ...") of r.
func signOAuth1(r oauth1Request) (string, error) {
	method := r.SignatureMethod
	if method == "" {
		method = provider.SignatureHMACSHA1
	}
	nonce := r.Nonce
	if nonce == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		nonce = hex.EncodeToString(b[:])
	}
	oauth := [][2]string{
		{"oauth_consumer_key", r.ConsumerKey},
		{"oauth_nonce", nonce},
		{"oauth_signature_method", method},
		{"oauth_timestamp", strconv.FormatInt(r.Timestamp, 10)},
	}
	if r.Token != "" {
		oauth = append(oauth, [2]string{"oauth_token", r.Token})
	}
	oauth = append(oauth, [2]string{"oauth_version", "1.0"})

	key := percentEncode(r.ConsumerSecret) + "&" + percentEncode(r.TokenSecret)
	var sig string
	switch method {
	case provider.SignaturePlaintext:
		sig = key
	case provider.SignatureHMACSHA1:
		m := hmac.New(sha1.New, []byte(key))
		m.Write([]byte(baseString(r.Method, r.URL, r.Form, oauth)))
		sig = base64.StdEncoding.EncodeToString(m.Sum(nil))
	case provider.SignatureRSASHA1:
		pk, err := rsaKey(r.ConsumerSecret)
		if err != nil {
			return "", err
		}
		sum := sha1.Sum([]byte(baseString(r.Method, r.URL, r.Form, oauth)))
		s, err := rsa.SignPKCS1v15(rand.Reader, pk, crypto.SHA1, sum[:])
		if err != nil {
			return "", err
		}
		sig = base64.StdEncoding.EncodeToString(s)
	default:
		return "", fmt.Errorf("unsupported signature method %q", method)
	}
	oauth = append(oauth, [2]string{"oauth_signature", sig})
	sort.Slice(oauth, func(i, j int) bool { return oauth[i][0] < oauth[j][0] })
	var b strings.Builder
	b.WriteString("OAuth ")
	for i, kv := range oauth {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(percentEncode(kv[0]))
		b.WriteString(`="`)
		b.WriteString(percentEncode(kv[1]))
		b.WriteByte('"')
	}
	return b.String(), nil
}

// baseString is the signature base string (RFC 5849 §3.4.1): the method,
// the base string URI and the normalized parameters (query, form body and
// oauth_* protocol parameters), each percent-encoded and joined with "&".
func baseString(method string, u *url.URL, form []byte, oauth [][2]string) string {
	var params [][2]string
	params = append(params, decodeParams(u.RawQuery)...)
	if len(form) > 0 {
		params = append(params, decodeParams(string(form))...)
	}
	params = append(params, oauth...)
	enc := make([]string, len(params))
	for i, kv := range params {
		enc[i] = percentEncode(kv[0]) + "=" + percentEncode(kv[1])
	}
	// Sorting the encoded "name=value" strings by name then value: compare
	// the encoded pairs field by field.
	sort.Slice(enc, func(i, j int) bool {
		ni, vi, _ := strings.Cut(enc[i], "=")
		nj, vj, _ := strings.Cut(enc[j], "=")
		if ni != nj {
			return ni < nj
		}
		return vi < vj
	})
	return strings.ToUpper(method) + "&" + percentEncode(baseURI(u)) + "&" + percentEncode(strings.Join(enc, "&"))
}

// baseURI is scheme://host[:port]/path with the scheme and host in lower
// case and the default port left out (RFC 5849 §3.4.1.2).
func baseURI(u *url.URL) string {
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

// decodeParams splits an application/x-www-form-urlencoded string into
// decoded name/value pairs, keeping duplicates and empty values.
func decodeParams(s string) [][2]string {
	var out [][2]string
	for _, kv := range strings.Split(s, "&") {
		if kv == "" {
			continue
		}
		name, value, _ := strings.Cut(kv, "=")
		out = append(out, [2]string{formDecode(name), formDecode(value)})
	}
	return out
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// percentEncode encodes everything but the RFC 3986 unreserved characters
// (ALPHA, DIGIT, "-", ".", "_", "~"), with upper-case hex (RFC 5849 §3.6).
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// rsaKey parses a PEM RSA private key (PKCS #1 or PKCS #8).
func rsaKey(s string) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if blk == nil {
		return nil, errors.New("RSA-SHA1 needs the integration's client secret to be a PEM private key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("the integration's client secret is not a PKCS #1 or PKCS #8 private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the integration's client secret is not an RSA private key")
	}
	return rk, nil
}
