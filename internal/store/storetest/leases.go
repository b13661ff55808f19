package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

func seedConn(t testing.TB, st store.Store, key, id string) store.Connection {
	t.Helper()
	c := store.Connection{ProviderConfigKey: key, ConnectionID: id, Credentials: oauth2Creds(time.Now().Add(time.Hour))}
	_, err := st.UpsertConnection(ctxT(t), &c)
	must(t, err, "UpsertConnection")
	return c
}

func (s *suite) testRefreshLease(t *testing.T) {
	st, _, _ := s.fresh(t)
	ctx := ctxT(t)
	_, _, err := st.TryLockRefresh(ctx, "p", "absent", "h", time.Minute)
	mustErr(t, err, store.ErrNotFound, "TryLockRefresh of an absent connection")
	_, err = st.UnlockRefresh(ctx, "p", "absent", "h", nil)
	mustErr(t, err, store.ErrNotFound, "UnlockRefresh of an absent connection")

	orig := seedConn(t, st, "p", "c")

	// Many contenders at once: exactly one wins.
	const n = 16
	var wg sync.WaitGroup
	var winners atomic.Int32
	var winner atomic.Value
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprint("h", i)
			c, ok, err := st.TryLockRefresh(ctx, "p", "c", holder, time.Minute)
			if err != nil {
				t.Errorf("TryLockRefresh: %v", err)
				return
			}
			if c.Credentials.AccessToken.Reveal() != orig.Credentials.AccessToken.Reveal() || c.ID != orig.ID {
				t.Errorf("TryLockRefresh returned %+v, want the stored connection", c)
			}
			if ok {
				winners.Add(1)
				winner.Store(holder)
			}
		}()
	}
	wg.Wait()
	if winners.Load() != 1 {
		t.Fatalf("%d contenders took the lease, want exactly 1", winners.Load())
	}
	h := winner.Load().(string)

	// Re-entrant for its holder, refused to others.
	if _, ok, err := st.TryLockRefresh(ctx, "p", "c", h, time.Minute); err != nil || !ok {
		t.Fatalf("holder retaking its lease: ok %v err %v", ok, err)
	}
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "other", time.Minute); ok {
		t.Fatal("another holder took a running lease")
	}
	// A lease is per connection.
	seedConn(t, st, "p", "d")
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "d", "other", time.Minute); !ok {
		t.Fatal("lease of another connection refused")
	}

	// Releasing by someone else does nothing.
	_, err = st.UnlockRefresh(ctx, "p", "c", "other", nil)
	must(t, err, "UnlockRefresh by a non-holder")
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "third", time.Minute); ok {
		t.Fatal("a non-holder's UnlockRefresh released the lease")
	}
	// The holder releases; with a nil fn nothing else changes.
	c, err := st.UnlockRefresh(ctx, "p", "c", h, nil)
	must(t, err, "UnlockRefresh")
	sameConnection(t, "UnlockRefresh with nil fn", c, orig)
	got, _ := st.GetConnection(ctx, "p", "c")
	sameConnection(t, "after UnlockRefresh with nil fn", got, orig)
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "third", time.Minute); !ok {
		t.Fatal("lease not free after its holder released it")
	}
	// A write through UpdateConnection does not release a lease.
	_, err = st.UpdateConnection(ctx, "p", "c", func(c *store.Connection) error { c.Metadata["x"] = "y"; return nil })
	must(t, err, "UpdateConnection")
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "fourth", time.Minute); ok {
		t.Fatal("UpdateConnection released the refresh lease")
	}
	// Deleting the connection ends the story.
	must(t, st.DeleteConnection(ctx, "p", "c"), "DeleteConnection")
	_, err = st.UnlockRefresh(ctx, "p", "c", "third", func(*store.Connection) error { return nil })
	mustErr(t, err, store.ErrNotFound, "UnlockRefresh of a deleted connection")
}

func (s *suite) testRefreshLeaseExpiry(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	// The store clock is frozen: expiry must follow the database clock.
	clk := newClock()
	st := open(t, db, store.Options{Now: clk.Now})
	seedConn(t, st, "p", "c")
	const ttl = 300 * time.Millisecond
	if _, ok, err := st.TryLockRefresh(ctx, "p", "c", "a", ttl); err != nil || !ok {
		t.Fatalf("TryLockRefresh: ok %v err %v", ok, err)
	}
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "b", ttl); ok {
		t.Fatal("lease taken before it expired")
	}
	time.Sleep(ttl + 200*time.Millisecond)
	if _, ok, err := st.TryLockRefresh(ctx, "p", "c", "b", time.Minute); err != nil || !ok {
		t.Fatalf("expired lease not taken over: ok %v err %v", ok, err)
	}
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "a", time.Minute); ok {
		t.Fatal("the former holder retook a lease another holder now has")
	}
	if db.Instances() {
		other := open(t, db, store.Options{})
		if _, ok, _ := other.TryLockRefresh(ctx, "p", "c", "c", time.Minute); ok {
			t.Fatal("another instance took a running lease")
		}
	}
}

