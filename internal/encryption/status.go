package encryption

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nango-go/nango/internal/secret"
)

// Role says what a key id found in the database is to the configuration.
type Role string

// The roles of a key id.
const (
	RolePlaintext     Role = "plaintext"      // not encrypted
	RoleCurrent       Role = "current"        // NANGO_ENCRYPTION_KEY
	RolePrevious      Role = "previous"       // NANGO_ENCRYPTION_PREVIOUS_KEYS
	RoleNotConfigured Role = "not configured" // no configured key has this id
)

// Row is the number of stored values of one table sealed with one key.
type Row struct {
	Table string `json:"table"`
	KeyID string `json:"key_id"` // "" = plaintext
	Count int64  `json:"count"`
	Role  Role   `json:"role"`
}

// Status is the report of `nango keys status`.
type Status struct {
	// Current is the configured current key id ("" = encryption off).
	Current string `json:"current_key_id"`
	// Previous are the configured previous key ids.
	Previous []string `json:"previous_key_ids"`
	// Recorded are the key ids the database records.
	Recorded []string `json:"recorded_key_ids"`
	// Rows are the stored values per table and key id.
	Rows []Row `json:"rows"`
	// StartError is why a server started with this configuration would
	// refuse to start ("" when it would start).
	StartError string `json:"start_error,omitempty"`
	// Done reports that nothing is left to do: every value is on the
	// current key (or in plaintext with encryption off) and the record
	// lists only keys in use.
	Done bool `json:"done"`
	// Advice says what to do, one sentence each.
	Advice []string `json:"advice"`
}

