package encryption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// DefaultBatch is the number of values rewritten per transaction when
// Options.Batch is 0.
const DefaultBatch = 100

// Options configure a Manager.
type Options struct {
	// Store is the database. Its Sealer must be Keyring (both built from
	// the same configuration): Reseal rewrites with the store's sealer,
	// while the Manager checks and records Keyring's keys.
	Store store.Store
	// Keyring holds the configured keys.
	Keyring *secret.Keyring
	// Logger receives progress and warnings (key ids and counts only,
	// never key material); nil discards them.
	Logger *slog.Logger
	// Locker serialises the key check and record updates across processes
	// sharing the database; nil for a database only one process uses.
	Locker Locker
	// Batch is the number of values rewritten per transaction (0 means
	// DefaultBatch).
	Batch int
	// Pause is slept between batches, leaving the database to requests
	// while a server re-encrypts in the background. 0 for foreground runs.
	Pause time.Duration
	// AfterBatch, when set, is called after every batch with the number of
	// values rewritten so far by this Run; an error it returns stops Run
	// with that error, as a crash would (tests use it).
	AfterBatch func(rewritten int) error
}

// Manager runs the encryption protocol over one store. It is safe for
// concurrent use; several Managers (one per server instance) may work on
// one database at once.
type Manager struct {
	o   Options
	log *slog.Logger
}

// New returns a Manager. o.Store and o.Keyring are required.
func New(o Options) *Manager {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{o: o, log: log}
}

// Usage is a snapshot of which keys the stored secrets use and which keys
// the database records.
type Usage struct {
	// Counts are the stored values per table and key id ("" = plaintext),
	// as store.KeyUsage reports them.
	Counts []store.KeyCount
	// Record is the recorded key set (empty when none).
	Record secret.KeyRecord
}

// InUse returns the key ids some stored value is sealed with, sorted.
func (u Usage) InUse() []string {
	set := map[string]bool{}
	for _, c := range u.Counts {
		if c.KeyID != "" && c.Count > 0 {
			set[c.KeyID] = true
		}
	}
	return sortedKeys(set)
}

// Count returns the number of values sealed with keyID ("" = plaintext).
func (u Usage) Count(keyID string) int64 {
	var n int64
	for _, c := range u.Counts {
		if c.KeyID == keyID {
			n += c.Count
		}
	}
	return n
}

// Total returns the number of stored secret values.
func (u Usage) Total() int64 {
	var n int64
	for _, c := range u.Counts {
		n += c.Count
	}
	return n
}

// NotOn returns the number of values whose key id is not keyID: what
// re-encryption to keyID (or decryption, for "") has to rewrite.
func (u Usage) NotOn(keyID string) int64 { return u.Total() - u.Count(keyID) }

// Plan is what Start or Prepare found: the usage, and so the work left.
type Plan struct {
	// Current is the configured current key id ("" = encryption off).
	Current string
	Usage   Usage
}

// Pending returns the number of values not on the current key.
func (p Plan) Pending() int64 { return p.Usage.NotOn(p.Current) }

// NeedsRun reports whether Run has anything to do: values to rewrite, or
// recorded keys no value needs any more.
func (p Plan) NeedsRun() bool {
	if p.Pending() > 0 {
		return true
	}
	for id := range p.Usage.Record.Keys {
		if id != p.Current {
			return true
		}
	}
	return false
}

// KeyError is returned by Start and Prepare when the configured keys do
// not fit the database. Its message says exactly what is wrong and what to
// do, naming keys by id only.
type KeyError struct {
	msg string
	// Check is the keyring's finding, when the error comes from it.
	Check *secret.KeyCheckError
}

func (e *KeyError) Error() string { return e.msg }

// Unwrap returns Check (nil when the error is not from the keyring).
func (e *KeyError) Unwrap() error {
	if e.Check == nil {
		return nil
	}
	return e.Check
}

// ReadUsage returns the current usage without taking the lock.
func (m *Manager) ReadUsage(ctx context.Context) (Usage, error) {
	counts, err := m.o.Store.KeyUsage(ctx)
	if err != nil {
		return Usage{}, fmt.Errorf("counting encrypted values: %w", err)
	}
	rec, err := m.readRecord(ctx)
	if err != nil {
		return Usage{}, err
	}
	return Usage{Counts: counts, Record: rec}, nil
}

