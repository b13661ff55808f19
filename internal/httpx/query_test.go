package httpx

import (
	"net/url"
	"testing"
)

func TestQueryValueMatchesParseQuery(t *testing.T) {
	queries := []string{
		"", "a=1", "a=1&a=2", "b=2&a=1", "a", "a=", "=1&a=2", "a=%zz&a=ok", "a%zz=1&a=2", "a=1;b=2&a=3",
		"provider_config_key=gh&provider_config_key=other", "provider%5Fconfig%5Fkey=esc", "a=x+y", "a=x%2By%20z",
		"&&&=&", ";;;", "a=1&&a=2", "%61=encoded-key", "a+b=space-key&a b=no", "a=%", "x=1&a=%E2%9C%93",
	}
	for _, q := range queries {
		want, _ := url.ParseQuery(q)
		for _, name := range []string{"a", "b", "provider_config_key", "a b", "x", ""} {
			if got := QueryValue(q, name); got != want.Get(name) {
				t.Errorf("QueryValue(%q, %q) = %q, want %q (url.ParseQuery)", q, name, got, want.Get(name))
			}
		}
	}
}

func BenchmarkQueryValue(b *testing.B) {
	const q = "provider_config_key=github-prod&force_refresh=false"
	b.ReportAllocs()
	for b.Loop() {
		_ = QueryValue(q, "provider_config_key")
		_ = QueryValue(q, "force_refresh")
	}
}
