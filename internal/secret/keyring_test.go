package secret_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// The keyring is the store's Sealer.
var _ store.Sealer = (*secret.Keyring)(nil)

// testKey is bytes 0x00..0x1f; its id and verifier below were computed with
// openssl, independently of this package:
//
//	printf 'nango-go key id v1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1f
//	printf 'nango-go key verifier v1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1f -binary | base64
const (
	testKeyText     = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	testKeyID       = "6d454c4defaba2c5"
	testKeyVerifier = "TjRCU60qi3Dr7zoULLpimnQsfxRxXMNTsSO4adJXVe0"
)

// newKeyText returns the base64 text of a fresh random key.
func newKeyText(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func mustKey(t testing.TB, text string) secret.Key {
	t.Helper()
	k, err := secret.ParseKey(text)
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	return k
}

func mustKeyring(t testing.TB, current secret.Key, previous ...secret.Key) *secret.Keyring {
	t.Helper()
	kr, err := secret.NewKeyring(current, previous...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return kr
}

// keyForms are the encodings of a key's material that must never appear in
// printed output or errors.
func keyForms(text string) []string {
	raw, _ := base64.StdEncoding.DecodeString(text)
	return []string{
		text,
		strings.TrimRight(text, "="),
		base64.URLEncoding.EncodeToString(raw)[:40],
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
		string(raw),
		fmt.Sprint(raw[:8]), // "[a b c ...]" as fmt prints a byte slice
	}
}

func assertNoLeak(t *testing.T, where, text string, forbidden ...string) {
	t.Helper()
	for _, f := range forbidden {
		if f != "" && strings.Contains(text, f) {
			t.Errorf("%s leaks %q: %s", where, f, text)
		}
	}
}

const credsJSON = `{"type":"OAUTH2","access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","refresh_token":"ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3","expires_at":"2025-01-01T00:00:00Z"}`

func TestKnownAnswer(t *testing.T) {
	k := mustKey(t, testKeyText)
	if k.ID() != testKeyID {
		t.Errorf("ID = %s, want %s", k.ID(), testKeyID)
	}
	if k.Verifier() != testKeyVerifier {
		t.Errorf("Verifier = %s, want %s", k.Verifier(), testKeyVerifier)
	}
	// Sealed by Python's cryptography AESGCM following the documented format:
	// base64(0x01 | nonce a0..ab | ct+tag), associated data 0x01 | store.AD(...).
	const sealed = "AaChoqOkpaanqKmqq506HU4mrnHMPRHouGIU4uRSyzF/zdI6DfF+SuNd1htDqpcxyObF5Ym5NMWjtOw="
	kr := mustKeyring(t, k)
	got, err := kr.Open([]byte(sealed), testKeyID, store.AD("connections", "credentials", "github", "user-1"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if string(got) != `{"access_token":"gho_example"}` {
		t.Errorf("Open = %q", got)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	big := bytes.Repeat([]byte("0123456789"), 10000)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", nil},
		{"one byte", []byte{'x'}},
		{"credentials", []byte(credsJSON)},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}},
		{"100 KB", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ad := store.AD("connections", "credentials", "github", tt.name)
			stored, keyID, err := kr.Seal(tt.plaintext, ad)
			if err != nil {
				t.Fatal(err)
			}
			if keyID != kr.CurrentKeyID() || keyID == "" {
				t.Errorf("key id = %q, want current %q", keyID, kr.CurrentKeyID())
			}
			if _, err := base64.StdEncoding.Strict().DecodeString(string(stored)); err != nil {
				t.Errorf("stored value is not standard base64: %v", err)
			}
			if len(tt.plaintext) > 4 && bytes.Contains(stored, tt.plaintext[:5]) {
				t.Errorf("stored value contains the plaintext")
			}
			got, err := kr.Open(stored, keyID, ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
			// The result must be the caller's to keep: appending to it must
			// not disturb a later Open of the same value.
			_ = append(got, bytes.Repeat([]byte{'z'}, 64)...)
			again, err := kr.Open(stored, keyID, ad)
			if err != nil || !bytes.Equal(again, tt.plaintext) {
				t.Errorf("second Open = %q, %v", again, err)
			}
		})
	}
}

func TestOpenPlaintextRow(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	got, err := kr.Open([]byte(credsJSON), "", store.AD("connections", "credentials", "x", "y"))
	if err != nil || string(got) != credsJSON {
		t.Errorf("Open of a plaintext row = %q, %v", got, err)
	}
}

func TestOpenWrongAD(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	ad := store.AD("connections", "credentials", "github", "user-1")
	stored, id, _ := kr.Seal([]byte(credsJSON), ad)
	tests := []struct {
		name string
		ad   []byte
	}{
		{"other row", store.AD("connections", "credentials", "github", "user-2")},
		{"other integration", store.AD("connections", "credentials", "gitlab", "user-1")},
		{"other column", store.AD("connections", "metadata", "github", "user-1")},
		{"other table", store.AD("integrations", "credentials", "github", "user-1")},
		{"row key split differently", store.AD("connections", "credentials", "githu", "buser-1")},
		{"no ad", nil},
		{"ad with an extra byte", append(append([]byte(nil), ad...), 0)},
		{"ad missing its last byte", ad[:len(ad)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kr.Open(stored, id, tt.ad)
			if !errors.Is(err, secret.ErrUndecryptable) {
				t.Fatalf("Open = %q, %v; want ErrUndecryptable", got, err)
			}
			if !errors.Is(err, store.ErrUndecryptable) {
				t.Errorf("error does not match store.ErrUndecryptable")
			}
			var ue *secret.UndecryptableError
			if !errors.As(err, &ue) || ue.KeyID != id {
				t.Errorf("error %v does not name key id %s", err, id)
			}
		})
	}
}

func TestMovedCiphertext(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	adA := store.AD("connections", "credentials", "github", "alice")
	adB := store.AD("connections", "credentials", "github", "bob")
	a, idA, _ := kr.Seal([]byte(`{"access_token":"alice"}`), adA)
	b, idB, _ := kr.Seal([]byte(`{"access_token":"bob"}`), adB)
	// Swap the two rows' stored values (and key ids), as someone with write
	// access to the database could.
	if _, err := kr.Open(b, idB, adA); !errors.Is(err, secret.ErrUndecryptable) {
		t.Errorf("bob's value opened in alice's row: %v", err)
	}
	if _, err := kr.Open(a, idA, adB); !errors.Is(err, secret.ErrUndecryptable) {
		t.Errorf("alice's value opened in bob's row: %v", err)
	}
	// Each still opens in its own row.
	if got, err := kr.Open(a, idA, adA); err != nil || string(got) != `{"access_token":"alice"}` {
		t.Errorf("alice's own row: %q, %v", got, err)
	}
}

func TestTamperedEveryByte(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	ad := store.AD("integrations", "client_secret", "github")
	stored, id, _ := kr.Seal([]byte("client-secret-value"), ad)
	raw, err := base64.StdEncoding.DecodeString(string(stored))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, value []byte) {
		t.Helper()
		got, err := kr.Open(value, id, ad)
		if !errors.Is(err, secret.ErrUndecryptable) {
			t.Errorf("%s: Open = %q, %v; want ErrUndecryptable", what, got, err)
		}
	}
	for i := range raw {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte(nil), raw...)
			bad[i] ^= mask
			check(fmt.Sprintf("byte %d ^ %#x", i, mask), []byte(base64.StdEncoding.EncodeToString(bad)))
		}
	}
	for n := 0; n < len(raw); n++ {
		check(fmt.Sprintf("truncated to %d bytes", n), []byte(base64.StdEncoding.EncodeToString(raw[:n])))
	}
	check("extra byte", []byte(base64.StdEncoding.EncodeToString(append(append([]byte(nil), raw...), 0))))
	for i := range stored {
		bad := append([]byte(nil), stored...)
		bad[i] = '!'
		check(fmt.Sprintf("text char %d not base64", i), bad)
	}
	check("text truncated by one char", stored[:len(stored)-1])
}

