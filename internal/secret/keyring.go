package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// KeySize is the length in bytes of an encryption key (AES-256).
const KeySize = 32

// Sealed value format, version 1.
//
// A sealed value is the standard padded base64 encoding of
//
//	version (1 byte, 0x01) | nonce (12 random bytes) | AES-256-GCM ciphertext | tag (16 bytes)
//
// The GCM associated data is the version byte followed by the caller's ad
// (store.AD: table, column and row key), so the value cannot be opened in
// another place, and its version byte cannot be changed without detection.
// The key id is not part of the value: the store keeps it in its own column
// next to the value and passes it back to Open.
//
// Nonces are random. With 96-bit random nonces a key should seal fewer than
// 2^32 values (NIST SP 800-38D); a busy server refreshing 100 000 connections
// hourly stays below that for years, and rotating the key resets the count. A
// later format version can move to derived per-value keys if ever needed.
const (
	formatV1    = 0x01
	nonceSize   = 12
	tagSize     = 16
	headerSize  = 1 + nonceSize
	sealedExtra = headerSize + tagSize // bytes a sealed value adds before base64
)

// Derivation labels. They are part of the on-disk format: changing one
// changes every key id or verifier.
const (
	keyIDLabel    = "nango-go key id v1"
	verifierLabel = "nango-go key verifier v1"
)

// Key is a parsed 256-bit encryption key. It keeps the AES-GCM cipher built
// from the key, the key id and the verifier; not the key text. The zero Key
// means "no key". A Key prints, logs and marshals to JSON as "[redacted]"
// whatever the verb; use ID to name it in logs. Keys are safe for concurrent
// use.
type Key struct {
	aead     cipher.AEAD
	id       string
	verifier string
}

// ParseKey parses an encryption key: the base64 encoding of exactly 32
// bytes, as printed by `openssl rand -base64 32`. Whitespace around the text
// (a trailing newline in a key file) is ignored. The standard and URL-safe
// alphabets are both accepted, with or without padding: they cannot decode
// one text to two different keys, and the key id depends only on the
// decoded bytes. Errors describe what is wrong without ever quoting the
// text.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Key{}, errors.New("encryption key is empty")
	}
	raw, err := decodeKeyText(s)
	if err != nil {
		return Key{}, err
	}
	if len(raw) != KeySize {
		msg := fmt.Sprintf("encryption key decodes to %d bytes; it must be the base64 encoding of exactly %d random bytes (generate one with: openssl rand -base64 32)", len(raw), KeySize)
		if len(s) == 64 && isHex(s) {
			msg += "; the text looks like 64 hex digits: convert it with: echo <hex> | xxd -r -p | base64"
		}
		clear(raw)
		return Key{}, errors.New(msg)
	}
	k, err := newKey(raw)
	clear(raw)
	return k, err
}

// decodeKeyText decodes s in whichever base64 variant it is written. The
// error gives the position of the first bad character, never the text.
func decodeKeyText(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	raw, err := enc.DecodeString(s)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("encryption key is not valid base64 (bad character or padding at position %d); it must be the base64 encoding of exactly %d random bytes (generate one with: openssl rand -base64 32)", int64(ce)+1, KeySize)
		}
		return nil, errors.New("encryption key is not valid base64")
	}
	return raw, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// newKey builds a Key from 32 raw bytes. raw is not retained.
