package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// testActivityBatch checks store.ActivityBatcher, when the driver offers
// it: every entry written with its ID set, in order; zero times filled by
// the store clock; nothing written when the call fails; concurrent batches
// never share an ID.
func (s *suite) testActivityBatch(t *testing.T) {
	st, _, clk := s.fresh(t)
	b, ok := st.(store.ActivityBatcher)
	if !ok {
		t.Skip("the driver does not implement store.ActivityBatcher")
	}
	ctx := ctxT(t)
	base := clk.Now()
	must(t, b.AddActivities(ctx, nil), "AddActivities(nil)")

	entries := make([]store.Activity, 300)
	for i := range entries {
		entries[i] = store.Activity{Time: base.Add(time.Duration(i) * time.Second), Action: "proxy", Success: i%3 != 0,
			ProviderConfigKey: "gh", ConnectionID: fmt.Sprint("u", i%7), Provider: "github", Method: "GET",
			Endpoint: fmt.Sprint("/repos/", i), Status: 200 + i%5, Duration: time.Duration(i)*time.Millisecond + 400*time.Microsecond,
			Attempts: 1 + i%2, Message: fmt.Sprint("call ", i)}
	}
	entries[299].Time = time.Time{}
	must(t, b.AddActivities(ctx, entries), "AddActivities")
	for i := 1; i < len(entries); i++ {
		if entries[i].ID <= entries[i-1].ID {
			t.Fatalf("IDs not set in order: entry %d has %d after %d", i, entries[i].ID, entries[i-1].ID)
		}
	}
	if !entries[299].Time.Equal(base) {
		t.Errorf("zero Time became %v, want the store clock %v", entries[299].Time, base)
	}
	if want := 1 * time.Millisecond; entries[1].Duration != want {
		t.Errorf("Duration = %v, want %v (rounded to the millisecond, as AddActivity does)", entries[1].Duration, want)
	}
	got, err := st.ListActivity(ctx, store.ActivityFilter{Limit: 1000})
	must(t, err, "ListActivity")
	if len(got) != len(entries) {
		t.Fatalf("ListActivity returned %d entries, want %d", len(got), len(entries))
	}
	byID := map[int64]store.Activity{}
	for _, a := range got {
		byID[a.ID] = a
	}
	for _, want := range entries {
		a, ok := byID[want.ID]
		if !ok || !a.Time.Equal(want.Time) || a.Action != want.Action || a.Success != want.Success ||
			a.ProviderConfigKey != want.ProviderConfigKey || a.ConnectionID != want.ConnectionID || a.Provider != want.Provider ||
			a.Method != want.Method || a.Endpoint != want.Endpoint || a.Status != want.Status || a.Duration != want.Duration ||
			a.Attempts != want.Attempts || a.Message != want.Message {
			t.Fatalf("stored %+v, want %+v", a, want)
		}
	}

	t.Run("failed call writes nothing", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.AddActivities(cctx, []store.Activity{{Action: "proxy"}, {Action: "proxy"}}); err == nil {
			t.Fatal("AddActivities with a cancelled context succeeded")
		}
		after, err := st.ListActivity(ctx, store.ActivityFilter{Limit: 1000})
		must(t, err, "ListActivity")
		if len(after) != len(entries) {
			t.Errorf("%d entries after a failed batch, want %d", len(after), len(entries))
		}
	})

	t.Run("concurrent batches", func(t *testing.T) {
		var wg sync.WaitGroup
		batches := make([][]store.Activity, 6)
		errs := make([]error, len(batches))
		for g := range batches {
			batches[g] = make([]store.Activity, 40)
			for i := range batches[g] {
				batches[g][i] = store.Activity{Action: "proxy", Success: true, ConnectionID: fmt.Sprint("c", g)}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if g%2 == 0 {
					errs[g] = b.AddActivities(ctx, batches[g])
					return
				}
				for i := range batches[g] {
					if err := st.AddActivity(ctx, &batches[g][i]); err != nil {
						errs[g] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		seen := map[int64]bool{}
		for g, bt := range batches {
			must(t, errs[g], "batch")
			for _, a := range bt {
				if a.ID == 0 || seen[a.ID] {
					t.Fatalf("ID %d missing or repeated", a.ID)
				}
				seen[a.ID] = true
			}
		}
	})
}
