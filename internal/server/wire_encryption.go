package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nango-go/nango/internal/config"
	"github.com/nango-go/nango/internal/encryption"
	"github.com/nango-go/nango/internal/store"
)

// backgroundPause is the pause between two re-encryption batches of a
// serving server, leaving the database to requests.
const backgroundPause = 10 * time.Millisecond

// sealerFor returns the Sealer the store encrypts secrets with: the keyring
// built from NANGO_ENCRYPTION_KEY and NANGO_ENCRYPTION_PREVIOUS_KEYS (also
// with previous keys only, which opens but does not seal: the keyring of
// `nango keys decrypt`).
func sealerFor(cfg *config.Config) (store.Sealer, error) {
	kr, err := encryption.KeyringFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return kr, nil
}

// startEncryption runs after migrations, before serving. It refuses to
// start when the configured keys cannot open what the database holds (the
// error says what is wrong and what to do), records the current key, and
// starts encrypting plaintext rows and re-encrypting old-key rows in the
// background: reads work on the mix meanwhile, and an interrupted run is
// resumed by the next start.
func (s *Server) startEncryption(ctx context.Context) error {
	m, err := encryption.NewForConfig(s.cfg, s.store, encryption.Options{Logger: s.log, Pause: backgroundPause})
	if err != nil {
		return err
	}
	plan, err := m.Start(ctx)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	switch {
	case plan.Current != "":
		s.log.Info("encryption at rest: on (AES-256-GCM)", "key_id", plan.Current,
			"values_to_encrypt", plan.Pending())
	case plan.Usage.Total() > 0:
		s.log.Warn("encryption at rest: off — tokens and client secrets are stored in plaintext. Set NANGO_ENCRYPTION_KEY to encrypt them (see docs/encryption.md).")
	default:
		s.log.Info("encryption at rest: off (NANGO_ENCRYPTION_KEY is not set)")
	}
	if plan.NeedsRun() {
		s.background(func(ctx context.Context) { m.RunBackground(ctx, plan) })
	}
	return nil
}
