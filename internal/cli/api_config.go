package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/nango-go/nango/client"
)

// The integration commands (the reference's "provider configs"): /config.

func configListSpec() *apiSpec {
	return &apiSpec{
		name: "config:list", summary: "List integrations (GET /config)",
		about:   "Prints each integration's key, provider template, scopes and creation time.\nWith --json: {\"configs\":[...]} with every field, client secrets included.",
		example: "nango config:list\nnango config:list --json | jq -r '.configs[].unique_key'",
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, _ []string) error {
				list, err := e.c.ListIntegrations(ctx)
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"configs": list})
				}
				if len(list) == 0 {
					fmt.Fprintln(e.o.Stdout, "No integrations. Create one with: nango config:create <provider_config_key> <provider> <oauth_client_id> <oauth_client_secret> <oauth_scopes>")
					return nil
				}
				tw := e.table()
				fmt.Fprintln(tw, "UNIQUE_KEY\tPROVIDER\tSCOPES\tCREATED")
				for _, in := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.UniqueKey, in.Provider, dash(in.OAuthScopes), formatTime(in.CreatedAt))
				}
				return tw.Flush()
			}
		},
	}
}

func configGetSpec() *apiSpec {
	return &apiSpec{
		name: "config:get", summary: "Show one integration (GET /config/:key)",
		args: "<provider_config_key>", minArgs: 1, maxArgs: 1,
		about:   "The client secret is hidden in text mode; --json prints {\"config\":{...}} with it.",
		example: "nango config:get github\nnango config:get github --json",
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, args []string) error {
				in, err := e.c.GetIntegration(ctx, args[0])
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"config": in})
				}
				secret := "(none)"
				if in.OAuthClientSecret != "" {
					secret = "******** (hidden; use --json to see it)"
				}
				tw := e.table()
				for _, row := range [][2]string{
					{"unique_key", in.UniqueKey},
					{"provider", in.Provider},
					{"oauth_client_id", dash(in.OAuthClientID)},
					{"oauth_client_secret", secret},
					{"oauth_scopes", dash(in.OAuthScopes)},
					{"created_at", formatTime(in.CreatedAt)},
					{"updated_at", formatTime(in.UpdatedAt)},
				} {
					fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
				}
				return tw.Flush()
			}
		},
	}
}

const configArgs = "<provider_config_key> <provider> [<oauth_client_id> <oauth_client_secret> [<oauth_scopes>]]"

const configArgsAbout = `provider is a template of the catalog (docs/providers.md) or of NANGO_PROVIDERS_FILE.
OAuth templates need the client id and secret registered with the provider; API_KEY
and BASIC templates need neither. oauth_scopes is comma- or space-separated. An
oauth_client_secret of "-" is read from standard input.`

// integrationInput builds the body of config:create and config:edit.
func integrationInput(e *apiEnv, args []string) (client.IntegrationInput, error) {
	in := client.IntegrationInput{ProviderConfigKey: args[0], Provider: args[1]}
	if len(args) > 2 {
		in.OAuthClientID = args[2]
	}
	if len(args) > 3 {
		in.OAuthClientSecret = args[3]
		if args[3] == "-" { // only "-" is special for a positional secret
			used := false
			v := valueFlag{raw: "-"}
			s, err := v.resolve(e, "oauth_client_secret", &used)
			if err != nil {
				return in, err
			}
			in.OAuthClientSecret = s
		}
	}
	if len(args) > 4 {
		in.OAuthScopes = args[4]
	}
	if len(args) == 3 {
		return in, usagef("oauth_client_id given without oauth_client_secret")
	}
	return in, nil
}

func configCreateSpec() *apiSpec {
	return &apiSpec{
		name: "config:create", summary: "Create an integration (POST /config)",
		args: configArgs, minArgs: 2, maxArgs: 5,
		about: configArgsAbout + "\nWith --json: {\"config_id\":N}.",
		example: `nango config:create github github Iv1.0123 "$GITHUB_CLIENT_SECRET" repo,user
			nango config:create stripe stripe-api-key`,
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, args []string) error {
				in, err := integrationInput(e, args)
				if err != nil {
					return err
				}
				id, err := e.c.CreateIntegration(ctx, in)
				if err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"config_id": id})
				}
				fmt.Fprintf(e.o.Stdout, "Created integration %q (provider %s, id %d).\n", in.ProviderConfigKey, in.Provider, id)
				return nil
			}
		},
	}
}

func configEditSpec() *apiSpec {
	return &apiSpec{
		name: "config:edit", summary: "Replace an integration's provider, client and scopes (PUT /config)",
		args: configArgs, minArgs: 2, maxArgs: 5,
		about: configArgsAbout + "\nEvery value is replaced: one left out becomes empty.\n" +
			"With --json: {\"provider_config_key\":...,\"updated\":true}.",
		example: `nango config:edit github github Iv1.0123 "$GITHUB_CLIENT_SECRET" repo,user,gist`,
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, args []string) error {
				in, err := integrationInput(e, args)
				if err != nil {
					return err
				}
				if err := e.c.UpdateIntegration(ctx, in); err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"provider_config_key": in.ProviderConfigKey, "updated": true})
				}
				fmt.Fprintf(e.o.Stdout, "Updated integration %q.\n", in.ProviderConfigKey)
				return nil
			}
		},
	}
}

func configDeleteSpec() *apiSpec {
	return &apiSpec{
		name: "config:delete", summary: "Delete an integration and its connections (DELETE /config/:key)",
		args: "<provider_config_key>", minArgs: 1, maxArgs: 1,
		about: "Deleting an integration that does not exist succeeds, as on the server.\n" +
			"With --json: {\"provider_config_key\":...,\"deleted\":true}.",
		example: "nango config:delete github",
		setup: func(*flag.FlagSet) apiRunner {
			return func(ctx context.Context, e *apiEnv, args []string) error {
				if err := e.c.DeleteIntegration(ctx, args[0]); err != nil {
					return e.fail(err)
				}
				if e.json {
					return e.printJSON(map[string]any{"provider_config_key": args[0], "deleted": true})
				}
				fmt.Fprintf(e.o.Stdout, "Deleted integration %q and its connections.\n", args[0])
				return nil
			}
		},
	}
}

// formatTime formats t for tables (UTC, seconds); "-" when zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// dash is s, or "-" when empty (tables need a cell).
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
