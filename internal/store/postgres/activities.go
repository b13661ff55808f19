package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/store"
)

var _ store.ActivityBatcher = (*Store)(nil)

// AddActivities appends entries in one transaction, sent as one pipelined
// batch (one round trip, one commit), setting their IDs.
func (s *Store) AddActivities(ctx context.Context, entries []store.Activity) error {
	if len(entries) == 0 {
		return nil
	}
	ids := make([]int64, len(entries))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i := range entries {
			a := entries[i]
			if a.Time.IsZero() {
				a.Time = s.now()
			}
			a.Time = a.Time.UTC().Truncate(time.Microsecond)
			a.Duration = a.Duration.Round(time.Millisecond)
			entries[i].Time, entries[i].Duration = a.Time, a.Duration
			b.Queue(`INSERT INTO activity
				(time, action, success, provider_config_key, connection_id, provider, method, endpoint, status,
				 duration_ms, attempts, message)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
				a.Time, a.Action, a.Success, a.ProviderConfigKey, a.ConnectionID, a.Provider, a.Method,
				a.Endpoint, a.Status, a.Duration.Milliseconds(), a.Attempts, a.Message).QueryRow(func(row pgx.Row) error {
				return row.Scan(&ids[i])
			})
		}
		return dbErr(tx.SendBatch(ctx, b).Close())
	})
	if err != nil {
		return err
	}
	for i := range entries {
		entries[i].ID = ids[i]
	}
	return nil
}
