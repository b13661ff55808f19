package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

const integrationCols = `id, unique_key, provider, client_id, scopes, created_at, updated_at, client_secret_key, client_secret`

type scanner interface{ Scan(dest ...any) error }

func (s *Store) scanIntegration(row scanner) (store.Integration, error) {
	var (
		in               store.Integration
		created, updated int64
		keyID, sealed    string
	)
	if err := row.Scan(&in.ID, &in.Key, &in.Provider, &in.ClientID, &in.Scopes, &created, &updated, &keyID, &sealed); err != nil {
		return in, dbErr(err)
	}
	in.CreatedAt, in.UpdatedAt = fromMicros(created), fromMicros(updated)
	sec, err := store.OpenClientSecret(s.sealer, sealed, keyID, in.Key)
	if err != nil {
		return in, err
	}
	in.ClientSecret = sec
	return in, nil
}

// CreateIntegration inserts in, setting its ID and timestamps.
func (s *Store) CreateIntegration(ctx context.Context, in *store.Integration) error {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	if in.Key == "" {
		return errors.New("sqlite: integration key is empty")
	}
	sealed, keyID, err := store.SealClientSecret(s.sealer, in.ClientSecret, in.Key)
	if err != nil {
		return err
	}
	now := s.now()
	var id int64
	err = s.w.QueryRowContext(ctx, `INSERT INTO integrations
		(unique_key, provider, client_id, scopes, created_at, updated_at, client_secret_key, client_secret)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		in.Key, in.Provider, in.ClientID, in.Scopes, micros(now), micros(now), keyID, sealed).Scan(&id)
	if err != nil {
		return dbErr(err)
	}
	in.ID, in.CreatedAt, in.UpdatedAt = id, now, now
	s.broker.Publish(store.Event{Topic: store.TopicIntegration, Payload: in.Key})
	return nil
}

// GetIntegration returns the integration with that key, client secret
// opened.
func (s *Store) GetIntegration(ctx context.Context, key string) (store.Integration, error) {
	st, err := s.rstmts.get(ctx, `SELECT `+integrationCols+` FROM integrations WHERE unique_key = ?`)
	if err != nil {
		return store.Integration{}, err
	}
	return s.scanIntegration(st.QueryRowContext(ctx, key))
}

// ListIntegrations returns every integration, client secrets opened,
// newest first. It counts nothing.
func (s *Store) ListIntegrations(ctx context.Context) ([]store.Integration, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+integrationCols+` FROM integrations ORDER BY id DESC`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []store.Integration{}
	for rows.Next() {
		in, err := s.scanIntegration(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, dbErr(rows.Err())
}

// CountConnections counts each integration's connections up to the count
// cap plus one: a bounded range of the (provider_config_key, id) index per
// integration.
func (s *Store) CountConnections(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT i.unique_key,
		(SELECT count(*) FROM (SELECT 1 FROM connections c WHERE c.provider_config_key = i.unique_key LIMIT ?))
		FROM integrations i`, s.countCap+1)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			key string
			n   int64
		)
		if err := rows.Scan(&key, &n); err != nil {
			return nil, dbErr(err)
		}
		out[key] = n
	}
	return out, dbErr(rows.Err())
}

// UpdateIntegration runs fn on the integration inside a write transaction.
func (s *Store) UpdateIntegration(ctx context.Context, key string, fn func(*store.Integration) error) (store.Integration, error) {
	var out store.Integration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.scanIntegration(tx.QueryRowContext(ctx, `SELECT `+integrationCols+` FROM integrations WHERE unique_key = ?`, key))
		if err != nil {
			return err
		}
		in := old
		if err := fn(&in); err != nil {
			return err
		}
		in.ID, in.Key, in.CreatedAt = old.ID, old.Key, old.CreatedAt
		in.UpdatedAt = s.now()
		sealed, keyID, err := store.SealClientSecret(s.sealer, in.ClientSecret, in.Key)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE integrations SET provider = ?, client_id = ?, scopes = ?, updated_at = ?,
			client_secret_key = ?, client_secret = ? WHERE id = ?`,
			in.Provider, in.ClientID, in.Scopes, micros(in.UpdatedAt), keyID, sealed, in.ID)
		if err != nil {
			return dbErr(err)
		}
		out = in
		return nil
	})
	if err != nil {
		return store.Integration{}, err
	}
	s.broker.Publish(store.Event{Topic: store.TopicIntegration, Payload: key})
	return out, nil
}

// DeleteIntegration deletes the integration and its connections in one
// transaction.
func (s *Store) DeleteIntegration(ctx context.Context, key string) (int64, error) {
	var (
		n       int64
		deleted []string
		found   bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM connections WHERE provider_config_key = ?`, key).Scan(&n); err != nil {
			return dbErr(err)
		}
		if n > 0 && n <= driverkit.MaxDeleteEvents {
			rows, err := tx.QueryContext(ctx, `DELETE FROM connections WHERE provider_config_key = ? RETURNING connection_id`, key)
			if err != nil {
				return dbErr(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return dbErr(err)
				}
				deleted = append(deleted, id)
			}
			if err := rows.Err(); err != nil {
				return dbErr(err)
			}
			n = int64(len(deleted))
		} else if n > 0 {
			res, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE provider_config_key = ?`, key)
			if err != nil {
				return dbErr(err)
			}
			n, _ = res.RowsAffected()
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM integrations WHERE unique_key = ?`, key)
		if err != nil {
			return dbErr(err)
		}
		k, _ := res.RowsAffected()
		found = k > 0
		return nil
	})
	if err != nil {
		return 0, err
	}
	if found {
		s.broker.Publish(store.Event{Topic: store.TopicIntegration, Payload: key})
	}
	if n > driverkit.MaxDeleteEvents {
		s.broker.Publish(store.Event{Topic: store.TopicReset})
	}
	for _, id := range deleted {
		s.broker.Publish(store.Event{Topic: store.TopicConnection, Payload: store.ConnectionEventPayload(key, id)})
	}
	return n, nil
}