// Status reports which keys the stored secrets use and what to do. It
// reads only; it changes nothing.
func (m *Manager) Status(ctx context.Context) (Status, error) {
	kr := m.o.Keyring
	cur := kr.CurrentKeyID()
	u, err := m.ReadUsage(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{Current: cur, Recorded: u.Record.IDs(), Previous: []string{}, Rows: []Row{}, Advice: []string{}}
	if st.Recorded == nil {
		st.Recorded = []string{}
	}
	for _, id := range kr.KeyIDs() {
		if id != cur {
			st.Previous = append(st.Previous, id)
		}
	}
	role := func(id string) Role {
		switch {
		case id == "":
			return RolePlaintext
		case id == cur:
			return RoleCurrent
		case kr.Has(id):
			return RolePrevious
		}
		return RoleNotConfigured
	}
	for _, c := range u.Counts {
		if c.Count > 0 {
			st.Rows = append(st.Rows, Row{Table: c.Table, KeyID: c.KeyID, Count: c.Count, Role: role(c.KeyID)})
		}
	}
	sort.SliceStable(st.Rows, func(i, j int) bool {
		if st.Rows[i].Table != st.Rows[j].Table {
			return st.Rows[i].Table < st.Rows[j].Table
		}
		return st.Rows[i].KeyID < st.Rows[j].KeyID
	})
	if err := m.check(u, true); err != nil {
		st.StartError = err.Error()
	}
	st.Advice = advise(kr, u)
	st.Done = u.NotOn(cur) == 0 && st.StartError == "" && !recordsOthers(u.Record, cur)
	return st, nil
}

// check is the key check of Start, without writing anything.
func (m *Manager) check(u Usage, strict bool) error {
	kr := m.o.Keyring
	cur := kr.CurrentKeyID()
	rec := u.Record
	if !strict {
		rec = rec.Retain(kr.KeyIDs()...)
	}
	inUse := u.InUse()
	if err := kr.Check(rec, inUse...); err != nil {
		var ce *secret.KeyCheckError
		if !errors.As(err, &ce) {
			return err
		}
		return &KeyError{msg: keyCheckMessage(ce, inUse, cur), Check: ce}
	}
	if cur == "" && strict && len(kr.KeyIDs()) > 0 && (len(inUse) > 0 || len(u.Record.Keys) > 0) {
		return &KeyError{msg: previousOnlyMessage(u)}
	}
	return nil
}

func recordsOthers(r secret.KeyRecord, cur string) bool {
	for id := range r.Keys {
		if id != cur {
			return true
		}
	}
	return false
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func idList(ids []string) string {
	if len(ids) == 1 {
		return "key id " + ids[0]
	}
	return "key ids " + strings.Join(ids, ", ")
}

// advise lists what the operator should do, most urgent first.
func advise(kr *secret.Keyring, u Usage) []string {
	cur := kr.CurrentKeyID()
	var out []string
	var missing, previousUsed []string
	var missingN, previousN int64
	for _, id := range u.InUse() {
		switch {
		case id == cur:
		case kr.Has(id):
			previousUsed = append(previousUsed, id)
			previousN += u.Count(id)
		default:
			missing = append(missing, id)
			missingN += u.Count(id)
		}
	}
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%s use %s, which is not configured: add that key to NANGO_ENCRYPTION_PREVIOUS_KEYS (servers refuse to start, and these secrets cannot be read, until you do).",
			plural(missingN, "secret", "secrets"), idList(missing)))
	}
	var stale []string
	for _, id := range u.Record.IDs() {
		if !kr.Has(id) && u.Count(id) == 0 {
			stale = append(stale, id)
		}
	}
	if len(stale) > 0 {
		fix := "`nango keys rotate`"
		if cur == "" {
			fix = "`nango keys decrypt --yes`"
		}
		out = append(out, fmt.Sprintf("The database records %s, which is not configured, although no stored secret uses it: servers refuse to start until it is dropped from the record. If no server still runs with that key, run %s to drop it.",
			idList(stale), fix))
	}
	plain := u.Count("")
	if cur == "" {
		enc := u.NotOn("")
		switch {
		case enc > 0 && len(kr.KeyIDs()) == 0:
			// Covered by the missing-key advice above.
		case enc > 0:
			out = append(out, fmt.Sprintf("Encryption is off (NANGO_ENCRYPTION_KEY is not set) but %s encrypted: to keep encryption, set NANGO_ENCRYPTION_KEY; to turn it off, stop every server and run `nango keys decrypt --yes`.",
				plural(enc, "secret is", "secrets are")))
		case len(u.Record.Keys) > 0 && len(stale) == 0:
			out = append(out, fmt.Sprintf("No stored secret is encrypted, but the database records %s: run `nango keys decrypt --yes` to clear the record (encryption off), or set NANGO_ENCRYPTION_KEY.",
				idList(u.Record.IDs())))
		case len(kr.KeyIDs()) > 0:
			out = append(out, "No stored secret is encrypted: NANGO_ENCRYPTION_PREVIOUS_KEYS is not needed; remove it.")
		default:
			out = append(out, "Encryption at rest is off: tokens and client secrets are stored in plaintext. To encrypt them, set NANGO_ENCRYPTION_KEY (generate a key with `nango keys generate`) and restart the server.")
		}
		return out
	}
	if plain > 0 {
		out = append(out, fmt.Sprintf("%s stored in plaintext: a running server encrypts them in the background, or run `nango keys rotate` to do it now.",
			plural(plain, "secret is", "secrets are")))
	}
	if len(previousUsed) > 0 {
		out = append(out, fmt.Sprintf("%s still use previous %s: a running server re-encrypts them in the background, or run `nango keys rotate` to do it now. Keep the key(s) in NANGO_ENCRYPTION_PREVIOUS_KEYS until no secret uses them.",
			plural(previousN, "secret", "secrets"), idList(previousUsed)))
	}
	var unused, unusedRecorded []string
	for _, id := range kr.KeyIDs() {
		if id == cur || u.Count(id) > 0 {
			continue
		}
		if _, ok := u.Record.Keys[id]; ok {
			unusedRecorded = append(unusedRecorded, id)
		} else {
			unused = append(unused, id)
		}
	}
	if len(unusedRecorded) > 0 {
		out = append(out, fmt.Sprintf("No stored secret uses previous %s any more, but the database still records it: run `nango keys rotate` (or let a running server finish) to drop it from the record, then remove it from NANGO_ENCRYPTION_PREVIOUS_KEYS.",
			idList(unusedRecorded)))
	}
	if len(unused) > 0 {
		out = append(out, fmt.Sprintf("No stored secret uses previous %s: remove it from NANGO_ENCRYPTION_PREVIOUS_KEYS once every server instance runs with NANGO_ENCRYPTION_KEY (key id %s).",
			idList(unused), cur))
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("Nothing to do: every stored secret uses the current key (key id %s).", cur))
	}
	return out
}