func TestRotation(t *testing.T) {
	k1, k2, k3 := mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t))
	old := mustKeyring(t, k1)
	ad := store.AD("connections", "credentials", "p", "c")
	v1, id1, _ := old.Seal([]byte("v1"), ad)
	if id1 != k1.ID() {
		t.Fatalf("sealed with %s, want %s", id1, k1.ID())
	}

	rotated := mustKeyring(t, k2, k1)
	if rotated.CurrentKeyID() != k2.ID() {
		t.Errorf("CurrentKeyID = %s, want the new key %s", rotated.CurrentKeyID(), k2.ID())
	}
	if got, err := rotated.Open(v1, id1, ad); err != nil || string(got) != "v1" {
		t.Errorf("old value after rotation: %q, %v", got, err)
	}
	v2, id2, _ := rotated.Seal([]byte("v2"), ad)
	if id2 != k2.ID() {
		t.Errorf("Seal after rotation used %s, want the new key %s", id2, k2.ID())
	}
	if _, err := old.Open(v2, id2, ad); !errors.Is(err, secret.ErrUndecryptable) {
		t.Errorf("old keyring opened a new-key value: %v", err)
	}
	// A value whose key id column was changed to another configured key.
	if _, err := rotated.Open(v1, id2, ad); !errors.Is(err, secret.ErrUndecryptable) {
		t.Errorf("value opened under the wrong key: %v", err)
	}
	// Old key dropped: its values are refused with its id named.
	dropped := mustKeyring(t, k3, k2)
	_, err := dropped.Open(v1, id1, ad)
	if !errors.Is(err, secret.ErrUndecryptable) || !strings.Contains(err.Error(), id1) || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("dropped key error = %v", err)
	}
	if got := strings.Join(rotated.KeyIDs(), ","); got != k2.ID()+","+k1.ID() {
		t.Errorf("KeyIDs = %s", got)
	}
	if !rotated.Has(id1) || !rotated.Has(id2) || rotated.Has(k3.ID()) || rotated.Has("") {
		t.Error("Has is wrong")
	}
}

