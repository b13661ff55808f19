package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/pgtest"
	"github.com/nango-go/nango/internal/store"
)

// TestNULIsAnInvalidValue checks that values PostgreSQL cannot store (a
// NUL character in a text column, "\u0000" in a jsonb one) come back as
// store.ErrInvalidValue, which handlers answer with 400, and that nothing
// is written. Regression: they were unclassified errors, answered 500.
func TestNULIsAnInvalidValue(t *testing.T) {
	db := database{dsn: pgtest.DSN(t)}
	st := db.Open(t, store.Options{})
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	in := store.Integration{Key: "k", Provider: "github", ClientID: "id", ClientSecret: "s"}
	if err := st.CreateIntegration(ctx, &in); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name string
		do   func() error
	}{
		{"text column", func() error {
			bad := store.Integration{Key: "k2", Provider: "github", ClientID: "a\x00b", ClientSecret: "s"}
			return st.CreateIntegration(ctx, &bad)
		}},
		{"jsonb value", func() error {
			c := store.Connection{ProviderConfigKey: "k", ConnectionID: "c1",
				Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "t"}, Metadata: map[string]any{"a": "x\x00"}}
			_, err := st.UpsertConnection(ctx, &c)
			return err
		}},
		{"jsonb key", func() error {
			c := store.Connection{ProviderConfigKey: "k", ConnectionID: "c1",
				Credentials: store.Credentials{Type: store.OAuth2, AccessToken: "t"}, ConnectionConfig: map[string]any{"\x00": "x"}}
			_, err := st.UpsertConnection(ctx, &c)
			return err
		}},
		{"session id lookup", func() error {
			_, err := st.TakeOAuthSession(ctx, "a\x00")
			return err
		}},
		{"session config", func() error {
			return st.CreateOAuthSession(ctx, store.OAuthSession{ID: "s1", Provider: "github", ProviderConfigKey: "k",
				ConnectionID: "c", ConnectionConfig: map[string]any{"x": "\x00"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, store.ErrInvalidValue) {
				t.Errorf("err = %v, want store.ErrInvalidValue", err)
			}
		})
	}
	if page, err := st.ListConnections(ctx, store.ConnectionFilter{}); err != nil || page.Total != 0 {
		t.Errorf("connections = %+v, %v", page, err)
	}
}
