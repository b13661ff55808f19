package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/nango-go/nango/client"
)

// nango proxy: one call to a provider's API through the server's proxy
// (ALL /proxy/*), the body streamed to stdout.

// maxBufferedFile is the largest --data @file read into memory (so that
// its length is sent, and the server can replay it on a retry); larger
// files are streamed.
const maxBufferedFile = 8 << 20

// headerFlag collects repeated -H 'Name: value'.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string  { return "" }
func (f *headerFlag) argName() string { return "'NAME: VALUE'" }
func (f *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("expected 'Name: value', not %q", s)
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// queryFlag collects repeated --query key=value.
type queryFlag struct{ q url.Values }

func (f *queryFlag) String() string  { return "" }
func (f *queryFlag) argName() string { return "KEY=VALUE" }
func (f *queryFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected key=value, not %q", s)
	}
	if f.q == nil {
		f.q = url.Values{}
	}
	f.q.Add(k, v)
	return nil
}

func proxySpec() *apiSpec {
	return &apiSpec{
		name: "proxy", summary: "Call a provider's API with a connection's credentials (ALL /proxy/*)",
		args: "<method> <endpoint>", minArgs: 2, maxArgs: 2, noJSON: true,
		about: `The endpoint is relative to the API base URL of the integration's template (its
proxy.base_url, or base_api_url in seed-era files) and may carry a query string.
The server adds the connection's credentials, refreshing them when due. The
provider's body is streamed to stdout as it arrives, whatever its status; a
status of 400 or more exits 1 (the body is still printed), as does an error of
the proxy itself ("❌ <message> (<type>)" on stderr).
-H headers reach the provider (sent as Nango-Proxy-<Name>; Content-Type and
Accept as they are). --data sends Content-Type: application/json unless a -H
says otherwise.`,
		example: `nango proxy GET /user --integration github --connection user-42
			nango proxy POST /repos/o/r/issues --integration github --connection user-42 --data '{"title":"Hi"}'
			nango proxy PUT /files/report.csv --integration drive --connection u1 -H 'Content-Type: text/csv' --data @report.csv
			nango proxy GET /search --query q=nango --retries 3 --integration github --connection user-42 -i`,
		setup: func(fs *flag.FlagSet) apiRunner {
			conn := fs.String("connection", "", "the connection's `ID` (required)")
			integ := fs.String("integration", "", "the integration's `KEY` (provider_config_key; required)")
			retries := fs.Int("retries", 0, "`N` attempts in total on 429, 5xx and network errors (0 or 1: one)")
			headers := &headerFlag{}
			fs.Var(headers, "H", "header for the provider (repeatable)")
			fs.Var(headers, "header", "same as -H")
			query := &queryFlag{}
			fs.Var(query, "query", "query parameter (repeatable)")
			data := &valueFlag{arg: "TEXT|-|@FILE"}
			fs.Var(data, "data", "request body: text, - (standard input, streamed) or @file")
			include := fs.Bool("i", false, "print the response status and headers on stderr")
			override := fs.String("base-url-override", "", "another API base `URL` for this call (the server must allow it)")
			return func(ctx context.Context, e *apiEnv, args []string) error {
				if *conn == "" || *integ == "" {
					return usagef("--connection and --integration are required")
				}
				if *retries < 0 {
					return usagef("--retries must not be negative")
				}
				method := strings.ToUpper(args[0])
				if !validMethod(method) {
					return usagef("%q is not an HTTP method", args[0])
				}
				req := client.ProxyRequest{
					Method: method, Endpoint: args[1], ProviderConfigKey: *integ, ConnectionID: *conn,
					Retries: *retries, Headers: headers.h, Query: query.q, BaseURLOverride: *override,
				}
				if data.set {
					body, closeBody, err := proxyBody(e, data)
					if err != nil {
						return err
					}
					defer closeBody()
					req.Body = body
					if req.Headers.Get("Content-Type") == "" {
						if req.Headers == nil {
							req.Headers = http.Header{}
						}
						req.Headers.Set("Content-Type", "application/json")
					}
				}
				resp, err := e.c.Proxy(ctx, req)
				if err != nil {
					return e.fail(err)
				}
				defer resp.Body.Close()
				if *include {
					writeResponseHead(e.o.Stderr, resp)
				}
				if _, err := io.Copy(e.o.Stdout, resp.Body); err != nil {
					return exitError{ExitError, fmt.Errorf("reading the provider's response: %w", err)}
				}
				if resp.StatusCode >= 400 {
					return exitError{ExitError, fmt.Errorf("❌ the provider answered %s", resp.Status)}
				}
				return nil
			}
		},
	}
}

// proxyBody opens --data.
func proxyBody(e *apiEnv, data *valueFlag) (io.Reader, func(), error) {
	none := func() {}
	switch {
	case data.raw == "-":
		return e.stdin(), none, nil
	case strings.HasPrefix(data.raw, "@"):
		f, err := os.Open(data.raw[1:])
		if err != nil {
			return nil, none, usagef("--data: %v", err)
		}
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= maxBufferedFile {
			b, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return nil, none, fmt.Errorf("--data: %w", err)
			}
			return bytes.NewReader(b), none, nil
		}
		return f, func() { _ = f.Close() }, nil
	}
	return strings.NewReader(data.raw), none, nil
}

// validMethod reports whether m is an HTTP token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}

// writeResponseHead prints the status line and headers, sorted.
func writeResponseHead(w io.Writer, resp *http.Response) {
	fmt.Fprintf(w, "%s %s\n", resp.Proto, resp.Status)
	names := make([]string, 0, len(resp.Header))
	for n := range resp.Header {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range resp.Header[n] {
			fmt.Fprintf(w, "%s: %s\n", textproto.CanonicalMIMEHeaderKey(n), v)
		}
	}
	fmt.Fprintln(w)
}