func TestNewKeyring(t *testing.T) {
	k1, k2 := mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t))
	kr := mustKeyring(t, k1, k2, k1, k2)
	if got := len(kr.KeyIDs()); got != 2 {
		t.Errorf("a key given twice: %d key ids, want 2", got)
	}
	if _, err := secret.NewKeyring(k1, secret.Key{}); err == nil {
		t.Error("a zero previous key was accepted")
	}
	v := kr.Verifiers()
	if len(v) != 2 || v[k1.ID()] != k1.Verifier() || v[k2.ID()] != k2.Verifier() {
		t.Errorf("Verifiers = %v", v)
	}
}

func TestDecryptOnlyKeyring(t *testing.T) {
	k1 := mustKey(t, newKeyText(t))
	ad := store.AD("connections", "credentials", "p", "c")
	sealed, id1, _ := mustKeyring(t, k1).Seal([]byte("secret-v"), ad)

	for _, tt := range []struct {
		name  string
		kr    *secret.Keyring
		opens bool
	}{
		{"no current key, old key known", mustKeyring(t, secret.Key{}, k1), true},
		{"empty keyring", mustKeyring(t, secret.Key{}), false},
		{"nil keyring", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kr.CurrentKeyID() != "" {
				t.Errorf("CurrentKeyID = %q", tt.kr.CurrentKeyID())
			}
			stored, id, err := tt.kr.Seal([]byte("plain"), ad)
			if err != nil || id != "" || string(stored) != "plain" {
				t.Errorf("Seal = %q, %q, %v; want plaintext and key id \"\"", stored, id, err)
			}
			got, err := tt.kr.Open([]byte("plain"), "", ad)
			if err != nil || string(got) != "plain" {
				t.Errorf("Open plaintext = %q, %v", got, err)
			}
			got, err = tt.kr.Open(sealed, id1, ad)
			if tt.opens && (err != nil || string(got) != "secret-v") {
				t.Errorf("Open old value = %q, %v", got, err)
			}
			if !tt.opens && !errors.Is(err, secret.ErrUndecryptable) {
				t.Errorf("Open old value = %q, %v; want ErrUndecryptable", got, err)
			}
		})
	}
}

