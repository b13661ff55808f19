package client

import (
	"context"
	"net/http"
	"time"
)

// Integration is an integration (the reference's "provider config").
type Integration struct {
	ID                int64     `json:"id"`
	UniqueKey         string    `json:"unique_key"`
	Provider          string    `json:"provider"`
	OAuthClientID     string    `json:"oauth_client_id"`
	OAuthClientSecret string    `json:"oauth_client_secret"`
	OAuthScopes       string    `json:"oauth_scopes"` // comma-separated
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// IntegrationInput creates or updates an integration.
type IntegrationInput struct {
	ProviderConfigKey string `json:"provider_config_key"`
	Provider          string `json:"provider"`
	OAuthClientID     string `json:"oauth_client_id,omitempty"`
	OAuthClientSecret string `json:"oauth_client_secret,omitempty"`
	OAuthScopes       string `json:"oauth_scopes"` // comma- or space-separated
}

// ListIntegrations returns every integration (GET /config).
func (c *Client) ListIntegrations(ctx context.Context) ([]Integration, error) {
	var out struct {
		Configs []Integration `json:"configs"`
	}
	if err := c.do(ctx, http.MethodGet, c.endpoint(nil, "config"), nil, &out); err != nil {
		return nil, err
	}
	return out.Configs, nil
}

// GetIntegration returns one integration (GET /config/:key).
func (c *Client) GetIntegration(ctx context.Context, key string) (*Integration, error) {
	var out struct {
		Config Integration `json:"config"`
	}
	if err := c.do(ctx, http.MethodGet, c.endpoint(nil, "config", key), nil, &out); err != nil {
		return nil, err
	}
	return &out.Config, nil
}

// CreateIntegration creates an integration (POST /config) and returns its id.
func (c *Client) CreateIntegration(ctx context.Context, in IntegrationInput) (int64, error) {
	var out struct {
		ConfigID int64 `json:"config_id"`
	}
	if err := c.do(ctx, http.MethodPost, c.endpoint(nil, "config"), in, &out); err != nil {
		return 0, err
	}
	return out.ConfigID, nil
}

// UpdateIntegration replaces an integration's provider, client and scopes
// (PUT /config).
func (c *Client) UpdateIntegration(ctx context.Context, in IntegrationInput) error {
	return c.do(ctx, http.MethodPut, c.endpoint(nil, "config"), in, nil)
}

// DeleteIntegration deletes an integration and all its connections
// (DELETE /config/:key). Deleting an absent key succeeds.
func (c *Client) DeleteIntegration(ctx context.Context, key string) error {
	return c.do(ctx, http.MethodDelete, c.endpoint(nil, "config", key), nil, nil)
}
