package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// dataset is a set of rows of every sealed kind, with the secrets they hold.
type dataset struct {
	integrations []store.Integration
	connections  []store.Connection
	sessions     []store.OAuthSession
	secrets      []string
}

// writeDataset writes n integrations, 2n connections of mixed modes and n
// sessions through st.
func writeDataset(t testing.TB, st store.Store, n int) *dataset {
	t.Helper()
	ctx := ctxT(t)
	d := &dataset{}
	for i := range n {
		in := store.Integration{Key: fmt.Sprint("int-", i), Provider: "github", ClientID: "cid", ClientSecret: secret.String(tok("clientsecret"))}
		must(t, st.CreateIntegration(ctx, &in), "CreateIntegration")
		d.integrations = append(d.integrations, in)
		d.secrets = append(d.secrets, in.ClientSecret.Reveal())

		o2 := store.Connection{ProviderConfigKey: in.Key, ConnectionID: fmt.Sprint("o2-", i), Credentials: oauth2Creds(time.Now().Add(time.Hour)),
			Metadata: map[string]any{"instance_url": "https://x.example.com"}}
		o1 := store.Connection{ProviderConfigKey: in.Key, ConnectionID: fmt.Sprint("o1-", i), Credentials: store.Credentials{
			Type: store.OAuth1, OAuthToken: secret.String(tok("oauthtoken")), OAuthTokenSecret: secret.String(tok("oauthsecret")),
			Raw: map[string]any{"oauth_token_secret": tok("rawsecret")}}}
		for _, c := range []*store.Connection{&o2, &o1} {
			_, err := st.UpsertConnection(ctx, c)
			must(t, err, "UpsertConnection")
			d.connections = append(d.connections, *c)
		}
		cr := o2.Credentials
		d.secrets = append(d.secrets, cr.AccessToken.Reveal(), cr.RefreshToken.Reveal(), cr.Raw["nested"].(map[string]any)["id_token"].(string),
			o1.Credentials.OAuthToken.Reveal(), o1.Credentials.OAuthTokenSecret.Reveal(), o1.Credentials.Raw["oauth_token_secret"].(string))

		sess := newSession(fmt.Sprint("sess-", i), time.Now().Add(24*time.Hour))
		must(t, st.CreateOAuthSession(ctx, sess), "CreateOAuthSession")
		d.sessions = append(d.sessions, sess)
		d.secrets = append(d.secrets, sess.CodeVerifier.Reveal(), sess.RequestTokenSecret.Reveal())
	}
	return d
}

// rows counts the sealed values of the dataset.
func (d *dataset) rows() int { return len(d.integrations) + len(d.connections) + len(d.sessions) }

// check reads every row back through st and compares it; sessions are
// peeked at without taking them unless take is set.
func (d *dataset) check(t testing.TB, st store.Store) {
	t.Helper()
	ctx := ctxT(t)
	for _, in := range d.integrations {
		got, err := st.GetIntegration(ctx, in.Key)
		must(t, err, "GetIntegration")
		if got.ClientSecret.Reveal() != in.ClientSecret.Reveal() {
			t.Errorf("integration %s: wrong client secret", in.Key)
		}
	}
	for _, c := range d.connections {
		got, err := st.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID)
		must(t, err, "GetConnection")
		a, _ := got.Credentials.MarshalJSON()
		b, _ := c.Credentials.MarshalJSON()
		if string(a) != string(b) {
			t.Errorf("connection %s/%s: credentials differ", c.ProviderConfigKey, c.ConnectionID)
		}
	}
}

// takeSessions takes every session and compares it.
func (d *dataset) takeSessions(t testing.TB, st store.Store) {
	t.Helper()
	for _, sess := range d.sessions {
		got, err := st.TakeOAuthSession(ctxT(t), sess.ID)
		must(t, err, "TakeOAuthSession")
		sameSession(t, "session", got, sess)
	}
}

// usage returns KeyUsage as "table/keyid" → count, checking the shape.
func usage(t testing.TB, st store.Store) map[string]int64 {
	t.Helper()
	ku, err := st.KeyUsage(ctxT(t))
	must(t, err, "KeyUsage")
	m := map[string]int64{}
	for _, k := range ku {
		if k.Count <= 0 {
			t.Errorf("KeyUsage lists %+v with a non-positive count", k)
		}
		m[k.Table+"/"+k.KeyID] += k.Count
	}
	return m
}

func wantUsage(t testing.TB, st store.Store, d *dataset, keyID string) {
	t.Helper()
	got := usage(t, st)
	want := map[string]int64{
		store.TableIntegrations + "/" + keyID:  int64(len(d.integrations)),
		store.TableConnections + "/" + keyID:   int64(len(d.connections)),
		store.TableOAuthSessions + "/" + keyID: int64(len(d.sessions)),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("KeyUsage = %v, want %v", got, want)
	}
}