func TestNoncesUnique(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)))
	ad := store.AD("t", "c", "r")
	seen := make(map[string]bool, 20000)
	for i := 0; i < 20000; i++ {
		stored, _, _ := kr.Seal([]byte("same plaintext"), ad)
		raw, err := base64.StdEncoding.DecodeString(string(stored))
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(raw[1:13])
		if seen[nonce] {
			t.Fatalf("nonce repeated after %d seals", i)
		}
		seen[nonce] = true
	}
}

func TestConcurrentUse(t *testing.T) {
	kr := mustKeyring(t, mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t)))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				ad := store.AD("t", "c", fmt.Sprint(g), fmt.Sprint(i))
				pt := fmt.Sprintf("value %d %d", g, i)
				s, id, _ := kr.Seal([]byte(pt), ad)
				got, err := kr.Open(s, id, ad)
				if err != nil || string(got) != pt {
					errs <- fmt.Errorf("goroutine %d: %q, %v", g, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorsNeverLeak(t *testing.T) {
	text1, text2 := newKeyText(t), newKeyText(t)
	k1, k2 := mustKey(t, text1), mustKey(t, text2)
	kr := mustKeyring(t, k1, k2)
	const plaintext = "tok_PLAINTEXT_1234567890"
	ad := store.AD("connections", "credentials", "p", "c")
	stored, id, _ := kr.Seal([]byte(plaintext), ad)
	raw, _ := base64.StdEncoding.DecodeString(string(stored))
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1

	var errs []error
	openErr := func(kr *secret.Keyring, s []byte, id string, ad []byte) {
		_, err := kr.Open(s, id, ad)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", id)
		}
		errs = append(errs, err)
	}
	openErr(kr, stored, id, store.AD("other", "x"))
	openErr(kr, stored, k2.ID(), ad)
	openErr(kr, stored, "0000000000000000", ad)
	openErr(kr, []byte(base64.StdEncoding.EncodeToString(flipped)), id, ad)
	openErr(kr, stored[:10], id, ad)
	openErr(kr, []byte(base64.StdEncoding.EncodeToString(raw[:20])), id, ad)
	openErr(kr, []byte(plaintext), id, ad)
	openErr(mustKeyring(t, secret.Key{}), stored, id, ad)
	openErr(nil, stored, id, ad)
	// Errors of ParseKey on texts derived from a real key.
	for _, bad := range []string{text1[:40], text1 + "AAAA", strings.Replace(text1, text1[5:6], "*", 1), text1[:20] + " " + text1[20:]} {
		if _, err := secret.ParseKey(bad); err == nil {
			t.Fatalf("ParseKey accepted a damaged key")
		} else {
			errs = append(errs, err)
		}
	}
	if _, err := secret.ParseKeyList(text2 + "," + text1[:30]); err == nil {
		t.Fatal("ParseKeyList accepted a damaged key")
	} else {
		errs = append(errs, err)
	}

	forbidden := append(keyForms(text1), keyForms(text2)...)
	forbidden = append(forbidden, plaintext, "PLAINTEXT", string(stored[:16]), text1[:20], text2[:20], text1[:30], k1.Verifier(), k2.Verifier())
	for _, err := range errs {
		assertNoLeak(t, "error", err.Error(), forbidden...)
		assertNoLeak(t, "error %+v", fmt.Sprintf("%+v", err), forbidden...)
		assertNoLeak(t, "error %#v", fmt.Sprintf("%#v", err), forbidden...)
	}
}

func TestParseKey(t *testing.T) {
	text := newKeyText(t)
	raw, _ := base64.StdEncoding.DecodeString(text)
	want := mustKey(t, text).ID()
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1, 2, 3}, 11)[:n]) }
	tests := []struct {
		name    string
		in      string
		wantErr string // "" means valid, and the key must be the same as text's
	}{
		{"standard padded", text, ""},
		{"standard unpadded", strings.TrimRight(text, "="), ""},
		{"url-safe padded", base64.URLEncoding.EncodeToString(raw), ""},
		{"url-safe unpadded", base64.RawURLEncoding.EncodeToString(raw), ""},
		{"trailing newline (key file)", text + "\n", ""},
		{"whitespace around", " \t" + text + " \r\n", ""},
		{"empty", "", "empty"},
		{"only whitespace", " \n\t", "empty"},
		{"not base64", "this is not a key!", "not valid base64"},
		{"space inside", text[:10] + " " + text[10:], "not valid base64"},
		{"bad padding", text[:len(text)-1] + "==", "not valid base64"},
		{"31 bytes", b64(31), "decodes to 31 bytes"},
		{"33 bytes", b64(33), "decodes to 33 bytes"},
		{"16 bytes (AES-128)", b64(16), "decodes to 16 bytes"},
		{"64 hex digits", hex.EncodeToString(raw), "hex"},
		{"32-character password", "correct-horse-battery-staple-123", "decodes to 24 bytes"},
		{"all zeros placeholder", base64.StdEncoding.EncodeToString(make([]byte, 32)), "every byte equal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := secret.ParseKey(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseKey: %v", err)
				}
				if k.ID() != want {
					t.Errorf("key id = %s, want %s (same key bytes)", k.ID(), want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKey accepted it (key id %s)", k.ID())
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if !k.IsZero() {
				t.Error("a failed ParseKey returned a non-zero Key")
			}
			if strings.TrimSpace(tt.in) != "" {
				assertNoLeak(t, "error", err.Error(), strings.TrimSpace(tt.in))
			}
		})
	}
}

