package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// connCols are the columns scanConnection reads, in order.
const connCols = `id, provider_config_key, connection_id, created_at, updated_at, last_refresh_at,
	last_refresh_failure_at, last_refresh_error, refresh_failures, connection_config, metadata,
	credentials_key, credentials`

// dbNow is the database clock in microseconds, used for refresh leases.
const dbNow = `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`

func (s *Store) scanConnection(row scanner) (store.Connection, error) {
	var (
		c                            store.Connection
		created, updated             int64
		lastRefresh, lastFailure     sql.NullInt64
		cfg, meta, keyID, sealedCred string
	)
	err := row.Scan(&c.ID, &c.ProviderConfigKey, &c.ConnectionID, &created, &updated, &lastRefresh,
		&lastFailure, &c.LastRefreshError, &c.RefreshFailures, &cfg, &meta, &keyID, &sealedCred)
	if err != nil {
		return store.Connection{}, dbErr(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.LastRefreshAt, c.LastRefreshFailureAt = ptrMicros(lastRefresh), ptrMicros(lastFailure)
	if c.ConnectionConfig, err = store.DecodeJSONMap([]byte(cfg)); err != nil {
		return store.Connection{}, err
	}
	if c.Metadata, err = store.DecodeJSONMap([]byte(meta)); err != nil {
		return store.Connection{}, err
	}
	if c.Credentials, err = store.OpenCredentials(s.sealer, sealedCred, keyID, c.ProviderConfigKey, c.ConnectionID); err != nil {
		return store.Connection{}, err
	}
	return c, nil
}

// encodedConn is a connection's mutable columns, ready to write.
type encodedConn struct {
	authMode             string
	expiresAt            any
	cfg, meta            string
	keyID, sealed        string
	lastRefreshAt        any
	lastRefreshFailureAt any
}

func (s *Store) encodeConnection(c *store.Connection) (encodedConn, error) {
	var (
		e   encodedConn
		err error
	)
	c.Credentials.ExpiresAt = truncPtr(c.Credentials.ExpiresAt)
	c.LastRefreshAt = truncPtr(c.LastRefreshAt)
	c.LastRefreshFailureAt = truncPtr(c.LastRefreshFailureAt)
	e.authMode = string(c.Credentials.Type)
	e.expiresAt = nullMicros(c.Credentials.ExpiresAt)
	e.lastRefreshAt = nullMicros(c.LastRefreshAt)
	e.lastRefreshFailureAt = nullMicros(c.LastRefreshFailureAt)
	if e.cfg, err = store.EncodeJSONMap(c.ConnectionConfig); err != nil {
		return e, err
	}
	if e.meta, err = store.EncodeJSONMap(c.Metadata); err != nil {
		return e, err
	}
	e.sealed, e.keyID, err = store.SealCredentials(s.sealer, c.Credentials, c.ProviderConfigKey, c.ConnectionID)
	return e, err
}

func (s *Store) publishConnection(providerConfigKey, connectionID string) {
	s.broker.Publish(store.Event{Topic: store.TopicConnection, Payload: store.ConnectionEventPayload(providerConfigKey, connectionID)})
}

// UpsertConnection inserts c or replaces the secrets, config and metadata of
// the existing row with the same keys.
func (s *Store) UpsertConnection(ctx context.Context, c *store.Connection) (bool, error) {
	if c.ProviderConfigKey == "" || c.ConnectionID == "" {
		return false, errors.New("sqlite: connection needs a provider config key and a connection id")
	}
	c.LastRefreshFailureAt, c.LastRefreshError, c.RefreshFailures = nil, "", 0
	e, err := s.encodeConnection(c)
	if err != nil {
		return false, err
	}
	now := s.now()
	var (
		created     bool
		id, crAt    int64
		lastRefresh sql.NullInt64
	)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, created_at, last_refresh_at FROM connections
			WHERE provider_config_key = ? AND connection_id = ?`, c.ProviderConfigKey, c.ConnectionID).Scan(&id, &crAt, &lastRefresh)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
			crAt = micros(now)
			return dbErr(tx.QueryRowContext(ctx, `INSERT INTO connections
				(provider_config_key, connection_id, auth_mode, expires_at, created_at, updated_at,
				 last_refresh_at, connection_config, metadata, credentials_key, credentials)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, last_refresh_at`,
				c.ProviderConfigKey, c.ConnectionID, e.authMode, e.expiresAt, crAt, crAt,
				e.lastRefreshAt, e.cfg, e.meta, e.keyID, e.sealed).Scan(&id, &lastRefresh))
		case err != nil:
			return dbErr(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections SET auth_mode = ?, expires_at = ?, updated_at = ?,
			last_refresh_failure_at = NULL, last_refresh_error = '', refresh_failures = 0,
			connection_config = ?, metadata = ?, credentials_key = ?, credentials = ? WHERE id = ?`,
			e.authMode, e.expiresAt, micros(now), e.cfg, e.meta, e.keyID, e.sealed, id)
		return dbErr(err)
	})
	if err != nil {
		return false, err
	}
	c.ID, c.CreatedAt, c.UpdatedAt, c.LastRefreshAt = id, fromMicros(crAt), now, ptrMicros(lastRefresh)
	s.publishConnection(c.ProviderConfigKey, c.ConnectionID)
	return created, nil
}

