package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProxyDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Proxy{
		ConnectTimeout:  10 * time.Second,
		ResponseTimeout: 120 * time.Second,
		IdleTimeout:     60 * time.Second,
		MaxAttempts:     10,
		RetryAfterMax:   60 * time.Second,
		ReplayBodyMax:   1 << 20,
	}
	if c.Proxy != want {
		t.Errorf("Proxy = %+v, want %+v", c.Proxy, want)
	}
}

func TestProxyVariables(t *testing.T) {
	env := map[string]string{
		"NANGO_PROXY_CONNECT_TIMEOUT":         "2s",
		"NANGO_PROXY_RESPONSE_TIMEOUT":        "250ms",
		"NANGO_PROXY_IDLE_TIMEOUT":            "5m",
		"NANGO_PROXY_MAX_ATTEMPTS":            "3",
		"NANGO_PROXY_RETRY_AFTER_MAX":         "1s",
		"NANGO_PROXY_REPLAY_BODY_MAX":         "1",
		"NANGO_PROXY_ALLOW_BASE_URL_OVERRIDE": "true",
		"NANGO_PROXY_ALLOW_PRIVATE_NETWORKS":  "yes",
	}
	c, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	want := Proxy{
		ConnectTimeout:       2 * time.Second,
		ResponseTimeout:      250 * time.Millisecond,
		IdleTimeout:          5 * time.Minute,
		MaxAttempts:          3,
		RetryAfterMax:        time.Second,
		ReplayBodyMax:        1,
		AllowBaseURLOverride: true,
		AllowPrivateNetworks: true,
	}
	if c.Proxy != want {
		t.Errorf("Proxy = %+v, want %+v", c.Proxy, want)
	}
}

func TestProxyVariableErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"connect not a duration", "NANGO_PROXY_CONNECT_TIMEOUT", "10", "is not a duration"},
		{"connect too short", "NANGO_PROXY_CONNECT_TIMEOUT", "1ms", "out of range"},
		{"response too long", "NANGO_PROXY_RESPONSE_TIMEOUT", "2h", "out of range"},
		{"idle zero", "NANGO_PROXY_IDLE_TIMEOUT", "0s", "out of range"},
		{"attempts zero", "NANGO_PROXY_MAX_ATTEMPTS", "0", "out of range"},
		{"attempts words", "NANGO_PROXY_MAX_ATTEMPTS", "three", "not a whole number"},
		{"retry-after zero", "NANGO_PROXY_RETRY_AFTER_MAX", "0s", "out of range"},
		{"replay zero", "NANGO_PROXY_REPLAY_BODY_MAX", "0", "out of range"},
		{"replay too big", "NANGO_PROXY_REPLAY_BODY_MAX", "1000000000", "out of range"},
		{"replay with unit", "NANGO_PROXY_REPLAY_BODY_MAX", "1MB", "not a whole number"},
		{"override not bool", "NANGO_PROXY_ALLOW_BASE_URL_OVERRIDE", "sometimes", "not true or false"},
		{"private not bool", "NANGO_PROXY_ALLOW_PRIVATE_NETWORKS", "maybe", "not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, map[string]string{tt.variable: tt.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.variable, tt.value)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.variable+": ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name %s with %q", msg, tt.variable, tt.want)
			}
		})
	}
}

func TestProxyGroupInDump(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Dump(&b, envOf(map[string]string{"NANGO_PROXY_MAX_ATTEMPTS": "4"})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"# Proxy\n", "NANGO_PROXY_MAX_ATTEMPTS=4\n", "NANGO_PROXY_ALLOW_BASE_URL_OVERRIDE=false  (default)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
}
