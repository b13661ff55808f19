package store

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

// Sentinel errors. Drivers wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: no row matches.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a row with the same unique key exists.
	ErrConflict = errors.New("store: already exists")
	// ErrUnavailable: the database cannot be reached or is read-only/full
	// right now; the request may succeed later.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrInvalidValue: the database refuses a value the caller gave (PostgreSQL
	// stores no NUL character in text or JSON). The request is at fault, not
	// the server: callers answer 400. Handlers should refuse such values
	// before they reach the store, so both drivers behave alike.
	ErrInvalidValue = errors.New("store: the database cannot store this value")
	// ErrUndecryptable: a stored secret could not be opened (unknown key id,
	// wrong key, or tampered/moved ciphertext). It is secret.ErrUndecryptable,
	// so the keyring's errors match it too.
	ErrUndecryptable = secret.ErrUndecryptable
)

// Store is the persistence contract. Every method is safe for concurrent use
// by many goroutines, and — for drivers that support several processes on one
// database (PostgreSQL) — by many server instances. Every method that writes
// is atomic: it either fully happens or leaves the stored data as it was.
//
// Secrets (integration client secrets, connection credentials, OAuth session
// secrets) are sealed with the Sealer given at Open on every write and opened
// on every read; ListConnections never opens them.
type Store interface {
	// Migrate applies pending schema migrations. It is safe when several
	// instances call it at once against one database: they serialise, and
	// each migration is applied exactly once, in its own transaction.
	Migrate(ctx context.Context) error
	// SchemaVersion reports the applied and the latest known migration.
	SchemaVersion(ctx context.Context) (applied, latest int, err error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database. Subscriptions end.
	Close() error

	// CreateIntegration inserts in, setting its ID and timestamps.
	// ErrConflict if the key exists.
	CreateIntegration(ctx context.Context, in *Integration) error
	// GetIntegration returns the integration with that key, or ErrNotFound.
	GetIntegration(ctx context.Context, key string) (Integration, error)
	// ListIntegrations returns every integration, newest first, client
	// secrets opened (GET /config shows them). It counts nothing (see
	// CountConnections), so its cost does not grow with the connections.
	ListIntegrations(ctx context.Context) ([]Integration, error)
	// CountConnections returns the number of connections of every
	// integration, keyed by integration key (integrations without
	// connections map to 0), each counted up to the store's count cap
	// (Options.CountCap): a value of cap+1 means "more than cap". It reads
	// at most cap+1 index entries per integration, however many
	// connections there are.
	CountConnections(ctx context.Context) (map[string]int64, error)
	// UpdateIntegration reads the integration, calls fn on a copy inside a
	// transaction that holds the row, and writes the result unless fn returns
	// an error (which is returned as is). Key, ID and CreatedAt cannot be
	// changed; UpdatedAt moves. ErrNotFound if absent.
	UpdateIntegration(ctx context.Context, key string, fn func(*Integration) error) (Integration, error)
	// DeleteIntegration deletes the integration and all its connections in one
	// transaction and returns how many connections went with it. Deleting an
	// absent key is not an error (0, nil) — check with GetIntegration first
	// when it matters.
	DeleteIntegration(ctx context.Context, key string) (connections int64, err error)

	// UpsertConnection inserts c, or replaces the credentials, connection
	// config and metadata of the existing (ProviderConfigKey, ConnectionID)
	// row, keeping its ID and CreatedAt and clearing its refresh-failure
	// state. It sets c's ID and timestamps and reports whether the row was
	// created. It does not check that the integration exists.
	UpsertConnection(ctx context.Context, c *Connection) (created bool, err error)
	// GetConnection returns one connection with its credentials opened, or
	// ErrNotFound.
	GetConnection(ctx context.Context, providerConfigKey, connectionID string) (Connection, error)
	// ListConnections returns a page of connection summaries (no secrets)
	// and the number of connections matching the filter, counted up to the
	// store's count cap (ConnectionPage.Total). A page reads the
	// connections newest first and stops once it is full, so paging costs
	// the same however many connections there are; a search (Filter.Search)
	// may read every connection that does not match before its page is
	// full (PostgreSQL answers it from a trigram index where the pg_trgm
	// extension is available).
	ListConnections(ctx context.Context, f ConnectionFilter) (ConnectionPage, error)
	// UpdateConnection is UpdateIntegration for connections: fn runs on a copy
	// inside a transaction holding the row (no lost update under concurrency),
	// and the result is written unless fn returns an error. ID, keys and
	// CreatedAt cannot be changed; UpdatedAt moves. ErrNotFound if absent.
	// fn must be quick: never call a provider from it.
	UpdateConnection(ctx context.Context, providerConfigKey, connectionID string, fn func(*Connection) error) (Connection, error)
	// DeleteConnection deletes one connection; ErrNotFound if absent.
	DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error

	// TryLockRefresh takes the refresh lease of a connection for holder, for
	// ttl measured by the database's clock, unless another holder's lease is
	// still running. It returns the connection as stored (credentials opened)
	// and whether the lease was taken. A holder that already holds the lease
	// takes it again (extending it). ErrNotFound if absent.
	//
	// The lease is what makes a refresh exclusive across instances: only its
	// holder may call the provider; others wait and re-read.
	TryLockRefresh(ctx context.Context, providerConfigKey, connectionID, holder string, ttl time.Duration) (c Connection, locked bool, err error)
	// UnlockRefresh applies fn (when non-nil) to the connection inside a
	// transaction — whether or not holder still holds the lease, since fresh
	// credentials from the provider must never be dropped — and releases the
	// lease if holder holds it. It returns the connection as stored
	// afterwards. With a nil fn nothing but the lease changes (UpdatedAt
	// stays). ErrNotFound if the connection was deleted meanwhile.
	UnlockRefresh(ctx context.Context, providerConfigKey, connectionID, holder string, fn func(*Connection) error) (Connection, error)

	// CreateOAuthSession stores a new session. ErrConflict if its ID exists.
	CreateOAuthSession(ctx context.Context, s OAuthSession) error
	// TakeOAuthSession atomically reads and deletes the session (single use).
	// ErrNotFound if it does not exist or has expired (an expired session is
	// deleted too).
	TakeOAuthSession(ctx context.Context, id string) (OAuthSession, error)
	// PruneOAuthSessions deletes sessions that expired before t.
	PruneOAuthSessions(ctx context.Context, before time.Time) (int64, error)

	// AddActivity appends an entry to the activity log, setting its ID.
	AddActivity(ctx context.Context, a *Activity) error
	// ListActivity returns entries matching f, newest first.
	ListActivity(ctx context.Context, f ActivityFilter) ([]Activity, error)
	// PruneActivity deletes entries older than t and returns how many.
	PruneActivity(ctx context.Context, before time.Time) (int64, error)

	// GetMeta returns a server-wide setting (instance id, key verifiers...),
	// or ErrNotFound.
	GetMeta(ctx context.Context, name string) (string, error)
	// SetMeta writes a server-wide setting.
	SetMeta(ctx context.Context, name, value string) error

	// KeyUsage counts stored secret values per table and key id.
	KeyUsage(ctx context.Context) ([]KeyCount, error)
	// Reseal rewrites up to limit stored secret values whose key id differs
	// from the Sealer's current key id: plaintext rows are encrypted when a
	// key is set, old-key rows are re-encrypted, and with no current key
	// every encrypted value is decrypted. Each batch is one transaction, so an
	// interrupted run loses nothing and the next call resumes. It returns how
	// many values it rewrote; 0 means none remain. Safe to run from several
	// instances at once.
	Reseal(ctx context.Context, limit int) (int, error)

	// Publish sends an event to every subscriber of every instance on this
	// database, including this one.
	Publish(ctx context.Context, ev Event) error
	// Subscribe returns a channel of all events until cancel is called or the
	// store is closed. Drivers publish TopicConnection and TopicIntegration
	// events themselves after every committed write of those rows. A slow
	// subscriber loses events and then receives TopicReset.
	Subscribe() (events <-chan Event, cancel func())
}

// Sealer encrypts and decrypts secret values at rest. Implementations are
// safe for concurrent use. The associated data ad binds a ciphertext to its
// place (see AD); opening it with other ad fails.
type Sealer interface {
	// Seal returns the value to store and the id of the key used. The stored
	// value is text safe for a TEXT column (the keyring writes base64). With
	// encryption off it returns plaintext unchanged and keyID "".
	Seal(plaintext, ad []byte) (stored []byte, keyID string, err error)
	// Open reverses Seal. keyID "" means stored is plaintext. An unknown key
	// id, a wrong key or tampered data returns an error wrapping
	// ErrUndecryptable.
	Open(stored []byte, keyID string, ad []byte) ([]byte, error)
	// CurrentKeyID is the key id Seal writes with; "" when encryption is off.
	CurrentKeyID() string
}

// Options configure a driver.
type Options struct {
	// Sealer seals secrets; nil means Plaintext.
	Sealer Sealer
	// Logger receives driver diagnostics; nil discards them.
	Logger *slog.Logger
	// Now is the clock used for timestamps; nil means time.Now.
	Now func() time.Time
	// CountCap bounds the counts of listings (ConnectionPage.Total,
	// CountConnections): a count above it is reported as CountCap+1. 0
	// means DefaultCountCap; tests lower it.
	CountCap int
}

// DefaultCountCap is the default Options.CountCap: a listing counts up to
// 10,000 connections and reports 10,001 for "more" (the dashboard shows
// "10,000+"), so its cost stays flat with a million connections.
const DefaultCountCap = 10_000

// CountCapOf returns o's count cap: o.CountCap, or DefaultCountCap when it
// is not positive.
func CountCapOf(o Options) int {
	if o.CountCap > 0 {
		return o.CountCap
	}
	return DefaultCountCap
}

// Plaintext is the Sealer used when encryption is off.
type Plaintext struct{}

// Seal returns plaintext as is.
func (Plaintext) Seal(plaintext, _ []byte) ([]byte, string, error) { return plaintext, "", nil }

// Open returns plaintext rows as is and refuses encrypted ones.
func (Plaintext) Open(stored []byte, keyID string, _ []byte) ([]byte, error) {
	if keyID != "" {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "no encryption key is configured"}
	}
	return stored, nil
}