// GetConnection returns one connection with its credentials opened. It is
// the hot path of token fetches: one prepared statement on the reader pool.
func (s *Store) GetConnection(ctx context.Context, providerConfigKey, connectionID string) (store.Connection, error) {
	st, err := s.rstmts.get(ctx, `SELECT `+connCols+` FROM connections WHERE provider_config_key = ? AND connection_id = ?`)
	if err != nil {
		return store.Connection{}, err
	}
	return s.scanConnection(st.QueryRowContext(ctx, providerConfigKey, connectionID))
}

// ListConnections returns a page of summaries; it never opens credentials.
// Total and the page come from one read snapshot; the total counts at most
// the count cap plus one matching rows. A page reads the connections newest
// first and stops when it is full; a search scans the covering index
// connections_listing newest first, so it reads no table row but the
// page's own.
func (s *Store) ListConnections(ctx context.Context, f store.ConnectionFilter) (store.ConnectionPage, error) {
	var (
		conds []string
		args  []any
	)
	if f.ProviderConfigKey != "" {
		conds, args = append(conds, "provider_config_key = ?"), append(args, f.ProviderConfigKey)
	}
	if f.ConnectionID != "" {
		conds, args = append(conds, "connection_id = ?"), append(args, f.ConnectionID)
	}
	if f.Search != "" {
		conds, args = append(conds, `connection_id LIKE ? ESCAPE '\'`), append(args, likePattern(f.Search))
	}
	countQ := `SELECT count(*) FROM (SELECT 1 FROM connections` + whereClause(conds) + ` LIMIT ?)`
	countArgs := append(append([]any(nil), args...), s.countCap+1)
	if f.BeforeID > 0 {
		conds, args = append(conds, "id < ?"), append(args, f.BeforeID)
	}
	limit := int64(f.Limit)
	if limit <= 0 {
		limit = -1
	}
	args = append(args, limit)
	const cols = `SELECT c.id, c.provider_config_key, c.connection_id, coalesce(i.provider, ''), c.auth_mode,
		c.expires_at, c.created_at, c.updated_at, c.last_refresh_error
		FROM connections c LEFT JOIN integrations i ON i.unique_key = c.provider_config_key`
	var pageQ string
	if f.Search != "" {
		pageQ = cols + ` WHERE c.id IN (SELECT id FROM connections INDEXED BY connections_listing` +
			whereClause(conds) + ` ORDER BY id DESC LIMIT ?) ORDER BY c.id DESC`
	} else {
		for i := range conds {
			conds[i] = "c." + conds[i]
		}
		pageQ = cols + whereClause(conds) + ` ORDER BY c.id DESC LIMIT ?`
	}

	page := store.ConnectionPage{Connections: []store.ConnectionSummary{}}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, dbErr(err)
	}
	defer func() { _ = tx.Rollback() }()
	cst, err := s.rstmts.get(ctx, countQ)
	if err != nil {
		return page, err
	}
	if err := tx.StmtContext(ctx, cst).QueryRowContext(ctx, countArgs...).Scan(&page.Total); err != nil {
		return page, dbErr(err)
	}
	pst, err := s.rstmts.get(ctx, pageQ)
	if err != nil {
		return page, err
	}
	rows, err := tx.StmtContext(ctx, pst).QueryContext(ctx, args...)
	if err != nil {
		return page, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c                store.ConnectionSummary
			mode             string
			expires          sql.NullInt64
			created, updated int64
		)
		if err := rows.Scan(&c.ID, &c.ProviderConfigKey, &c.ConnectionID, &c.Provider, &mode,
			&expires, &created, &updated, &c.LastRefreshError); err != nil {
			return page, dbErr(err)
		}
		c.AuthMode, c.ExpiresAt = store.AuthMode(mode), ptrMicros(expires)
		c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
		page.Connections = append(page.Connections, c)
	}
	return page, dbErr(rows.Err())
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

