package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nango-go/nango/client"
)

// exampleServer starts a real nango server in-process (SQLite in a
// temporary directory) with the secret key "sk-example", for the examples
// to run against. Yours runs with `nango serve`.
func exampleServer() *apiServer {
	s, err := openAPIServer(map[string]string{"NANGO_SECRET_KEY": "sk-example"})
	if err != nil {
		panic(err)
	}
	return s
}

// exampleAPI is a provider's API for the proxy example: GET /user answers
// with the caller's Authorization header.
func exampleAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/user" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Not Found"}`)
			return
		}
		fmt.Fprintf(w, `{"login":"octocat","auth":%q}`, r.Header.Get("Authorization"))
	}))
}

// exampleProxyServer is exampleServer with a provider template "my-api"
// whose API base URL is api.
func exampleProxyServer(api string) *apiServer {
	dir, err := os.MkdirTemp("", "nango-example-")
	if err != nil {
		panic(err)
	}
	file := filepath.Join(dir, "providers.yaml")
	yaml := "my-api:\n  auth_mode: API_KEY\n  proxy:\n    base_url: " + api + "\n    headers:\n      authorization: Bearer ${apiKey}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		panic(err)
	}
	s, err := openAPIServer(map[string]string{"NANGO_SECRET_KEY": "sk-example", "NANGO_PROVIDERS_FILE": file})
	if err != nil {
		panic(err)
	}
	s.extra = dir
	return s
}

// The whole round trip: store an integration, import a connection made
// elsewhere, and read its access token.
func Example() {
	nango := exampleServer()
	defer nango.Close()
	ctx := context.Background()

	c, err := client.New(nango.URL, client.WithSecretKey("sk-example"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.CreateIntegration(ctx, client.IntegrationInput{
		ProviderConfigKey: "github", Provider: "github",
		OAuthClientID: "Iv1.example", OAuthClientSecret: "example-secret", OAuthScopes: "repo,user",
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.ImportConnection(ctx, client.ImportConnectionInput{
		ProviderConfigKey: "github", ConnectionID: "user-42", AccessToken: "gho_example",
	}); err != nil {
		log.Fatal(err)
	}
	tok, err := c.Token(ctx, "github", "user-42", false)
	if err != nil {
		log.Fatal(err)
	}
	if t, ok := tok.(client.OAuth2Token); ok {
		fmt.Println("access token:", t.AccessToken)
	}
	// Output: access token: gho_example
}

// Errors from the server are *client.APIError values carrying its status,
// type and message.
func ExampleAPIError() {
	nango := exampleServer()
	defer nango.Close()

	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))
	_, err := c.GetIntegration(context.Background(), "no-such-integration")

	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Type)
		fmt.Println(apiErr.Message)
	}
	// Output:
	// 400 unknown_provider_config
	// There is no Provider Configuration matching this key.
}

// A wrong secret key is refused before anything else.
func ExampleIsType() {
	nango := exampleServer()
	defer nango.Close()

	c, _ := client.New(nango.URL, client.WithSecretKey("not-the-key"))
	_, err := c.ListIntegrations(context.Background())
	fmt.Println(client.IsType(err, "invalid_secret_key"))
	// Output: true
}

// Token returns typed credentials: switch on the type to use them.
func ExampleClient_Token() {
	nango := exampleServer()
	defer nango.Close()
	ctx := context.Background()
	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))

	// An API-key integration ("airtable-pat" is API_KEY in the catalog)
	// and a connection holding a key.
	if _, err := c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "airtable", Provider: "airtable-pat"}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.ImportConnection(ctx, client.ImportConnectionInput{
		ProviderConfigKey: "airtable", ConnectionID: "acme", APIKey: "patAbc123.secret456",
	}); err != nil {
		log.Fatal(err)
	}

	tok, err := c.Token(ctx, "airtable", "acme", false)
	if err != nil {
		log.Fatal(err)
	}
	switch t := tok.(type) {
	case client.OAuth2Token:
		fmt.Println("Bearer", t.AccessToken)
	case client.OAuth1Token:
		fmt.Println("OAuth 1 token", t.Token)
	case client.APIKeyToken:
		fmt.Println("API key", t.APIKey)
	case client.BasicToken:
		fmt.Println("user", t.Username)
	}
	fmt.Println(tok) // printing a token never shows its secret
	// Output:
	// API key patAbc123.secret456
	// {API_KEY, secrets redacted}
}

// ImportConnection stores credentials obtained elsewhere, e.g. when
// migrating to nango; the server refreshes them from then on.
func ExampleClient_ImportConnection() {
	nango := exampleServer()
	defer nango.Close()
	ctx := context.Background()
	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))
	if _, err := c.CreateIntegration(ctx, client.IntegrationInput{
		ProviderConfigKey: "google", Provider: "google", OAuthClientID: "id", OAuthClientSecret: "secret",
	}); err != nil {
		log.Fatal(err)
	}

	conn, err := c.ImportConnection(ctx, client.ImportConnectionInput{
		ProviderConfigKey: "google",
		ConnectionID:      "user-42",
		AccessToken:       "ya29.example",
		RefreshToken:      "1//example",
		ExpiresAt:         time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Metadata:          map[string]any{"plan": "pro"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conn.ConnectionID, conn.Credentials.Type, conn.Credentials.ExpiresAt.Format(time.RFC3339), conn.Metadata["plan"])
	// Output: user-42 OAUTH2 2030-01-01T00:00:00Z pro
}

// ListConnections lists connections without their credentials, newest
// first; the filter keeps one connection id.
func ExampleClient_ListConnections() {
	nango := exampleServer()
	defer nango.Close()
	ctx := context.Background()
	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))
	_, _ = c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "github", Provider: "github", OAuthClientID: "id", OAuthClientSecret: "secret"})
	for _, id := range []string{"user-1", "user-2"} {
		_, _ = c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "github", ConnectionID: id, AccessToken: "t-" + id})
	}

	all, _ := c.ListConnections(ctx, client.ConnectionFilter{})
	for _, s := range all {
		fmt.Println(s.ProviderConfigKey, s.ConnectionID)
	}
	one, _ := c.ListConnections(ctx, client.ConnectionFilter{ConnectionID: "user-1"})
	fmt.Println(len(one))
	// Output:
	// github user-2
	// github user-1
	// 1
}

// TokenSource plugs the server's tokens into golang.org/x/oauth2: the
// returned source can back oauth2.NewClient or any library taking an
// oauth2.TokenSource.
func ExampleClient_TokenSource() {
	nango := exampleServer()
	defer nango.Close()
	ctx := context.Background()
	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))
	_, _ = c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "github", Provider: "github", OAuthClientID: "id", OAuthClientSecret: "secret"})
	_, _ = c.ImportConnection(ctx, client.ImportConnectionInput{
		ProviderConfigKey: "github", ConnectionID: "user-42", AccessToken: "gho_example", ExpiresIn: time.Hour,
	})

	// With golang.org/x/oauth2: httpClient := oauth2.NewClient(ctx, ts)
	ts := c.TokenSource(ctx, "github", "user-42")
	tok, err := ts.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.AccessToken, tok.Valid())
	// Output: Bearer gho_example true
}

// Proxy calls the provider's API with the connection's credentials and
// returns the provider's response as it is, errors included; errors of
// the proxy itself are *APIError values.
func ExampleClient_Proxy() {
	api := exampleAPI()
	defer api.Close()
	nango := exampleProxyServer(api.URL)
	defer nango.Close()
	ctx := context.Background()
	c, _ := client.New(nango.URL, client.WithSecretKey("sk-example"))
	_, _ = c.CreateIntegration(ctx, client.IntegrationInput{ProviderConfigKey: "api", Provider: "my-api"})
	_, _ = c.ImportConnection(ctx, client.ImportConnectionInput{ProviderConfigKey: "api", ConnectionID: "acme", APIKey: "key-123"})

	resp, err := c.Proxy(ctx, client.ProxyRequest{
		Method: "GET", Endpoint: "/user", ProviderConfigKey: "api", ConnectionID: "acme", Retries: 3,
	})
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, _ = c.Proxy(ctx, client.ProxyRequest{Endpoint: "/nope", ProviderConfigKey: "api", ConnectionID: "acme"})
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "from the provider")

	_, err = c.Proxy(ctx, client.ProxyRequest{Endpoint: "/user", ProviderConfigKey: "api", ConnectionID: "nobody"})
	fmt.Println(client.IsType(err, "unkown_connection"), strings.Contains(err.Error(), "HTTP 400"))
	// Output:
	// 200 {"login":"octocat","auth":"Bearer key-123"}
	// 404 from the provider
	// true true
}
