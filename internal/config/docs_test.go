package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the variable table")

const (
	docPath    = "../../docs/configuration.md"
	beginTable = "<!-- BEGIN GENERATED: go test ./internal/config -run TestConfigurationDoc -update -->\n"
	endTable   = "<!-- END GENERATED -->\n"
)

// docs/configuration.md embeds the table generated from vars, so the
// documentation cannot drift from what the server reads.
func TestConfigurationDoc(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, beginTable), strings.Index(doc, endTable)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-table markers", docPath)
	}
	want := doc[:i+len(beginTable)] + Markdown() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the variable table; run: go test ./internal/config -run TestConfigurationDoc -update", docPath)
}

// Every variable has documentation, and secrets are marked.
func TestEveryVariableDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range vars {
		if seen[v.Name] {
			t.Errorf("%s declared twice", v.Name)
		}
		seen[v.Name] = true
		if strings.TrimSpace(v.Doc) == "" || v.Group == "" {
			t.Errorf("%s has no doc or group", v.Name)
		}
	}
	for _, name := range []string{"NANGO_SECRET_KEY", "NANGO_ENCRYPTION_KEY", "NANGO_DB_PASSWORD", "NANGO_DASHBOARD_PASSWORD", "NANGO_HMAC_KEY", "NANGO_DATABASE_URL"} {
		found := false
		for _, v := range vars {
			if v.Name == name {
				found = v.Secret
			}
		}
		if !found {
			t.Errorf("%s must be a secret (masked, with a _FILE twin)", name)
		}
	}
}
