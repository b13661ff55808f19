package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/store"
)

// connCols are the columns scanConnection reads, in order.
const connCols = `id, provider_config_key, connection_id, created_at, updated_at, last_refresh_at,
	last_refresh_failure_at, last_refresh_error, refresh_failures, connection_config, metadata,
	credentials_key, credentials`

func (s *Store) scanConnection(row pgx.Row) (store.Connection, error) {
	var (
		c                   store.Connection
		cfg, meta           []byte
		keyID, sealedCreds  string
		lastRef, lastFailAt *time.Time
	)
	err := row.Scan(&c.ID, &c.ProviderConfigKey, &c.ConnectionID, &c.CreatedAt, &c.UpdatedAt, &lastRef,
		&lastFailAt, &c.LastRefreshError, &c.RefreshFailures, &cfg, &meta, &keyID, &sealedCreds)
	if err != nil {
		return store.Connection{}, dbErr(err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.LastRefreshAt, c.LastRefreshFailureAt = utcPtr(lastRef), utcPtr(lastFailAt)
	if c.ConnectionConfig, err = store.DecodeJSONMap(cfg); err != nil {
		return store.Connection{}, err
	}
	if c.Metadata, err = store.DecodeJSONMap(meta); err != nil {
		return store.Connection{}, err
	}
	if c.Credentials, err = store.OpenCredentials(s.sealer, sealedCreds, keyID, c.ProviderConfigKey, c.ConnectionID); err != nil {
		return store.Connection{}, err
	}
	return c, nil
}

// encodeConnection returns the named arguments of a connection's mutable
// columns, credentials sealed.
func (s *Store) encodeConnection(c *store.Connection) (pgx.NamedArgs, error) {
	c.Credentials.ExpiresAt = truncPtr(c.Credentials.ExpiresAt)
	c.LastRefreshAt = truncPtr(c.LastRefreshAt)
	c.LastRefreshFailureAt = truncPtr(c.LastRefreshFailureAt)
	cfg, err := store.EncodeJSONMap(c.ConnectionConfig)
	if err != nil {
		return nil, err
	}
	meta, err := store.EncodeJSONMap(c.Metadata)
	if err != nil {
		return nil, err
	}
	sealed, keyID, err := store.SealCredentials(s.sealer, c.Credentials, c.ProviderConfigKey, c.ConnectionID)
	if err != nil {
		return nil, err
	}
	return pgx.NamedArgs{
		"pck": c.ProviderConfigKey, "cid": c.ConnectionID,
		"auth_mode": string(c.Credentials.Type), "expires_at": c.Credentials.ExpiresAt,
		"last_refresh_at": c.LastRefreshAt, "last_refresh_failure_at": c.LastRefreshFailureAt,
		"last_refresh_error": c.LastRefreshError, "refresh_failures": c.RefreshFailures,
		"cfg": cfg, "meta": meta, "creds_key": keyID, "creds": sealed,
		"channel": s.channel,
	}, nil
}

// UpsertConnection inserts c or replaces the secrets, config and metadata of
// the existing row with the same keys, in one statement.
func (s *Store) UpsertConnection(ctx context.Context, c *store.Connection) (bool, error) {
	if c.ProviderConfigKey == "" || c.ConnectionID == "" {
		return false, errors.New("postgres: connection needs a provider config key and a connection id")
	}
	c.LastRefreshFailureAt, c.LastRefreshError, c.RefreshFailures = nil, "", 0
	args, err := s.encodeConnection(c)
	if err != nil {
		return false, err
	}
	now := s.now()
	args["now"] = now
	var (
		id        int64
		createdAt time.Time
		lastRef   *time.Time
		created   bool
	)
	err = s.pool.QueryRow(ctx, `WITH w AS (
			INSERT INTO connections (provider_config_key, connection_id, auth_mode, expires_at, created_at, updated_at,
				last_refresh_at, connection_config, metadata, credentials_key, credentials)
			VALUES (@pck, @cid, @auth_mode, @expires_at, @now, @now, @last_refresh_at, @cfg, @meta, @creds_key, @creds)
			ON CONFLICT (provider_config_key, connection_id) DO UPDATE SET
				auth_mode = excluded.auth_mode, expires_at = excluded.expires_at, updated_at = excluded.updated_at,
				last_refresh_failure_at = NULL, last_refresh_error = '', refresh_failures = 0,
				connection_config = excluded.connection_config, metadata = excluded.metadata,
				credentials_key = excluded.credentials_key, credentials = excluded.credentials
			RETURNING id, created_at, last_refresh_at, xmax = 0 AS created, provider_config_key, connection_id)
		SELECT w.id, w.created_at, w.last_refresh_at, w.created FROM w, `+notifyConnection, args).
		Scan(&id, &createdAt, &lastRef, &created)
	if err != nil {
		return false, dbErr(err)
	}
	c.ID, c.CreatedAt, c.UpdatedAt, c.LastRefreshAt = id, createdAt.UTC(), now, utcPtr(lastRef)
	return created, nil
}

// GetConnection returns one connection with its credentials opened: one
// round trip of a statement pgx keeps prepared on each connection.
func (s *Store) GetConnection(ctx context.Context, providerConfigKey, connectionID string) (store.Connection, error) {
	return s.scanConnection(s.pool.QueryRow(ctx, `SELECT `+connCols+` FROM connections
		WHERE provider_config_key = $1 AND connection_id = $2`, providerConfigKey, connectionID))
}

// ListConnections returns a page of summaries, never opening credentials.
// Total and page come from one statement, hence one snapshot. The total
// counts at most the count cap plus one matching rows. A page reads the
// connections newest first (the primary key, or the index of one
// integration's connections) and stops when it is full; a search either
// scans the covering index connections_listing newest first, stopping
// likewise, or — when few rows match — reads the matches from the trigram
// index connections_search (migration 0002) and sorts them: the statement
// is planned for its own search text (an unnamed statement), so the
// planner can tell which.
func (s *Store) ListConnections(ctx context.Context, f store.ConnectionFilter) (store.ConnectionPage, error) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	mode := pgx.QueryExecModeCacheStatement
	if f.ProviderConfigKey != "" {
		conds = append(conds, "provider_config_key = "+arg(f.ProviderConfigKey))
	}
	if f.ConnectionID != "" {
		conds = append(conds, "connection_id = "+arg(f.ConnectionID))
	}
	if f.Search != "" {
		// Lower-cased here rather than with lower($n), which a generic plan
		// would evaluate once per row; planned for this text.
		conds = append(conds, "connection_id_lower LIKE "+arg(likePattern(strings.ToLower(f.Search))))
		mode = pgx.QueryExecModeExec
	}
	countWhere := whereClause(conds)
	capArg := arg(int64(s.countCap) + 1)
	if f.BeforeID > 0 {
		conds = append(conds, "id < "+arg(f.BeforeID))
	}
	var limit *int64
	if f.Limit > 0 {
		l := int64(f.Limit)
		limit = &l
	}
	limitArg := arg(limit)
	const cols = `c.id, c.provider_config_key, c.connection_id, coalesce(i.provider, ''), c.auth_mode,
		c.expires_at, c.created_at, c.updated_at, c.last_refresh_error`
	var page string
	if f.Search != "" {
		page = `SELECT ` + cols + ` FROM connections c LEFT JOIN integrations i ON i.unique_key = c.provider_config_key
			WHERE c.id IN (SELECT id FROM connections` + whereClause(conds) + ` ORDER BY id DESC LIMIT ` + limitArg + `)`
	} else {
		for i := range conds {
			conds[i] = "c." + conds[i]
		}
		page = `SELECT ` + cols + ` FROM connections c LEFT JOIN integrations i ON i.unique_key = c.provider_config_key` +
			whereClause(conds) + ` ORDER BY c.id DESC LIMIT ` + limitArg
	}
	q := `SELECT t.total, p.* FROM (SELECT count(*) AS total FROM (SELECT 1 FROM connections` + countWhere + ` LIMIT ` + capArg + `) m) t
		LEFT JOIN LATERAL (` + page + `) p ON true ORDER BY p.id DESC`

	out := store.ConnectionPage{Connections: []store.ConnectionSummary{}}
	rows, err := s.pool.Query(ctx, q, append([]any{mode}, args...)...)
	if err != nil {
		return out, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id                   *int64
			c                    store.ConnectionSummary
			pck, cid, prov, mode *string
			expires              *time.Time
			created, updated     *time.Time
			lastErr              *string
		)
		if err := rows.Scan(&out.Total, &id, &pck, &cid, &prov, &mode, &expires, &created, &updated, &lastErr); err != nil {
			return out, dbErr(err)
		}
		if id == nil {
			continue // no page row: only the total
		}
		c.ID, c.ProviderConfigKey, c.ConnectionID, c.Provider = *id, *pck, *cid, *prov
		c.AuthMode, c.ExpiresAt, c.LastRefreshError = store.AuthMode(*mode), utcPtr(expires), *lastErr
		c.CreatedAt, c.UpdatedAt = created.UTC(), updated.UTC()
		out.Connections = append(out.Connections, c)
	}
	return out, dbErr(rows.Err())
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// likePattern makes a LIKE pattern matching s anywhere, with LIKE's
// wildcards in s taken literally (escape character '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// UpdateConnection runs fn on the connection inside a transaction holding
// its row lock.
func (s *Store) UpdateConnection(ctx context.Context, providerConfigKey, connectionID string, fn func(*store.Connection) error) (store.Connection, error) {
	return s.updateConnection(ctx, providerConfigKey, connectionID, "", fn)
}

// updateConnection is UpdateConnection; with a holder it also releases that
// holder's refresh lease in the same write.
func (s *Store) updateConnection(ctx context.Context, providerConfigKey, connectionID, holder string, fn func(*store.Connection) error) (store.Connection, error) {
	var out store.Connection
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := s.scanConnection(tx.QueryRow(ctx, `SELECT `+connCols+` FROM connections
			WHERE provider_config_key = $1 AND connection_id = $2 FOR UPDATE`, providerConfigKey, connectionID))
		if err != nil {
			return err
		}
		c := old
		if err := fn(&c); err != nil {
			return err
		}
		c.ID, c.ProviderConfigKey, c.ConnectionID, c.CreatedAt = old.ID, old.ProviderConfigKey, old.ConnectionID, old.CreatedAt
		c.UpdatedAt = s.now()
		args, err := s.encodeConnection(&c)
		if err != nil {
			return err
		}
		args["id"], args["now"], args["holder"] = c.ID, c.UpdatedAt, holder
		_, err = tx.Exec(ctx, `WITH w AS (UPDATE connections SET auth_mode = @auth_mode, expires_at = @expires_at,
				updated_at = @now, last_refresh_at = @last_refresh_at, last_refresh_failure_at = @last_refresh_failure_at,
				last_refresh_error = @last_refresh_error, refresh_failures = @refresh_failures,
				connection_config = @cfg, metadata = @meta, credentials_key = @creds_key, credentials = @creds,
				refresh_lease_until = CASE WHEN @holder <> '' AND refresh_lease_holder = @holder THEN NULL ELSE refresh_lease_until END,
				refresh_lease_holder = CASE WHEN @holder <> '' AND refresh_lease_holder = @holder THEN '' ELSE refresh_lease_holder END
				WHERE id = @id RETURNING provider_config_key, connection_id)
			SELECT 1 FROM w, `+notifyConnection, args)
		if err != nil {
			return dbErr(err)
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteConnection deletes one connection.
func (s *Store) DeleteConnection(ctx context.Context, providerConfigKey, connectionID string) error {
	var n int
	err := s.pool.QueryRow(ctx, `WITH w AS (DELETE FROM connections WHERE provider_config_key = @pck AND connection_id = @cid
			RETURNING provider_config_key, connection_id)
		SELECT count(*) FROM w, `+notifyConnection,
		pgx.NamedArgs{"pck": providerConfigKey, "cid": connectionID, "channel": s.channel}).Scan(&n)
	if err != nil {
		return dbErr(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// TryLockRefresh takes the connection's refresh lease for holder unless
// another holder's lease is still running by the database clock. When it
// takes the lease it returns the row as updated, so the credentials are the
// latest committed ones.
func (s *Store) TryLockRefresh(ctx context.Context, providerConfigKey, connectionID, holder string, ttl time.Duration) (store.Connection, bool, error) {
	if holder == "" {
		return store.Connection{}, false, errors.New("postgres: refresh lease holder is empty")
	}
	c, err := s.scanConnection(s.pool.QueryRow(ctx, `UPDATE connections
		SET refresh_lease_holder = $3, refresh_lease_until = clock_timestamp() + $4::bigint * interval '1 microsecond'
		WHERE provider_config_key = $1 AND connection_id = $2
		  AND (refresh_lease_holder = '' OR refresh_lease_holder = $3 OR refresh_lease_until IS NULL
		       OR refresh_lease_until <= clock_timestamp())
		RETURNING `+connCols, providerConfigKey, connectionID, holder, ttl.Microseconds()))
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Connection{}, false, err
	}
	c, err = s.GetConnection(ctx, providerConfigKey, connectionID)
	return c, false, err
}

// UnlockRefresh applies fn (if any) and releases holder's lease.
func (s *Store) UnlockRefresh(ctx context.Context, providerConfigKey, connectionID, holder string, fn func(*store.Connection) error) (store.Connection, error) {
	if fn != nil {
		c, err := s.updateConnection(ctx, providerConfigKey, connectionID, holder, fn)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return c, err
		}
		// fn (or the write) failed: still give the lease back.
		_, _ = s.releaseLease(context.WithoutCancel(ctx), providerConfigKey, connectionID, holder)
		return store.Connection{}, err
	}
	return s.releaseLease(ctx, providerConfigKey, connectionID, holder)
}

func (s *Store) releaseLease(ctx context.Context, providerConfigKey, connectionID, holder string) (store.Connection, error) {
	c, err := s.scanConnection(s.pool.QueryRow(ctx, `UPDATE connections SET refresh_lease_holder = '', refresh_lease_until = NULL
		WHERE provider_config_key = $1 AND connection_id = $2 AND refresh_lease_holder = $3 AND $3 <> ''
		RETURNING `+connCols, providerConfigKey, connectionID, holder))
	if errors.Is(err, store.ErrNotFound) {
		return s.GetConnection(ctx, providerConfigKey, connectionID)
	}
	return c, err
}
