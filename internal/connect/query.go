package connect

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxQueryPairs bounds how many name=value pairs of a query are read; later
// ones are ignored (the reference's query parser stops at 1000 too).
const maxQueryPairs = 1000

// paramsPrefix starts the bracket keys the browser SDK sends for the
// connection config: params[<name>]=<value>.
const paramsPrefix = "params["

// connectQuery is the query of GET /oauth/connect/{key}, parsed.
type connectQuery struct {
	ConnectionID string
	HMAC         string
	WSClientID   string
	// ConnectionConfig holds every params[<name>] value under its plain
	// name. Never nil.
	ConnectionConfig map[string]any
}

// queryPair is one decoded name=value pair, in query order.
type queryPair struct{ name, value string }

// parseQuery splits a raw query string the way the browser SDK's server
// counterpart did (Express' "extended" parser): pairs separated by '&', the
// name and value split at the first '=', '+' read as a space, then
// percent-decoded. A name or value whose percent-encoding is malformed, or
// that does not decode to UTF-8, is kept as sent (with '+' still read as a
// space) instead of being rejected: the SDK does not encode what it sends,
// so odd characters must pass through. Empty pairs are skipped; at most
// maxQueryPairs pairs are read.
func parseQuery(raw string) []queryPair {
	var out []queryPair
	for raw != "" && len(out) < maxQueryPairs {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		name = decodeComponent(name)
		if name == "" {
			continue
		}
		out = append(out, queryPair{name: name, value: decodeComponent(value)})
	}
	return out
}

// decodeComponent reads '+' as a space and percent-decodes s; when s is not
// validly encoded (a stray '%', or bytes that are not UTF-8) it returns s
// with only the '+' replaced, as decodeURIComponent's callers did.
func decodeComponent(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil || !utf8.ValidString(d) {
		return s
	}
	return d
}

// values returns the pairs as url.Values (every value of a repeated name,
// in order).
func values(pairs []queryPair) url.Values {
	v := make(url.Values, len(pairs))
	for _, p := range pairs {
		v[p.name] = append(v[p.name], p.value)
	}
	return v
}

// parseConnectQuery reads the query of /oauth/connect. For every name the
// first occurrence wins. A params key is kept only in the exact form
// params[<name>] with a non-empty name holding no bracket (nested or list
// forms such as params[a][b] or params[] are not string values and were
// dropped by the reference too). public_key and unknown names are ignored.
func parseConnectQuery(raw string) connectQuery {
	q := connectQuery{ConnectionConfig: map[string]any{}}
	seen := map[string]bool{}
	for _, p := range parseQuery(raw) {
		if seen[p.name] {
			continue
		}
		seen[p.name] = true
		switch p.name {
		case "connection_id":
			q.ConnectionID = p.value
		case "hmac":
			q.HMAC = p.value
		case "ws_client_id":
			q.WSClientID = p.value
		default:
			if name, ok := paramName(p.name); ok {
				q.ConnectionConfig[name] = p.value
			}
		}
	}
	return q
}

// paramName returns <name> of a key params[<name>].
func paramName(key string) (string, bool) {
	if !strings.HasPrefix(key, paramsPrefix) || !strings.HasSuffix(key, "]") {
		return "", false
	}
	name := key[len(paramsPrefix) : len(key)-1]
	if name == "" || strings.ContainsAny(name, "[]") {
		return "", false
	}
	return name, true
}
