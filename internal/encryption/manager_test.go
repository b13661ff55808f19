package encryption_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/nango-go/nango/internal/encryption"
	"github.com/nango-go/nango/internal/store"
)

var errCrash = errors.New("simulated crash")

// seed writes a dataset the way a server configured with current and
// previous keys would: Start, write, and a complete Run.
func seed(t *testing.T, d *db, n int, current *key, previous ...key) *dataset {
	t.Helper()
	inst := d.open(d.config(current, previous...), encryption.Options{})
	ctx := context.Background()
	if _, err := inst.m.Start(ctx); err != nil {
		t.Fatalf("seeding: Start: %v", err)
	}
	data := writeData(t, inst.st, n)
	if _, err := inst.m.Run(ctx, nil); err != nil {
		t.Fatalf("seeding: Run: %v", err)
	}
	_ = inst.st.Close()
	return data
}

// The start-up check: every situation an operator can create, with the
// exact message where the server must refuse.
func TestStart(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		k1, k2, k3 := newKey(), newKey(), newKey()
		tests := []struct {
			name  string
			setup func(t *testing.T, d *db)
			cur   *key
			prev  []key
			// want is "" for a start, else text the error must contain.
			want        []string
			wantPending int64
			wantRecord  []string // after a successful Start
		}{
			{name: "no key, plaintext data",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, nil) },
				want:  nil, wantPending: 0, wantRecord: []string{}},
			{name: "key set on plaintext data",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, nil) },
				cur:   &k1, wantPending: 8, wantRecord: []string{k1.id()}},
			{name: "same key",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, &k1) },
				cur:   &k1, wantPending: 0, wantRecord: []string{k1.id()}},
			{name: "wrong key",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, &k1) },
				cur:   &k3,
				want: []string{"encryption keys: the database holds secrets encrypted with key id " + k1.id() +
					", which is not configured (NANGO_ENCRYPTION_KEY has key id " + k3.id() + "). If you changed the key, put the old one in NANGO_ENCRYPTION_PREVIOUS_KEYS"}},
			{name: "key removed",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, &k1) },
				want: []string{"the database holds secrets encrypted with key id " + k1.id() +
					", which is not configured: no encryption key is set. Set NANGO_ENCRYPTION_KEY to the key the data was encrypted with (to turn encryption off deliberately, use `nango keys decrypt`)"}},
			{name: "rotation",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, &k1) },
				cur:   &k2, prev: []key{k1}, wantPending: 8, wantRecord: []string{k1.id(), k2.id()}},
			{name: "old key removed while rows still use it",
				setup: func(t *testing.T, d *db) {
					seed(t, d, 3, &k1)
					inst := d.open(d.config(&k2, k1), encryption.Options{Batch: 2, AfterBatch: func(int) error { return errCrash }})
					if _, err := inst.m.Start(context.Background()); err != nil {
						t.Fatal(err)
					}
					if _, err := inst.m.Run(context.Background(), nil); !errors.Is(err, errCrash) {
						t.Fatalf("Run = %v, want the simulated crash", err)
					}
				},
				cur:  &k2,
				want: []string{"the database holds secrets encrypted with key id " + k1.id() + ", which is not configured (NANGO_ENCRYPTION_KEY has key id " + k2.id() + ")"}},
			{name: "previous key only while data is encrypted",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, &k1) },
				prev:  []key{k1},
				want: []string{"encryption keys: NANGO_ENCRYPTION_KEY is not set but NANGO_ENCRYPTION_PREVIOUS_KEYS is, and the database holds 8 encrypted secret(s) (key id " + k1.id() + ") and records encryption key id " + k1.id(),
					"To turn encryption off, stop every server, run `nango keys decrypt --yes`"}},
			{name: "previous key only on plaintext data",
				setup: func(t *testing.T, d *db) { seed(t, d, 2, nil) },
				prev:  []key{k1}, wantPending: 0, wantRecord: []string{}},
			{name: "recorded key no row uses",
				setup: func(t *testing.T, d *db) { seed(t, d, 0, &k1) },
				cur:   &k2,
				want: []string{"encryption keys: the database records key id " + k1.id() + ", which is not configured (NANGO_ENCRYPTION_KEY has key id " + k2.id() +
					"), although no stored secret uses it now: a server that ran with that key may still write secrets with it. " +
					"If none does any more, run `nango keys rotate` with this configuration to drop it from the record; otherwise configure that key again (as NANGO_ENCRYPTION_KEY, or in NANGO_ENCRYPTION_PREVIOUS_KEYS)"}},
			{name: "recorded key no row uses, no key",
				setup: func(t *testing.T, d *db) { seed(t, d, 0, &k1) },
				want: []string{"encryption keys: the database records key id " + k1.id() + ", which is not configured (no encryption key is set)",
					"run `nango keys decrypt --yes` with this configuration"}},
			{name: "key in use and a key only recorded",
				setup: func(t *testing.T, d *db) {
					seed(t, d, 0, &k3)
					inst := d.open(d.config(&k1, k3), encryption.Options{})
					if _, err := inst.m.Start(context.Background()); err != nil {
						t.Fatal(err)
					}
					writeData(t, inst.st, 1) // and no Run: k3 stays recorded
				},
				cur: &k2,
				want: []string{"encryption keys: the database holds secrets encrypted with key ids " + strings.Join(sortStrings(k1.id(), k3.id()), ", ") + ", which are not configured",
					". Note: key id " + k3.id() + " is only recorded: no stored secret uses it now. If no server still runs with that key, `nango keys rotate` (with the configuration you intend to start with) drops it from the record"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := newDB(t)
				tt.setup(t, d)
				inst := d.open(d.config(tt.cur, tt.prev...), encryption.Options{})
				before := record(t, inst.st)
				plan, err := inst.m.Start(context.Background())
				if len(tt.want) > 0 {
					var ke *encryption.KeyError
					if !errors.As(err, &ke) {
						t.Fatalf("Start = %v, want a *KeyError", err)
					}
					for _, w := range tt.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error:\n  %s\nwant it to contain:\n  %s", err, w)
						}
					}
					if after := record(t, inst.st); !sameIDs(after, before...) {
						t.Errorf("a refused start changed the record from %v to %v", before, after)
					}
					return
				}
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				if plan.Pending() != tt.wantPending {
					t.Errorf("Pending = %d, want %d", plan.Pending(), tt.wantPending)
				}
				if got := record(t, inst.st); !sameIDs(got, tt.wantRecord...) {
					t.Errorf("record = %v, want %v", got, tt.wantRecord)
				}
			})
		}
	})
}

