package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/client"
)

// The connection commands (/connection) and token:get.

func connectionListSpec() *apiSpec {
	return &apiSpec{
		name: "connection:list", summary: "List connections, newest first (GET /connection)",
		about: "No credentials are listed and nothing is refreshed.\n" +
			"With --json: {\"connections\":[{\"id\",\"connection_id\",\"provider\",\"created\"}]} (\"provider\" is the integration's key, as on the wire).",
		example: "nango connection:list\nnango connection:list --connection-id user-42 --json",
		setup: func(fs *flag.FlagSet) apiRunner {
			id := fs.String("connection-id", "", "only the connections with this connection `ID`")
			return func(ctx context.Context, e *apiEnv, _ []string) error {
				list, err := e.c.ListConnections(ctx, client.ConnectionFilter{ConnectionID: *id})
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"connections": list})
				}
				if len(list) == 0 {
					fmt.Fprintln(e.o.Stdout, "No connections.")
					return nil
				}
				tw := e.table()
				fmt.Fprintln(tw, "CONNECTION_ID\tPROVIDER_CONFIG_KEY\tCREATED")
				for _, c := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ConnectionID, c.ProviderConfigKey, formatTime(c.Created))
				}
				return tw.Flush()
			}
		},
	}
}

func connectionGetSpec() *apiSpec {
	return &apiSpec{
		name: "connection:get", summary: "Show a connection, refreshing its token when due (GET /connection/:id)",
		args: "<provider_config_key> <connection_id>", minArgs: 2, maxArgs: 2,
		about: "Text mode shows the connection without its secrets (token:get prints them);\n" +
			"--json prints the server's whole answer, credentials included.",
		example: "nango connection:get github user-42\nnango connection:get github user-42 --force-refresh --json",
		setup: func(fs *flag.FlagSet) apiRunner {
			force := fs.Bool("force-refresh", false, "refresh the OAuth 2 token at the provider even if it is not due")
			return func(ctx context.Context, e *apiEnv, args []string) error {
				conn, err := e.c.GetConnection(ctx, args[0], args[1], *force)
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(conn)
				}
				cr := conn.Credentials
				rows := [][2]string{
					{"connection_id", conn.ConnectionID},
					{"provider_config_key", conn.ProviderConfigKey},
					{"credentials", string(cr.Type)},
				}
				if cr.Type == client.ModeOAuth2 || cr.Type == client.ModeOAuth2CC {
					exp := "unknown"
					if cr.ExpiresAt != nil {
						exp = formatTime(*cr.ExpiresAt) + " (" + untilText(*cr.ExpiresAt) + ")"
					}
					rows = append(rows, [2]string{"expires_at", exp})
					if cr.Type == client.ModeOAuth2 {
						rows = append(rows, [2]string{"refresh_token", yesNo(cr.RefreshToken != "", "stored", "none")})
					}
				}
				if cr.Type == client.ModeBasic {
					rows = append(rows, [2]string{"username", cr.Username})
				}
				rows = append(rows,
					[2]string{"connection_config", compactJSON(conn.ConnectionConfig)},
					[2]string{"metadata", compactJSON(conn.Metadata)},
					[2]string{"created_at", formatTime(conn.CreatedAt)},
					[2]string{"updated_at", formatTime(conn.UpdatedAt)},
				)
				tw := e.table()
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
				}
				return tw.Flush()
			}
		},
	}
}

func connectionDeleteSpec() *apiSpec {
	return &apiSpec{
		name: "connection:delete", summary: "Delete a connection (DELETE /connection/:id)",
		args: "<provider_config_key> <connection_id>", minArgs: 2, maxArgs: 2,
		about:   "With --json: {\"provider_config_key\",\"connection_id\",\"deleted\":true}.",
		example: "nango connection:delete github user-42",
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, args []string) error {
				if err := e.c.DeleteConnection(ctx, args[0], args[1]); err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"provider_config_key": args[0], "connection_id": args[1], "deleted": true})
				}
				fmt.Fprintf(e.o.Stdout, "Deleted connection %q of integration %q.\n", args[1], args[0])
				return nil
			}
		},
	}
}

