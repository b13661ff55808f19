package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

func (s *suite) testListConnections(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	for _, in := range []store.Integration{{Key: "github", Provider: "github"}, {Key: "slack", Provider: "slack"}} {
		must(t, st.CreateIntegration(ctx, &in), "CreateIntegration")
	}
	type seed struct{ key, id string }
	seeds := []seed{
		{"github", "user-1"}, {"github", "user-2"}, {"github", "user-3"}, {"github", "Alice_Smith"},
		{"github", "100%off"}, {"slack", "user-2"}, {"slack", "bob"}, {"orphan", "carol"}, {"github", "AliceXSmith"}, {"github", "10off"},
	}
	ids := map[seed]int64{} // seed → row id
	var expiry = ms(clk.Now().Add(time.Hour))
	for i, sd := range seeds {
		clk.Advance(time.Second)
		creds := store.Credentials{Type: store.APIKey, APIKey: "k"}
		if i%2 == 0 {
			creds = oauth2Creds(expiry)
		}
		c := store.Connection{ProviderConfigKey: sd.key, ConnectionID: sd.id, Credentials: creds}
		_, err := st.UpsertConnection(ctx, &c)
		must(t, err, "UpsertConnection")
		ids[sd] = c.ID
	}
	// A refresh failure shows in the summary.
	_, err := st.UpdateConnection(ctx, "github", "user-3", func(c *store.Connection) error {
		c.LastRefreshError = "invalid_grant"
		return nil
	})
	must(t, err, "UpdateConnection")

	// idsOf lists the expected ids, newest first.
	idsOf := func(match func(seed) bool) []int64 {
		var out []int64
		for _, sd := range seeds {
			if match(sd) {
				out = append(out, ids[sd])
			}
		}
		slices.Sort(out)
		slices.Reverse(out)
		return out
	}
	all := idsOf(func(seed) bool { return true })

	tests := []struct {
		name      string
		f         store.ConnectionFilter
		want      []int64
		wantTotal int
	}{
		{"all", store.ConnectionFilter{}, all, len(all)},
		{"integration", store.ConnectionFilter{ProviderConfigKey: "slack"}, idsOf(func(s seed) bool { return s.key == "slack" }), 2},
		{"connection id", store.ConnectionFilter{ConnectionID: "user-2"}, idsOf(func(s seed) bool { return s.id == "user-2" }), 2},
		{"both keys", store.ConnectionFilter{ProviderConfigKey: "github", ConnectionID: "user-2"}, []int64{ids[seed{"github", "user-2"}]}, 1},
		{"search is case-insensitive", store.ConnectionFilter{Search: "aLiCe"}, idsOf(func(s seed) bool { return s.id == "Alice_Smith" || s.id == "AliceXSmith" }), 2},
		{"search takes _ literally", store.ConnectionFilter{Search: "e_s"}, []int64{ids[seed{"github", "Alice_Smith"}]}, 1},
		{"search takes % literally", store.ConnectionFilter{Search: "0%o"}, []int64{ids[seed{"github", "100%off"}]}, 1},
		{"search substring", store.ConnectionFilter{Search: "ser-"}, idsOf(func(s seed) bool { return len(s.id) > 5 && s.id[:5] == "user-" }), 4},
		{"search within integration", store.ConnectionFilter{ProviderConfigKey: "github", Search: "USER"}, idsOf(func(s seed) bool { return s.key == "github" && s.id[:2] == "us" }), 3},
		{"search no match", store.ConnectionFilter{Search: "zzz"}, nil, 0},
		{"limit", store.ConnectionFilter{Limit: 3}, all[:3], len(all)},
		{"before id", store.ConnectionFilter{BeforeID: all[2], Limit: 3}, all[3:6], len(all)},
		{"before the first id", store.ConnectionFilter{BeforeID: all[len(all)-1]}, nil, len(all)},
		{"absent integration", store.ConnectionFilter{ProviderConfigKey: "nope"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := st.ListConnections(ctx, tt.f)
			must(t, err, "ListConnections")
			var got []int64
			for _, c := range page.Connections {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if page.Total != int64(tt.wantTotal) {
				t.Errorf("Total = %d, want %d", page.Total, tt.wantTotal)
			}
			if page.Connections == nil {
				t.Error("Connections is nil, want an empty slice")
			}
		})
	}

	t.Run("pages walk every row once", func(t *testing.T) {
		var got []int64
		var before int64
		for range 20 {
			page, err := st.ListConnections(ctx, store.ConnectionFilter{BeforeID: before, Limit: 4})
			must(t, err, "ListConnections")
			if len(page.Connections) == 0 {
				break
			}
			for _, c := range page.Connections {
				got = append(got, c.ID)
			}
			before = page.Connections[len(page.Connections)-1].ID
		}
		if !slices.Equal(got, all) {
			t.Errorf("walked %v, want %v", got, all)
		}
	})

	t.Run("summary fields", func(t *testing.T) {
		page, err := st.ListConnections(ctx, store.ConnectionFilter{})
		must(t, err, "ListConnections")
		by := map[string]store.ConnectionSummary{}
		for _, c := range page.Connections {
			by[c.ProviderConfigKey+"/"+c.ConnectionID] = c
		}
		for i, sd := range seeds {
			c, ok := by[sd.key+"/"+sd.id]
			if !ok {
				t.Fatalf("%s/%s missing", sd.key, sd.id)
			}
			full, err := st.GetConnection(ctx, sd.key, sd.id)
			must(t, err, "GetConnection")
			wantProvider := sd.key
			if sd.key == "orphan" {
				wantProvider = ""
			}
			wantMode, wantExp := store.APIKey, "nil"
			if i%2 == 0 {
				wantMode, wantExp = store.OAuth2, expiry.Format(time.RFC3339Nano)
			}
			gotExp := "nil"
			if c.ExpiresAt != nil {
				gotExp = c.ExpiresAt.UTC().Format(time.RFC3339Nano)
			}
			wantErr := ""
			if sd == (seed{"github", "user-3"}) {
				wantErr = "invalid_grant"
			}
			if c.Provider != wantProvider || c.AuthMode != wantMode || gotExp != wantExp || c.LastRefreshError != wantErr ||
				!c.CreatedAt.Equal(full.CreatedAt) || !c.UpdatedAt.Equal(full.UpdatedAt) || c.ID != full.ID {
				t.Errorf("%s/%s summary = %+v (expires %s), want provider %q mode %s expires %s error %q created %v updated %v",
					sd.key, sd.id, c, gotExp, wantProvider, wantMode, wantExp, wantErr, full.CreatedAt, full.UpdatedAt)
			}
		}
	})
}

// testCountCap: listings count up to the store's count cap and report
// cap+1 for more (Options.CountCap; 10,000 by default), so their cost stays
// flat however many connections there are; pages are not affected.
func (s *suite) testCountCap(t *testing.T) {
	db := s.f.NewDatabase(t)
	clk := newClock()
	const limit = 3
	st := open(t, db, store.Options{Now: clk.Now, CountCap: limit})
	ctx := ctxT(t)
	for _, key := range []string{"github", "slack", "empty"} {
		in := store.Integration{Key: key, Provider: key}
		must(t, st.CreateIntegration(ctx, &in), "CreateIntegration")
	}
	ids := []struct{ key, id string }{
		{"github", "alpha-1"}, {"github", "alpha-2"}, {"github", "alpha-3"}, {"github", "beta-1"}, {"github", "beta-2"},
		{"slack", "alpha-9"}, {"slack", "gamma-1"},
	}
	for _, c := range ids {
		clk.Advance(time.Second)
		conn := store.Connection{ProviderConfigKey: c.key, ConnectionID: c.id, Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}}
		_, err := st.UpsertConnection(ctx, &conn)
		must(t, err, "UpsertConnection")
	}
	all, err := st.ListConnections(ctx, store.ConnectionFilter{})
	must(t, err, "ListConnections")
	tests := []struct {
		name      string
		f         store.ConnectionFilter
		wantRows  int
		wantTotal int64
	}{
		{"all: more than the cap", store.ConnectionFilter{}, 7, limit + 1},
		{"a page of all", store.ConnectionFilter{Limit: 2}, 2, limit + 1},
		{"a later page", store.ConnectionFilter{BeforeID: all.Connections[1].ID, Limit: 10}, 5, limit + 1},
		{"integration over the cap", store.ConnectionFilter{ProviderConfigKey: "github"}, 5, limit + 1},
		{"integration under the cap", store.ConnectionFilter{ProviderConfigKey: "slack"}, 2, 2},
		{"search at the cap", store.ConnectionFilter{Search: "ALPHA-"}, 4, limit + 1},
		{"search within an integration at the cap", store.ConnectionFilter{ProviderConfigKey: "github", Search: "alpha"}, 3, limit},
		{"search under the cap", store.ConnectionFilter{Search: "beta"}, 2, 2},
		{"search matching nothing", store.ConnectionFilter{Search: "zeta"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := st.ListConnections(ctx, tt.f)
			must(t, err, "ListConnections")
			if len(page.Connections) != tt.wantRows || page.Total != tt.wantTotal {
				t.Errorf("%d rows, Total %d; want %d rows, Total %d", len(page.Connections), page.Total, tt.wantRows, tt.wantTotal)
			}
		})
	}
	counts, err := st.CountConnections(ctx)
	must(t, err, "CountConnections")
	if want := map[string]int64{"github": limit + 1, "slack": 2, "empty": 0}; !reflect.DeepEqual(counts, want) {
		t.Errorf("CountConnections = %v, want %v", counts, want)
	}
}