func newKey(raw []byte) (Key, error) {
	allSame := true
	for _, b := range raw[1:] {
		if b != raw[0] {
			allSame = false
			break
		}
	}
	if allSame {
		return Key{}, errors.New("encryption key has every byte equal (a placeholder such as all zeros?); generate a random one with: openssl rand -base64 32")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return Key{}, fmt.Errorf("encryption key: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Key{}, fmt.Errorf("encryption key: %v", err)
	}
	id := derive(raw, keyIDLabel)
	ver := derive(raw, verifierLabel)
	return Key{
		aead:     aead,
		id:       hex.EncodeToString(id[:8]),
		verifier: base64.RawStdEncoding.EncodeToString(ver[:]),
	}, nil
}

func derive(key []byte, label string) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// GenerateKey returns a new random key and its text (standard padded
// base64), to be shown once to the operator who will configure it.
func GenerateKey() (Key, String) {
	raw := make([]byte, KeySize)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on supported platforms
	text := base64.StdEncoding.EncodeToString(raw)
	k, err := newKey(raw)
	clear(raw)
	if err != nil { // 2^-248: all 32 random bytes equal
		return GenerateKey()
	}
	return k, String(text)
}

// ParseKeyList parses a list of keys separated by commas and/or whitespace
// (the format of NANGO_ENCRYPTION_PREVIOUS_KEYS and of its _FILE, one key a
// line). Empty entries are skipped; an error names the 1-based entry.
func ParseKeyList(s string) ([]Key, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	keys := make([]Key, 0, len(fields))
	for i, f := range fields {
		k, err := ParseKey(f)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// IsZero reports whether k is the zero Key (no key).
func (k Key) IsZero() bool { return k.aead == nil }

// ID returns the key id: 16 hex digits, the first 8 bytes of
// HMAC-SHA256(key, "nango-go key id v1"). It is stored next to every value
// sealed with the key, and is safe to log and show: it reveals nothing
// usable about the key. "" for the zero Key.
func (k Key) ID() string { return k.id }

// Verifier returns a one-way check value of the key (unpadded base64 of
// HMAC-SHA256(key, "nango-go key verifier v1")), independent of the id and
// recorded in the database (see KeyRecord). Safe to store; "" for the zero
// Key.
func (k Key) Verifier() string { return k.verifier }

// String returns "[redacted]".
func (k Key) String() string { return Redacted }

// GoString returns the redacted form for %#v.
func (k Key) GoString() string { return `secret.Key("` + Redacted + `")` }

// Format writes the redacted form whatever the verb.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, k.GoString())
		return
	}
	_, _ = io.WriteString(f, Redacted)
}

// MarshalJSON encodes "[redacted]".
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// LogValue makes slog record "[redacted]".
func (k Key) LogValue() slog.Value { return slog.StringValue(Redacted) }

// Keyring seals and opens secrets at rest with AES-256-GCM. It has a current
// key, which Seal uses, and previous keys, which Open still accepts so a key
// can be rotated while old values remain readable. A Keyring with no current
// key (including a nil *Keyring) seals nothing — Seal returns the plaintext
// with key id "" — but opens values sealed with its previous keys: that is
// the keyring `nango keys decrypt` uses.
//
// A Keyring implements store.Sealer. It is immutable after NewKeyring and
// safe for concurrent use. It prints, logs and marshals to JSON without key
// material: only its key ids, which are not secret.
type Keyring struct {
	current Key
	keys    map[string]Key // by id, current included
	order   []string       // ids: current first, then previous in the order given
}

// NewKeyring returns a keyring that seals with current and opens with
// current and previous. current may be the zero Key (encryption off);
// previous keys may not be zero. A key given twice is kept once.
func NewKeyring(current Key, previous ...Key) (*Keyring, error) {
	kr := &Keyring{current: current, keys: make(map[string]Key, 1+len(previous))}
	add := func(k Key) error {
		if old, ok := kr.keys[k.id]; ok {
			if subtle.ConstantTimeCompare([]byte(old.verifier), []byte(k.verifier)) != 1 {
				// Two different keys with the same 64-bit id: practically
				// impossible unless crafted.
				return fmt.Errorf("two different encryption keys have the same key id %s; generate a new key", k.id)
			}
			return nil
		}
		kr.keys[k.id] = k
		kr.order = append(kr.order, k.id)
		return nil
	}
	if !current.IsZero() {
		if err := add(current); err != nil {
			return nil, err
		}
	}
	for i, k := range previous {
		if k.IsZero() {
			return nil, fmt.Errorf("previous encryption key %d is empty", i+1)
		}
		if err := add(k); err != nil {
			return nil, err
		}
	}
	return kr, nil
}

// CurrentKeyID is the id of the key Seal uses; "" when encryption is off.
func (kr *Keyring) CurrentKeyID() string {
	if kr == nil {
		return ""
	}
	return kr.current.id
}

// KeyIDs returns the ids of every key the keyring can open with: the current
// key first (if any), then the previous keys in the order given.
func (kr *Keyring) KeyIDs() []string {
	if kr == nil {
		return nil
	}
	return append([]string(nil), kr.order...)
}

// Has reports whether the keyring can open values sealed with key id.
func (kr *Keyring) Has(keyID string) bool {
	if kr == nil {
		return false
	}
	_, ok := kr.keys[keyID]
	return ok
}

// Verifiers returns the verifier of every key of the keyring by key id.
func (kr *Keyring) Verifiers() map[string]string {
	m := map[string]string{}
	if kr == nil {
		return m
	}
	for id, k := range kr.keys {
		m[id] = k.verifier
	}
	return m
}

// Seal encrypts plaintext with the current key, bound to ad (see
// store.AD), and returns the text-safe sealed value and the current key id.
// Every call draws a fresh random nonce, so sealing the same value twice
// gives different outputs. With no current key it returns plaintext
// unchanged and key id "". The error is always nil; it exists to satisfy
// store.Sealer.
func (kr *Keyring) Seal(plaintext, ad []byte) ([]byte, string, error) {
	if kr == nil || kr.current.IsZero() {
		return plaintext, "", nil
	}
	// One buffer holds the raw sealed value and, past its length, the GCM
	// associated data (version byte | ad), saving an allocation per call.
	n := sealedExtra + len(plaintext)
	buf := make([]byte, n, n+1+len(ad))
	fullAD := append(buf[n:n], formatV1)
	fullAD = append(fullAD, ad...)
	buf[0] = formatV1
	nonce := buf[1:headerSize]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	raw := kr.current.aead.Seal(buf[:headerSize], nonce, plaintext, fullAD)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(out, raw)
	return out, kr.current.id, nil
}

// Open reverses Seal: it opens stored with the key named by keyID and the
// same ad it was sealed with. keyID "" means stored is plaintext, returned
// as is. An unknown key id, a wrong key, a value tampered with or moved from
// another place (other ad), malformed base64, a truncated value or an
// unknown format version return an *UndecryptableError, which wraps
// ErrUndecryptable, names the key id and never contains the value or key
// material. The plaintext returned for a sealed value does not alias stored.
func (kr *Keyring) Open(stored []byte, keyID string, ad []byte) ([]byte, error) {
	if keyID == "" {
		return stored, nil
	}
	if kr == nil || len(kr.keys) == 0 {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "no encryption key is configured"}
	}
	k, ok := kr.keys[keyID]
	if !ok {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "this key id is not configured (configured: " + strings.Join(kr.order, ", ") + ")"}
	}
	dl := base64.StdEncoding.DecodedLen(len(stored))
	buf := make([]byte, dl, dl+1+len(ad))
	n, err := base64.StdEncoding.Decode(buf, stored)
	if err != nil {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "the stored value is not valid base64"}
	}
	raw := buf[:n]
	if len(raw) < sealedExtra {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "the stored value is truncated (" + strconv.Itoa(len(raw)) + " bytes, at least " + strconv.Itoa(sealedExtra) + " expected)"}
	}
	if raw[0] != formatV1 {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "unknown format version " + strconv.Itoa(int(raw[0]))}
	}
	fullAD := append(buf[n:n:cap(buf)], formatV1)
	fullAD = append(fullAD, ad...)
	pt, err := k.aead.Open(raw[headerSize:headerSize], raw[1:headerSize], raw[headerSize:], fullAD)
	if err != nil {
		return nil, &UndecryptableError{KeyID: keyID, Reason: "authentication failed: wrong key, or the value was altered or moved from another row or column"}
	}
	return pt[:len(pt):len(pt)], nil
}

