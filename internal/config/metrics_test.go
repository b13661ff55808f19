package config

import (
	"strings"
	"testing"
)

func TestOpsDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Ops{MetricsMode: MetricsSecret, MetricsAddr: ":9464"}
	if c.Ops != want {
		t.Errorf("Ops = %+v, want %+v", c.Ops, want)
	}
}

func TestOpsVariables(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Ops
	}{
		{"port mode", map[string]string{"NANGO_METRICS": "port", "NANGO_METRICS_ADDR": "127.0.0.1:9100"},
			Ops{MetricsMode: MetricsPort, MetricsAddr: "127.0.0.1:9100"}},
		{"off, any case", map[string]string{"NANGO_METRICS": " OFF "}, Ops{MetricsMode: MetricsOff, MetricsAddr: ":9464"}},
		{"false means off", map[string]string{"NANGO_METRICS": "false"}, Ops{MetricsMode: MetricsOff, MetricsAddr: ":9464"}},
		{"secret", map[string]string{"NANGO_METRICS": "secret"}, Ops{MetricsMode: MetricsSecret, MetricsAddr: ":9464"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Ops != tt.want {
				t.Errorf("Ops = %+v, want %+v", c.Ops, tt.want)
			}
		})
	}
}

func TestOpsVariableErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"unknown mode", "NANGO_METRICS", "prometheus", `NANGO_METRICS: "prometheus" is not secret, port or off`},
		{"no port", "NANGO_METRICS_ADDR", "localhost", `NANGO_METRICS_ADDR: "localhost" is not a listen address`},
		{"port not a number", "NANGO_METRICS_ADDR", ":http", `NANGO_METRICS_ADDR: ":http" has no valid port number`},
		{"port out of range", "NANGO_METRICS_ADDR", ":70000", `NANGO_METRICS_ADDR: ":70000" has no valid port number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, map[string]string{tt.variable: tt.value})
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestOpsVariablesAreDocumented(t *testing.T) {
	seen := map[string]string{}
	for _, v := range vars {
		seen[v.Name] = v.Group
	}
	for _, name := range []string{"NANGO_METRICS", "NANGO_METRICS_ADDR", "TELEMETRY", "NANGO_TELEMETRY_ENDPOINT"} {
		if seen[name] != "Operations" {
			t.Errorf("%s: group %q, want Operations", name, seen[name])
		}
	}
}
