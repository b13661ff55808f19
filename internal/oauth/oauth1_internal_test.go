package oauth

import (
	"net/url"
	"testing"
)

func TestOAuth1BaseURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP://Example.COM:80/r%20v/X?id=123", "http://example.com/r%20v/X"},
		{"https://www.example.net:8080/?q=1", "https://www.example.net:8080/"},
		{"https://api.example.com:443", "https://api.example.com/"},
		{"http://[::1]:8080/a", "http://[::1]:8080/a"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := oauth1BaseURI(u); got != tt.want {
			t.Errorf("oauth1BaseURI(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
