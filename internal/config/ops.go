package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Metrics modes (NANGO_METRICS).
const (
	// MetricsSecret serves /metrics on the main port behind the secret key.
	MetricsSecret = "secret"
	// MetricsPort serves /metrics only on Ops.MetricsAddr, unauthenticated.
	MetricsPort = "port"
	// MetricsOff serves no metrics.
	MetricsOff = "off"
)

// Ops configures what operators watch the server with: Prometheus metrics.
type Ops struct {
	// MetricsMode is MetricsSecret, MetricsPort or MetricsOff.
	MetricsMode string
	// MetricsAddr is the listen address (host:port) of /metrics in
	// MetricsPort mode.
	MetricsAddr string
}

func parseMetricsMode(v string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(v)); m {
	case MetricsSecret, MetricsPort, MetricsOff:
		return m, nil
	case "false", "0", "no":
		return MetricsOff, nil
	}
	return "", fmt.Errorf("%q is not secret, port or off", v)
}

// parseListenAddr accepts host:port or :port with a numeric port.
func parseListenAddr(v string) (string, error) {
	v = strings.TrimSpace(v)
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("%q is not a listen address (examples: :9464, 127.0.0.1:9464)", v)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q has no valid port number", v)
	}
	if strings.ContainsAny(host, " /") {
		return "", fmt.Errorf("%q has an invalid host", v)
	}
	return v, nil
}