func TestKeyIDs(t *testing.T) {
	a, b := newKeyText(t), newKeyText(t)
	ka, kb := mustKey(t, a), mustKey(t, b)
	if ka.ID() == kb.ID() || ka.Verifier() == kb.Verifier() {
		t.Error("two random keys share an id or verifier")
	}
	if len(ka.ID()) != 16 {
		t.Errorf("id %q: want 16 hex digits", ka.ID())
	}
	if mustKey(t, a).ID() != ka.ID() {
		t.Error("key id is not stable")
	}
	raw, _ := base64.StdEncoding.DecodeString(a)
	if strings.Contains(ka.Verifier(), ka.ID()) || strings.Contains(hex.EncodeToString(raw), ka.ID()) {
		t.Error("key id is not independent of the key and verifier")
	}
	if (secret.Key{}).ID() != "" || !(secret.Key{}).IsZero() {
		t.Error("zero Key")
	}
}

func TestParseKeyList(t *testing.T) {
	a, b := newKeyText(t), newKeyText(t)
	ida, idb := mustKey(t, a).ID(), mustKey(t, b).ID()
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"one", a, []string{ida}, ""},
		{"comma separated", a + "," + b, []string{ida, idb}, ""},
		{"spaces and trailing comma", " " + a + " , " + b + " ,", []string{ida, idb}, ""},
		{"one a line (file)", a + "\n" + b + "\n", []string{ida, idb}, ""},
		{"bad second entry", a + ",nope", nil, "key 2 of the list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := secret.ParseKeyList(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.ID())
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	k, text := secret.GenerateKey()
	parsed := mustKey(t, text.Reveal())
	if parsed.ID() != k.ID() || parsed.Verifier() != k.Verifier() {
		t.Error("the generated text does not parse to the generated key")
	}
	if len(text.Reveal()) != 44 {
		t.Errorf("text length %d, want 44", len(text.Reveal()))
	}
	if k2, _ := secret.GenerateKey(); k2.ID() == k.ID() {
		t.Error("two generated keys are equal")
	}
	if fmt.Sprint(text) != secret.Redacted {
		t.Error("generated text prints")
	}
}