func (m *Manager) readRecord(ctx context.Context) (secret.KeyRecord, error) {
	text, err := m.o.Store.GetMeta(ctx, secret.KeyRecordMeta)
	if errors.Is(err, store.ErrNotFound) {
		text, err = "", nil
	}
	if err != nil {
		return secret.KeyRecord{}, fmt.Errorf("reading the encryption key record: %w", err)
	}
	return secret.ParseKeyRecord(text)
}

func (m *Manager) writeRecord(ctx context.Context, r secret.KeyRecord) error {
	if err := m.o.Store.SetMeta(ctx, secret.KeyRecordMeta, r.Encode()); err != nil {
		return fmt.Errorf("writing the encryption key record: %w", err)
	}
	return nil
}

func (m *Manager) lock(ctx context.Context) (func(), error) {
	if m.o.Locker == nil {
		return func() {}, nil
	}
	return m.o.Locker.Lock(ctx)
}

// Start is the server's start-up check, run after migrations and before
// serving. It verifies that the configured keys can open every stored value
// and match every key the database records, and that encryption is not
// being left half on (previous keys only while data is encrypted); on
// failure it returns a *KeyError and the server must refuse to start. On
// success it records the current key (before anything is sealed with it)
// and returns the plan: Run then encrypts plaintext rows and re-encrypts
// rows sealed with previous keys, while reads keep working on the mix.
//
// Start holds the Locker while it checks and records, so instances starting
// at once with different keys cannot both pass.
func (m *Manager) Start(ctx context.Context) (Plan, error) {
	return m.prepare(ctx, true)
}

// Prepare is Start for the foreground `nango keys rotate` and `nango keys
// decrypt`, which the operator runs deliberately: it requires only that the
// configured keys open every stored value (and match the record for the
// keys configured), so that a recorded key no value uses any more does not
// block them; their Run then drops it from the record.
func (m *Manager) Prepare(ctx context.Context) (Plan, error) {
	return m.prepare(ctx, false)
}

func (m *Manager) prepare(ctx context.Context, strict bool) (Plan, error) {
	kr := m.o.Keyring
	cur := kr.CurrentKeyID()
	unlock, err := m.lock(ctx)
	if err != nil {
		return Plan{}, err
	}
	defer unlock()
	u, err := m.ReadUsage(ctx)
	if err != nil {
		return Plan{}, err
	}
	plan := Plan{Current: cur, Usage: u}
	if err := m.check(u, strict); err != nil {
		return plan, err
	}
	if cur == "" {
		return plan, nil
	}
	if _, ok := u.Record.Keys[cur]; !ok {
		rec, err := kr.Record(u.Record, cur)
		if err != nil {
			return plan, err
		}
		if err := m.writeRecord(ctx, rec); err != nil {
			return plan, err
		}
		plan.Usage.Record = rec
		m.log.Info("encryption: recorded the current key in the database", "key_id", cur)
	}
	return plan, nil
}

// keyCheckMessage turns the keyring's finding into the operator message,
// telling apart keys stored values use from keys that are only recorded.
func keyCheckMessage(ce *secret.KeyCheckError, inUse []string, cur string) string {
	used := map[string]bool{}
	for _, id := range inUse {
		used[id] = true
	}
	var only []string
	for _, id := range ce.Missing {
		if !used[id] {
			only = append(only, id)
		}
	}
	if len(only) == 0 {
		return ce.Error()
	}
	fix := "`nango keys rotate`"
	if cur == "" {
		fix = "`nango keys decrypt --yes`"
	}
	ids := idList(only)
	if len(only) < len(ce.Missing) || len(ce.Mismatched) > 0 {
		verb := " is"
		if len(only) > 1 {
			verb = " are"
		}
		return ce.Error() + ". Note: " + ids + verb + " only recorded: no stored secret uses it now. If no server still runs with that key, " +
			fix + " (with the configuration you intend to start with) drops it from the record"
	}
	configured := "no encryption key is set"
	if cur != "" {
		configured = "NANGO_ENCRYPTION_KEY has key id " + cur
	} else if len(ce.Configured) > 0 {
		configured = "configured: " + strings.Join(ce.Configured, ", ")
	}
	return "encryption keys: the database records " + ids + ", which is not configured (" + configured +
		"), although no stored secret uses it now: a server that ran with that key may still write secrets with it. " +
		"If none does any more, run " + fix + " with this configuration to drop it from the record; " +
		"otherwise configure that key again (as NANGO_ENCRYPTION_KEY, or in NANGO_ENCRYPTION_PREVIOUS_KEYS)"
}

