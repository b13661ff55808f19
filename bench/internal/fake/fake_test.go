package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestHelloBodyIs200Bytes(t *testing.T) {
	if len(HelloBody) != 200 {
		t.Fatalf("len = %d, want 200", len(HelloBody))
	}
	var v map[string]any
	if err := json.Unmarshal(HelloBody, &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
}

func TestProviderCountsPerToken(t *testing.T) {
	p := &Provider{}
	srv := httptest.NewServer(p)
	defer srv.Close()
	grant := func(rt string) int {
		resp, err := http.PostForm(srv.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !strings.Contains(string(b), `"refresh_token":"`+rt+`"`) {
			t.Errorf("answer %s does not keep the refresh token", b)
		}
		return resp.StatusCode
	}
	tests := []struct {
		name string
		rt   string
		want int
	}{
		{"first a", "a", 200}, {"first b", "b", 200}, {"second a", "a", 200}, {"missing token", "", 400},
	}
	for _, tt := range tests {
		if got := grant(tt.rt); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	want := Stats{Total: 3, Tokens: 2, Repeated: 1, MaxPerToken: 2}
	if got := p.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}
