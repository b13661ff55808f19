package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

func newSession(id string, expires time.Time) store.OAuthSession {
	expires = ms(expires) // the contract keeps milliseconds at least
	return store.OAuthSession{
		ID: id, Provider: "github", ProviderConfigKey: "gh", ConnectionID: "u1",
		CallbackURL: "https://nango.example.com/oauth/callback", AuthMode: store.OAuth2,
		ConnectionConfig: map[string]any{"subdomain": "acme"}, WSClientID: "ws-1",
		CodeVerifier: secret.String(tok("verifier")), RequestTokenSecret: secret.String(tok("rts")),
		CreatedAt: expires.Add(-15 * time.Minute), ExpiresAt: expires,
	}
}

func sameSession(t testing.TB, what string, got, want store.OAuthSession) {
	t.Helper()
	g, _ := store.EncodeJSONMap(got.ConnectionConfig)
	w, _ := store.EncodeJSONMap(want.ConnectionConfig)
	if got.ID != want.ID || got.Provider != want.Provider || got.ProviderConfigKey != want.ProviderConfigKey ||
		got.ConnectionID != want.ConnectionID || got.CallbackURL != want.CallbackURL || got.AuthMode != want.AuthMode ||
		g != w || got.WSClientID != want.WSClientID || got.CodeVerifier.Reveal() != want.CodeVerifier.Reveal() ||
		got.RequestTokenSecret.Reveal() != want.RequestTokenSecret.Reveal() ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func (s *suite) testOAuthSessions(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	_, err := st.TakeOAuthSession(ctx, "absent")
	mustErr(t, err, store.ErrNotFound, "TakeOAuthSession of an absent id")

	sess := newSession(secret.RandomToken(24), clk.Now().Add(15*time.Minute))
	must(t, st.CreateOAuthSession(ctx, sess), "CreateOAuthSession")
	mustErr(t, st.CreateOAuthSession(ctx, sess), store.ErrConflict, "CreateOAuthSession of an existing id")
	got, err := st.TakeOAuthSession(ctx, sess.ID)
	must(t, err, "TakeOAuthSession")
	sameSession(t, "TakeOAuthSession", got, sess)
	_, err = st.TakeOAuthSession(ctx, sess.ID)
	mustErr(t, err, store.ErrNotFound, "second TakeOAuthSession (single use)")

	t.Run("without secrets", func(t *testing.T) {
		plain := newSession("plain", clk.Now().Add(time.Minute))
		plain.CodeVerifier, plain.RequestTokenSecret, plain.ConnectionConfig = "", "", nil
		must(t, st.CreateOAuthSession(ctx, plain), "CreateOAuthSession")
		got, err := st.TakeOAuthSession(ctx, "plain")
		must(t, err, "TakeOAuthSession")
		plain.ConnectionConfig = map[string]any{}
		sameSession(t, "session without secrets", got, plain)
	})

	t.Run("expired", func(t *testing.T) {
		old := newSession("old", clk.Now().Add(time.Minute))
		must(t, st.CreateOAuthSession(ctx, old), "CreateOAuthSession")
		clk.Advance(2 * time.Minute)
		_, err := st.TakeOAuthSession(ctx, "old")
		mustErr(t, err, store.ErrNotFound, "TakeOAuthSession of an expired session")
		// It was deleted: re-creating the id works.
		must(t, st.CreateOAuthSession(ctx, newSession("old", clk.Now().Add(time.Minute))), "re-create after expiry")
	})

	t.Run("prune", func(t *testing.T) {
		now := clk.Now()
		for i, d := range []time.Duration{-2 * time.Hour, -time.Hour, time.Hour} {
			must(t, st.CreateOAuthSession(ctx, newSession(fmt.Sprint("p", i), now.Add(d))), "CreateOAuthSession")
		}
		n, err := st.PruneOAuthSessions(ctx, now.Add(-30*time.Minute))
		must(t, err, "PruneOAuthSessions")
		if n != 2 {
			t.Errorf("PruneOAuthSessions = %d, want 2", n)
		}
		if _, err := st.TakeOAuthSession(ctx, "p2"); err != nil {
			t.Errorf("live session pruned: %v", err)
		}
	})

	t.Run("concurrent take: one winner", func(t *testing.T) {
		must(t, st.CreateOAuthSession(ctx, newSession("race", clk.Now().Add(time.Hour))), "CreateOAuthSession")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.TakeOAuthSession(ctx, "race")
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("TakeOAuthSession: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d takers got the session, want 1", wins.Load())
		}
	})
}