func TestRedaction(t *testing.T) {
	text1, text2 := newKeyText(t), newKeyText(t)
	k1, k2 := mustKey(t, text1), mustKey(t, text2)
	kr := mustKeyring(t, k1, k2)
	forbidden := append(keyForms(text1), keyForms(text2)...)
	forbidden = append(forbidden, k1.Verifier(), k2.Verifier(), "0xc0", "aead", "verifier")

	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	for _, verb := range verbs {
		if got := fmt.Sprintf(verb, k1); got != secret.Redacted && !(verb == "%#v" && got == `secret.Key("[redacted]")`) {
			t.Errorf("Key %s = %q", verb, got)
		}
		for _, v := range []any{kr, *kr} {
			got := fmt.Sprintf(verb, v)
			if got != kr.String() {
				t.Errorf("Keyring %s = %q, want %q", verb, got, kr.String())
			}
		}
		holder := struct {
			K  secret.Key
			KR *secret.Keyring
			KS []secret.Key
		}{k1, kr, []secret.Key{k1, k2}}
		assertNoLeak(t, "struct "+verb, fmt.Sprintf(verb, holder), forbidden...)
	}
	want := "[redacted keyring: current key id " + k1.ID() + ", previous " + k2.ID() + "]"
	if kr.String() != want {
		t.Errorf("Keyring String = %q, want %q", kr.String(), want)
	}
	if s := mustKeyring(t, secret.Key{}, k1).String(); !strings.Contains(s, "no current key") || !strings.Contains(s, k1.ID()) {
		t.Errorf("decrypt-only keyring String = %q", s)
	}

	j, err := json.Marshal(map[string]any{"key": k1, "keyring": kr, "keyringValue": *kr, "keys": []secret.Key{k1}})
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "JSON", string(j), forbidden...)
	if !strings.Contains(string(j), `"key":"[redacted]"`) {
		t.Errorf("JSON = %s", j)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("keys", "key", k1, "keyring", kr, "keyringValue", *kr, "group", slog.GroupValue(slog.Any("k", k2)),
			"struct", struct{ K secret.Key }{k2})
	}
	assertNoLeak(t, "slog", buf.String(), forbidden...)
	if !strings.Contains(buf.String(), secret.Redacted) || !strings.Contains(buf.String(), k1.ID()) {
		t.Errorf("slog output lacks the redacted forms: %s", buf.String())
	}
}

