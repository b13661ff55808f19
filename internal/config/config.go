package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// Config is the server's effective configuration. The zero value is not
// useful; build one with Load.
type Config struct {
	// ServerURL is the public base URL (NANGO_SERVER_URL), without a
	// trailing slash.
	ServerURL string
	// Port is the listen port (SERVER_PORT, then PORT, then 3003).
	Port int
	// CallbackURL is the OAuth redirect URI registered with providers.
	CallbackURL string
	// DataDir holds the embedded database.
	DataDir string
	// ProvidersFile names an extra provider-templates YAML file ("" = none).
	ProvidersFile string

	DB DB

	// SecretKey guards the API; empty leaves it open.
	SecretKey secret.String
	// DashboardUsername and DashboardPassword guard the dashboard when both
	// are set.
	DashboardUsername string
	DashboardPassword secret.String

	// EncryptionKey is the base64 AES-256 key new values are encrypted with.
	EncryptionKey secret.String
	// EncryptionPreviousKeys are older keys still accepted for decryption.
	EncryptionPreviousKeys []secret.String

	HMAC HMAC

	LogLevel  slog.Level
	LogFormat string // "text" or "json"

	// Telemetry sends anonymous usage events when true.
	Telemetry bool
	// TelemetryEndpoint receives telemetry events.
	TelemetryEndpoint string

	// OAuthStateTTL is how long an OAuth flow may take between connect and
	// callback.
	OAuthStateTTL time.Duration
	// ShutdownTimeout bounds how long in-flight requests may run after
	// SIGTERM.
	ShutdownTimeout time.Duration
	// TokenCacheBytes bounds the in-process cache of decrypted connections
	// (NANGO_TOKEN_CACHE_SIZE); 0 turns it off.
	TokenCacheBytes int64

	// ActivityRetention is how long activity-log entries are kept
	// (NANGO_ACTIVITY_RETENTION).
	ActivityRetention time.Duration

	// Proxy configures ALL /proxy/* (the NANGO_PROXY_* variables).
	Proxy Proxy

	// Ops configures metrics (NANGO_METRICS*).
	Ops Ops

	// Tracing configures OpenTelemetry tracing (OTEL_*); off unless an
	// endpoint is set.
	Tracing Tracing
}

// Proxy configures the API proxy.
type Proxy struct {
	// ConnectTimeout bounds the TCP and TLS handshake with an API, per attempt.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the wait for an API's response headers after
	// the request was sent, per attempt.
	ResponseTimeout time.Duration
	// IdleTimeout cuts a request or response body that moves no byte for
	// this long.
	IdleTimeout time.Duration
	// MaxAttempts caps the caller's Retries header.
	MaxAttempts int
	// RetryAfterMax is the longest Retry-After honoured; longer ones end the
	// retries.
	RetryAfterMax time.Duration
	// ReplayBodyMax is the largest request body kept in memory for retries.
	ReplayBodyMax int64
	// AllowBaseURLOverride lets callers send Base-Url-Override.
	AllowBaseURLOverride bool
	// AllowPrivateNetworks lets hosts that come from connection data or
	// Base-Url-Override be non-public addresses.
	AllowPrivateNetworks bool
}

// DB is the database configuration.
type DB struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is the PostgreSQL connection string (URL or keyword form); it may
	// contain a password, so it is a secret.
	DSN secret.String
	// SQLitePath is the SQLite database file.
	SQLitePath string
	// PoolMin and PoolMax size the PostgreSQL pool.
	PoolMin, PoolMax int
	// Schema is the PostgreSQL schema holding the tables.
	Schema string
}

// HMAC configures the digest required on /oauth/connect.
type HMAC struct {
	Enabled   bool
	Key       secret.String
	Algorithm string
}

// UsesHMAC reports whether connect requests must carry an HMAC digest.
func (c *Config) UsesHMAC() bool { return c.HMAC.Enabled }

// Problems is every configuration problem found, each naming its variable.
type Problems []string

// Error lists the problems, one per line.
func (p Problems) Error() string {
	return "invalid configuration:\n  - " + strings.Join(p, "\n  - ")
}

// Env reads variables; os.LookupEnv has this shape.
type Env func(name string) (string, bool)

// Options control where Load reads from.
type Options struct {
	// Env is the real environment; nil means os.LookupEnv.
	Env Env
	// DotenvPath is the .env file; "" means ".env" in the working directory;
	// "-" disables it.
	DotenvPath string
}