// String describes the keyring by key ids only, e.g.
// "[redacted keyring: current key id 0123456789abcdef, previous 89abcdef01234567]".
func (kr Keyring) String() string {
	var b strings.Builder
	b.WriteString("[redacted keyring: ")
	if kr.current.IsZero() {
		b.WriteString("no current key")
	} else {
		b.WriteString("current key id " + kr.current.id)
	}
	var prev []string
	for _, id := range kr.order {
		if id != kr.current.id {
			prev = append(prev, id)
		}
	}
	if len(prev) > 0 {
		b.WriteString(", previous " + strings.Join(prev, " "))
	}
	b.WriteString("]")
	return b.String()
}

// GoString returns the same text as String, for %#v.
func (kr Keyring) GoString() string { return kr.String() }

// Format writes the String form whatever the verb.
func (kr Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, kr.String()) }

// MarshalJSON encodes the String form as a JSON string.
func (kr Keyring) MarshalJSON() ([]byte, error) { return json.Marshal(kr.String()) }

// LogValue makes slog record the String form.
func (kr Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// UndecryptableError says why a stored secret could not be opened. It wraps
// ErrUndecryptable. It names the key id and never contains the value, the
// plaintext or key material.
type UndecryptableError struct {
	KeyID  string
	Reason string
}

// Error describes the failure.
func (e *UndecryptableError) Error() string {
	return "stored secret (key id " + e.KeyID + ") cannot be decrypted: " + e.Reason
}

// Unwrap returns ErrUndecryptable.
func (e *UndecryptableError) Unwrap() error { return ErrUndecryptable }

// KeyRecordMeta is the name of the meta setting (store GetMeta/SetMeta) that
// holds the encoded KeyRecord.
const KeyRecordMeta = "encryption_keys"

// keyRecordVersion is the KeyRecord format this code writes and reads.
const keyRecordVersion = 1

// KeyRecord is what the database records about the keys its secrets are
// sealed with, so that a server can tell at start-up, before serving, that
// it holds those keys. It is stored as JSON in the meta setting
// KeyRecordMeta:
//
//	{"version":1,"keys":{"0123456789abcdef":"<verifier>","89abcdef01234567":"<verifier>"}}
//
// keys maps the id of every key that values in the database may be sealed
// with to that key's verifier (Key.Verifier). The protocol:
//
//   - Before sealing anything with a key, record it (Keyring.Record), so a
//     crash after the first sealed write still leaves the key recorded.
//   - At start-up, check the record and the key ids found in the data against
//     the configured keys (Keyring.Check) and refuse to start on an error.
//   - Once no value uses a key any more (after a rotation or a decrypt),
//     drop it from the record (KeyRecord.Retain).
//
// An absent meta row and an empty record mean the same: no key recorded.
type KeyRecord struct {
	Version int               `json:"version"`
	Keys    map[string]string `json:"keys"`
}

// ParseKeyRecord decodes a stored KeyRecord; "" gives an empty record. A
// record from a newer format version is an error (it must not be rewritten
// by older code).
func ParseKeyRecord(s string) (KeyRecord, error) {
	if strings.TrimSpace(s) == "" {
		return KeyRecord{Version: keyRecordVersion, Keys: map[string]string{}}, nil
	}
	var r KeyRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return KeyRecord{}, fmt.Errorf("the recorded encryption key set (meta %q) is not valid JSON: %v", KeyRecordMeta, err)
	}
	if r.Version != keyRecordVersion {
		return KeyRecord{}, fmt.Errorf("the recorded encryption key set (meta %q) has format version %d; this server reads version %d (was the database used by a newer nango-go?)", KeyRecordMeta, r.Version, keyRecordVersion)
	}
	if r.Keys == nil {
		r.Keys = map[string]string{}
	}
	return r, nil
}