func TestKeyRecordRoundTrip(t *testing.T) {
	k1, k2 := mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t))
	kr := mustKeyring(t, k1, k2)

	empty, err := secret.ParseKeyRecord("")
	if err != nil || len(empty.Keys) != 0 {
		t.Fatalf("ParseKeyRecord(\"\") = %v, %v", empty, err)
	}
	onlyCurrent, err := kr.Record(empty, kr.CurrentKeyID())
	if err != nil {
		t.Fatal(err)
	}
	if got := onlyCurrent.IDs(); len(got) != 1 || got[0] != k1.ID() {
		t.Errorf("Record(current) ids = %v", got)
	}
	all, err := kr.Record(onlyCurrent)
	if err != nil {
		t.Fatal(err)
	}
	if len(onlyCurrent.Keys) != 1 {
		t.Error("Record modified its argument")
	}
	enc := all.Encode()
	var shape struct {
		Version int               `json:"version"`
		Keys    map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(enc), &shape); err != nil {
		t.Fatalf("Encode gave %s: %v", enc, err)
	}
	if shape.Version != 1 || shape.Keys[k1.ID()] != k1.Verifier() || shape.Keys[k2.ID()] != k2.Verifier() || len(shape.Keys) != 2 {
		t.Errorf("encoded record = %s", enc)
	}
	back, err := secret.ParseKeyRecord(enc)
	if err != nil || back.Encode() != enc {
		t.Errorf("round trip: %v, %v", back, err)
	}
	if got := back.Retain(k2.ID(), "ffffffffffffffff").IDs(); len(got) != 1 || got[0] != k2.ID() {
		t.Errorf("Retain = %v", got)
	}
	if _, err := kr.Record(empty, "ffffffffffffffff"); err == nil {
		t.Error("Record accepted an unconfigured key id")
	}

	for _, tt := range []struct{ name, in, wantErr string }{
		{"not JSON", "{", "not valid JSON"},
		{"newer version", `{"version":2,"keys":{}}`, "format version 2"},
		{"no version", `{"keys":{}}`, "format version 0"},
	} {
		if _, err := secret.ParseKeyRecord(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestCheck(t *testing.T) {
	k1, k2, k3 := mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t)), mustKey(t, newKeyText(t))
	rec := func(keys ...secret.Key) secret.KeyRecord {
		r, _ := secret.ParseKeyRecord("")
		for _, k := range keys {
			r.Keys[k.ID()] = k.Verifier()
		}
		return r
	}
	forged := rec(k1)
	forged.Keys[k1.ID()] = k2.Verifier()

	tests := []struct {
		name           string
		kr             *secret.Keyring
		rec            secret.KeyRecord
		inUse          []string
		wantMissing    []string
		wantMismatched []string
		wantMsg        []string
	}{
		{name: "nothing recorded, key set", kr: mustKeyring(t, k1), rec: rec()},
		{name: "nothing recorded, no key", kr: mustKeyring(t, secret.Key{}), rec: rec(), inUse: []string{""}},
		{name: "same key", kr: mustKeyring(t, k1), rec: rec(k1), inUse: []string{k1.ID(), ""}},
		{name: "rotating", kr: mustKeyring(t, k2, k1), rec: rec(k1, k2), inUse: []string{k1.ID(), k2.ID()}},
		{name: "decrypting", kr: mustKeyring(t, secret.Key{}, k1), rec: rec(k1)},
		{
			name: "different key", kr: mustKeyring(t, k2), rec: rec(k1),
			wantMissing: []string{k1.ID()},
			wantMsg:     []string{"key id " + k1.ID() + ", which is not configured", "NANGO_ENCRYPTION_KEY has key id " + k2.ID(), "NANGO_ENCRYPTION_PREVIOUS_KEYS"},
		},
		{
			name: "no key but data encrypted", kr: mustKeyring(t, secret.Key{}), rec: rec(k1),
			wantMissing: []string{k1.ID()},
			wantMsg:     []string{"no encryption key is set", "NANGO_ENCRYPTION_KEY"},
		},
		{
			name: "nil keyring but data encrypted", kr: nil, rec: rec(k1),
			wantMissing: []string{k1.ID()},
			wantMsg:     []string{"no encryption key is set"},
		},
		{
			name: "old key removed while still recorded", kr: mustKeyring(t, k2), rec: rec(k1, k2),
			wantMissing: []string{k1.ID()},
		},
		{
			name: "record lost but data uses an unknown key", kr: mustKeyring(t, k2), rec: rec(), inUse: []string{k1.ID(), k3.ID()},
			wantMissing: sorted(k1.ID(), k3.ID()),
			wantMsg:     []string{"key ids ", "which are not configured"},
		},
		{
			name: "decrypt-only keyring missing a key", kr: mustKeyring(t, secret.Key{}, k1), rec: rec(k1, k2),
			wantMissing: []string{k2.ID()},
			wantMsg:     []string{"Add the key the data was encrypted with to NANGO_ENCRYPTION_PREVIOUS_KEYS"},
		},
		{
			name: "verifier mismatch", kr: mustKeyring(t, k1), rec: forged,
			wantMismatched: []string{k1.ID()},
			wantMsg:        []string{"does not match the verifier"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.kr.Check(tt.rec, tt.inUse...)
			if tt.wantMissing == nil && tt.wantMismatched == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ce *secret.KeyCheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *KeyCheckError", err)
			}
			if fmt.Sprint(ce.Missing) != fmt.Sprint(tt.wantMissing) && !(len(ce.Missing) == 0 && tt.wantMissing == nil) {
				t.Errorf("Missing = %v, want %v", ce.Missing, tt.wantMissing)
			}
			if fmt.Sprint(ce.Mismatched) != fmt.Sprint(tt.wantMismatched) && !(len(ce.Mismatched) == 0 && tt.wantMismatched == nil) {
				t.Errorf("Mismatched = %v, want %v", ce.Mismatched, tt.wantMismatched)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
			for _, v := range []string{k1.Verifier(), k2.Verifier(), k3.Verifier()} {
				assertNoLeak(t, "Check error", err.Error(), v)
			}
		})
	}
}