func connectionImportSpec() *apiSpec {
	return &apiSpec{
		name: "connection:import", summary: "Store a connection with credentials obtained elsewhere (POST /connection)",
		args: "<provider_config_key> <connection_id>", minArgs: 2, maxArgs: 2,
		about: `Which credentials are needed depends on the integration's auth mode:
  OAUTH2             --access-token; optional --refresh-token, --expires-at or --expires-in, --raw
  OAUTH2_CC          nothing: the server obtains a token (or give --access-token and its expiry);
                     --client-id, --client-secret, --client-certificate, --client-private-key
                     when the template takes client credentials per connection
  OAUTH1             --oauth-token and --oauth-token-secret
  BASIC              --username and --password
  API_KEY            --api-key
Secret values may be given as "-" (read from standard input) or "@path" (read
from a file) to keep them out of the shell history and the process list.
Importing an existing connection replaces its credentials; its config and
metadata are kept unless given. With --json: the stored connection.`,
		example: `nango connection:import github user-42 --access-token - < token.txt
			nango connection:import google user-42 --access-token "$AT" --refresh-token "$RT" --expires-in 3600
			nango connection:import zendesk acme --access-token @at.txt --connection-config subdomain=acme
			nango connection:import airtable acme --api-key "$AIRTABLE_PAT"
			nango connection:import my-cc-api tenant-1 --client-id "$ID" --client-secret @secret.txt`,
		setup: func(fs *flag.FlagSet) apiRunner {
			secrets := map[string]*valueFlag{}
			secretFlag := func(name, usage string) {
				v := &valueFlag{arg: "VALUE|-|@FILE"}
				secrets[name] = v
				fs.Var(v, name, usage)
			}
			secretFlag("access-token", "OAUTH2/OAUTH2_CC access token")
			secretFlag("refresh-token", "OAUTH2 refresh token (the server refreshes with it)")
			expiresAt := fs.String("expires-at", "", "when the access token expires (`TIME` in RFC 3339, e.g. 2030-01-02T15:04:05Z)")
			expiresIn := fs.String("expires-in", "", "the access token's remaining lifetime: `SECONDS` (3600) or a duration (1h)")
			secretFlag("oauth-token", "OAUTH1 token")
			secretFlag("oauth-token-secret", "OAUTH1 token secret")
			username := fs.String("username", "", "BASIC `USERNAME`")
			secretFlag("password", "BASIC password")
			secretFlag("api-key", "API_KEY key")
			clientID := fs.String("client-id", "", "OAUTH2_CC: the connection's own client `ID`")
			secretFlag("client-secret", "OAUTH2_CC: the connection's own client secret")
			secretFlag("client-certificate", "OAUTH2_CC: the connection's client certificate (PEM; @file)")
			secretFlag("client-private-key", "OAUTH2_CC: the connection's private key (PEM or JWK; @file)")
			raw := &objectFlag{name: "raw"}
			fs.Var(raw, "raw", "the provider's token response, kept as is")
			cc := &objectFlag{name: "connection-config"}
			fs.Var(cc, "connection-config", "template parameters ({\"subdomain\":\"acme\"} or subdomain=acme, repeatable)")
			md := &objectFlag{name: "metadata"}
			fs.Var(md, "metadata", "free-form metadata (JSON object, @file or key=value, repeatable)")
			return func(ctx context.Context, e *apiEnv, args []string) error {
				in := client.ImportConnectionInput{
					ProviderConfigKey: args[0], ConnectionID: args[1], Username: *username, ClientID: *clientID,
					Raw: raw.m, ConnectionConfig: cc.m, Metadata: md.m,
				}
				stdinUsed := false
				vals := map[string]string{}
				for name, v := range secrets {
					if !v.set {
						continue
					}
					s, err := v.resolve(e, name, &stdinUsed)
					if err != nil {
						return err
					}
					vals[name] = s
				}
				in.AccessToken, in.RefreshToken = vals["access-token"], vals["refresh-token"]
				in.OAuthToken, in.OAuthTokenSecret = vals["oauth-token"], vals["oauth-token-secret"]
				in.Password, in.APIKey = vals["password"], vals["api-key"]
				in.ClientSecret, in.ClientCertificate, in.ClientPrivateKey = vals["client-secret"], vals["client-certificate"], vals["client-private-key"]
				if *expiresAt != "" && *expiresIn != "" {
					return usagef("give --expires-at or --expires-in, not both")
				}
				if *expiresAt != "" {
					t, err := time.Parse(time.RFC3339Nano, *expiresAt)
					if err != nil {
						return usagef("--expires-at %q is not an RFC 3339 date and time such as 2030-01-02T15:04:05Z", *expiresAt)
					}
					in.ExpiresAt = t
				}
				if *expiresIn != "" {
					d, err := parseLifetime(*expiresIn)
					if err != nil {
						return usagef("--expires-in %q: %v", *expiresIn, err)
					}
					in.ExpiresIn = d
				}
				conn, err := e.c.ImportConnection(ctx, in)
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(conn)
				}
				detail := string(conn.Credentials.Type)
				if exp := conn.Credentials.ExpiresAt; exp != nil {
					detail += ", expires " + formatTime(*exp)
				}
				fmt.Fprintf(e.o.Stdout, "Imported connection %q into integration %q (%s).\n", conn.ConnectionID, conn.ProviderConfigKey, detail)
				return nil
			}
		},
	}
}

