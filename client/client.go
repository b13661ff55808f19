package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// AuthScheme is how the secret key is sent.
type AuthScheme int

const (
	// Basic sends Authorization: Basic base64("<key>:") (the CLI's and curl's form).
	Basic AuthScheme = iota
	// Bearer sends Authorization: Bearer <key> (what @nangohq/node 0.16 sends).
	Bearer
)

// Client talks to one nango server. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	hc     *http.Client
	key    string
	scheme AuthScheme
	ua     string
}

// Option configures a Client.
type Option func(*Client)

// WithSecretKey authenticates every request with the server's secret key
// (Basic by default; see WithAuthScheme). An empty key sends no header.
func WithSecretKey(key string) Option { return func(c *Client) { c.key = key } }

// WithAuthScheme chooses Basic (default) or Bearer for the secret key.
func WithAuthScheme(s AuthScheme) Option { return func(c *Client) { c.scheme = s } }

// WithHTTPClient uses hc for every request (timeouts, transports, proxies).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// New returns a client of the server at baseURL (e.g. http://localhost:3003).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(baseURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not an http(s) URL of a nango server", baseURL)
	}
	c := &Client{base: u, hc: http.DefaultClient, ua: "nango-go-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server URL the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// APIError is an error answered by the server: its HTTP status and the
// {error, type, payload} envelope.
type APIError struct {
	Status  int
	Type    string
	Message string
	Payload map[string]any
}

// Error returns "<message> (<type>, HTTP <status>)".
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Type == "" {
		return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	}
	return fmt.Sprintf("%s (%s, HTTP %d)", msg, e.Type, e.Status)
}

// IsType reports whether err is an *APIError of that type.
func IsType(err error, typ string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Type == typ
}

// endpoint joins path segments (each escaped) and query onto the base URL.
func (c *Client) endpoint(query url.Values, segments ...string) string {
	u := *c.base
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(u.Path, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	u.RawPath = b.String()
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		p = u.RawPath
	}
	u.Path = p
	u.RawQuery = query.Encode()
	return u.String()
}

// newRequest builds an authenticated request.
func (c *Client) newRequest(ctx context.Context, method, target string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	req.Header.Set("Accept", "application/json")
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	return req, nil
}

func (c *Client) authorize(req *http.Request) {
	if c.key == "" {
		return
	}
	if c.scheme == Bearer {
		req.Header.Set("Authorization", "Bearer "+c.key)
		return
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.key+":")))
}

// do sends a JSON request (in may be nil) and decodes a JSON response into
// out (may be nil). Non-2xx answers become *APIError.
func (c *Client) do(ctx context.Context, method, target string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, target, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: decoding %s %s response: %w", method, req.URL.Path, err)
	}
	return nil
}

// readAPIError turns an error response into *APIError.
func readAPIError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Status: resp.StatusCode}
	var env struct {
		Error   string         `json:"error"`
		Type    string         `json:"type"`
		Payload map[string]any `json:"payload"`
	}
	if json.Unmarshal(data, &env) == nil && (env.Type != "" || env.Error != "") {
		e.Type, e.Message, e.Payload = env.Type, env.Error, env.Payload
	} else {
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}