// A key set on a plaintext database: the run is interrupted after two
// batches (a crash), reads work on the mix, and the next start finishes
// the job with every value intact and encrypted exactly once.
func TestEncryptResumesAfterCrash(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		d := newDB(t)
		data := seed(t, d, 10, nil)
		k := newKey()
		cfg := d.config(&k)

		first := d.open(cfg, encryption.Options{Batch: 7, AfterBatch: func(n int) error {
			if n >= 14 {
				return errCrash
			}
			return nil
		}})
		plan, err := first.m.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Pending() != int64(data.values()) {
			t.Fatalf("Pending = %d, want %d", plan.Pending(), data.values())
		}
		res, err := first.m.Run(ctx, nil)
		if !errors.Is(err, errCrash) || res.Rewritten != 14 {
			t.Fatalf("Run = %d, %v; want 14 and the simulated crash", res.Rewritten, err)
		}
		u := usage(t, first.st)
		if u[k.id()] != 14 || u[""] != int64(data.values()-14) {
			t.Fatalf("usage after the crash = %v", u)
		}
		data.check(t, first.st) // a mix of plaintext and encrypted rows reads fine
		_ = first.st.Close()

		// The next start resumes.
		second := d.open(cfg, encryption.Options{Batch: 7})
		plan, err = second.m.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Pending() != int64(data.values()-14) {
			t.Errorf("Pending after the crash = %d, want %d", plan.Pending(), data.values()-14)
		}
		res, err = second.m.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rewritten != data.values()-14 {
			t.Errorf("resumed run rewrote %d values, want %d (nothing twice)", res.Rewritten, data.values()-14)
		}
		if u := usage(t, second.st); len(u) != 1 || u[k.id()] != int64(data.values()) {
			t.Errorf("usage after the resumed run = %v, want all %d on %s", u, data.values(), k.id())
		}
		data.check(t, second.st)
		data.takeSessions(t, second.st)
		if got := record(t, second.st); !sameIDs(got, k.id()) {
			t.Errorf("record = %v, want [%s]", got, k.id())
		}
	})
}

