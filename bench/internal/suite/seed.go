package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// IntegrationKey is the provider config key every benchmark connection
// belongs to; TemplateName is its provider template (written by the suite
// into a NANGO_PROVIDERS_FILE pointing at the local provider and upstream).
const (
	IntegrationKey = "bench"
	TemplateName   = "bench-api"
)

// connID names the i-th benchmark connection; stormID the i-th connection of
// the refresh storm.
func connID(i int) string  { return fmt.Sprintf("user-%07d", i) }
func stormID(i int) string { return fmt.Sprintf("storm-%07d", i) }

// accessToken is the stored access token of connection i (the proxy's
// direct calls send it themselves).
func accessToken(i int) string { return fmt.Sprintf("at-%07d-%s", i, strings.Repeat("a", 32)) }

// providersYAML is the custom template: OAuth 2 against the local provider,
// proxying to the local upstream.
func providersYAML(providerAddr, upstreamAddr string) string {
	return fmt.Sprintf(`%s:
  display_name: Benchmark API
  auth_mode: OAUTH2
  authorization_url: http://%s/authorize
  token_url: http://%s/token
  proxy:
    base_url: http://%s
`, TemplateName, providerAddr, providerAddr, upstreamAddr)
}

// api is a small client of the server under test.
type api struct {
	base   string
	secret string
	c      *http.Client
}

func newAPI(addr, secretKey string) *api {
	return &api{base: "http://" + addr, secret: secretKey, c: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

func (a *api) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// createIntegration creates the benchmark integration (POST /config).
func (a *api) createIntegration(ctx context.Context) error {
	st, b, err := a.do(ctx, http.MethodPost, "/config", map[string]any{
		"provider_config_key": IntegrationKey, "provider": TemplateName,
		"oauth_client_id": "bench-client", "oauth_client_secret": "bench-client-secret", "oauth_scopes": "read,write",
	})
	if err != nil {
		return err
	}
	if st != http.StatusOK && st != http.StatusCreated {
		return fmt.Errorf("POST /config: %d %s", st, b)
	}
	return nil
}

// importBody is one POST /connection body: realistic sizes (40-character
// tokens, a little metadata and connection config).
func importBody(id, at, rt string, expires time.Time) map[string]any {
	return map[string]any{
		"provider_config_key": IntegrationKey, "connection_id": id,
		"access_token": at, "refresh_token": rt, "expires_at": expires.UTC().Format(time.RFC3339),
		"metadata":          map[string]any{"account": "acme-" + id, "plan": "pro"},
		"connection_config": map[string]any{"tenant": "acme"},
	}
}

// importConnections imports ids through POST /connection, 8 at a time.
func (a *api) importConnections(ctx context.Context, n int, body func(i int) map[string]any) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				st, b, err := a.do(ctx, http.MethodPost, "/connection", body(i))
				if err == nil && st != http.StatusCreated && st != http.StatusOK {
					err = fmt.Errorf("POST /connection: %d %s", st, b)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// copyConnections writes connections [from, to) straight into the
// connections table with COPY, credentials sealed with key exactly as the
// server seals them (so every row is readable by the server). It is for
// the scale runs only: the API-seeded runs never use it.
func copyConnections(ctx context.Context, dsn string, key secret.Key, from, to int) error {
	kr, err := secret.NewKeyring(key)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	now := time.Now().UTC().Truncate(time.Microsecond)
	exp := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	cols := []string{"provider_config_key", "connection_id", "auth_mode", "expires_at", "created_at", "updated_at",
		"connection_config", "metadata", "credentials_key", "credentials"}
	const batch = 50_000
	for lo := from; lo < to; lo += batch {
		hi := min(lo+batch, to)
		rows := make([][]any, 0, hi-lo)
		for i := lo; i < hi; i++ {
			id := connID(i)
			c := store.Credentials{Type: store.OAuth2, AccessToken: secret.String(accessToken(i)),
				RefreshToken: secret.String("rt-" + id), ExpiresAt: &exp,
				Raw: map[string]any{"access_token": accessToken(i), "refresh_token": "rt-" + id, "expires_at": store.FormatTime(exp)}}
			sealed, kid, err := store.SealCredentials(kr, c, IntegrationKey, id)
			if err != nil {
				return err
			}
			rows = append(rows, []any{IntegrationKey, id, "OAUTH2", exp, now, now,
				`{"tenant":"acme"}`, `{"account":"acme-` + id + `","plan":"pro"}`, kid, sealed})
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"connections"}, cols, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("COPY connections: %w", err)
		}
	}
	// Steady state, as autovacuum reaches on its own: the visibility map
	// set (index-only scans) and fresh statistics.
	_, err = conn.Exec(ctx, "VACUUM ANALYZE connections")
	return err
}

// recreateDatabase drops and creates a scratch database and returns its URL.
func recreateDatabase(ctx context.Context, adminURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(context.Background())
	id := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+id); err != nil {
		return "", err
	}
	cfg := conn.Config()
	u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	return u, nil
}

// dropDatabase removes a scratch database.
func dropDatabase(ctx context.Context, adminURL, name string) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 {
			if k := strings.Index(u[i+3:i+3+j], ":"); k >= 0 {
				return u[:i+3+k] + ":***" + u[i+3+j:]
			}
		}
	}
	return u
}