// parseLifetime reads --expires-in: whole seconds or a Go duration.
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("expected seconds (3600) or a duration (1h)")
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

func tokenGetSpec() *apiSpec {
	return &apiSpec{
		name: "token:get", summary: "Print a connection's credentials, refreshed when due (GET /connection/:id)",
		args: "<provider_config_key> <connection_id>", minArgs: 2, maxArgs: 2,
		about: `Text mode prints the access token (OAUTH2, OAUTH2_CC) or API key alone on a line,
ready for $(...); OAUTH1 and BASIC print two lines (oauth_token/oauth_token_secret,
username/password). The expiry goes to stderr. --json prints
{"type","access_token","expires_at"}, {"type","oauth_token","oauth_token_secret"},
{"type","api_key"} or {"type","username","password"}.`,
		example: `nango token:get github user-42 --force-refresh --json
			curl -H "Authorization: Bearer $(nango token:get github user-42)" https://api.github.com/user`,
		setup: func(fs *flag.FlagSet) apiRunner {
			force := fs.Bool("force-refresh", false, "refresh the OAuth 2 token at the provider even if it is not due")
			return func(ctx context.Context, e *apiEnv, args []string) error {
				tok, err := e.c.Token(ctx, args[0], args[1], *force)
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(tokenJSON(tok))
				}
				switch t := tok.(type) {
				case client.OAuth2Token:
					fmt.Fprintln(e.o.Stdout, t.AccessToken)
					if t.Expiry.IsZero() {
						fmt.Fprintf(e.o.Stderr, "%s access token; expiry unknown\n", t.AuthMode())
					} else {
						fmt.Fprintf(e.o.Stderr, "%s access token; expires %s (%s)\n", t.AuthMode(), formatTime(t.Expiry), untilText(t.Expiry))
					}
				case client.APIKeyToken:
					fmt.Fprintln(e.o.Stdout, t.APIKey)
				case client.OAuth1Token:
					tw := e.table()
					fmt.Fprintf(tw, "oauth_token\t%s\noauth_token_secret\t%s\n", t.Token, t.Secret)
					return tw.Flush()
				case client.BasicToken:
					tw := e.table()
					fmt.Fprintf(tw, "username\t%s\npassword\t%s\n", t.Username, t.Password)
					return tw.Flush()
				}
				return nil
			}
		},
	}
}

// tokenOutput is token:get's --json shape: the type, then the fields of
// that auth mode.
type tokenOutput struct {
	Type             client.AuthMode `json:"type"`
	AccessToken      string          `json:"access_token,omitempty"`
	ExpiresAt        *time.Time      `json:"expires_at,omitempty"`
	OAuthToken       string          `json:"oauth_token,omitempty"`
	OAuthTokenSecret *string         `json:"oauth_token_secret,omitempty"`
	APIKey           string          `json:"api_key,omitempty"`
	Username         *string         `json:"username,omitempty"`
	Password         *string         `json:"password,omitempty"`
}

// tokenJSON is token:get's --json value.
func tokenJSON(tok client.Token) tokenOutput {
	out := tokenOutput{Type: tok.AuthMode()}
	switch t := tok.(type) {
	case client.OAuth2Token:
		out.AccessToken = t.AccessToken
		if !t.Expiry.IsZero() {
			exp := t.Expiry.UTC()
			out.ExpiresAt = &exp
		}
	case client.OAuth1Token:
		out.OAuthToken, out.OAuthTokenSecret = t.Token, &t.Secret
	case client.APIKeyToken:
		out.APIKey = t.APIKey
	case client.BasicToken:
		out.Username, out.Password = &t.Username, &t.Password
	}
	return out
}

// untilText says how far t is: "in 59m", "expired 3m ago".
func untilText(t time.Time) string {
	d := time.Until(t).Round(time.Second)
	if d < 0 {
		return "expired " + shortDuration(-d) + " ago"
	}
	return "in " + shortDuration(d)
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	default:
		return d.String()
	}
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// compactJSON is v as one line of JSON ("{}" for nil maps).
func compactJSON(v map[string]any) string {
	if len(v) == 0 {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