// Rotation: everything moves to the new key, the old key leaves the
// record, and the server then starts without it; the old key alone is
// refused.
func TestRotateAndRetire(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		d := newDB(t)
		k1, k2 := newKey(), newKey()
		data := seed(t, d, 6, &k1)

		inst := d.open(d.config(&k2, k1), encryption.Options{Batch: 5})
		plan, err := inst.m.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !plan.NeedsRun() {
			t.Fatal("NeedsRun = false with every row on the old key")
		}
		var progress []encryption.Progress
		res, err := inst.m.Run(ctx, func(p encryption.Progress) { progress = append(progress, p) })
		if err != nil {
			t.Fatal(err)
		}
		if res.Rewritten != data.values() || len(progress) == 0 || progress[len(progress)-1].Remaining != 0 {
			t.Errorf("Run rewrote %d (want %d), progress %v", res.Rewritten, data.values(), progress)
		}
		if !sameIDs(res.Dropped, k1.id()) {
			t.Errorf("Dropped = %v, want [%s]", res.Dropped, k1.id())
		}
		if u := usage(t, inst.st); len(u) != 1 || u[k2.id()] != int64(data.values()) {
			t.Errorf("usage = %v", u)
		}
		data.check(t, inst.st)
		_ = inst.st.Close()

		// The old key is no longer needed.
		alone := d.open(d.config(&k2), encryption.Options{})
		if _, err := alone.m.Start(ctx); err != nil {
			t.Fatalf("start with only the new key: %v", err)
		}
		data.check(t, alone.st)
		// Going back to the retired key is refused.
		back := d.open(d.config(&k1), encryption.Options{})
		if _, err := back.m.Start(ctx); err == nil || !strings.Contains(err.Error(), "key id "+k2.id()+", which is not configured") {
			t.Errorf("start with the retired key = %v", err)
		}
	})
}

// Decrypting turns encryption off: plaintext everywhere, record cleared,
// and a server without keys starts.
func TestDecrypt(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		d := newDB(t)
		k1, k2 := newKey(), newKey()
		data := seed(t, d, 4, &k1)
		// Half rotated to k2, so decrypt needs both keys.
		half := d.open(d.config(&k2, k1), encryption.Options{Batch: 6, AfterBatch: func(int) error { return errCrash }})
		if _, err := half.m.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := half.m.Run(ctx, nil); !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		_ = half.st.Close()

		// With only one of the keys, decrypt is refused.
		partial := d.open(encryption.DecryptConfig(d.config(&k2)), encryption.Options{})
		if _, err := partial.m.Prepare(ctx); err == nil || !strings.Contains(err.Error(), "key id "+k1.id()+", which is not configured") ||
			!strings.Contains(err.Error(), "Add the key the data was encrypted with to NANGO_ENCRYPTION_PREVIOUS_KEYS") {
			t.Errorf("Prepare with one key missing = %v", err)
		}
		_ = partial.st.Close()

		dec := d.open(encryption.DecryptConfig(d.config(&k2, k1)), encryption.Options{Batch: 5})
		plan, err := dec.m.Prepare(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Current != "" || plan.Pending() != int64(data.values()) {
			t.Errorf("plan = %+v", plan)
		}
		res, err := dec.m.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rewritten != data.values() {
			t.Errorf("decrypted %d, want %d", res.Rewritten, data.values())
		}
		if u := usage(t, dec.st); len(u) != 1 || u[""] != int64(data.values()) {
			t.Errorf("usage = %v", u)
		}
		if got := record(t, dec.st); len(got) != 0 {
			t.Errorf("record after decrypt = %v, want empty", got)
		}
		_ = dec.st.Close()

		plain := d.open(d.config(nil), encryption.Options{})
		if _, err := plain.m.Start(ctx); err != nil {
			t.Fatalf("start without keys after decrypt: %v", err)
		}
		data.check(t, plain.st)
		data.takeSessions(t, plain.st)
	})
}