// Encode returns the JSON text to store (keys sorted by id).
func (r KeyRecord) Encode() string {
	if r.Keys == nil {
		r.Keys = map[string]string{}
	}
	r.Version = keyRecordVersion
	b, _ := json.Marshal(r) // a struct of a string map always marshals
	return string(b)
}

// IDs returns the recorded key ids, sorted.
func (r KeyRecord) IDs() []string {
	ids := make([]string, 0, len(r.Keys))
	for id := range r.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Retain returns a copy of r recording only those of its keys whose id is
// among ids (the ids still in use, plus the current one).
func (r KeyRecord) Retain(ids ...string) KeyRecord {
	out := KeyRecord{Version: keyRecordVersion, Keys: map[string]string{}}
	for _, id := range ids {
		if v, ok := r.Keys[id]; ok {
			out.Keys[id] = v
		}
	}
	return out
}

// Record returns a copy of r that also records the keyring's keys with the
// given ids — all of the keyring's keys when no id is given. An id the
// keyring does not hold is an error.
func (kr *Keyring) Record(r KeyRecord, ids ...string) (KeyRecord, error) {
	out := KeyRecord{Version: keyRecordVersion, Keys: make(map[string]string, len(r.Keys)+1)}
	for id, v := range r.Keys {
		out.Keys[id] = v
	}
	if len(ids) == 0 {
		ids = kr.KeyIDs()
	}
	for _, id := range ids {
		if !kr.Has(id) {
			return KeyRecord{}, fmt.Errorf("cannot record key id %s: it is not configured", id)
		}
		out.Keys[id] = kr.keys[id].verifier
	}
	return out, nil
}

// Check verifies that the keyring can open everything the database holds:
// every key id in the record and every key id in inUse (the non-empty key
// ids found in stored values, e.g. from store.KeyUsage) must be configured,
// and every recorded verifier must match the configured key. It returns nil
// or a *KeyCheckError saying exactly what is wrong and what to do.
func (kr *Keyring) Check(r KeyRecord, inUse ...string) error {
	e := &KeyCheckError{Current: kr.CurrentKeyID(), Configured: kr.KeyIDs()}
	missing := map[string]bool{}
	for id, v := range r.Keys {
		if !kr.Has(id) {
			missing[id] = true
			continue
		}
		if subtle.ConstantTimeCompare([]byte(kr.keys[id].verifier), []byte(v)) != 1 {
			e.Mismatched = append(e.Mismatched, id)
		}
	}
	for _, id := range inUse {
		if id != "" && !kr.Has(id) {
			missing[id] = true
		}
	}
	for id := range missing {
		e.Missing = append(e.Missing, id)
	}
	if len(e.Missing) == 0 && len(e.Mismatched) == 0 {
		return nil
	}
	sort.Strings(e.Missing)
	sort.Strings(e.Mismatched)
	return e
}

// KeyCheckError is returned by Keyring.Check when the configured keys cannot
// open what the database holds. Its fields are key ids, which are not
// secret.
type KeyCheckError struct {
	// Missing are key ids the database uses or records that no configured
	// key has.
	Missing []string
	// Mismatched are key ids whose configured key does not match the
	// recorded verifier (a corrupted record or a forged key).
	Mismatched []string
	// Current is the configured current key id ("" when none).
	Current string
	// Configured are all configured key ids.
	Configured []string
}

// Error says what is wrong and what to do.
func (e *KeyCheckError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		noun, verb := "key id", "is"
		if len(e.Missing) > 1 {
			noun, verb = "key ids", "are"
		}
		s := "the database holds secrets encrypted with " + noun + " " + strings.Join(e.Missing, ", ") + ", which " + verb + " not configured"
		switch {
		case len(e.Configured) == 0:
			s += ": no encryption key is set. Set NANGO_ENCRYPTION_KEY to the key the data was encrypted with (to turn encryption off deliberately, use `nango keys decrypt`)"
		case e.Current == "":
			s += " (configured: " + strings.Join(e.Configured, ", ") + "). Add the key the data was encrypted with to NANGO_ENCRYPTION_PREVIOUS_KEYS"
		default:
			s += " (NANGO_ENCRYPTION_KEY has key id " + e.Current
			if len(e.Configured) > 1 {
				s += "; configured: " + strings.Join(e.Configured, ", ")
			}
			s += "). If you changed the key, put the old one in NANGO_ENCRYPTION_PREVIOUS_KEYS so existing data can be read and re-encrypted; otherwise set NANGO_ENCRYPTION_KEY back to the key the data was encrypted with"
		}
		parts = append(parts, s)
	}
	if len(e.Mismatched) > 0 {
		parts = append(parts, "the configured key with id "+strings.Join(e.Mismatched, ", ")+
			" does not match the verifier the database recorded for that id (the record in meta "+
			strconv.Quote(KeyRecordMeta)+" is corrupted, or the key is not the one the data was encrypted with)")
	}
	return "encryption keys: " + strings.Join(parts, "; ")
}
