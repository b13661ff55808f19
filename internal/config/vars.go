package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nango-go/nango/internal/secret"
)

// variable declares one environment variable.
type variable struct {
	Name    string
	Group   string
	Default string // as text; "" = unset
	// Secret variables accept a NAME_FILE twin and are masked in dumps.
	Secret bool
	Doc    string
	// apply parses val (the default when set is false) into c.
	apply func(c *Config, val string, set bool) error
}

// vars is the table of every variable the server reads, in documentation
// order. Add new variables here; the dump and docs follow.
var vars = []*variable{
	// Server.
	{Name: "NANGO_SERVER_URL", Group: "Server", Default: "http://localhost:<port>",
		Doc: "Public base URL of the server (used for the callback URL and shown in the dashboard).",
		apply: func(c *Config, v string, set bool) error {
			if !set {
				return nil // derived from the port in finish
			}
			u, err := parseHTTPURL(v)
			c.ServerURL = u
			return err
		}},
	{Name: "SERVER_PORT", Group: "Server", Default: "",
		Doc: "Port to listen on. Falls back to PORT, then 3003.",
		apply: func(c *Config, v string, set bool) error {
			if !set {
				return nil
			}
			p, err := parsePort(v)
			c.Port = p
			return err
		}},
	{Name: "PORT", Group: "Server", Default: "",
		Doc: "Port to listen on when SERVER_PORT is unset (Heroku, Render).",
		apply: func(c *Config, v string, set bool) error {
			if !set || c.Port != 0 {
				return nil
			}
			p, err := parsePort(v)
			c.Port = p
			return err
		}},
	{Name: "NANGO_CALLBACK_URL", Group: "Server", Default: "<NANGO_SERVER_URL>/oauth/callback",
		Doc: "OAuth redirect URI to register with providers.",
		apply: func(c *Config, v string, set bool) error {
			if !set {
				return nil
			}
			u, err := parseHTTPURL(v)
			c.CallbackURL = u
			return err
		}},
	{Name: "NANGO_DATA_DIR", Group: "Server", Default: "./nango-data",
		Doc: "Directory of the embedded SQLite database (used when no PostgreSQL is configured).",
		apply: func(c *Config, v string, _ bool) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{Name: "NANGO_PROVIDERS_FILE", Group: "Server", Default: "",
		Doc:   "Extra provider-templates YAML file (providers.yaml schema) whose templates are added to, or replace, the built-in ones.",
		apply: func(c *Config, v string, _ bool) error { c.ProvidersFile = v; return nil }},
	{Name: "NANGO_OAUTH_STATE_TTL", Group: "Server", Default: "15m",
		Doc: "How long an OAuth flow may take between /oauth/connect and the callback (Go duration).",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, time.Minute, 24*time.Hour)
			c.OAuthStateTTL = d
			return err
		}},
	{Name: "NANGO_TOKEN_CACHE_SIZE", Group: "Server", Default: "32MiB",
		Doc: "Memory for the in-process cache of decrypted connections that answers token fetches without a database round trip: " +
			"bytes, or with a unit (`64KiB`, `16MiB`, `1GiB`; `KB`, `MB`, `GB` are powers of 1000). A typical OAuth 2 connection takes about 0.9 KB (2.5 KB once proxied), " +
			"so the default holds about 37,000 (13,000 proxied); the memory is taken as connections are used, not reserved. Beyond it the least recently used are dropped (fetched from the database again when asked for). " +
			"`0` turns the cache off. Every instance keeps its own cache, kept correct across instances (see docs/performance.md).",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseByteSize(v, 64<<10, 1<<40)
			c.TokenCacheBytes = n
			return err
		}},
	{Name: "NANGO_SHUTDOWN_TIMEOUT", Group: "Server", Default: "30s",
		Doc: "How long in-flight requests may finish after SIGTERM/SIGINT (Go duration).",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, 0, time.Hour)
			c.ShutdownTimeout = d
			return err
		}},

	// Database.
	{Name: "NANGO_DATABASE_URL", Group: "Database", Secret: true,
		Doc: "PostgreSQL connection URL. When set, the NANGO_DB_HOST/PORT/USER/PASSWORD/NAME/SSL fields are ignored."},
	{Name: "DATABASE_URL", Group: "Database", Secret: true,
		Doc: "Heroku's PostgreSQL URL, used when NANGO_DATABASE_URL is unset (sslmode=no-verify is understood)."},
	{Name: "NANGO_DB_HOST", Group: "Database",
		Doc: "PostgreSQL host. Setting it selects PostgreSQL instead of the embedded SQLite database."},
	{Name: "NANGO_DB_PORT", Group: "Database", Default: "5432", Doc: "PostgreSQL port.",
		apply: func(_ *Config, v string, _ bool) error { _, err := parsePort(v); return err }},
	{Name: "NANGO_DB_USER", Group: "Database", Default: "nango", Doc: "PostgreSQL user."},
	{Name: "NANGO_DB_PASSWORD", Group: "Database", Default: "nango", Secret: true, Doc: "PostgreSQL password."},
	{Name: "NANGO_DB_NAME", Group: "Database", Default: "nango", Doc: "PostgreSQL database name."},
	{Name: "NANGO_DB_SSL", Group: "Database", Default: "false",
		Doc:   "true: connect to PostgreSQL over TLS (without certificate verification, like the reference); false: plain TCP.",
		apply: func(_ *Config, v string, _ bool) error { _, err := parseBool(v); return err }},
	{Name: "NANGO_DB_POOL_MIN", Group: "Database", Default: "2", Doc: "Minimum PostgreSQL pool connections per instance.",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseInt(v, 0, 1000)
			c.DB.PoolMin = n
			return err
		}},
	{Name: "NANGO_DB_POOL_MAX", Group: "Database", Default: "7", Doc: "Maximum PostgreSQL pool connections per instance.",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseInt(v, 1, 1000)
			c.DB.PoolMax = n
			return err
		}},
	{Name: "NANGO_DB_SCHEMA", Group: "Database",
		Doc: "PostgreSQL schema holding nango-go's tables (created if missing). Default: the database URL's search_path, else public.",
		apply: func(c *Config, v string, _ bool) error {
			if v != "" && !validIdent(v) {
				return fmt.Errorf("%q is not a plain SQL identifier (letters, digits, _)", v)
			}
			c.DB.Schema = v
			return nil
		}},

	// Security.
	{Name: "NANGO_SECRET_KEY", Group: "Security", Secret: true,
		Doc:   "Secret key guarding the API (Basic `<key>:` or Bearer `<key>`). Unset leaves the API open (a warning is logged).",
		apply: func(c *Config, v string, _ bool) error { c.SecretKey = secret.String(v); return nil }},
	{Name: "NANGO_DASHBOARD_USERNAME", Group: "Security", Secret: true,
		Doc:   "Dashboard Basic-auth user name (set together with the password). Unset leaves the dashboard open.",
		apply: func(c *Config, v string, _ bool) error { c.DashboardUsername = v; return nil }},
	{Name: "NANGO_DASHBOARD_PASSWORD", Group: "Security", Secret: true,
		Doc:   "Dashboard Basic-auth password.",
		apply: func(c *Config, v string, _ bool) error { c.DashboardPassword = secret.String(v); return nil }},
	{Name: "NANGO_ENCRYPTION_KEY", Group: "Security", Secret: true,
		Doc: "Base64 of 32 random bytes (`openssl rand -base64 32` or `nango keys generate`): encrypts tokens, client secrets and OAuth session secrets at rest with AES-256-GCM. " +
			"Set on a database holding plaintext, the server encrypts it in the background. Change it only by rotation (old key to NANGO_ENCRYPTION_PREVIOUS_KEYS); see docs/encryption.md.",
		apply: func(c *Config, v string, _ bool) error {
			if strings.TrimSpace(v) == "" {
				return nil
			}
			if _, err := secret.ParseKey(v); err != nil {
				return err
			}
			c.EncryptionKey = secret.String(strings.TrimSpace(v))
			return nil
		}},
	{Name: "NANGO_ENCRYPTION_PREVIOUS_KEYS", Group: "Security", Secret: true,
		Doc: "Older encryption keys, separated by commas (or one a line in the _FILE), still accepted for reading while the server re-encrypts their rows with NANGO_ENCRYPTION_KEY. " +
			"Remove a key once `nango keys status` shows no row uses it (the server refuses to start without a key that rows still need).",
		apply: func(c *Config, v string, _ bool) error {
			if strings.TrimSpace(v) == "" {
				return nil
			}
			// Validate with the keyring's own parser, so the config accepts
			// exactly the keys the keyring does; errors never quote a key.
			if _, err := secret.ParseKeyList(v); err != nil {
				return err
			}
			for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
				c.EncryptionPreviousKeys = append(c.EncryptionPreviousKeys, secret.String(k))
			}
			return nil
		}},
	{Name: "NANGO_HMAC_ENABLED", Group: "Security", Default: "false",
		Doc: "true: /oauth/connect requires an `hmac` digest of `<providerConfigKey>:<connectionId>`.",
		apply: func(c *Config, v string, _ bool) error {
			b, err := parseBool(v)
			c.HMAC.Enabled = b
			return err
		}},
	{Name: "NANGO_HMAC_KEY", Group: "Security", Secret: true, Doc: "HMAC key (required when HMAC is enabled).",
		apply: func(c *Config, v string, _ bool) error { c.HMAC.Key = secret.String(v); return nil }},
	{Name: "NANGO_HMAC_ALGORITHM", Group: "Security", Default: "sha256",
		Doc: "HMAC hash: sha1, sha224, sha256, sha384, sha512, sha512-224, sha512-256, md5.",
		apply: func(c *Config, v string, _ bool) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if _, ok := HMACAlgorithms[v]; !ok {
				return fmt.Errorf("%q is not a supported hash (use sha256, sha512, sha1, ...)", v)
			}
			c.HMAC.Algorithm = v
			return nil
		}},

	// Proxy.
	{Name: "NANGO_PROXY_CONNECT_TIMEOUT", Group: "Proxy", Default: "10s",
		Doc: "How long the proxy may take to connect to a provider's API (TCP and TLS handshake), per attempt (Go duration).",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, 100*time.Millisecond, 5*time.Minute)
			c.Proxy.ConnectTimeout = d
			return err
		}},
	{Name: "NANGO_PROXY_RESPONSE_TIMEOUT", Group: "Proxy", Default: "120s",
		Doc: "How long the proxy waits for a provider's response headers once the request is sent, per attempt; then it answers 502 upstream_timeout (Go duration).",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, 100*time.Millisecond, time.Hour)
			c.Proxy.ResponseTimeout = d
			return err
		}},
	{Name: "NANGO_PROXY_IDLE_TIMEOUT", Group: "Proxy", Default: "60s",
		Doc: "How long a proxied request or response body may stall (no byte read or written) before the stream is cut (Go duration). Streams that keep moving may last any time.",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, 100*time.Millisecond, 24*time.Hour)
			c.Proxy.IdleTimeout = d
			return err
		}},
	{Name: "NANGO_PROXY_MAX_ATTEMPTS", Group: "Proxy", Default: "10",
		Doc: "Upper bound on a caller's Retries header: the most attempts one proxied call may make.",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseInt(v, 1, 100)
			c.Proxy.MaxAttempts = n
			return err
		}},
	{Name: "NANGO_PROXY_RETRY_AFTER_MAX", Group: "Proxy", Default: "60s",
		Doc: "Longest Retry-After the proxy waits for before retrying; a provider asking for longer gets its answer returned to the caller at once (Go duration).",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseDuration(v, time.Second, time.Hour)
			c.Proxy.RetryAfterMax = d
			return err
		}},
	{Name: "NANGO_PROXY_REPLAY_BODY_MAX", Group: "Proxy", Default: "1048576",
		Doc: "Largest request body (bytes) the proxy keeps in memory so it can be sent again on a retry; a larger body is streamed once, without retries.",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseInt(v, 1, 64<<20)
			c.Proxy.ReplayBodyMax = int64(n)
			return err
		}},
	{Name: "NANGO_PROXY_ALLOW_BASE_URL_OVERRIDE", Group: "Proxy", Default: "false",
		Doc: "true: callers may send a Base-Url-Override header naming another API base URL for one proxied call (the connection's credentials go there). Off by default.",
		apply: func(c *Config, v string, _ bool) error {
			b, err := parseBool(v)
			c.Proxy.AllowBaseURLOverride = b
			return err
		}},
	{Name: "NANGO_PROXY_ALLOW_PRIVATE_NETWORKS", Group: "Proxy", Default: "false",
		Doc: "true: API hosts taken from a connection's config or metadata, or from Base-Url-Override, may be loopback, private or link-local addresses — for proxied calls, credential verification and OAuth token, refresh and OAuth 1 requests alike. Hosts written in a provider template are always allowed.",
		apply: func(c *Config, v string, _ bool) error {
			b, err := parseBool(v)
			c.Proxy.AllowPrivateNetworks = b
			return err
		}},

	// Dashboard.
	{Name: "NANGO_ACTIVITY_RETENTION", Group: "Dashboard", Default: "15d",
		Doc: "How long activity-log entries (OAuth flows, refreshes, proxy calls) are kept before a background job deletes them: days (`15d`) or a Go duration (`36h`), from 1h to 3650d.",
		apply: func(c *Config, v string, _ bool) error {
			d, err := parseRetention(v)
			c.ActivityRetention = d
			return err
		}},

	// Operations.
	{Name: "LOG_LEVEL", Group: "Operations", Default: "info",
		Doc: "debug, info, warn or error (the reference's syslog names verbose/http/silly/warning are accepted).",
		apply: func(c *Config, v string, _ bool) error {
			l, err := parseLevel(v)
			c.LogLevel = l
			return err
		}},
	{Name: "LOG_FORMAT", Group: "Operations", Default: "text", Doc: "text or json.",
		apply: func(c *Config, v string, _ bool) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if v != "text" && v != "json" {
				return fmt.Errorf("%q is not text or json", v)
			}
			c.LogFormat = v
			return nil
		}},
	{Name: "TELEMETRY", Group: "Operations", Default: "true",
		Doc: "false turns anonymous usage telemetry off completely.",
		apply: func(c *Config, v string, _ bool) error {
			b, err := parseBool(v)
			c.Telemetry = b
			return err
		}},
	{Name: "NANGO_TELEMETRY_ENDPOINT", Group: "Operations", Default: "https://telemetry.nango-go.dev/v1/events",
		Doc: "Where telemetry events are sent.",
		apply: func(c *Config, v string, _ bool) error {
			u, err := parseHTTPURL(v)
			c.TelemetryEndpoint = u
			return err
		}},
	{Name: "NANGO_METRICS", Group: "Operations", Default: "secret",
		Doc: "Prometheus metrics: `secret` serves /metrics on the server's port behind NANGO_SECRET_KEY (Bearer or Basic, like the API; open when no key is set); " +
			"`port` serves them only on NANGO_METRICS_ADDR, without authentication (keep that port private); `off` serves none. See docs/metrics.md.",
		apply: func(c *Config, v string, _ bool) error {
			m, err := parseMetricsMode(v)
			c.Ops.MetricsMode = m
			return err
		}},
	{Name: "NANGO_METRICS_ADDR", Group: "Operations", Default: ":9464",
		Doc: "Listen address of /metrics when NANGO_METRICS=port (host:port; `:9464` listens on every interface).",
		apply: func(c *Config, v string, _ bool) error {
			a, err := parseListenAddr(v)
			c.Ops.MetricsAddr = a
			return err
		}},

	// Tracing: the OpenTelemetry variables (docs/metrics.md#tracing).
	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Group: "Tracing",
		Doc: "Base URL of an OTLP/HTTP collector (e.g. `http://otel-collector:4318`): setting it turns OpenTelemetry tracing on; spans go to `<url>/v1/traces`. Unset: no tracing, no cost.",
		apply: func(c *Config, v string, set bool) error {
			if !set || strings.TrimSpace(v) == "" {
				return nil
			}
			u, err := parseHTTPURL(v)
			if err == nil {
				c.Tracing.Endpoint, err = tracesURL(u)
			}
			return err
		}},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Group: "Tracing",
		Doc: "Full URL spans are sent to, used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT.",
		apply: func(c *Config, v string, set bool) error {
			if !set || strings.TrimSpace(v) == "" {
				return nil
			}
			u, err := parseHTTPURL(v)
			if err == nil {
				c.Tracing.Endpoint = u
			}
			return err
		}},
	{Name: "OTEL_EXPORTER_OTLP_PROTOCOL", Group: "Tracing", Default: "http/json",
		Doc: "`http/json` (OTLP over HTTP, JSON-encoded — what every OpenTelemetry collector accepts on port 4318) is the only protocol this server speaks.",
		apply: func(_ *Config, v string, _ bool) error {
			if p := strings.ToLower(strings.TrimSpace(v)); p != "http/json" {
				return fmt.Errorf("%q is not supported: this server exports spans as OTLP over HTTP with JSON encoding (http/json), which collectors accept on the same port as http/protobuf", v)
			}
			return nil
		}},
	{Name: "OTEL_EXPORTER_OTLP_HEADERS", Group: "Tracing", Secret: true,
		Doc: "Headers sent with every export, `name1=value1,name2=value2` with percent-encoded values (a collector's API key, for example).",
		apply: func(c *Config, v string, _ bool) error {
			h, err := parseOTLPHeaders(v)
			c.Tracing.Headers = h
			return err
		}},
	{Name: "OTEL_EXPORTER_OTLP_TIMEOUT", Group: "Tracing", Default: "10000",
		Doc: "Milliseconds one export may take (1-60000); a slow collector never slows a request: spans wait in a bounded queue and are dropped when it is full.",
		apply: func(c *Config, v string, _ bool) error {
			n, err := parseInt(v, 1, 60000)
			c.Tracing.TimeoutMillis = n
			return err
		}},
	{Name: "OTEL_SERVICE_NAME", Group: "Tracing", Default: "nango",
		Doc: "The `service.name` of the spans.",
		apply: func(c *Config, v string, _ bool) error {
			v = strings.TrimSpace(v)
			if v == "" || len(v) > 200 {
				return fmt.Errorf("a service name of 1-200 characters is needed")
			}
			c.Tracing.ServiceName = v
			return nil
		}},
	{Name: "OTEL_TRACES_SAMPLER", Group: "Tracing", Default: "parentbased_always_on",
		Doc: "Which requests are traced: `parentbased_always_on` (all, following a caller's `traceparent` decision), `parentbased_traceidratio` with OTEL_TRACES_SAMPLER_ARG, `always_on`, `always_off`, `traceidratio`, `parentbased_always_off`.",
		apply: func(c *Config, v string, _ bool) error {
			s, err := parseSampler(v)
			c.Tracing.Sampler = s
			return err
		}},
	{Name: "OTEL_TRACES_SAMPLER_ARG", Group: "Tracing", Default: "1",
		Doc: "The ratio (0-1) of the traceidratio samplers.",
		apply: func(c *Config, v string, _ bool) error {
			f, err := parseRatio(v)
			c.Tracing.SamplerArg = f
			return err
		}},
	{Name: "OTEL_SDK_DISABLED", Group: "Tracing", Default: "false",
		Doc: "true turns tracing off even when an endpoint is set.",
		apply: func(c *Config, v string, _ bool) error {
			off, err := parseBool(v)
			if off {
				c.Tracing.Endpoint = ""
			}
			return err
		}},
}

