package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

func (s *suite) testMigrate(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	st := db.Open(t, store.Options{})
	applied, latest, err := st.SchemaVersion(ctx)
	must(t, err, "SchemaVersion before Migrate")
	if applied != 0 || latest < 1 {
		t.Fatalf("before Migrate: applied %d latest %d, want 0 and ≥1", applied, latest)
	}

	// Several migrators at once: separate instances where the driver has
	// them, else goroutines on one store.
	const n = 4
	stores := []store.Store{st}
	for i := 1; i < n; i++ {
		if db.Instances() {
			stores = append(stores, db.Open(t, store.Options{}))
		} else {
			stores = append(stores, st)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stores[i].Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	applied, latest2, err := st.SchemaVersion(ctx)
	must(t, err, "SchemaVersion")
	if applied != latest || latest2 != latest {
		t.Fatalf("after Migrate: applied %d latest %d, want %d", applied, latest2, latest)
	}
	must(t, st.Migrate(ctx), "Migrate again")
	if a, _, _ := st.SchemaVersion(ctx); a != latest {
		t.Fatalf("Migrate again moved the version to %d", a)
	}
	// The schema works.
	in := store.Integration{Key: "k", Provider: "github"}
	must(t, st.CreateIntegration(ctx, &in), "CreateIntegration after Migrate")
}

func (s *suite) testPing(t *testing.T) {
	st, _, _ := s.fresh(t)
	must(t, st.Ping(ctxT(t)), "Ping")
}

func (s *suite) testIntegrations(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)

	_, err := st.GetIntegration(ctx, "github")
	mustErr(t, err, store.ErrNotFound, "GetIntegration of an absent key")
	_, err = st.UpdateIntegration(ctx, "github", func(*store.Integration) error { return nil })
	mustErr(t, err, store.ErrNotFound, "UpdateIntegration of an absent key")

	gh := store.Integration{Key: "github", Provider: "github", ClientID: "Iv1.0123", ClientSecret: secret.String(tok("cs")), Scopes: "repo,user"}
	must(t, st.CreateIntegration(ctx, &gh), "CreateIntegration")
	if gh.ID == 0 || !gh.CreatedAt.Equal(clk.Now()) || !gh.UpdatedAt.Equal(clk.Now()) {
		t.Fatalf("CreateIntegration set ID %d CreatedAt %v UpdatedAt %v, want an id and %v", gh.ID, gh.CreatedAt, gh.UpdatedAt, clk.Now())
	}
	got, err := st.GetIntegration(ctx, "github")
	must(t, err, "GetIntegration")
	sameIntegration(t, "GetIntegration", got, gh)

	dup := store.Integration{Key: "github", Provider: "gitlab"}
	mustErr(t, st.CreateIntegration(ctx, &dup), store.ErrConflict, "CreateIntegration of an existing key")

	clk.Advance(time.Second)
	sl := store.Integration{Key: "slack", Provider: "slack", ClientID: "c2", ClientSecret: secret.String(tok("cs"))}
	must(t, st.CreateIntegration(ctx, &sl), "CreateIntegration slack")
	empty := store.Integration{Key: "nosecret", Provider: "github"}
	must(t, st.CreateIntegration(ctx, &empty), "CreateIntegration without secret")

	for i, id := range []string{"a", "b"} {
		_ = i
		c := store.Connection{ProviderConfigKey: "github", ConnectionID: id, Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
		_, err := st.UpsertConnection(ctx, &c)
		must(t, err, "UpsertConnection")
	}
	list, err := st.ListIntegrations(ctx)
	must(t, err, "ListIntegrations")
	if len(list) != 3 {
		t.Fatalf("ListIntegrations returned %d, want 3", len(list))
	}
	wantOrder := []string{"nosecret", "slack", "github"}
	for i, in := range list {
		if in.Key != wantOrder[i] {
			t.Errorf("ListIntegrations[%d] = %s, want %s", i, in.Key, wantOrder[i])
		}
	}
	sameIntegration(t, "ListIntegrations github", list[2], gh)
	sameIntegration(t, "ListIntegrations slack", list[1], sl)
	// A connection whose integration is gone is counted nowhere.
	orphan := store.Connection{ProviderConfigKey: "gone", ConnectionID: "x", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
	_, err = st.UpsertConnection(ctx, &orphan)
	must(t, err, "UpsertConnection")
	counts, err := st.CountConnections(ctx)
	must(t, err, "CountConnections")
	if want := map[string]int64{"github": 2, "slack": 0, "nosecret": 0}; !reflect.DeepEqual(counts, want) {
		t.Errorf("CountConnections = %v, want %v", counts, want)
	}

	// UpdateIntegration: fn sees the stored value; key, id and created_at
	// cannot change; updated_at moves.
	now := clk.Advance(time.Minute)
	newSecret := secret.String(tok("cs2"))
	upd, err := st.UpdateIntegration(ctx, "github", func(in *store.Integration) error {
		if in.ClientSecret.Reveal() != gh.ClientSecret.Reveal() || in.ClientID != "Iv1.0123" {
			return fmt.Errorf("fn got %+v", in)
		}
		in.ClientID, in.ClientSecret, in.Scopes, in.Provider = "Iv1.new", newSecret, "repo", "github-app"
		in.Key, in.ID, in.CreatedAt = "hijack", 999, time.Time{}
		return nil
	})
	must(t, err, "UpdateIntegration")
	want := gh
	want.ClientID, want.ClientSecret, want.Scopes, want.Provider, want.UpdatedAt = "Iv1.new", newSecret, "repo", "github-app", now
	sameIntegration(t, "UpdateIntegration result", upd, want)
	got, err = st.GetIntegration(ctx, "github")
	must(t, err, "GetIntegration after update")
	sameIntegration(t, "GetIntegration after update", got, want)
	if _, err := st.GetIntegration(ctx, "hijack"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateIntegration renamed the key: %v", err)
	}

	// An error from fn is returned as is and nothing is written.
	boom := errors.New("boom")
	_, err = st.UpdateIntegration(ctx, "github", func(in *store.Integration) error {
		in.ClientID = "not-written"
		return boom
	})
	if err != boom {
		t.Fatalf("UpdateIntegration with failing fn: err = %v, want boom as is", err)
	}
	got, _ = st.GetIntegration(ctx, "github")
	sameIntegration(t, "after failed update", got, want)
}

func (s *suite) testDeleteIntegration(t *testing.T) {
	st, _, _ := s.fresh(t)
	ctx := ctxT(t)
	for _, key := range []string{"github", "slack"} {
		in := store.Integration{Key: key, Provider: key}
		must(t, st.CreateIntegration(ctx, &in), "CreateIntegration")
		for i := range 3 {
			c := store.Connection{ProviderConfigKey: key, ConnectionID: fmt.Sprint("u", i), Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
			_, err := st.UpsertConnection(ctx, &c)
			must(t, err, "UpsertConnection")
		}
	}
	n, err := st.DeleteIntegration(ctx, "github")
	must(t, err, "DeleteIntegration")
	if n != 3 {
		t.Errorf("DeleteIntegration returned %d, want 3", n)
	}
	_, err = st.GetIntegration(ctx, "github")
	mustErr(t, err, store.ErrNotFound, "GetIntegration after delete")
	_, err = st.GetConnection(ctx, "github", "u1")
	mustErr(t, err, store.ErrNotFound, "GetConnection of a deleted integration's connection")
	page, err := st.ListConnections(ctx, store.ConnectionFilter{})
	must(t, err, "ListConnections")
	if page.Total != 3 {
		t.Errorf("%d connections left, want slack's 3", page.Total)
	}
	if _, err := st.GetConnection(ctx, "slack", "u1"); err != nil {
		t.Errorf("other integration's connection gone: %v", err)
	}
	n, err = st.DeleteIntegration(ctx, "github")
	if err != nil || n != 0 {
		t.Errorf("DeleteIntegration of an absent key = %d, %v; want 0, nil", n, err)
	}
}

// allModes returns one credentials value of every auth mode.
func allModes() []struct {
	name  string
	creds store.Credentials
} {
	exp := time.Date(2026, 3, 1, 13, 0, 0, 123e6, time.UTC)
	return []struct {
		name  string
		creds store.Credentials
	}{
		{"oauth2", oauth2Creds(exp)},
		{"oauth2 without refresh or expiry", store.Credentials{Type: store.OAuth2, AccessToken: secret.String(tok("at")), Raw: map[string]any{"access_token": "x"}}},
		{"oauth2_cc", store.Credentials{Type: store.OAuth2CC, AccessToken: secret.String(tok("cc")), ExpiresAt: ptr(exp), Raw: map[string]any{"token_type": "bearer"}}},
		{"oauth1", store.Credentials{Type: store.OAuth1, OAuthToken: secret.String(tok("ot")), OAuthTokenSecret: secret.String(tok("ots")), Raw: map[string]any{"oauth_token": "x", "user_id": "42"}}},
		{"api_key", store.Credentials{Type: store.APIKey, APIKey: secret.String(tok("apikey"))}},
		{"basic", store.Credentials{Type: store.Basic, Username: "ada", Password: secret.String(tok("pw"))}},
		{"basic with empty password", store.Credentials{Type: store.Basic, Username: "ada"}},
	}
}

func (s *suite) testConnectionRoundTrip(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	for i, tt := range allModes() {
		t.Run(tt.name, func(t *testing.T) {
			c := store.Connection{
				ProviderConfigKey: "p", ConnectionID: fmt.Sprint("conn-", i), Credentials: tt.creds,
				ConnectionConfig: map[string]any{"subdomain": "acme", "n": float64(3)},
				Metadata:         map[string]any{"instance_url": "https://acme.example.com", "deep": map[string]any{"a": []any{"b", true}}},
			}
			created, err := st.UpsertConnection(ctx, &c)
			must(t, err, "UpsertConnection")
			if !created || c.ID == 0 || !c.CreatedAt.Equal(clk.Now()) || !c.UpdatedAt.Equal(clk.Now()) {
				t.Fatalf("UpsertConnection: created %v ID %d CreatedAt %v UpdatedAt %v", created, c.ID, c.CreatedAt, c.UpdatedAt)
			}
			got, err := st.GetConnection(ctx, "p", c.ConnectionID)
			must(t, err, "GetConnection")
			sameConnection(t, "GetConnection", got, c)
		})
	}
	t.Run("nil maps read back empty", func(t *testing.T) {
		c := store.Connection{ProviderConfigKey: "p", ConnectionID: "nil-maps", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
		_, err := st.UpsertConnection(ctx, &c)
		must(t, err, "UpsertConnection")
		got, err := st.GetConnection(ctx, "p", "nil-maps")
		must(t, err, "GetConnection")
		if got.ConnectionConfig == nil || got.Metadata == nil || len(got.ConnectionConfig) != 0 || len(got.Metadata) != 0 {
			t.Errorf("maps = %v, %v; want empty non-nil", got.ConnectionConfig, got.Metadata)
		}
	})
	t.Run("unknown credentials type is refused", func(t *testing.T) {
		c := store.Connection{ProviderConfigKey: "p", ConnectionID: "bad", Credentials: store.Credentials{Type: "MAGIC"}}
		if _, err := st.UpsertConnection(ctx, &c); err == nil {
			t.Fatal("UpsertConnection accepted credentials of type MAGIC")
		}
		_, err := st.GetConnection(ctx, "p", "bad")
		mustErr(t, err, store.ErrNotFound, "GetConnection after refused upsert")
	})
	_, err := st.GetConnection(ctx, "p", "absent")
	mustErr(t, err, store.ErrNotFound, "GetConnection of an absent connection")
	_, err = st.GetConnection(ctx, "absent", "conn-0")
	mustErr(t, err, store.ErrNotFound, "GetConnection under another key")
}

func (s *suite) testUpsertConnection(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	first := store.Connection{ProviderConfigKey: "github", ConnectionID: "u1", Credentials: oauth2Creds(clk.Now().Add(time.Hour)),
		ConnectionConfig: map[string]any{"subdomain": "old"}, Metadata: map[string]any{"m": "old"}}
	created, err := st.UpsertConnection(ctx, &first)
	must(t, err, "UpsertConnection")
	if !created {
		t.Fatal("first UpsertConnection reported replaced")
	}
	createdAt := first.CreatedAt

	// Record a refresh success then failures.
	refreshedAt := clk.Advance(time.Minute)
	failedAt := clk.Advance(time.Minute)
	_, err = st.UpdateConnection(ctx, "github", "u1", func(c *store.Connection) error {
		c.LastRefreshAt = &refreshedAt
		c.LastRefreshFailureAt = &failedAt
		c.LastRefreshError = "invalid_grant"
		c.RefreshFailures = 3
		return nil
	})
	must(t, err, "UpdateConnection")

	now := clk.Advance(time.Minute)
	second := store.Connection{ProviderConfigKey: "github", ConnectionID: "u1", Credentials: oauth2Creds(now.Add(2 * time.Hour)),
		ConnectionConfig: map[string]any{"subdomain": "new"}, Metadata: map[string]any{"m": "new"},
		LastRefreshError: "ignored", RefreshFailures: 7}
	created, err = st.UpsertConnection(ctx, &second)
	must(t, err, "second UpsertConnection")
	if created {
		t.Fatal("second UpsertConnection reported created")
	}
	want := second
	want.ID, want.CreatedAt, want.UpdatedAt = first.ID, createdAt, now
	want.LastRefreshAt, want.LastRefreshFailureAt, want.LastRefreshError, want.RefreshFailures = &refreshedAt, nil, "", 0
	sameConnection(t, "UpsertConnection's view of the replaced row", second, want)
	got, err := st.GetConnection(ctx, "github", "u1")
	must(t, err, "GetConnection")
	sameConnection(t, "replaced row", got, want)

	// Another connection id of the same integration is a new row.
	other := store.Connection{ProviderConfigKey: "github", ConnectionID: "u2", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
	created, err = st.UpsertConnection(ctx, &other)
	must(t, err, "UpsertConnection u2")
	if !created || other.ID == first.ID {
		t.Errorf("u2: created %v id %d (u1 is %d)", created, other.ID, first.ID)
	}
}

func (s *suite) testUpdateConnection(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	_, err := st.UpdateConnection(ctx, "p", "absent", func(*store.Connection) error { return nil })
	mustErr(t, err, store.ErrNotFound, "UpdateConnection of an absent connection")

	orig := store.Connection{ProviderConfigKey: "p", ConnectionID: "c", Credentials: oauth2Creds(clk.Now()), Metadata: map[string]any{"a": "1"}}
	_, err = st.UpsertConnection(ctx, &orig)
	must(t, err, "UpsertConnection")

	now := clk.Advance(time.Hour)
	newCreds := oauth2Creds(now.Add(time.Hour))
	upd, err := st.UpdateConnection(ctx, "p", "c", func(c *store.Connection) error {
		if c.Credentials.AccessToken.Reveal() != orig.Credentials.AccessToken.Reveal() {
			return errors.New("fn did not see the stored credentials")
		}
		c.Credentials = newCreds
		c.Metadata["b"] = "2"
		c.ConnectionConfig = map[string]any{"subdomain": "x"}
		c.LastRefreshAt = &now
		c.ID, c.ProviderConfigKey, c.ConnectionID, c.CreatedAt = 777, "q", "d", time.Time{}
		return nil
	})
	must(t, err, "UpdateConnection")
	want := orig
	want.Credentials, want.Metadata, want.ConnectionConfig = newCreds, map[string]any{"a": "1", "b": "2"}, map[string]any{"subdomain": "x"}
	want.LastRefreshAt, want.UpdatedAt = &now, now
	sameConnection(t, "UpdateConnection result", upd, want)
	got, err := st.GetConnection(ctx, "p", "c")
	must(t, err, "GetConnection")
	sameConnection(t, "after UpdateConnection", got, want)
	_, err = st.GetConnection(ctx, "q", "d")
	mustErr(t, err, store.ErrNotFound, "UpdateConnection must not move the row")

	clk.Advance(time.Hour)
	boom := errors.New("boom")
	_, err = st.UpdateConnection(ctx, "p", "c", func(c *store.Connection) error {
		c.Metadata["b"] = "not written"
		return boom
	})
	if err != boom {
		t.Fatalf("UpdateConnection with failing fn: err = %v, want boom as is", err)
	}
	got, _ = st.GetConnection(ctx, "p", "c")
	sameConnection(t, "after failed UpdateConnection", got, want)
}

// testNoLostUpdate increments a counter from many goroutines (and two
// instances when the driver has them): no increment may be lost.
func (s *suite) testNoLostUpdate(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	a := open(t, db, store.Options{})
	b := a
	if db.Instances() {
		b = open(t, db, store.Options{})
	}
	c := store.Connection{ProviderConfigKey: "p", ConnectionID: "c", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}, Metadata: map[string]any{"n": float64(0)}}
	_, err := a.UpsertConnection(ctx, &c)
	must(t, err, "UpsertConnection")
	const workers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := st.UpdateConnection(ctx, "p", "c", func(c *store.Connection) error {
					n, _ := c.Metadata["n"].(float64)
					c.Metadata["n"] = n + 1
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UpdateConnection: %v", err)
	}
	got, err := a.GetConnection(ctx, "p", "c")
	must(t, err, "GetConnection")
	if n := got.Metadata["n"]; n != float64(workers*each) {
		t.Fatalf("counter = %v after %d increments: updates were lost", n, workers*each)
	}
}

func (s *suite) testDeleteConnection(t *testing.T) {
	st, _, _ := s.fresh(t)
	ctx := ctxT(t)
	mustErr(t, st.DeleteConnection(ctx, "p", "c"), store.ErrNotFound, "DeleteConnection of an absent connection")
	for _, id := range []string{"c", "d"} {
		c := store.Connection{ProviderConfigKey: "p", ConnectionID: id, Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
		_, err := st.UpsertConnection(ctx, &c)
		must(t, err, "UpsertConnection")
	}
	must(t, st.DeleteConnection(ctx, "p", "c"), "DeleteConnection")
	_, err := st.GetConnection(ctx, "p", "c")
	mustErr(t, err, store.ErrNotFound, "GetConnection after delete")
	if _, err := st.GetConnection(ctx, "p", "d"); err != nil {
		t.Errorf("DeleteConnection removed another connection: %v", err)
	}
	mustErr(t, st.DeleteConnection(ctx, "p", "c"), store.ErrNotFound, "second DeleteConnection")
}
