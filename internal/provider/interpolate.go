package provider

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// Vars are the values a template string may refer to. Every field is
// optional; a placeholder whose value is absent is reported as missing.
type Vars struct {
	// ConnectionConfig holds the connection's config with plain keys (SPEC
	// Part A): ${connectionConfig.X} and the seed-era ${connectionConfig.params.X}
	// both read key X. A dotted X ("installation.uuid") is looked up first as a
	// literal key, then as a path into nested maps. Only string and number
	// values substitute (an empty string counts as missing). A bare
	// ${X} that is not one of the names below also reads key X.
	ConnectionConfig map[string]any
	// Metadata is consulted for ${connectionConfig.X} when ConnectionConfig has
	// no X: the seed era stores token_response_metadata and
	// redirect_uri_metadata values (salesforce instance_url, zoho
	// accounts-server, ...) there, while current templates read them as
	// connection config.
	Metadata map[string]any
	// Credentials holds the connection's credentials by name:
	// ${credentials.X}; ${apiKey} reads Credentials["apiKey"].
	Credentials map[string]secret.String
	// AccessToken is ${accessToken} (the connection's OAuth access token).
	AccessToken secret.String
	// ClientID is ${clientId} (the integration's client id).
	ClientID string
	// ClientSecret is ${clientSecret} (the integration's client secret).
	ClientSecret secret.String
	// Now is the time ${now...} refers to; zero means time.Now().
	Now time.Time
	// Random returns the value of ${random}; nil means a random UUID v4.
	Random func() string
	// Request is the outgoing proxied request, for ${method}, ${host},
	// ${path}, ${params}, ${bodyCanonicalParams} and the signing functions;
	// nil when there is none (such placeholders are then missing).
	Request *Request
}

// Request describes the outgoing request a proxy header is computed for.
type Request struct {
	// Method is the HTTP method, upper case.
	Method string
	// Host is the upstream host[:port].
	Host string
	// Path is the escaped request path ("/admin/v1/users").
	Path string
	// RawQuery is the query string without "?".
	RawQuery string
	// Body is the request body (the signing functions hash it); nil = empty.
	Body []byte
}

// MissingError reports placeholders that had no value. The OAuth engine
// turns it into the reference's url_param_err.
type MissingError struct {
	// Names are the missing placeholders as written, deduplicated, in order of
	// appearance ("connectionConfig.subdomain", "credentials.password", "apiKey").
	Names []string
}

// Error lists the missing names.
func (e *MissingError) Error() string {
	return "missing value for " + strings.Join(e.Names, ", ")
}

// Params returns the connection-config names among the missing placeholders
// (without the connectionConfig. / connectionConfig.params. prefix).
func (e *MissingError) Params() []string {
	var out []string
	for _, n := range e.Names {
		if p, ok := configName(n); ok {
			out = append(out, p)
		}
	}
	return out
}

// SyntaxError reports a malformed or unknown placeholder.
type SyntaxError struct {
	// Expr is the offending text.
	Expr string
	// Problem says what is wrong.
	Problem string
}

// Error describes the problem.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("placeholder %q: %s", e.Expr, e.Problem)
}

// Interpolate replaces every ${...} placeholder of s with its value from v.
//
// Placeholders: ${connectionConfig.X}, ${connectionConfig.params.X},
// ${credentials.X}, ${apiKey}, ${accessToken}, ${clientId}, ${clientSecret},
// ${now}, ${now:FORMAT}, ${now+N:UNIT:FORMAT} (moment.js-style format tokens,
// UTC), ${random}, ${method}, ${host}, ${path}, ${params},
// ${bodyCanonicalParams}, and the functions ${base64(x)},
// ${sha256Base64(x)}, ${hmacSha1Hex(message, key)},
// ${ed25519Sign(message, key)} and
// ${awsSigV4(accessKey, secretKey, region, service[, host])}, whose
// arguments may hold placeholders themselves.
//
// A string may offer alternatives separated by "||" ("https://${connectionConfig.hostname}
// || https://login.salesforce.com"): the first alternative whose placeholders
// all resolve is used, trimmed of surrounding spaces.
//
// When values are missing, Interpolate returns s with the resolvable
// placeholders replaced and the others left in place (the first alternative),
// and a *MissingError naming every missing placeholder. A malformed or
// unknown placeholder gives a *SyntaxError.
func Interpolate(s string, v Vars) (string, error) {
	if !strings.Contains(s, "${") && !strings.Contains(s, "||") {
		return s, nil
	}
	alts, err := Alternatives(s)
	if err != nil {
		return s, err
	}
	if len(alts) == 1 {
		return interpolateOne(alts[0], &v)
	}
	var missing []string
	var first string
	for i, a := range alts {
		out, err := interpolateOne(a, &v)
		if err == nil {
			return out, nil
		}
		var me *MissingError
		if !errors.As(err, &me) {
			return s, err
		}
		if i == 0 {
			first = out
		}
		missing = appendUnique(missing, me.Names...)
	}
	return first, &MissingError{Names: missing}
}

