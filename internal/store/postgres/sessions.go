package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// CreateOAuthSession stores a new session, its secrets sealed.
func (s *Store) CreateOAuthSession(ctx context.Context, o store.OAuthSession) error {
	if o.ID == "" {
		return errors.New("postgres: OAuth session id is empty")
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
	_, err = s.pool.Exec(ctx, `INSERT INTO oauth_sessions
		(id, provider, provider_config_key, connection_id, callback_url, auth_mode, connection_config,
		 ws_client_id, created_at, expires_at, secrets_key, secrets)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		o.ID, o.Provider, o.ProviderConfigKey, o.ConnectionID, o.CallbackURL, string(o.AuthMode), cfg,
		o.WSClientID, o.CreatedAt, o.ExpiresAt, keyID, sealed)
	return dbErr(err)
}

// TakeOAuthSession deletes the session and returns it, unless it expired.
func (s *Store) TakeOAuthSession(ctx context.Context, id string) (store.OAuthSession, error) {
	var (
		o                 store.OAuthSession
		mode              string
		cfg               []byte
		keyID, sealedSecs string
	)
	err := s.pool.QueryRow(ctx, `DELETE FROM oauth_sessions WHERE id = $1
		RETURNING id, provider, provider_config_key, connection_id, callback_url, auth_mode, connection_config,
		ws_client_id, created_at, expires_at, secrets_key, secrets`, id).Scan(
		&o.ID, &o.Provider, &o.ProviderConfigKey, &o.ConnectionID, &o.CallbackURL, &mode, &cfg,
		&o.WSClientID, &o.CreatedAt, &o.ExpiresAt, &keyID, &sealedSecs)
	if err != nil {
		return store.OAuthSession{}, dbErr(err)
	}
	o.AuthMode = store.AuthMode(mode)
	o.CreatedAt, o.ExpiresAt = o.CreatedAt.UTC(), o.ExpiresAt.UTC()
	if !o.ExpiresAt.After(s.now()) {
		return store.OAuthSession{}, store.ErrNotFound
	}
	if o.ConnectionConfig, err = store.DecodeJSONMap(cfg); err != nil {
		return store.OAuthSession{}, err
	}
	if o.CodeVerifier, o.RequestTokenSecret, err = store.OpenSessionSecrets(s.sealer, sealedSecs, keyID, o.ID); err != nil {
		return store.OAuthSession{}, err
	}
	return o, nil
}

// PruneOAuthSessions deletes sessions that expired before t.
func (s *Store) PruneOAuthSessions(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oauth_sessions WHERE expires_at < $1`, before)
	if err != nil {
		return 0, dbErr(err)
	}
	return tag.RowsAffected(), nil
}

// AddActivity appends an entry, setting its ID (and Time when zero).
func (s *Store) AddActivity(ctx context.Context, a *store.Activity) error {
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	a.Time = a.Time.UTC().Truncate(time.Microsecond)
	a.Duration = a.Duration.Round(time.Millisecond)
	return dbErr(s.pool.QueryRow(ctx, `INSERT INTO activity
		(time, action, success, provider_config_key, connection_id, provider, method, endpoint, status,
		 duration_ms, attempts, message)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		a.Time, a.Action, a.Success, a.ProviderConfigKey, a.ConnectionID, a.Provider, a.Method,
		a.Endpoint, a.Status, a.Duration.Milliseconds(), a.Attempts, a.Message).Scan(&a.ID))
}

// ListActivity returns matching entries, newest first.
func (s *Store) ListActivity(ctx context.Context, f store.ActivityFilter) ([]store.Activity, error) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Action != "" {
		add("action =", f.Action)
	}
	if f.ProviderConfigKey != "" {
		add("provider_config_key =", f.ProviderConfigKey)
	}
	if f.ConnectionID != "" {
		add("connection_id =", f.ConnectionID)
	}
	if f.Success != nil {
		add("success =", *f.Success)
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
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
	args = append(args, limit)
	q += " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []store.Activity{}
	for rows.Next() {
		var (
			a  store.Activity
			ms int64
		)
		if err := rows.Scan(&a.ID, &a.Time, &a.Action, &a.Success, &a.ProviderConfigKey, &a.ConnectionID, &a.Provider,
			&a.Method, &a.Endpoint, &a.Status, &ms, &a.Attempts, &a.Message); err != nil {
			return nil, dbErr(err)
		}
		a.Time, a.Duration = a.Time.UTC(), time.Duration(ms)*time.Millisecond
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}

// PruneActivity deletes entries older than t.
func (s *Store) PruneActivity(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM activity WHERE time < $1`, before)
	if err != nil {
		return 0, dbErr(err)
	}
	return tag.RowsAffected(), nil
}

// GetMeta returns a server-wide setting.
func (s *Store) GetMeta(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE name = $1`, name).Scan(&v)
	return v, dbErr(err)
}

// SetMeta writes a server-wide setting.
func (s *Store) SetMeta(ctx context.Context, name, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return dbErr(err)
}
