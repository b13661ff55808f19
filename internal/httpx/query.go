package httpx

import (
	"net/url"
	"strings"
)

// QueryValue returns the first value of the query parameter name in the
// raw query string: what url.ParseQuery(raw).Get(name) returns, without
// building the map (handlers on the hot path need one or two values).
// Like ParseQuery it skips pairs holding a semicolon or a bad escape.
func QueryValue(raw, name string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !queryKeyIs(k, name) {
			continue
		}
		if !strings.ContainsAny(v, "%+") {
			return v
		}
		u, err := url.QueryUnescape(v)
		if err != nil {
			continue
		}
		return u
	}
	return ""
}

// queryKeyIs reports whether the raw (escaped) key k unescapes to name.
func queryKeyIs(k, name string) bool {
	if !strings.ContainsAny(k, "%+") {
		return k == name
	}
	u, err := url.QueryUnescape(k)
	return err == nil && u == name
}