// testRefreshLeaseOneHolder hammers one lease from many goroutines (across
// two instances when the driver has them): at no moment may two hold it.
func (s *suite) testRefreshLeaseOneHolder(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	a := open(t, db, store.Options{})
	b := a
	if db.Instances() {
		b = open(t, db, store.Options{})
	}
	seedConn(t, a, "p", "c")
	var (
		active, maxActive, taken atomic.Int32
		wg                       sync.WaitGroup
	)
	const workers, rounds = 8, 15
	for w := range workers {
		st := a
		if w%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprint("worker-", w)
			for range rounds {
				_, ok, err := st.TryLockRefresh(ctx, "p", "c", holder, time.Minute)
				if err != nil {
					t.Errorf("TryLockRefresh: %v", err)
					return
				}
				if !ok {
					time.Sleep(time.Millisecond)
					continue
				}
				taken.Add(1)
				n := active.Add(1)
				for {
					m := maxActive.Load()
					if n <= m || maxActive.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				active.Add(-1)
				if _, err := st.UnlockRefresh(ctx, "p", "c", holder, func(c *store.Connection) error {
					n, _ := c.Metadata["refreshes"].(float64)
					c.Metadata["refreshes"] = n + 1
					return nil
				}); err != nil {
					t.Errorf("UnlockRefresh: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if maxActive.Load() != 1 {
		t.Fatalf("up to %d holders at once, want 1", maxActive.Load())
	}
	if taken.Load() == 0 {
		t.Fatal("nobody ever took the lease")
	}
	c, err := a.GetConnection(ctx, "p", "c")
	must(t, err, "GetConnection")
	if c.Metadata["refreshes"] != float64(taken.Load()) {
		t.Errorf("refreshes recorded = %v, leases taken = %d", c.Metadata["refreshes"], taken.Load())
	}
}

func (s *suite) testUnlockRefresh(t *testing.T) {
	st, _, clk := s.fresh(t)
	ctx := ctxT(t)
	orig := seedConn(t, st, "p", "c")

	// A holds a lease that expires; B takes over; A's result still lands.
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "A", 100*time.Millisecond); !ok {
		t.Fatal("TryLockRefresh A")
	}
	time.Sleep(300 * time.Millisecond)
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "B", time.Minute); !ok {
		t.Fatal("B could not take the expired lease")
	}
	now := clk.Advance(time.Minute)
	fresh := oauth2Creds(now.Add(time.Hour))
	c, err := st.UnlockRefresh(ctx, "p", "c", "A", func(c *store.Connection) error {
		c.Credentials = fresh
		c.LastRefreshAt = &now
		return nil
	})
	must(t, err, "UnlockRefresh by the former holder")
	want := orig
	want.Credentials, want.LastRefreshAt, want.UpdatedAt = fresh, &now, now
	sameConnection(t, "UnlockRefresh result", c, want)
	got, _ := st.GetConnection(ctx, "p", "c")
	sameConnection(t, "credentials of a lost lease's holder", got, want)
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "C", time.Minute); ok {
		t.Fatal("the former holder's UnlockRefresh released B's lease")
	}

	// B fails: fn's error is returned, nothing is written, the lease is
	// released anyway.
	boom := errors.New("provider said no")
	clk.Advance(time.Minute)
	_, err = st.UnlockRefresh(ctx, "p", "c", "B", func(c *store.Connection) error {
		c.Credentials = oauth2Creds(now)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UnlockRefresh with failing fn: err = %v, want boom", err)
	}
	got, _ = st.GetConnection(ctx, "p", "c")
	sameConnection(t, "after failing UnlockRefresh", got, want)
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "C", time.Minute); !ok {
		t.Fatal("lease still held after UnlockRefresh with a failing fn")
	}

	// C records a failure and releases.
	failAt := clk.Advance(time.Minute)
	c, err = st.UnlockRefresh(ctx, "p", "c", "C", func(c *store.Connection) error {
		c.LastRefreshFailureAt, c.LastRefreshError = &failAt, "invalid_grant"
		c.RefreshFailures++
		return nil
	})
	must(t, err, "UnlockRefresh recording a failure")
	if c.RefreshFailures != 1 || c.LastRefreshError != "invalid_grant" || c.LastRefreshFailureAt == nil || !c.UpdatedAt.Equal(failAt) {
		t.Errorf("failure not recorded: %+v", c)
	}
	if c.Credentials.AccessToken.Reveal() != fresh.AccessToken.Reveal() {
		t.Error("recording a failure changed the credentials")
	}
	if _, ok, _ := st.TryLockRefresh(ctx, "p", "c", "D", time.Minute); !ok {
		t.Fatal("lease not released by UnlockRefresh with fn")
	}
}