func (s *suite) testSealing(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	k1 := newKey()
	kr := keyring(t, k1)
	st := open(t, db, store.Options{Sealer: kr})
	d := writeDataset(t, st, 2)
	d.check(t, st)
	wantUsage(t, st, d, k1.ID())

	dump := db.Dump(t)
	noPlaintext(t, dump, d.secrets)

	// Each sealed value opens with the keyring and the documented
	// associated data, and holds the documented shape.
	c := d.connections[0]
	row := findRow(t, dump, "connections", "connection_id", c.ConnectionID)
	if row["credentials_key"] != k1.ID() {
		t.Errorf("credentials_key = %q, want %q", row["credentials_key"], k1.ID())
	}
	if row["auth_mode"] != string(store.OAuth2) {
		t.Errorf("auth_mode column = %q, want OAUTH2 in plaintext", row["auth_mode"])
	}
	pt, err := kr.Open([]byte(row["credentials"]), row["credentials_key"], store.CredentialsAD(c.ProviderConfigKey, c.ConnectionID))
	must(t, err, "opening stored credentials with the documented AD")
	want, _ := c.Credentials.MarshalJSON()
	if string(pt) != string(want) {
		t.Errorf("stored credentials open to %s, want %s", pt, want)
	}
	in := d.integrations[0]
	irow := findRow(t, dump, "integrations", "unique_key", in.Key)
	pt, err = kr.Open([]byte(irow["client_secret"]), irow["client_secret_key"], store.ClientSecretAD(in.Key))
	must(t, err, "opening the stored client secret")
	if string(pt) != in.ClientSecret.Reveal() {
		t.Error("stored client secret opens to another value")
	}
	if irow["client_id"] != "cid" {
		t.Errorf("client_id = %q, want it searchable in plaintext", irow["client_id"])
	}
	sess := d.sessions[0]
	srow := findRow(t, dump, "oauth_sessions", "id", sess.ID)
	if _, err := kr.Open([]byte(srow["secrets"]), srow["secrets_key"], store.SessionSecretsAD(sess.ID)); err != nil {
		t.Errorf("opening stored session secrets: %v", err)
	}

	// The same store without the key: listings work, reads of secrets
	// fail with ErrUndecryptable, never with garbage.
	must(t, st.Close(), "Close")
	plain := open(t, db, store.Options{})
	page, err := plain.ListConnections(ctx, store.ConnectionFilter{})
	must(t, err, "ListConnections without the key")
	if page.Total != int64(len(d.connections)) {
		t.Errorf("ListConnections without the key: total %d", page.Total)
	}
	_, err = plain.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID)
	mustErr(t, err, store.ErrUndecryptable, "GetConnection without the key")
	_, err = plain.GetIntegration(ctx, in.Key)
	mustErr(t, err, store.ErrUndecryptable, "GetIntegration without the key")
	var ue *store.UndecryptableError
	if !errors.As(err, &ue) || ue.KeyID != k1.ID() {
		t.Errorf("error %v does not name key id %s", err, k1.ID())
	}
	_, err = plain.TakeOAuthSession(ctx, sess.ID)
	mustErr(t, err, store.ErrUndecryptable, "TakeOAuthSession without the key")
	_, err = plain.UpdateConnection(ctx, c.ProviderConfigKey, c.ConnectionID, func(*store.Connection) error { return nil })
	mustErr(t, err, store.ErrUndecryptable, "UpdateConnection without the key")
	_, err = plain.Reseal(ctx, 10)
	mustErr(t, err, store.ErrUndecryptable, "Reseal without the key")
	wrong := open(t, db, store.Options{Sealer: keyring(t, newKey())})
	_, err = wrong.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID)
	mustErr(t, err, store.ErrUndecryptable, "GetConnection with another key")
}