// Prepare (the foreground commands) tolerates a recorded key no value
// uses, and its Run drops it; Start refuses it.
func TestStaleRecordedKey(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		d := newDB(t)
		k1, k2 := newKey(), newKey()
		seed(t, d, 0, &k1) // records k1, stores nothing
		inst := d.open(d.config(&k2), encryption.Options{})
		if _, err := inst.m.Start(ctx); err == nil {
			t.Fatal("Start accepted a configuration without the recorded key")
		}
		if _, err := inst.m.Prepare(ctx); err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		res, err := inst.m.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(res.Dropped, k1.id()) {
			t.Errorf("Dropped = %v", res.Dropped)
		}
		if _, err := inst.m.Start(ctx); err != nil {
			t.Errorf("Start after the record was tidied: %v", err)
		}
		if got := record(t, inst.st); !sameIDs(got, k2.id()) {
			t.Errorf("record = %v", got)
		}
	})
}

// A value that no configured key opens (tampered) stops the background
// run with a clear log line, and the server's other reads keep working.
func TestBackgroundStopsOnUndecryptable(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		d := newDB(t)
		k1, k2 := newKey(), newKey()
		seed(t, d, 2, &k1)
		// Damage one sealed value through a store with no special access:
		// move the credentials of one connection onto another.
		inst := d.open(d.config(&k2, k1), encryption.Options{Batch: 100})
		moveCredentials(t, d, "conn-0-0", "conn-0-1")
		plan, err := inst.m.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inst.m.RunBackground(ctx, plan) // returns: it does not retry forever
		logs := inst.logs.String()
		if !strings.Contains(logs, "encryption: background re-encryption stopped") || !strings.Contains(logs, "resealing connections.credentials of row") {
			t.Errorf("logs = %s", logs)
		}
		if _, err := inst.st.GetConnection(ctx, "int-0", "conn-0-1"); !errors.Is(err, store.ErrUndecryptable) {
			t.Errorf("reading the moved value = %v, want ErrUndecryptable", err)
		}
		if _, err := inst.st.GetConnection(ctx, "int-1", "conn-1-0"); err != nil {
			t.Errorf("reading an intact value = %v", err)
		}
	})
}

// Instances starting at once on one PostgreSQL database: with the same new
// key, every value is encrypted exactly once and the record holds that
// key; with different keys, exactly one instance starts.
func TestConcurrentInstances(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		t.Run("same key", func(t *testing.T) {
			d := newDB(t)
			data := seed(t, d, 10, nil)
			k := newKey()
			insts := []*instance{d.open(d.config(&k), encryption.Options{Batch: 3}), d.open(d.config(&k), encryption.Options{Batch: 3})}
			var wg sync.WaitGroup
			rewritten := make([]int, len(insts))
			errs := make([]error, len(insts))
			for i, inst := range insts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := inst.m.Start(ctx); err != nil {
						errs[i] = err
						return
					}
					res, err := inst.m.Run(ctx, nil)
					rewritten[i], errs[i] = res.Rewritten, err
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if rewritten[0]+rewritten[1] != data.values() {
				t.Errorf("instances rewrote %v values, want %d in total (each exactly once)", rewritten, data.values())
			}
			if u := usage(t, insts[0].st); len(u) != 1 || u[k.id()] != int64(data.values()) {
				t.Errorf("usage = %v", u)
			}
			data.check(t, insts[0].st)
			if got := record(t, insts[1].st); !sameIDs(got, k.id()) {
				t.Errorf("record = %v", got)
			}
		})
		t.Run("different keys", func(t *testing.T) {
			for round := range 5 {
				d := newDB(t)
				seed(t, d, 1, nil)
				ka, kb := newKey(), newKey()
				insts := []*instance{d.open(d.config(&ka), encryption.Options{}), d.open(d.config(&kb), encryption.Options{})}
				errs := make([]error, 2)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, inst := range insts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, errs[i] = inst.m.Start(ctx)
					}()
				}
				close(start)
				wg.Wait()
				ok := 0
				for _, err := range errs {
					if err == nil {
						ok++
					} else if !strings.Contains(err.Error(), "which is not configured") {
						t.Errorf("round %d: unexpected error %v", round, err)
					}
				}
				if ok != 1 {
					t.Errorf("round %d: %d instances with different keys started at once (errors %v), want exactly 1", round, ok, errs)
				}
				if got := record(t, insts[0].st); len(got) != 1 {
					t.Errorf("round %d: record = %v, want exactly the winner's key", round, got)
				}
			}
		})
	})
}

