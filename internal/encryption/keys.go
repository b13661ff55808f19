package encryption

import (
	"fmt"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// KeyringFromConfig builds the keyring of cfg: NANGO_ENCRYPTION_KEY as the
// current key (none when unset) and NANGO_ENCRYPTION_PREVIOUS_KEYS as keys
// still accepted for reading. With no key at all it returns a keyring that
// seals nothing and opens only plaintext. Errors name the variable, never
// the key text.
func KeyringFromConfig(cfg *config.Config) (*secret.Keyring, error) {
	var current secret.Key
	if !cfg.EncryptionKey.IsZero() {
		k, err := secret.ParseKey(cfg.EncryptionKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("NANGO_ENCRYPTION_KEY: %w", err)
		}
		current = k
	}
	previous := make([]secret.Key, 0, len(cfg.EncryptionPreviousKeys))
	for i, s := range cfg.EncryptionPreviousKeys {
		k, err := secret.ParseKey(s.Reveal())
		if err != nil {
			return nil, fmt.Errorf("NANGO_ENCRYPTION_PREVIOUS_KEYS: key %d of the list: %w", i+1, err)
		}
		previous = append(previous, k)
	}
	kr, err := secret.NewKeyring(current, previous...)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	return kr, nil
}

// DecryptConfig returns a copy of cfg for `nango keys decrypt`: no current
// key, and every configured key (NANGO_ENCRYPTION_KEY first) as a previous
// key, so that a store opened with it decrypts whatever it rewrites.
func DecryptConfig(cfg *config.Config) *config.Config {
	c := *cfg
	c.EncryptionPreviousKeys = nil
	if !cfg.EncryptionKey.IsZero() {
		c.EncryptionPreviousKeys = append(c.EncryptionPreviousKeys, cfg.EncryptionKey)
	}
	c.EncryptionPreviousKeys = append(c.EncryptionPreviousKeys, cfg.EncryptionPreviousKeys...)
	c.EncryptionKey = ""
	return &c
}

// NewForConfig returns the Manager for cfg over st, a store opened with the
// Sealer built from the same cfg (server.OpenStore does that): o's Store,
// Keyring and Locker are set from them; its other fields are kept.
func NewForConfig(cfg *config.Config, st store.Store, o Options) (*Manager, error) {
	kr, err := KeyringFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	o.Store, o.Keyring, o.Locker = st, kr, LockerFor(cfg)
	return New(o), nil
}
