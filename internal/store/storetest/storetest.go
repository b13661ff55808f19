package storetest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// Factory makes databases for the suite. A driver's test implements it in a
// few lines.
type Factory interface {
	// NewDatabase returns a new, empty database (not migrated) that lives
	// until t ends.
	NewDatabase(t testing.TB) Database
}

// Database is one database under test.
type Database interface {
	// Open opens a store on the database with opts, without migrating, and
	// closes it when t ends (the suite may close it earlier; Close must be
	// idempotent). Opening again after Close is a reopen; opening while
	// another store is open gives a second instance.
	Open(t testing.TB, opts store.Options) store.Store
	// Instances reports whether several stores open at once on the database
	// act as separate server instances: shared events, shared refresh leases.
	// When false the suite skips its cross-instance tests.
	Instances() bool
	// Dump returns every row of every table of the database as stored,
	// each value rendered as text (binary values raw or hex; NULL absent).
	Dump(t testing.TB) map[string][]Row
	// Exec runs one SQL statement written to work on every driver's dialect,
	// bypassing the store (to move or damage stored values).
	Exec(t testing.TB, sql string)
}

// Row is one stored row: column name → value as text.
type Row map[string]string

// Run runs the conformance suite against the driver f makes.
func Run(t *testing.T, f Factory) {
	s := &suite{f: f}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Migrate", s.testMigrate},
		{"Ping", s.testPing},
		{"Integrations", s.testIntegrations},
		{"DeleteIntegrationCascades", s.testDeleteIntegration},
		{"ConnectionsRoundTrip", s.testConnectionRoundTrip},
		{"UpsertConnection", s.testUpsertConnection},
		{"UpdateConnection", s.testUpdateConnection},
		{"UpdateConnectionNoLostUpdate", s.testNoLostUpdate},
		{"DeleteConnection", s.testDeleteConnection},
		{"ListConnections", s.testListConnections},
		{"CountCap", s.testCountCap},
		{"RefreshLease", s.testRefreshLease},
		{"RefreshLeaseExpiry", s.testRefreshLeaseExpiry},
		{"RefreshLeaseOneHolder", s.testRefreshLeaseOneHolder},
		{"UnlockRefresh", s.testUnlockRefresh},
		{"OAuthSessions", s.testOAuthSessions},
		{"Activity", s.testActivity},
		{"ActivityBatch", s.testActivityBatch},
		{"Meta", s.testMeta},
		{"Events", s.testEvents},
		{"EventsAcrossInstances", s.testEventsAcrossInstances},
		{"Sealing", s.testSealing},
		{"MovedAndTamperedCiphertext", s.testMovedCiphertext},
		{"Reseal", s.testReseal},
		{"ResealConcurrent", s.testResealConcurrent},
		{"Reopen", s.testReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

type suite struct {
	f Factory
}

// clock is a controllable store clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens and migrates a store.
func open(t testing.TB, db Database, opts store.Options) store.Store {
	t.Helper()
	s := db.Open(t, opts)
	if err := s.Migrate(ctxT(t)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// fresh opens a migrated store on a new database with a fake clock.
func (s *suite) fresh(t testing.TB) (store.Store, Database, *clock) {
	t.Helper()
	db := s.f.NewDatabase(t)
	clk := newClock()
	return open(t, db, store.Options{Now: clk.Now}), db, clk
}

// keyring returns a keyring sealing with the first key and opening with all.
func keyring(t testing.TB, current secret.Key, previous ...secret.Key) *secret.Keyring {
	t.Helper()
	kr, err := secret.NewKeyring(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newKey() secret.Key {
	k, _ := secret.GenerateKey()
	return k
}

// tok returns a unique, recognisable secret value.
func tok(prefix string) string { return prefix + "-" + secret.RandomToken(18) }

func ptr[T any](v T) *T { return &v }

// ms is a time with millisecond precision (what credentials JSON keeps).
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func oauth2Creds(expires time.Time) store.Credentials {
	at, rt := tok("access"), tok("refresh")
	return store.Credentials{
		Type: store.OAuth2, AccessToken: secret.String(at), RefreshToken: secret.String(rt),
		ExpiresAt: ptr(ms(expires)),
		Raw: map[string]any{
			"access_token": at, "refresh_token": rt, "token_type": "bearer", "expires_in": float64(3600),
			"scope": "repo user", "nested": map[string]any{"id_token": tok("idtoken")},
		},
	}
}

func mustErr(t testing.TB, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// connView renders a connection comparably: credentials as their stored
// JSON, times as text.
func connView(c store.Connection) map[string]string {
	creds, err := c.Credentials.MarshalJSON()
	if err != nil {
		creds = []byte("ERROR " + err.Error())
	}
	cfg, _ := store.EncodeJSONMap(c.ConnectionConfig)
	meta, _ := store.EncodeJSONMap(c.Metadata)
	tp := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return map[string]string{
		"ID": fmt.Sprint(c.ID), "ProviderConfigKey": c.ProviderConfigKey, "ConnectionID": c.ConnectionID,
		"Credentials": string(creds), "ConnectionConfig": cfg, "Metadata": meta,
		"CreatedAt": tp(&c.CreatedAt), "UpdatedAt": tp(&c.UpdatedAt),
		"LastRefreshAt": tp(c.LastRefreshAt), "LastRefreshFailureAt": tp(c.LastRefreshFailureAt),
		"LastRefreshError": c.LastRefreshError, "RefreshFailures": fmt.Sprint(c.RefreshFailures),
	}
}

func sameConnection(t testing.TB, what string, got, want store.Connection) {
	t.Helper()
	g, w := connView(got), connView(want)
	if reflect.DeepEqual(g, w) {
		return
	}
	var keys []string
	for k := range w {
		if g[k] != w[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("%s: %s = %s, want %s", what, k, g[k], w[k])
	}
}

func sameIntegration(t testing.TB, what string, got, want store.Integration) {
	t.Helper()
	if got.ID != want.ID || got.Key != want.Key || got.Provider != want.Provider || got.ClientID != want.ClientID ||
		got.ClientSecret.Reveal() != want.ClientSecret.Reveal() || got.Scopes != want.Scopes ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s:\n got  %+v (secret %q)\n want %+v (secret %q)", what, got, got.ClientSecret.Reveal(), want, want.ClientSecret.Reveal())
	}
}

// noPlaintext fails t if any stored value holds one of the secrets, as text
// or as hex.
func noPlaintext(t testing.TB, dump map[string][]Row, secrets []string) {
	t.Helper()
	if len(dump) == 0 {
		t.Fatal("Dump returned no tables")
	}
	for table, rows := range dump {
		for _, row := range rows {
			for col, v := range row {
				lv := strings.ToLower(v)
				for _, sec := range secrets {
					h := hex.EncodeToString([]byte(sec))
					if strings.Contains(v, sec) || strings.Contains(lv, h) {
						t.Errorf("%s.%s holds a secret in plaintext (%.12s…)", table, col, sec)
					}
				}
			}
		}
	}
}

// someContains reports whether any stored value contains sub.
func someContains(dump map[string][]Row, sub string) bool {
	for _, rows := range dump {
		for _, row := range rows {
			for _, v := range row {
				if strings.Contains(v, sub) {
					return true
				}
			}
		}
	}
	return false
}

// findRow returns the first row of table whose column col equals v.
func findRow(t testing.TB, dump map[string][]Row, table, col, v string) Row {
	t.Helper()
	for _, r := range dump[table] {
		if r[col] == v {
			return r
		}
	}
	t.Fatalf("no row of %s with %s = %q in the dump", table, col, v)
	return nil
}

// waitEvent reads events until one equal to want arrives.
func waitEvent(t testing.TB, ch <-chan store.Event, want store.Event) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var seen []store.Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed waiting for %+v (seen %+v)", want, seen)
			}
			if ev == want {
				return
			}
			seen = append(seen, ev)
		case <-deadline:
			t.Fatalf("no event %+v within 10s (seen %+v)", want, seen)
		}
	}
}