func previousOnlyMessage(u Usage) string {
	var parts []string
	if n := u.NotOn(""); n > 0 {
		parts = append(parts, fmt.Sprintf("holds %d encrypted secret(s) (key id %s)", n, strings.Join(u.InUse(), ", ")))
	}
	if ids := u.Record.IDs(); len(ids) > 0 {
		parts = append(parts, "records encryption key id "+strings.Join(ids, ", "))
	}
	return "encryption keys: NANGO_ENCRYPTION_KEY is not set but NANGO_ENCRYPTION_PREVIOUS_KEYS is, and the database " +
		strings.Join(parts, " and ") + ". The server never turns encryption off by itself (it would store new secrets in plaintext). " +
		"To keep encryption, set NANGO_ENCRYPTION_KEY (to the same key, or to a new one to rotate to). " +
		"To turn encryption off, stop every server, run `nango keys decrypt --yes`, then remove the encryption variables"
}

// Progress is reported by Run after every batch.
type Progress struct {
	// Rewritten is the number of values rewritten so far by this Run.
	Rewritten int
	// Remaining estimates the values still to rewrite (the count at the
	// start minus Rewritten; concurrent writers can change it).
	Remaining int64
}

// Result is what Run did.
type Result struct {
	// Rewritten is the number of values this Run rewrote (other instances
	// may have rewritten others at the same time).
	Rewritten int
	// Usage is the usage after the run.
	Usage Usage
	// Dropped are the key ids removed from the record because no value
	// uses them any more.
	Dropped []string
}

// Run rewrites every value not on the current key — encrypting plaintext,
// re-encrypting values sealed with previous keys, or decrypting when there
// is no current key — in batches of one transaction each, until none is
// left, then updates the key record: it keeps the current key and the keys
// values still use, and drops the others. An interrupted Run loses nothing;
// the next one resumes. Call Start or Prepare first.
//
// progress, when non-nil, is called after every batch.
func (m *Manager) Run(ctx context.Context, progress func(Progress)) (Result, error) {
	cur := m.o.Keyring.CurrentKeyID()
	var total int64
	if u, err := m.ReadUsage(ctx); err == nil {
		total = u.NotOn(cur)
	}
	res := Result{}
	for {
		n, err := m.o.Store.Reseal(ctx, m.o.Batch)
		res.Rewritten += n
		if err != nil {
			return res, fmt.Errorf("re-encrypting stored secrets: %w", err)
		}
		if n == 0 {
			break
		}
		if progress != nil {
			progress(Progress{Rewritten: res.Rewritten, Remaining: max(0, total-int64(res.Rewritten))})
		}
		if m.o.AfterBatch != nil {
			if err := m.o.AfterBatch(res.Rewritten); err != nil {
				return res, err
			}
		}
		if m.o.Pause > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(m.o.Pause):
			}
		}
	}
	u, dropped, err := m.tidy(ctx)
	res.Usage, res.Dropped = u, dropped
	return res, err
}