func sorted(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// FuzzOpen feeds arbitrary stored values, key ids and associated data to
// Open. It must never panic, must fail with ErrUndecryptable on anything that
// is not a value the keyring sealed for that ad, and must then return
// exactly the sealed plaintext.
func FuzzOpen(f *testing.F) {
	k1, err := secret.ParseKey(testKeyText)
	if err != nil {
		f.Fatal(err)
	}
	k2, _ := secret.GenerateKey()
	kr, _ := secret.NewKeyring(k2, k1)
	type sealed struct {
		raw       []byte
		keyID, ad string
		plaintext string
	}
	var valid []sealed
	for i, pt := range []string{"", "x", credsJSON} {
		ad := store.AD("connections", "credentials", "p", fmt.Sprint(i))
		s, id, _ := kr.Seal([]byte(pt), ad)
		raw, _ := base64.StdEncoding.DecodeString(string(s))
		valid = append(valid, sealed{raw, id, string(ad), pt})
		f.Add(s, id, ad)
		f.Add(s, k1.ID(), ad)
		f.Add(s[:len(s)-4], id, ad)
	}
	f.Add([]byte("AaChoqOkpaanqKmqq506HU4mrnHMPRHouGIU4uRSyzF/zdI6DfF+SuNd1htDqpcxyObF5Ym5NMWjtOw="), testKeyID,
		store.AD("connections", "credentials", "github", "user-1"))
	valid = append(valid, sealed{nil, testKeyID, string(store.AD("connections", "credentials", "github", "user-1")), `{"access_token":"gho_example"}`})
	valid[len(valid)-1].raw, _ = base64.StdEncoding.DecodeString("AaChoqOkpaanqKmqq506HU4mrnHMPRHouGIU4uRSyzF/zdI6DfF+SuNd1htDqpcxyObF5Ym5NMWjtOw=")
	f.Add([]byte(""), k1.ID(), []byte(nil))
	f.Add([]byte("===="), k1.ID(), []byte("ad"))

	f.Fuzz(func(t *testing.T, stored []byte, keyID string, ad []byte) {
		got, err := kr.Open(stored, keyID, ad)
		if keyID == "" {
			if err != nil || !bytes.Equal(got, stored) {
				t.Fatalf("plaintext row: %q, %v", got, err)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, secret.ErrUndecryptable) {
				t.Fatalf("error %v does not wrap ErrUndecryptable", err)
			}
			var ue *secret.UndecryptableError
			if !errors.As(err, &ue) || ue.KeyID != keyID {
				t.Fatalf("error %v does not name key id %q", err, keyID)
			}
			return
		}
		// Success is only possible for a value sealed above, opened with
		// its own key id and ad (the base64 decoder may skip line breaks).
		raw, derr := base64.StdEncoding.DecodeString(string(stored))
		if derr != nil {
			t.Fatalf("Open accepted invalid base64 %q", stored)
		}
		for _, v := range valid {
			if bytes.Equal(raw, v.raw) && keyID == v.keyID && string(ad) == v.ad {
				if string(got) != v.plaintext {
					t.Fatalf("Open = %q, want %q", got, v.plaintext)
				}
				return
			}
		}
		t.Fatalf("Open accepted a value it never sealed: stored %q key id %q ad %q → %q", stored, keyID, ad, got)
	})
}