func (s *suite) testMovedCiphertext(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	st := open(t, db, store.Options{Sealer: keyring(t, newKey())})
	writeDataset(t, st, 3)
	tests := []struct {
		name  string
		sql   string
		check func() error
	}{
		{"credentials moved to another connection",
			`UPDATE connections SET credentials = (SELECT credentials FROM connections WHERE connection_id = 'o2-0'),
			 credentials_key = (SELECT credentials_key FROM connections WHERE connection_id = 'o2-0') WHERE connection_id = 'o2-1'`,
			func() error { _, err := st.GetConnection(ctx, "int-1", "o2-1"); return err }},
		{"connection moved to another integration",
			`UPDATE connections SET provider_config_key = 'int-2' WHERE connection_id = 'o1-1'`,
			func() error { _, err := st.GetConnection(ctx, "int-2", "o1-1"); return err }},
		{"credentials tampered",
			`UPDATE connections SET credentials = substr(credentials, 1, 20) ||
			 CASE WHEN substr(credentials, 21, 1) = 'A' THEN 'B' ELSE 'A' END || substr(credentials, 22) WHERE connection_id = 'o2-2'`,
			func() error { _, err := st.GetConnection(ctx, "int-2", "o2-2"); return err }},
		{"client secret moved",
			`UPDATE integrations SET client_secret = (SELECT client_secret FROM integrations WHERE unique_key = 'int-0') WHERE unique_key = 'int-1'`,
			func() error { _, err := st.GetIntegration(ctx, "int-1"); return err }},
		{"session secrets moved",
			`UPDATE oauth_sessions SET secrets = (SELECT secrets FROM oauth_sessions WHERE id = 'sess-0') WHERE id = 'sess-1'`,
			func() error { _, err := st.TakeOAuthSession(ctx, "sess-1"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db.Exec(t, tt.sql)
			mustErr(t, tt.check(), store.ErrUndecryptable, "reading the altered row")
		})
	}
	// The untouched rows still open.
	if _, err := st.GetConnection(ctx, "int-0", "o2-0"); err != nil {
		t.Errorf("source row: %v", err)
	}
	if _, err := st.GetIntegration(ctx, "int-0"); err != nil {
		t.Errorf("source integration: %v", err)
	}
}

// resealAll calls Reseal(batch) until it returns 0 and sums what it did.
func resealAll(t testing.TB, st store.Store, batch int) int {
	t.Helper()
	total := 0
	for i := 0; ; i++ {
		n, err := st.Reseal(ctxT(t), batch)
		must(t, err, "Reseal")
		if n > batch {
			t.Fatalf("Reseal(%d) rewrote %d values", batch, n)
		}
		if n == 0 {
			return total
		}
		total += n
		if i > 10000 {
			t.Fatal("Reseal never finishes")
		}
	}
}

func (s *suite) testReseal(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	plainStore := open(t, db, store.Options{})
	d := writeDataset(t, plainStore, 3)
	wantUsage(t, plainStore, d, "")
	if !someContains(db.Dump(t), d.secrets[0]) {
		t.Fatal("the raw dump does not show a plaintext secret: the raw-storage check could not fail")
	}
	n, err := plainStore.Reseal(ctx, 100)
	if err != nil || n != 0 {
		t.Fatalf("Reseal with encryption off on a plaintext database = %d, %v; want 0", n, err)
	}
	must(t, plainStore.Close(), "Close")

	// A key is set: plaintext rows stay readable while they are encrypted
	// in batches.
	k1, k2 := newKey(), newKey()
	st1 := open(t, db, store.Options{Sealer: keyring(t, k1)})
	d.check(t, st1)
	n, err = st1.Reseal(ctx, 4)
	must(t, err, "Reseal")
	if n != 4 {
		t.Fatalf("first Reseal(4) = %d, want 4", n)
	}
	u := usage(t, st1)
	if u[store.TableIntegrations+"/"+k1.ID()] == 0 || u[store.TableIntegrations+"/"] != int64(len(d.integrations))-u[store.TableIntegrations+"/"+k1.ID()] {
		t.Errorf("KeyUsage after one batch = %v", u)
	}
	d.check(t, st1) // a mix of plaintext and encrypted rows
	if got := 4 + resealAll(t, st1, 4); got != d.rows() {
		t.Fatalf("encrypting rewrote %d values, want %d", got, d.rows())
	}
	wantUsage(t, st1, d, k1.ID())
	noPlaintext(t, db.Dump(t), d.secrets)
	d.check(t, st1)
	if n := resealAll(t, st1, 4); n != 0 {
		t.Fatalf("Reseal after completion rewrote %d values, want 0 (idempotent)", n)
	}
	must(t, st1.Close(), "Close")

	// Rotation: the new key writes, the old one still opens.
	st2 := open(t, db, store.Options{Sealer: keyring(t, k2, k1)})
	d.check(t, st2)
	extra := store.Connection{ProviderConfigKey: "int-0", ConnectionID: "new", Credentials: oauth2Creds(time.Now())}
	_, err = st2.UpsertConnection(ctx, &extra)
	must(t, err, "UpsertConnection")
	if u := usage(t, st2); u[store.TableConnections+"/"+k2.ID()] != 1 {
		t.Errorf("a write during rotation did not use the new key: %v", u)
	}
	if got := resealAll(t, st2, 5); got != d.rows() {
		t.Fatalf("rotation rewrote %d values, want %d (the new row is already on the new key)", got, d.rows())
	}
	must(t, st2.DeleteConnection(ctx, "int-0", "new"), "DeleteConnection")
	wantUsage(t, st2, d, k2.ID())
	d.check(t, st2)
	must(t, st2.Close(), "Close")

	// The old key alone no longer opens anything.
	old := open(t, db, store.Options{Sealer: keyring(t, k1)})
	_, err = old.GetIntegration(ctx, "int-0")
	mustErr(t, err, store.ErrUndecryptable, "GetIntegration with only the retired key")
	must(t, old.Close(), "Close")

	// Decrypting: no current key, the last key as previous.
	dec := open(t, db, store.Options{Sealer: keyring(t, secret.Key{}, k2)})
	if got := resealAll(t, dec, 7); got != d.rows() {
		t.Fatalf("decrypting rewrote %d values, want %d", got, d.rows())
	}
	wantUsage(t, dec, d, "")
	must(t, dec.Close(), "Close")
	plainAgain := open(t, db, store.Options{})
	d.check(t, plainAgain)
	d.takeSessions(t, plainAgain)
}

// testResealConcurrent rotates keys with two resealers running at once
// (two instances where the driver has them) while a reader loops: every
// value is rewritten exactly once and no read fails.
func (s *suite) testResealConcurrent(t *testing.T) {
	db := s.f.NewDatabase(t)
	k1, k2 := newKey(), newKey()
	st := open(t, db, store.Options{Sealer: keyring(t, k1)})
	d := writeDataset(t, st, 6)
	must(t, st.Close(), "Close")

	a := open(t, db, store.Options{Sealer: keyring(t, k2, k1)})
	b := a
	if db.Instances() {
		b = open(t, db, store.Options{Sealer: keyring(t, k2, k1)})
	}
	ctx := ctxT(t)
	stop := make(chan struct{})
	var readErrs atomic.Int32
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() {
		defer readerDone.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := d.connections[i%len(d.connections)]
			if _, err := b.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID); err != nil {
				readErrs.Add(1)
				t.Errorf("read during rotation: %v", err)
			}
		}
	}()
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, st := range []store.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := st.Reseal(ctx, 3)
				if err != nil {
					t.Errorf("Reseal: %v", err)
					return
				}
				if n == 0 {
					return
				}
				counts[i] += n
			}
		}()
	}
	wg.Wait()
	close(stop)
	readerDone.Wait()
	if got := counts[0] + counts[1]; got != d.rows() {
		t.Errorf("concurrent resealers rewrote %d values (%v), want exactly %d", got, counts, d.rows())
	}
	wantUsage(t, a, d, k2.ID())
	d.check(t, a)
	if n := readErrs.Load(); n != 0 {
		t.Errorf("%d reads failed during rotation", n)
	}
}