// Alternatives splits s at the "||" separators that stand outside
// placeholders and trims each part. A string without "||" is one alternative.
func Alternatives(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], "||"):
			parts = append(parts, s[start:i])
			start = i + 2
			i++
		}
	}
	if depth > 0 {
		return nil, &SyntaxError{Expr: s, Problem: `unterminated "${"`}
	}
	if parts == nil {
		return []string{s}, nil
	}
	parts = append(parts, s[start:])
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// closing returns the index of the "}" closing the "${" at s[i].
func closing(s string, i int) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		if strings.HasPrefix(s[j:], "${") {
			depth++
			j++
			continue
		}
		if s[j] == '}' {
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, &SyntaxError{Expr: s[i:], Problem: `unterminated "${"`}
}

func interpolateOne(s string, v *Vars) (string, error) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			continue
		}
		end, err := closing(s, i)
		if err != nil {
			return s, err
		}
		val, miss, err := eval(s[i+2:end], v)
		if err != nil {
			return s, err
		}
		if len(miss) > 0 {
			missing = appendUnique(missing, miss...)
			b.WriteString(s[i : end+1])
		} else {
			b.WriteString(val)
		}
		i = end
	}
	if len(missing) > 0 {
		return b.String(), &MissingError{Names: missing}
	}
	return b.String(), nil
}

// eval evaluates one placeholder expression. It returns the value, or the
// names that were missing, or a syntax error.
func eval(expr string, v *Vars) (string, []string, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: "empty placeholder"}
	}
	if name, args, ok := splitCall(e); ok {
		return evalCall(e, name, args, v)
	}
	if strings.HasPrefix(e, "now") && (len(e) == 3 || strings.ContainsRune(":+-", rune(e[3]))) {
		out, err := evalNow(e, v)
		return out, nil, err
	}
	if !isName(e) {
		return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: "not a known placeholder"}
	}
	if p, ok := configName(e); ok {
		if val, ok := lookupConfig(v, p); ok {
			return val, nil, nil
		}
		return "", []string{e}, nil
	}
	if c, ok := strings.CutPrefix(e, "credentials."); ok {
		if c == "" {
			return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: "credential name missing"}
		}
		if val := v.Credentials[c]; val != "" {
			return val.Reveal(), nil, nil
		}
		return "", []string{e}, nil
	}
	var val string
	switch e {
	case "apiKey":
		val = v.Credentials["apiKey"].Reveal()
	case "accessToken":
		val = v.AccessToken.Reveal()
	case "clientId":
		val = v.ClientID
	case "clientSecret":
		val = v.ClientSecret.Reveal()
	case "random":
		if v.Random != nil {
			return v.Random(), nil, nil
		}
		return randomUUID(), nil, nil
	case "method", "host", "path", "params", "bodyCanonicalParams":
		if v.Request == nil {
			return "", []string{e}, nil
		}
		switch e {
		case "method":
			val = v.Request.Method
		case "host":
			val = v.Request.Host
		case "path":
			val = v.Request.Path
		case "params":
			val = canonicalQuery(v.Request.RawQuery)
		case "bodyCanonicalParams":
			return string(v.Request.Body), nil, nil
		}
	default:
		if strings.HasPrefix(e, "connectionConfig") {
			return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: "connection config name missing"}
		}
		// A bare name reads the connection config (aws: ${apiSubdomain}).
		if val, ok := lookupConfig(v, e); ok {
			return val, nil, nil
		}
		return "", []string{e}, nil
	}
	if val == "" {
		return "", []string{e}, nil
	}
	return val, nil, nil
}

