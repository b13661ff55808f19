package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestPort(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"default", nil, 3003},
		{"SERVER_PORT first", map[string]string{"SERVER_PORT": "8080", "PORT": "9000"}, 8080},
		{"PORT (Heroku, Render)", map[string]string{"PORT": "9000"}, 9000},
		{"garbage ignored", map[string]string{"SERVER_PORT": "x", "PORT": "70000"}, 3003},
	}
	for _, tt := range tests {
		if got := port(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	if err := check(n, "/health"); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	if err := check(n, "/ready"); err == nil {
		t.Error("503 accepted")
	}
	srv.Close()
	if err := check(n, "/health"); err == nil {
		t.Error("closed port accepted")
	}
}