// tidy rewrites the record to the keys still needed.
func (m *Manager) tidy(ctx context.Context) (Usage, []string, error) {
	kr := m.o.Keyring
	cur := kr.CurrentKeyID()
	unlock, err := m.lock(ctx)
	if err != nil {
		return Usage{}, nil, err
	}
	defer unlock()
	u, err := m.ReadUsage(ctx)
	if err != nil {
		return u, nil, err
	}
	inUse := u.InUse()
	keep := append([]string{cur}, inUse...)
	rec := u.Record.Retain(keep...)
	// Record configured keys that values use but the record lacks (written
	// by another instance before its own record update landed).
	var add []string
	for _, id := range keep {
		if _, ok := rec.Keys[id]; !ok && kr.Has(id) {
			add = append(add, id)
		}
	}
	if len(add) > 0 {
		if rec, err = kr.Record(rec, add...); err != nil {
			return u, nil, err
		}
	}
	var dropped []string
	for _, id := range u.Record.IDs() {
		if _, ok := rec.Keys[id]; !ok {
			dropped = append(dropped, id)
		}
	}
	if rec.Encode() == u.Record.Encode() {
		return u, nil, nil
	}
	if err := m.writeRecord(ctx, rec); err != nil {
		return u, nil, err
	}
	u.Record = rec
	if len(dropped) > 0 {
		m.log.Info("encryption: dropped keys no stored secret uses from the key record", "key_ids", strings.Join(dropped, ","))
	}
	return u, dropped, nil
}

// RunBackground is Run for a serving server: it logs what it does (counts
// and key ids only), retries after errors that may pass (database
// unavailable) with a growing delay, and stops — logging what to do — on a
// value no configured key opens. It returns when the work is done, when it
// stops, or when ctx ends.
func (m *Manager) RunBackground(ctx context.Context, plan Plan) {
	cur := plan.Current
	if n := plan.Pending(); n > 0 {
		plain, old := plan.Usage.Count(""), n-plan.Usage.Count("")
		switch {
		case cur == "":
			m.log.Info("encryption: decrypting stored secrets in the background", "values", n)
		default:
			m.log.Info("encryption: encrypting stored secrets in the background; reads work meanwhile",
				"key_id", cur, "plaintext_values", plain, "old_key_values", old)
		}
	}
	delay := time.Second
	last := time.Now()
	for {
		res, err := m.Run(ctx, func(p Progress) {
			if time.Since(last) >= 10*time.Second {
				last = time.Now()
				m.log.Info("encryption: background progress", "rewritten", p.Rewritten, "remaining", p.Remaining)
			}
		})
		if err == nil {
			m.logDone(res)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, store.ErrUndecryptable) {
			m.log.Error("encryption: background re-encryption stopped: a stored secret cannot be opened with the configured keys "+
				"(altered, moved from another row, or sealed with a key that is not configured); reads of it fail with undecryptable_secret. "+
				"Delete or re-create the row named in the error (or add its key to NANGO_ENCRYPTION_PREVIOUS_KEYS), then restart the server or run `nango keys rotate`",
				"err", err.Error())
			return
		}
		m.log.Warn("encryption: background re-encryption interrupted; retrying", "err", err.Error(), "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Minute)
	}
}

func (m *Manager) logDone(res Result) {
	cur := m.o.Keyring.CurrentKeyID()
	if res.Rewritten == 0 && len(res.Dropped) == 0 {
		return
	}
	if cur == "" {
		m.log.Info("encryption: every stored secret is in plaintext", "rewritten", res.Rewritten)
		return
	}
	var unused []string
	for _, id := range m.o.Keyring.KeyIDs() {
		if id != cur && res.Usage.Count(id) == 0 {
			unused = append(unused, id)
		}
	}
	if left := res.Usage.NotOn(cur); left > 0 {
		m.log.Warn("encryption: re-encryption finished, but some stored secrets use another key (written meanwhile by an instance configured with another key?); restart the server or run `nango keys rotate` once every instance has the same configuration",
			"key_id", cur, "rewritten", res.Rewritten, "other_key_values", left)
		return
	}
	msg := "encryption: every stored secret uses the current key"
	if len(unused) > 0 {
		msg += "; the previous key(s) are no longer needed and can be removed from NANGO_ENCRYPTION_PREVIOUS_KEYS once every instance runs with the current key"
	}
	args := []any{"key_id", cur, "rewritten", res.Rewritten}
	if len(unused) > 0 {
		args = append(args, "unused_previous_key_ids", strings.Join(unused, ","))
	}
	m.log.Info(msg, args...)
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