// configName returns X for "connectionConfig.X" and "connectionConfig.params.X".
func configName(e string) (string, bool) {
	rest, ok := strings.CutPrefix(e, "connectionConfig.")
	if !ok || rest == "" {
		return "", false
	}
	if p, ok := strings.CutPrefix(rest, "params."); ok && p != "" {
		return p, true
	}
	return rest, true
}

// isName reports whether e is a dotted name of letters, digits, '_' and '-'.
func isName(e string) bool {
	for i := 0; i < len(e); i++ {
		c := e[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return e != "" && e[0] != '.' && e[len(e)-1] != '.' && !strings.Contains(e, "..")
}

func lookupConfig(v *Vars, name string) (string, bool) {
	if s, ok := lookupIn(v.ConnectionConfig, name); ok {
		return s, true
	}
	return lookupIn(v.Metadata, name)
}

func lookupIn(m map[string]any, name string) (string, bool) {
	if m == nil {
		return "", false
	}
	if x, ok := m[name]; ok {
		return scalarText(x)
	}
	cur := m
	parts := strings.Split(name, ".")
	for i, p := range parts {
		x, ok := cur[p]
		if !ok {
			return "", false
		}
		if i == len(parts)-1 {
			return scalarText(x)
		}
		next, ok := x.(map[string]any)
		if !ok {
			return "", false
		}
		cur = next
	}
	return "", false
}

// scalarText renders a string or number; anything else (and "") is absent.
func scalarText(x any) (string, bool) {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		s = strconv.FormatFloat(t, 'f', -1, 64)
	case float32:
		s = strconv.FormatFloat(float64(t), 'f', -1, 32)
	case int:
		s = strconv.Itoa(t)
	case int64:
		s = strconv.FormatInt(t, 10)
	case int32:
		s = strconv.FormatInt(int64(t), 10)
	case uint:
		s = strconv.FormatUint(uint64(t), 10)
	case uint64:
		s = strconv.FormatUint(t, 10)
	case uint32:
		s = strconv.FormatUint(uint64(t), 10)
	default:
		return "", false
	}
	return s, s != ""
}

// splitCall recognises name(args) where name is a function identifier.
func splitCall(e string) (string, string, bool) {
	open := strings.IndexByte(e, '(')
	if open <= 0 || !strings.HasSuffix(e, ")") {
		return "", "", false
	}
	name := e[:open]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			return "", "", false
		}
	}
	return name, e[open+1 : len(e)-1], true
}

// splitArgs splits at the commas outside placeholders, parentheses and
// double quotes; the parts are not trimmed.
func splitArgs(s string) []string {
	var out []string
	depth, paren, start := 0, 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case depth > 0:
		case s[i] == '"':
			quoted = !quoted
		case quoted:
		case s[i] == '(':
			paren++
		case s[i] == ')' && paren > 0:
			paren--
		case s[i] == ',' && paren == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// funcArity gives the accepted argument counts of each function.
var funcArity = map[string][2]int{
	"base64":       {1, 1},
	"sha256Base64": {1, 1},
	"hmacSha1Hex":  {2, 2},
	"ed25519Sign":  {2, 2},
	"awsSigV4":     {4, 5},
}

func evalCall(expr, name, rawArgs string, v *Vars) (string, []string, error) {
	arity, ok := funcArity[name]
	if !ok {
		return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: "unknown function " + name}
	}
	raw := splitArgs(rawArgs)
	if len(raw) > arity[1] && arity[0] == arity[1] {
		// The first argument (a message) may itself hold commas: the last
		// arguments are the ones after the last commas.
		extra := len(raw) - arity[1]
		raw = append([]string{strings.Join(raw[:extra+1], ",")}, raw[extra+1:]...)
	}
	for i := range raw {
		raw[i] = strings.TrimSpace(raw[i])
	}
	if len(raw) < arity[0] || len(raw) > arity[1] {
		return "", nil, &SyntaxError{Expr: "${" + expr + "}", Problem: fmt.Sprintf("%s takes %d argument(s), got %d", name, arity[0], len(raw))}
	}
	args := make([]string, len(raw))
	var missing []string
	for i, a := range raw {
		out, err := interpolateOne(a, v)
		if err != nil {
			var me *MissingError
			if !errors.As(err, &me) {
				return "", nil, err
			}
			missing = appendUnique(missing, me.Names...)
		}
		args[i] = out
	}
	if name == "awsSigV4" && v.Request == nil {
		missing = appendUnique(missing, "request")
	}
	if len(missing) > 0 {
		return "", missing, nil
	}
	switch name {
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(args[0])), nil, nil
	case "sha256Base64":
		sum := sha256.Sum256([]byte(args[0]))
		return base64.StdEncoding.EncodeToString(sum[:]), nil, nil
	case "hmacSha1Hex":
		m := hmac.New(sha1.New, []byte(args[1]))
		m.Write([]byte(args[0]))
		return hex.EncodeToString(m.Sum(nil)), nil, nil
	case "ed25519Sign":
		key, err := ed25519Key(args[1])
		if err != nil {
			return "", nil, fmt.Errorf("ed25519Sign: %w", err)
		}
		return base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(args[0]))), nil, nil
	default: // awsSigV4
		host := v.Request.Host
		if len(args) == 5 {
			host = args[4]
		}
		return awsSigV4(v.Request, now(v), host, args[0], args[1], args[2], args[3]), nil, nil
	}
}

