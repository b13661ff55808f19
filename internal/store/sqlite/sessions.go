package sqlite

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// CreateOAuthSession stores a new session, its secrets sealed.
func (s *Store) CreateOAuthSession(ctx context.Context, o store.OAuthSession) error {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	if o.ID == "" {
		return errors.New("sqlite: OAuth session id is empty")
	}
	cfg, err := store.EncodeJSONMap(o.ConnectionConfig)
	if err != nil {
		return err
	}
	sealed, keyID, err := store.SealSessionSecrets(s.sealer, o.CodeVerifier, o.RequestTokenSecret, o.ID)
	if err != nil {
		return err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO oauth_sessions
		(id, provider, provider_config_key, connection_id, callback_url, auth_mode, connection_config,
		 ws_client_id, created_at, expires_at, secrets_key, secrets)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Provider, o.ProviderConfigKey, o.ConnectionID, o.CallbackURL, string(o.AuthMode), cfg,
		o.WSClientID, micros(o.CreatedAt), micros(o.ExpiresAt), keyID, sealed)
	return dbErr(err)
}

// TakeOAuthSession deletes the session and returns it, unless it expired.
func (s *Store) TakeOAuthSession(ctx context.Context, id string) (store.OAuthSession, error) {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	var (
		o                 store.OAuthSession
		mode, cfg         string
		created, expires  int64
		keyID, sealedSecs string
	)
	err := s.w.QueryRowContext(ctx, `DELETE FROM oauth_sessions WHERE id = ?
		RETURNING id, provider, provider_config_key, connection_id, callback_url, auth_mode, connection_config,
		ws_client_id, created_at, expires_at, secrets_key, secrets`, id).Scan(
		&o.ID, &o.Provider, &o.ProviderConfigKey, &o.ConnectionID, &o.CallbackURL, &mode, &cfg,
		&o.WSClientID, &created, &expires, &keyID, &sealedSecs)
	if err != nil {
		return store.OAuthSession{}, dbErr(err)
	}
	o.AuthMode = store.AuthMode(mode)
	o.CreatedAt, o.ExpiresAt = fromMicros(created), fromMicros(expires)
	if !o.ExpiresAt.After(s.now()) {
		return store.OAuthSession{}, store.ErrNotFound
	}
	if o.ConnectionConfig, err = store.DecodeJSONMap([]byte(cfg)); err != nil {
		return store.OAuthSession{}, err
	}
	if o.CodeVerifier, o.RequestTokenSecret, err = store.OpenSessionSecrets(s.sealer, sealedSecs, keyID, o.ID); err != nil {
		return store.OAuthSession{}, err
	}
	return o, nil
}

// PruneOAuthSessions deletes sessions that expired before t.
func (s *Store) PruneOAuthSessions(ctx context.Context, before time.Time) (int64, error) {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	res, err := s.w.ExecContext(ctx, `DELETE FROM oauth_sessions WHERE expires_at < ?`, micros(before))
	if err != nil {
		return 0, dbErr(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AddActivity appends an entry, setting its ID (and Time when zero).
func (s *Store) AddActivity(ctx context.Context, a *store.Activity) error {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	a.Duration = a.Duration.Round(time.Millisecond)
	return dbErr(s.w.QueryRowContext(ctx, `INSERT INTO activity
		(time, action, success, provider_config_key, connection_id, provider, method, endpoint, status,
		 duration_ms, attempts, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(a.Time), a.Action, a.Success, a.ProviderConfigKey, a.ConnectionID, a.Provider, a.Method,
		a.Endpoint, a.Status, a.Duration.Milliseconds(), a.Attempts, a.Message).Scan(&a.ID))
}

// ListActivity returns matching entries, newest first.
func (s *Store) ListActivity(ctx context.Context, f store.ActivityFilter) ([]store.Activity, error) {
	var (
		conds []string
		args  []any
	)
	if f.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	if f.ProviderConfigKey != "" {
		conds, args = append(conds, "provider_config_key = ?"), append(args, f.ProviderConfigKey)
	}
	if f.ConnectionID != "" {
		conds, args = append(conds, "connection_id = ?"), append(args, f.ConnectionID)
	}
	if f.Success != nil {
		conds, args = append(conds, "success = ?"), append(args, *f.Success)
	}
	if f.BeforeID > 0 {
		conds, args = append(conds, "id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT id, time, action, success, provider_config_key, connection_id, provider, method, endpoint,
		status, duration_ms, attempts, message FROM activity`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	rows, err := s.r.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []store.Activity{}
	for rows.Next() {
		var (
			a      store.Activity
			at, ms int64
		)
		if err := rows.Scan(&a.ID, &at, &a.Action, &a.Success, &a.ProviderConfigKey, &a.ConnectionID, &a.Provider,
			&a.Method, &a.Endpoint, &a.Status, &ms, &a.Attempts, &a.Message); err != nil {
			return nil, dbErr(err)
		}
		a.Time, a.Duration = fromMicros(at), time.Duration(ms)*time.Millisecond
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}

// PruneActivity deletes entries older than t.
func (s *Store) PruneActivity(ctx context.Context, before time.Time) (int64, error) {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	res, err := s.w.ExecContext(ctx, `DELETE FROM activity WHERE time < ?`, micros(before))
	if err != nil {
		return 0, dbErr(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// GetMeta returns a server-wide setting.
func (s *Store) GetMeta(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = ?`, name).Scan(&v)
	return v, dbErr(err)
}

// SetMeta writes a server-wide setting.
func (s *Store) SetMeta(ctx context.Context, name, value string) error {
	ctx, cancel := s.writeCtx(ctx)
	defer cancel()
	_, err := s.w.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return dbErr(err)
}