// Status reports usage per table and key and says what to do.
func TestStatus(t *testing.T) {
	forEachDriver(t, func(t *testing.T, newDB func(t *testing.T) *db) {
		ctx := context.Background()
		k1, k2, k3 := newKey(), newKey(), newKey()
		tests := []struct {
			name      string
			setup     func(t *testing.T, d *db)
			cur       *key
			prev      []key
			wantRows  map[string]encryption.Role // "table/keyid" → role
			wantDone  bool
			wantStart string // substring of StartError ("" = passes)
			wantAdv   []string
		}{
			{name: "off", setup: func(t *testing.T, d *db) { seed(t, d, 1, nil) },
				wantRows: map[string]encryption.Role{"connections/": encryption.RolePlaintext, "integrations/": encryption.RolePlaintext, "oauth_sessions/": encryption.RolePlaintext},
				wantDone: true, wantAdv: []string{"Encryption at rest is off", "nango keys generate"}},
			{name: "key set on plaintext", setup: func(t *testing.T, d *db) { seed(t, d, 1, nil) }, cur: &k1,
				wantRows: map[string]encryption.Role{"connections/": encryption.RolePlaintext, "integrations/": encryption.RolePlaintext, "oauth_sessions/": encryption.RolePlaintext},
				wantAdv:  []string{"4 secrets are stored in plaintext: a running server encrypts them in the background, or run `nango keys rotate`"}},
			{name: "done", setup: func(t *testing.T, d *db) { seed(t, d, 1, &k1) }, cur: &k1,
				wantRows: map[string]encryption.Role{"connections/" + k1.id(): encryption.RoleCurrent, "integrations/" + k1.id(): encryption.RoleCurrent, "oauth_sessions/" + k1.id(): encryption.RoleCurrent},
				wantDone: true, wantAdv: []string{"Nothing to do: every stored secret uses the current key (key id " + k1.id() + ")."}},
			{name: "rotation pending", setup: func(t *testing.T, d *db) { seed(t, d, 1, &k1) }, cur: &k2, prev: []key{k1},
				wantRows: map[string]encryption.Role{"connections/" + k1.id(): encryption.RolePrevious, "integrations/" + k1.id(): encryption.RolePrevious, "oauth_sessions/" + k1.id(): encryption.RolePrevious},
				wantAdv:  []string{"4 secrets still use previous key id " + k1.id() + ": a running server re-encrypts them in the background, or run `nango keys rotate`"}},
			{name: "rotated, old key still configured", setup: func(t *testing.T, d *db) { seed(t, d, 1, &k1); seed(t, d, 0, &k2, k1) }, cur: &k2, prev: []key{k1},
				wantRows: map[string]encryption.Role{"connections/" + k2.id(): encryption.RoleCurrent, "integrations/" + k2.id(): encryption.RoleCurrent, "oauth_sessions/" + k2.id(): encryption.RoleCurrent},
				wantDone: true, wantAdv: []string{"No stored secret uses previous key id " + k1.id() + ": remove it from NANGO_ENCRYPTION_PREVIOUS_KEYS once every server instance runs with NANGO_ENCRYPTION_KEY (key id " + k2.id() + ")."}},
			{name: "wrong key", setup: func(t *testing.T, d *db) { seed(t, d, 1, &k1) }, cur: &k3,
				wantRows:  map[string]encryption.Role{"connections/" + k1.id(): encryption.RoleNotConfigured, "integrations/" + k1.id(): encryption.RoleNotConfigured, "oauth_sessions/" + k1.id(): encryption.RoleNotConfigured},
				wantStart: "the database holds secrets encrypted with key id " + k1.id(),
				wantAdv:   []string{"4 secrets use key id " + k1.id() + ", which is not configured: add that key to NANGO_ENCRYPTION_PREVIOUS_KEYS"}},
			{name: "encryption off, data encrypted", setup: func(t *testing.T, d *db) { seed(t, d, 1, &k1) }, prev: []key{k1},
				wantRows:  map[string]encryption.Role{"connections/" + k1.id(): encryption.RolePrevious, "integrations/" + k1.id(): encryption.RolePrevious, "oauth_sessions/" + k1.id(): encryption.RolePrevious},
				wantStart: "NANGO_ENCRYPTION_KEY is not set but NANGO_ENCRYPTION_PREVIOUS_KEYS is",
				wantAdv:   []string{"Encryption is off (NANGO_ENCRYPTION_KEY is not set) but 4 secrets are encrypted: to keep encryption, set NANGO_ENCRYPTION_KEY; to turn it off, stop every server and run `nango keys decrypt --yes`."}},
			{name: "stale record", setup: func(t *testing.T, d *db) { seed(t, d, 0, &k1) }, cur: &k2,
				wantRows:  map[string]encryption.Role{},
				wantStart: "although no stored secret uses it now",
				wantAdv:   []string{"The database records key id " + k1.id() + ", which is not configured, although no stored secret uses it", "run `nango keys rotate` to drop it"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := newDB(t)
				tt.setup(t, d)
				inst := d.open(d.config(tt.cur, tt.prev...), encryption.Options{})
				recBefore := record(t, inst.st)
				s, err := inst.m.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]encryption.Role{}
				for _, r := range s.Rows {
					got[r.Table+"/"+r.KeyID] = r.Role
				}
				if len(got) != len(tt.wantRows) {
					t.Errorf("rows = %+v, want %v", s.Rows, tt.wantRows)
				}
				for k, v := range tt.wantRows {
					if got[k] != v {
						t.Errorf("row %s: role %q, want %q", k, got[k], v)
					}
				}
				if s.Done != tt.wantDone {
					t.Errorf("Done = %v, want %v (advice %q)", s.Done, tt.wantDone, s.Advice)
				}
				if (tt.wantStart == "") != (s.StartError == "") || !strings.Contains(s.StartError, tt.wantStart) {
					t.Errorf("StartError = %q, want %q", s.StartError, tt.wantStart)
				}
				all := strings.Join(s.Advice, "\n")
				for _, w := range tt.wantAdv {
					if !strings.Contains(all, w) {
						t.Errorf("advice:\n%s\nwant it to contain:\n%s", all, w)
					}
				}
				if after := record(t, inst.st); !sameIDs(after, recBefore...) {
					t.Errorf("Status changed the record")
				}
			})
		}
	})
}

// Keys are named by id in every message; no message or log line holds key
// material.
func TestMessagesHoldNoKeyMaterial(t *testing.T) {
	d := &db{t: t, env: map[string]string{"NANGO_DATA_DIR": t.TempDir()}}
	k1, k2 := newKey(), newKey()
	seed(t, d, 2, &k1)
	inst := d.open(d.config(&k2), encryption.Options{})
	_, err := inst.m.Start(context.Background())
	if err == nil {
		t.Fatal("Start accepted the wrong key")
	}
	s, _ := inst.m.Status(context.Background())
	text := err.Error() + strings.Join(s.Advice, " ") + s.StartError + inst.logs.String()
	for _, k := range []key{k1, k2} {
		if strings.Contains(text, k.text) || strings.Contains(text, strings.TrimRight(k.text, "=")) {
			t.Errorf("key text appears in messages: %s", text)
		}
	}
}