// CurrentKeyID returns "".
func (Plaintext) CurrentKeyID() string { return "" }

// UndecryptableError says why a stored secret could not be opened. It wraps
// ErrUndecryptable and never contains the value. It is the keyring's type, so
// errors.As matches errors from both the keyring and the drivers.
type UndecryptableError = secret.UndecryptableError

// AD returns the associated data binding a sealed value to its table, column
// and row key parts, so that a ciphertext copied to another row or column
// fails to open. Parts are length-prefixed, so no choice of key text can make
// two different rows share associated data.
func AD(table, column string, rowKey ...string) []byte {
	parts := append([]string{"nango", table, column}, rowKey...)
	n := 0
	for _, p := range parts {
		n += 4 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// PoolStats is a snapshot of one database connection pool of a driver.
type PoolStats struct {
	// Name tells the pools of one driver apart ("main" for PostgreSQL;
	// "reader" and "writer" for SQLite).
	Name string
	// Open is the number of open connections (in use plus idle).
	Open int64
	// InUse is the number of connections currently in use.
	InUse int64
	// Idle is the number of idle connections.
	Idle int64
	// Max is the pool's connection limit; 0 means unbounded.
	Max int64
	// WaitCount is the total number of acquisitions that had to wait for a
	// connection since the pool opened.
	WaitCount int64
	// WaitDuration is the total time spent waiting for a connection since
	// the pool opened.
	WaitDuration time.Duration
}

// PoolStatser is an optional interface of drivers that can report their
// connection pools (for metrics). PoolStats must be cheap, safe for
// concurrent use, and safe to call after Close (it then reports what is
// left, usually nothing open).
type PoolStatser interface {
	PoolStats() []PoolStats
}
