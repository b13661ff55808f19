package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/store"
	"github.com/nango-go/nango/internal/store/internal/driverkit"
)

const integrationCols = `id, unique_key, provider, client_id, scopes, created_at, updated_at, client_secret_key, client_secret`

// Notification fragments, joined LATERAL to a data-modifying CTE's rows so
// that each written row sends its event inside the write's transaction.
const (
	notifyIntegration = `LATERAL (SELECT pg_notify(@channel, json_build_object('t', 'integration', 'p', w.unique_key)::text)) n`
	notifyConnection  = `LATERAL (SELECT pg_notify(@channel, json_build_object('t', 'connection', 'k', w.provider_config_key, 'c', w.connection_id)::text)) n`
)

func (s *Store) scanIntegration(row pgx.Row) (store.Integration, error) {
	var (
		in            store.Integration
		keyID, sealed string
	)
	if err := row.Scan(&in.ID, &in.Key, &in.Provider, &in.ClientID, &in.Scopes, &in.CreatedAt, &in.UpdatedAt, &keyID, &sealed); err != nil {
		return in, dbErr(err)
	}
	in.CreatedAt, in.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
	sec, err := store.OpenClientSecret(s.sealer, sealed, keyID, in.Key)
	if err != nil {
		return in, err
	}
	in.ClientSecret = sec
	return in, nil
}

// CreateIntegration inserts in, setting its ID and timestamps.
func (s *Store) CreateIntegration(ctx context.Context, in *store.Integration) error {
	if in.Key == "" {
		return errors.New("postgres: integration key is empty")
	}
	sealed, keyID, err := store.SealClientSecret(s.sealer, in.ClientSecret, in.Key)
	if err != nil {
		return err
	}
	now := s.now()
	var id int64
	err = s.pool.QueryRow(ctx, `WITH w AS (INSERT INTO integrations
			(unique_key, provider, client_id, scopes, created_at, updated_at, client_secret_key, client_secret)
			VALUES (@key, @provider, @client_id, @scopes, @now, @now, @secret_key, @secret) RETURNING id, unique_key)
		SELECT w.id FROM w, `+notifyIntegration, pgx.NamedArgs{
		"key": in.Key, "provider": in.Provider, "client_id": in.ClientID, "scopes": in.Scopes, "now": now,
		"secret_key": keyID, "secret": sealed, "channel": s.channel,
	}).Scan(&id)
	if err != nil {
		return dbErr(err)
	}
	in.ID, in.CreatedAt, in.UpdatedAt = id, now, now
	return nil
}

// GetIntegration returns the integration with that key, client secret
// opened.
func (s *Store) GetIntegration(ctx context.Context, key string) (store.Integration, error) {
	return s.scanIntegration(s.pool.QueryRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE unique_key = $1`, key))
}

// ListIntegrations returns every integration, client secrets opened,
// newest first. It counts nothing.
func (s *Store) ListIntegrations(ctx context.Context) ([]store.Integration, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+integrationCols+` FROM integrations ORDER BY id DESC`)
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
	rows, err := s.pool.Query(ctx, `SELECT i.unique_key,
		(SELECT count(*) FROM (SELECT 1 FROM connections c WHERE c.provider_config_key = i.unique_key LIMIT $1) x)
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

// UpdateIntegration runs fn on the integration inside a transaction that
// holds its row lock.
func (s *Store) UpdateIntegration(ctx context.Context, key string, fn func(*store.Integration) error) (store.Integration, error) {
	var out store.Integration
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := s.scanIntegration(tx.QueryRow(ctx, `SELECT `+integrationCols+` FROM integrations WHERE unique_key = $1 FOR UPDATE`, key))
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
		_, err = tx.Exec(ctx, `WITH w AS (UPDATE integrations SET provider = @provider, client_id = @client_id,
				scopes = @scopes, updated_at = @now, client_secret_key = @secret_key, client_secret = @secret
				WHERE id = @id RETURNING unique_key)
			SELECT 1 FROM w, `+notifyIntegration, pgx.NamedArgs{
			"provider": in.Provider, "client_id": in.ClientID, "scopes": in.Scopes, "now": in.UpdatedAt,
			"secret_key": keyID, "secret": sealed, "id": in.ID, "channel": s.channel,
		})
		if err != nil {
			return dbErr(err)
		}
		out = in
		return nil
	})
	if err != nil {
		return store.Integration{}, err
	}
	return out, nil
}

// DeleteIntegration deletes the integration and its connections in one
// transaction, announcing each deleted row (or, past
// driverkit.MaxDeleteEvents connections, a reset).
func (s *Store) DeleteIntegration(ctx context.Context, key string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM connections WHERE provider_config_key = $1`, key).Scan(&n); err != nil {
			return dbErr(err)
		}
		args := pgx.NamedArgs{"key": key, "channel": s.channel}
		if n <= driverkit.MaxDeleteEvents {
			err := tx.QueryRow(ctx, `WITH w AS (DELETE FROM connections WHERE provider_config_key = @key
					RETURNING provider_config_key, connection_id)
				SELECT count(*) FROM w, `+notifyConnection, args).Scan(&n)
			if err != nil {
				return dbErr(err)
			}
		} else {
			tag, err := tx.Exec(ctx, `DELETE FROM connections WHERE provider_config_key = $1`, key)
			if err != nil {
				return dbErr(err)
			}
			n = tag.RowsAffected()
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, encodeEvent(store.Event{Topic: store.TopicReset})); err != nil {
				return dbErr(err)
			}
		}
		_, err := tx.Exec(ctx, `WITH w AS (DELETE FROM integrations WHERE unique_key = @key RETURNING unique_key)
			SELECT 1 FROM w, `+notifyIntegration, args)
		return dbErr(err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