// UpdateConnection runs fn on the connection inside a write transaction.
func (s *Store) UpdateConnection(ctx context.Context, providerConfigKey, connectionID string, fn func(*store.Connection) error) (store.Connection, error) {
	out, err := s.updateConnection(ctx, providerConfigKey, connectionID, "", fn)
	if err != nil {
		return store.Connection{}, err
	}
	s.publishConnection(providerConfigKey, connectionID)
	return out, nil
}

// updateConnection is UpdateConnection; with a holder it also releases that
// holder's refresh lease in the same write.
func (s *Store) updateConnection(ctx context.Context, providerConfigKey, connectionID, holder string, fn func(*store.Connection) error) (store.Connection, error) {
	var out store.Connection
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.scanConnection(tx.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections
			WHERE provider_config_key = ? AND connection_id = ?`, providerConfigKey, connectionID))
		if err != nil {
			return err
		}
		c := old
		if err := fn(&c); err != nil {
			return err
		}
		c.ID, c.ProviderConfigKey, c.ConnectionID, c.CreatedAt = old.ID, old.ProviderConfigKey, old.ConnectionID, old.CreatedAt
		c.UpdatedAt = s.now()
		e, err := s.encodeConnection(&c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections SET auth_mode = ?, expires_at = ?, updated_at = ?,
			last_refresh_at = ?, last_refresh_failure_at = ?, last_refresh_error = ?, refresh_failures = ?,
			connection_config = ?, metadata = ?, credentials_key = ?, credentials = ?,
			refresh_lease_until = CASE WHEN ? <> '' AND refresh_lease_holder = ? THEN NULL ELSE refresh_lease_until END,
			refresh_lease_holder = CASE WHEN ? <> '' AND refresh_lease_holder = ? THEN '' ELSE refresh_lease_holder END
			WHERE id = ?`,
			e.authMode, e.expiresAt, micros(c.UpdatedAt), e.lastRefreshAt, e.lastRefreshFailureAt,
			c.LastRefreshError, c.RefreshFailures, e.cfg, e.meta, e.keyID, e.sealed,
			holder, holder, holder, holder, c.ID)
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
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	res, err := s.w.ExecContext(ctx, `DELETE FROM connections WHERE provider_config_key = ? AND connection_id = ?`, providerConfigKey, connectionID)
	if err != nil {
		return dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	s.publishConnection(providerConfigKey, connectionID)
	return nil
}

// TryLockRefresh takes the connection's refresh lease for holder unless
// another holder's lease is still running by the database clock.
func (s *Store) TryLockRefresh(ctx context.Context, providerConfigKey, connectionID, holder string, ttl time.Duration) (store.Connection, bool, error) {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	if holder == "" {
		return store.Connection{}, false, errors.New("sqlite: refresh lease holder is empty")
	}
	st, err := s.wstmts.get(ctx, `UPDATE connections SET refresh_lease_holder = ?3, refresh_lease_until = `+dbNow+` + ?4
		WHERE provider_config_key = ?1 AND connection_id = ?2
		  AND (refresh_lease_holder = '' OR refresh_lease_holder = ?3 OR refresh_lease_until IS NULL OR refresh_lease_until <= `+dbNow+`)
		RETURNING `+connCols)
	if err != nil {
		return store.Connection{}, false, err
	}
	c, err := s.scanConnection(st.QueryRowContext(ctx, providerConfigKey, connectionID, holder, ttl.Microseconds()))
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
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	if fn != nil {
		c, err := s.updateConnection(ctx, providerConfigKey, connectionID, holder, fn)
		if err == nil {
			s.publishConnection(providerConfigKey, connectionID)
			return c, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.Connection{}, err
		}
		// fn (or the write) failed: still give the lease back.
		_, _ = s.releaseLease(ctx, providerConfigKey, connectionID, holder)
		return store.Connection{}, err
	}
	return s.releaseLease(ctx, providerConfigKey, connectionID, holder)
}

func (s *Store) releaseLease(ctx context.Context, providerConfigKey, connectionID, holder string) (store.Connection, error) {
	c, err := s.scanConnection(s.w.QueryRowContext(ctx, `UPDATE connections SET refresh_lease_holder = '', refresh_lease_until = NULL
		WHERE provider_config_key = ? AND connection_id = ? AND refresh_lease_holder = ? AND ? <> ''
		RETURNING `+connCols, providerConfigKey, connectionID, holder, holder))
	if errors.Is(err, store.ErrNotFound) {
		return s.GetConnection(ctx, providerConfigKey, connectionID)
	}
	return c, err
}