// ed25519Key accepts a PEM (PKCS#8) private key, or the base64 (standard or
// URL alphabet, padded or not) of a 32-byte seed or 64-byte private key.
func ed25519Key(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("private key is not PKCS#8")
		}
		ek, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, errors.New("private key is not an Ed25519 key")
		}
		return ek, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		switch len(b) {
		case ed25519.SeedSize:
			return ed25519.NewKeyFromSeed(b), nil
		case ed25519.PrivateKeySize:
			return ed25519.PrivateKey(b), nil
		}
	}
	return nil, errors.New("private key is neither PEM nor base64 of a 32- or 64-byte key")
}

// awsSigV4 computes the Authorization header value of AWS Signature Version 4
// for req, signing the host and x-amz-date headers (the templates send
// x-amz-date as ${now:YYYYMMDDTHHmmss[Z]} from the same clock).
func awsSigV4(req *Request, t time.Time, host, accessKey, secretKey, region, service string) string {
	t = t.UTC()
	amzDate := t.Format("20060102T150405Z")
	day := t.Format("20060102")
	payload := sha256.Sum256(req.Body)
	path := req.Path
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{
		strings.ToUpper(req.Method),
		path,
		canonicalQuery(req.RawQuery),
		"host:" + host + "\n" + "x-amz-date:" + amzDate + "\n",
		"host;x-amz-date",
		hex.EncodeToString(payload[:]),
	}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	cr := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(cr[:])
	k := hmacSHA256([]byte("AWS4"+secretKey), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	return "AWS4-HMAC-SHA256 Credential=" + accessKey + "/" + scope + ", SignedHeaders=host;x-amz-date, Signature=" + sig
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// canonicalQuery sorts the query parameters by name (then value) and encodes
// them RFC 3986 style (space as %20), as AWS SigV4 and Cisco Duo sign them.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, val := range vals {
			parts = append(parts, rfc3986(k)+"="+rfc3986(val))
		}
	}
	return strings.Join(parts, "&")
}