func (s *suite) testActivity(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	base := clk.Now()
	entries := []store.Activity{
		{Time: base.Add(-3 * time.Hour), Action: "oauth", Success: true, ProviderConfigKey: "gh", ConnectionID: "u1", Provider: "github", Message: "connected"},
		{Time: base.Add(-2 * time.Hour), Action: "token", Success: false, ProviderConfigKey: "gh", ConnectionID: "u1", Provider: "github", Status: 400, Message: "invalid_grant"},
		{Time: base.Add(-time.Hour), Action: "proxy", Success: true, ProviderConfigKey: "gh", ConnectionID: "u2", Provider: "github", Method: "GET", Endpoint: "/user", Status: 200, Duration: 1234 * time.Millisecond, Attempts: 2},
		{Action: "refresh", Success: true, ProviderConfigKey: "sl", ConnectionID: "u1", Provider: "slack"},
	}
	for i := range entries {
		must(t, st.AddActivity(ctx, &entries[i]), "AddActivity")
		if entries[i].ID == 0 {
			t.Fatal("AddActivity did not set the ID")
		}
	}
	if !entries[3].Time.Equal(base) {
		t.Errorf("AddActivity with zero Time set %v, want the store clock %v", entries[3].Time, base)
	}
	got, err := st.ListActivity(ctx, store.ActivityFilter{})
	must(t, err, "ListActivity")
	if len(got) != 4 {
		t.Fatalf("ListActivity returned %d, want 4", len(got))
	}
	for i, a := range got {
		want := entries[3-i]
		if a.ID != want.ID || !a.Time.Equal(want.Time) || a.Action != want.Action || a.Success != want.Success ||
			a.ProviderConfigKey != want.ProviderConfigKey || a.ConnectionID != want.ConnectionID || a.Provider != want.Provider ||
			a.Method != want.Method || a.Endpoint != want.Endpoint || a.Status != want.Status || a.Duration != want.Duration ||
			a.Attempts != want.Attempts || a.Message != want.Message {
			t.Errorf("ListActivity[%d] = %+v, want %+v", i, a, want)
		}
	}
	ids := func(as []store.Activity) []int64 {
		var out []int64
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	e := entries
	tests := []struct {
		name string
		f    store.ActivityFilter
		want []int64
	}{
		{"action", store.ActivityFilter{Action: "token"}, []int64{e[1].ID}},
		{"integration", store.ActivityFilter{ProviderConfigKey: "gh"}, []int64{e[2].ID, e[1].ID, e[0].ID}},
		{"connection", store.ActivityFilter{ProviderConfigKey: "gh", ConnectionID: "u1"}, []int64{e[1].ID, e[0].ID}},
		{"failures", store.ActivityFilter{Success: ptr(false)}, []int64{e[1].ID}},
		{"successes", store.ActivityFilter{Success: ptr(true)}, []int64{e[3].ID, e[2].ID, e[0].ID}},
		{"before id", store.ActivityFilter{BeforeID: e[2].ID}, []int64{e[1].ID, e[0].ID}},
		{"limit", store.ActivityFilter{Limit: 2}, []int64{e[3].ID, e[2].ID}},
		{"no match", store.ActivityFilter{Action: "sync"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.ListActivity(ctx, tt.f)
			must(t, err, "ListActivity")
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("ids = %v, want %v", ids(got), tt.want)
			}
		})
	}
	t.Run("default limit is 100", func(t *testing.T) {
		for range 101 {
			must(t, st.AddActivity(ctx, &store.Activity{Action: "bulk", Success: true}), "AddActivity")
		}
		got, err := st.ListActivity(ctx, store.ActivityFilter{Action: "bulk"})
		must(t, err, "ListActivity")
		if len(got) != 100 {
			t.Errorf("ListActivity returned %d, want 100", len(got))
		}
	})
	n, err := st.PruneActivity(ctx, base.Add(-90*time.Minute))
	must(t, err, "PruneActivity")
	if n != 2 {
		t.Errorf("PruneActivity = %d, want 2", n)
	}
	got, _ = st.ListActivity(ctx, store.ActivityFilter{ProviderConfigKey: "gh"})
	if !slices.Equal(ids(got), []int64{e[2].ID}) {
		t.Errorf("after prune: %v, want [%d]", ids(got), e[2].ID)
	}
}

func (s *suite) testMeta(t *testing.T) {
	st, _, _ := s.fresh(t)
	ctx := ctxT(t)
	_, err := st.GetMeta(ctx, "instance_id")
	mustErr(t, err, store.ErrNotFound, "GetMeta of an absent name")
	must(t, st.SetMeta(ctx, "instance_id", "abc"), "SetMeta")
	must(t, st.SetMeta(ctx, "other", ""), "SetMeta empty value")
	v, err := st.GetMeta(ctx, "instance_id")
	if err != nil || v != "abc" {
		t.Fatalf("GetMeta = %q, %v", v, err)
	}
	must(t, st.SetMeta(ctx, "instance_id", "def"), "SetMeta overwrite")
	v, _ = st.GetMeta(ctx, "instance_id")
	if v != "def" {
		t.Fatalf("GetMeta after overwrite = %q", v)
	}
	if v, err := st.GetMeta(ctx, "other"); err != nil || v != "" {
		t.Fatalf("GetMeta of an empty value = %q, %v", v, err)
	}
}