// HMACAlgorithms lists the accepted NANGO_HMAC_ALGORITHM names.
var HMACAlgorithms = map[string]struct{}{
	"sha1": {}, "sha224": {}, "sha256": {}, "sha384": {}, "sha512": {},
	"sha512-224": {}, "sha512-256": {}, "md5": {},
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", v)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("%d is not a port number (1-65535)", n)
	}
	return n, nil
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range (%d-%d)", n, lo, hi)
	}
	return n, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseDuration(v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 30s, 15m, 1h)", v)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%s is out of range (%s-%s)", d, lo, hi)
	}
	return d, nil
}

func parseHTTPURL(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", v)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func parseLevel(v string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug", "verbose", "silly", "trace":
		return slog.LevelDebug, nil
	case "info", "http", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", v)
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// parseByteSize reads a size in bytes: a whole number, optionally followed
// by a unit (KiB, MiB, GiB, TiB: powers of 1024; KB, MB, GB, TB: powers of
// 1000; B), case-insensitive, space allowed before the unit. 0 is accepted;
// other values must lie within lo and hi.
func parseByteSize(v string, lo, hi int64) (int64, error) {
	s := strings.TrimSpace(v)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult := map[string]int64{"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 0, 65536, 64KiB, 16MiB, 1GiB)", v)
	}
	if n != 0 && (n > hi/mult || n*mult < lo || n*mult > hi) {
		return 0, fmt.Errorf("%q is out of range (0, or %d-%d bytes)", v, lo, hi)
	}
	return n * mult, nil
}

// parseRetention reads a retention period: whole days ("15d") or a Go
// duration ("36h"), between one hour and ten years.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	const lo, hi = time.Hour, 3650 * 24 * time.Hour
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days or a duration (examples: 15d, 36h)", v)
		}
		if n < 1 || n > 3650 {
			return 0, fmt.Errorf("%d days is out of range (1d-3650d)", n)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days or a duration (examples: 15d, 36h)", v)
		}
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%s is out of range (1h-3650d)", d)
	}
	return d, nil
}