func rfc3986(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func now(v *Vars) time.Time {
	if v.Now.IsZero() {
		return time.Now().UTC()
	}
	return v.Now.UTC()
}

// evalNow handles now, now:FORMAT and now(+|-)N:UNIT[:FORMAT].
func evalNow(e string, v *Vars) (string, error) {
	t := now(v)
	rest := e[3:]
	if rest == "" {
		return t.Format(time.RFC3339), nil
	}
	if rest[0] == '+' || rest[0] == '-' {
		num, after, _ := strings.Cut(rest[1:], ":")
		unit, format, _ := strings.Cut(after, ":")
		n, err := strconv.Atoi(num)
		if err != nil {
			return "", &SyntaxError{Expr: "${" + e + "}", Problem: "offset is not an integer"}
		}
		if rest[0] == '-' {
			n = -n
		}
		switch strings.TrimSuffix(unit, "s") {
		case "second":
			t = t.Add(time.Duration(n) * time.Second)
		case "minute":
			t = t.Add(time.Duration(n) * time.Minute)
		case "hour":
			t = t.Add(time.Duration(n) * time.Hour)
		case "day":
			t = t.AddDate(0, 0, n)
		default:
			return "", &SyntaxError{Expr: "${" + e + "}", Problem: "unknown time unit " + strconv.Quote(unit)}
		}
		if format == "" {
			return t.Format(time.RFC3339), nil
		}
		return formatMoment(t, format), nil
	}
	return formatMoment(t, rest[1:]), nil
}

// formatMoment formats t with moment.js tokens: YYYY YY MMMM MMM MM M DD D
// dddd ddd HH H hh h mm m ss s SSS A a ZZ Z X x; text in [brackets] is literal.
func formatMoment(t time.Time, f string) string {
	tokens := []struct {
		tok string
		fn  func(time.Time) string
	}{
		{"YYYY", func(t time.Time) string { return fmt.Sprintf("%04d", t.Year()) }},
		{"YY", func(t time.Time) string { return fmt.Sprintf("%02d", t.Year()%100) }},
		{"MMMM", func(t time.Time) string { return t.Month().String() }},
		{"MMM", func(t time.Time) string { return t.Month().String()[:3] }},
		{"MM", func(t time.Time) string { return fmt.Sprintf("%02d", int(t.Month())) }},
		{"M", func(t time.Time) string { return strconv.Itoa(int(t.Month())) }},
		{"DD", func(t time.Time) string { return fmt.Sprintf("%02d", t.Day()) }},
		{"D", func(t time.Time) string { return strconv.Itoa(t.Day()) }},
		{"dddd", func(t time.Time) string { return t.Weekday().String() }},
		{"ddd", func(t time.Time) string { return t.Weekday().String()[:3] }},
		{"HH", func(t time.Time) string { return fmt.Sprintf("%02d", t.Hour()) }},
		{"H", func(t time.Time) string { return strconv.Itoa(t.Hour()) }},
		{"hh", func(t time.Time) string { return fmt.Sprintf("%02d", hour12(t)) }},
		{"h", func(t time.Time) string { return strconv.Itoa(hour12(t)) }},
		{"mm", func(t time.Time) string { return fmt.Sprintf("%02d", t.Minute()) }},
		{"m", func(t time.Time) string { return strconv.Itoa(t.Minute()) }},
		{"ss", func(t time.Time) string { return fmt.Sprintf("%02d", t.Second()) }},
		{"s", func(t time.Time) string { return strconv.Itoa(t.Second()) }},
		{"SSS", func(t time.Time) string { return fmt.Sprintf("%03d", t.Nanosecond()/1e6) }},
		{"A", func(t time.Time) string { return t.Format("PM") }},
		{"a", func(t time.Time) string { return strings.ToLower(t.Format("PM")) }},
		{"ZZ", func(t time.Time) string { return t.Format("-0700") }},
		{"Z", func(t time.Time) string { return t.Format("-07:00") }},
		{"X", func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }},
		{"x", func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		if f[i] == '[' {
			if end := strings.IndexByte(f[i:], ']'); end > 0 {
				b.WriteString(f[i+1 : i+end])
				i += end + 1
				continue
			}
		}
		matched := false
		for _, tk := range tokens {
			if strings.HasPrefix(f[i:], tk.tok) {
				b.WriteString(tk.fn(t))
				i += len(tk.tok)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String()
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func appendUnique(list []string, names ...string) []string {
	for _, n := range names {
		dup := false
		for _, x := range list {
			if x == n {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}

// OnlyOptionalMissing reports whether every value me names is a
// connection-config value the template declares optional, so that whatever
// needed them (a header, a query or body parameter) may simply be left out.
func (t *Template) OnlyOptionalMissing(me *MissingError) bool {
	if t == nil || me == nil {
		return false
	}
	names := me.Params()
	if len(names) == 0 || len(names) != len(me.Names) {
		return false
	}
	for _, n := range names {
		f, ok := t.ConnectionConfigField(n)
		if !ok || !f.Optional {
			return false
		}
	}
	return true
}