// Load builds the configuration. On any problem it returns a Problems error
// listing all of them; it never touches the network or the database.
func Load(opts Options) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	var probs Problems
	dotPath := opts.DotenvPath
	if dotPath == "" {
		dotPath = ".env"
	}
	var dot map[string]string
	if dotPath != "-" {
		var err error
		dot, err = readDotenv(dotPath)
		if err != nil {
			probs = append(probs, err.Error())
		}
	}
	lookup := func(name string) (string, bool) {
		if v, ok := env(name); ok {
			return v, true
		}
		v, ok := dot[name]
		return v, ok
	}

	c := &Config{}
	raw := map[string]string{}
	for _, v := range vars {
		val, ok, err := resolve(v, lookup)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		if ok {
			raw[v.Name] = val
		}
		if !ok {
			val = v.Default
		}
		if v.apply == nil {
			continue
		}
		if err := v.apply(c, val, ok); err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", v.Name, err))
		}
	}
	probs = append(probs, finish(c, raw)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// resolve returns a variable's value from NAME or, for secrets, NAME_FILE.
func resolve(v *variable, lookup Env) (string, bool, error) {
	val, ok := lookup(v.Name)
	if !v.Secret {
		return val, ok, nil
	}
	path, fok := lookup(v.Name + "_FILE")
	if !fok || path == "" {
		return val, ok, nil
	}
	if ok && val != "" {
		return "", false, fmt.Errorf("%s and %s_FILE are both set: set only one", v.Name, v.Name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", false, fmt.Errorf("%s_FILE: cannot read %s: %v", v.Name, path, err)
	}
	return strings.TrimRight(string(data), "\r\n"), true, nil
}

// finish derives dependent values and checks combinations.
func finish(c *Config, raw map[string]string) Problems {
	var probs Problems
	// Port: SERVER_PORT, then PORT, then 3003.
	if c.Port == 0 {
		c.Port = 3003
	}
	if _, ok := raw["NANGO_SERVER_URL"]; !ok {
		c.ServerURL = "http://localhost:" + strconv.Itoa(c.Port)
	}
	c.ServerURL = strings.TrimSuffix(c.ServerURL, "/")
	if _, ok := raw["NANGO_CALLBACK_URL"]; !ok && c.ServerURL != "" {
		c.CallbackURL = c.ServerURL + "/oauth/callback"
	}

	// Database: a URL wins, then NANGO_DB_HOST, else SQLite.
	dbURL, urlVar := raw["NANGO_DATABASE_URL"], "NANGO_DATABASE_URL"
	if dbURL == "" {
		dbURL, urlVar = raw["DATABASE_URL"], "DATABASE_URL"
	}
	switch {
	case dbURL != "":
		dsn, err := normalizePostgresURL(dbURL)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", urlVar, err))
		}
		c.DB.Driver, c.DB.DSN = "postgres", secret.String(dsn)
	case raw["NANGO_DB_HOST"] != "":
		c.DB.Driver = "postgres"
		c.DB.DSN = secret.String(buildPostgresURL(raw))
	default:
		c.DB.Driver = "sqlite"
		c.DB.SQLitePath = filepath.Join(c.DataDir, "nango.db")
	}
	if c.DB.PoolMin > c.DB.PoolMax {
		probs = append(probs, fmt.Sprintf("NANGO_DB_POOL_MIN (%d) is larger than NANGO_DB_POOL_MAX (%d)", c.DB.PoolMin, c.DB.PoolMax))
	}

	if (c.DashboardUsername == "") != c.DashboardPassword.IsZero() {
		probs = append(probs, "NANGO_DASHBOARD_USERNAME and NANGO_DASHBOARD_PASSWORD must be set together (dashboard Basic auth needs both)")
	}
	if c.HMAC.Enabled && c.HMAC.Key.IsZero() {
		probs = append(probs, "NANGO_HMAC_KEY: required when NANGO_HMAC_ENABLED is true")
	}
	sort.Strings(probs)
	return probs
}

// normalizePostgresURL accepts postgres:// and postgresql:// URLs and maps
// node-postgres' sslmode=no-verify (Heroku's documented form) to pgx's
// equivalent, require.
func normalizePostgresURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a valid URL (expected postgres://user:password@host:port/dbname)")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("scheme %q is not postgres:// or postgresql://", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("has no host (expected postgres://user:password@host:port/dbname)")
	}
	q := u.Query()
	if q.Get("sslmode") == "no-verify" {
		q.Set("sslmode", "require")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func buildPostgresURL(raw map[string]string) string {
	get := func(name, def string) string {
		if v, ok := raw[name]; ok && v != "" {
			return v
		}
		return def
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(get("NANGO_DB_USER", "nango"), get("NANGO_DB_PASSWORD", "nango")),
		Host:   get("NANGO_DB_HOST", "localhost") + ":" + get("NANGO_DB_PORT", "5432"),
		Path:   "/" + get("NANGO_DB_NAME", "nango"),
	}
	ssl := "disable"
	if b, err := parseBool(get("NANGO_DB_SSL", "false")); err == nil && b {
		// Like the reference: TLS without certificate verification.
		ssl = "require"
	}
	u.RawQuery = "sslmode=" + ssl
	return u.String()
}

// RedactedDSN returns the DSN with any password replaced by [redacted].
func (d DB) RedactedDSN() string {
	s := d.DSN.Reveal()
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.Replace(u.String(), ":xxxxx@", ":"+secret.Redacted+"@", 1)
}
