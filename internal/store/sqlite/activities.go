package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/nango-go/nango/internal/store"
)

var _ store.ActivityBatcher = (*Store)(nil)

// AddActivities appends entries in one write transaction (one commit, one
// fsync), setting their IDs.
func (s *Store) AddActivities(ctx context.Context, entries []store.Activity) error {
	if len(entries) == 0 {
		return nil
	}
	ids := make([]int64, len(entries))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO activity
			(time, action, success, provider_config_key, connection_id, provider, method, endpoint, status,
			 duration_ms, attempts, message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return dbErr(err)
		}
		defer st.Close()
		for i := range entries {
			a := entries[i]
			if a.Time.IsZero() {
				a.Time = s.now()
			}
			a.Time = a.Time.UTC().Truncate(time.Microsecond)
			a.Duration = a.Duration.Round(time.Millisecond)
			if err := st.QueryRowContext(ctx, micros(a.Time), a.Action, a.Success, a.ProviderConfigKey, a.ConnectionID,
				a.Provider, a.Method, a.Endpoint, a.Status, a.Duration.Milliseconds(), a.Attempts, a.Message).Scan(&ids[i]); err != nil {
				return dbErr(err)
			}
			entries[i].Time, entries[i].Duration = a.Time, a.Duration
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range entries {
		entries[i].ID = ids[i]
	}
	return nil
}