func (s *suite) testReopen(t *testing.T) {
	db := s.f.NewDatabase(t)
	ctx := ctxT(t)
	k := newKey()
	clk := newClock()
	st := open(t, db, store.Options{Sealer: keyring(t, k), Now: clk.Now})
	d := writeDataset(t, st, 2)
	act := store.Activity{Action: "token", Success: true, ProviderConfigKey: "int-0", ConnectionID: "o2-0"}
	must(t, st.AddActivity(ctx, &act), "AddActivity")
	must(t, st.SetMeta(ctx, "instance_id", "inst-1"), "SetMeta")
	conns := map[string]store.Connection{}
	for _, c := range d.connections {
		got, err := st.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID)
		must(t, err, "GetConnection")
		conns[c.ConnectionID] = got
	}
	_, latest, _ := st.SchemaVersion(ctx)
	must(t, st.Close(), "Close")

	re := open(t, db, store.Options{Sealer: keyring(t, k)})
	if applied, _, err := re.SchemaVersion(ctx); err != nil || applied != latest {
		t.Errorf("SchemaVersion after reopen = %d, %v; want %d", applied, err, latest)
	}
	for _, c := range d.connections {
		got, err := re.GetConnection(ctx, c.ProviderConfigKey, c.ConnectionID)
		must(t, err, "GetConnection after reopen")
		sameConnection(t, "after reopen", got, conns[c.ConnectionID])
	}
	for _, in := range d.integrations {
		got, err := re.GetIntegration(ctx, in.Key)
		must(t, err, "GetIntegration after reopen")
		sameIntegration(t, "after reopen", got, in)
	}
	d.takeSessions(t, re)
	acts, err := re.ListActivity(ctx, store.ActivityFilter{})
	must(t, err, "ListActivity")
	if len(acts) != 1 || acts[0].ID != act.ID || !acts[0].Time.Equal(act.Time) {
		t.Errorf("activity after reopen = %+v, want %+v", acts, act)
	}
	if v, err := re.GetMeta(ctx, "instance_id"); err != nil || v != "inst-1" {
		t.Errorf("meta after reopen = %q, %v", v, err)
	}
}
