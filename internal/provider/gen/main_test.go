package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const refDir = "../../../../shared/reference"

// TestGeneratedFilesUpToDate regenerates the catalog and docs/providers.md
// from the reference facts and compares them with the committed files.
func TestGeneratedFilesUpToDate(t *testing.T) {
	seedPath := filepath.Join(refDir, "providers-seed-era.yaml")
	if _, err := os.Stat(seedPath); err != nil {
		t.Skip("reference files not present:", err)
	}
	seed, err := readRef(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := readRef(filepath.Join(refDir, "providers-latest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seed.names) != 106 || len(latest.names) != 981 {
		t.Fatalf("reference sizes %d/%d, want 106/981", len(seed.names), len(latest.names))
	}
	res, err := Generate(seed, latest)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{"../catalog.yaml": res.Catalog, "../../../docs/providers.md": res.Docs} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./internal/provider", path)
		}
	}
	// Every reference template is listed in the docs.
	for _, n := range append(append([]string(nil), seed.names...), latest.names...) {
		if !strings.Contains(string(res.Docs), "\n| "+n+" | ") {
			t.Errorf("docs/providers.md lacks %s", n)
		}
	}
}

func TestGenerateRejectsUnknownKeys(t *testing.T) {
	seed, err := parseRef("seed.yaml", []byte("a:\n  auth_mode: OAUTH2\n  authorization_url: https://x.example/a\n  token_url: https://x.example/t\n"))
	if err != nil {
		t.Fatal(err)
	}
	latest, err := parseRef("latest.yaml", []byte("b:\n  auth_mode: BASIC\n  shiny_new_key: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Generate(seed, latest)
	if err == nil || !strings.Contains(err.Error(), `b: key "shiny_new_key" is neither written nor knowingly dropped`) {
		t.Fatalf("err = %v", err)
	}
}

func TestGenerateSmall(t *testing.T) {
	seed, _ := parseRef("seed.yaml", []byte(`old:
  auth_mode: OAUTH2
  authorization_url: https://${connectionConfig.params.subdomain}.old.example/a
  token_url: https://old.example/t
  base_api_url: https://api.old.example
both:
  auth_mode: OAUTH2
  authorization_url: https://seed.example/a
  token_url: https://seed.example/t
`))
	latest, _ := parseRef("latest.yaml", []byte(`both:
  display_name: Both
  auth_mode: OAUTH2
  authorization_url: https://latest.example/a
  token_url: https://latest.example/t
  post_connection_script: x
  refresh_token_params:
    grant_type: refresh_token
  connection_config:
    x:
      type: string
      title: X
      description: prose that is not carried over
mcp:
  auth_mode: MCP_OAUTH2
alias-of-alias:
  alias: both-alias
both-alias:
  alias: both
  docs: https://docs.example
`))
	res, err := Generate(seed, latest)
	if err != nil {
		t.Fatal(err)
	}
	cat := string(res.Catalog)
	for _, want := range []string{
		"authorization_url: https://latest.example/a",
		"base_url: https://api.old.example",
		"refresh_params:\n    grant_type: refresh_token",
		"alias-of-alias:\n  alias: both\n  docs: https://docs.example",
	} {
		if !strings.Contains(cat, want) {
			t.Errorf("catalog lacks %q:\n%s", want, cat)
		}
	}
	for _, unwanted := range []string{"post_connection_script", "prose", "mcp:", "refresh_token_params"} {
		if strings.Contains(cat, unwanted) {
			t.Errorf("catalog holds %q", unwanted)
		}
	}
	docs := string(res.Docs)
	for _, want := range []string{"| mcp | MCP_OAUTH2 | — | not included: auth mode MCP_OAUTH2:", "| old | OAUTH2 | — | supported; seed era facts |", "| both-alias | OAUTH2 | [docs](https://docs.example) | supported (alias of both) |"} {
		if !strings.Contains(docs, want) {
			t.Errorf("docs lack %q:\n%s", want, docs)
		}
	}
}
