package secret

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// secretish matches names of values that are, or are compared with, secrets.
var secretish = regexp.MustCompile(`(?i)(secret|hmac|digest|password|passwd|token|apikey|api_key|signature|verifier|csrf|state)`)

// allowedCompares are ==/!= comparisons on secret-looking names that never
// set an attacker's input against a secret, by file (relative to internal/)
// and expression, with the reason.
var allowedCompares = map[string]string{
	// Enum values named after tokens, not secrets.
	"api/connections.go: re.Kind == tokens.Unavailable":                                 "an error kind",
	"oauth/client.go: t.TokenRequestAuthMethod == provider.TokenAuthBasic":              "a template setting",
	"oauth/clientcreds.go: t.TokenRequestAuthMethod != provider.TokenAuthCustom":        "a template setting",
	"oauth/clientcreds.go: t.TokenRequestAuthMethod == provider.TokenAuthCustom":        "a template setting",
	"oauth/clientcreds.go: t.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT": "a template setting",
	"oauth/clientcreds.go: t.TokenRequestAuthMethod == provider.TokenAuthBasic":         "a template setting",
	"provider/gen/main.go: t.TokenRequestAuthMethod == provider.TokenAuthCustom":        "a template setting (generator)",
	"provider/gen/main.go: t.TokenRequestAuthMethod == provider.TokenAuthPrivateKeyJWT": "a template setting (generator)",
	// Both sides come from the same request: the guard checks that the
	// request's CSRF cookie is present and well formed; the token itself
	// is compared with secret.Equal.
	"dashboard/guard.go: c.Value != cookieToken": "the request's own cookie against itself",
	"dashboard/guard.go: c.Value != token":       "the request's own cookie against itself",
	// Stored credentials compared with stored credentials (did another
	// writer replace them while the provider was called?): no attacker
	// input on either side.
	"tokens/service.go: cur.Credentials.AccessToken != old.Credentials.AccessToken":    "stored against stored",
	"tokens/service.go: cur.Credentials.RefreshToken != old.Credentials.RefreshToken":  "stored against stored",
	"tokens/service.go: now.Credentials.RefreshToken == used.Credentials.RefreshToken": "stored against stored",
	"tokens/service.go: c.Credentials.RefreshToken != used.Credentials.RefreshToken":   "stored against stored",
	"tokens/service.go: c.Credentials.AccessToken != used.Credentials.AccessToken":     "stored against stored",
	"tokens/service.go: c.Credentials.ClientSecret != used.Credentials.ClientSecret":   "stored against stored",
	"tokens/cache.go: s.epoch != token":                                                "a cache epoch counter",
	"tokens/cache.go: c.integEpoch != token":                                           "a cache epoch counter",
	"config/config.go:  != c.DashboardPassword.IsZero()":                               "two booleans",
}

// TestSecretsComparedInConstantTime scans the server's code for == and !=
// on secret-looking values (outside tests and the conformance suite): each
// must be in allowedCompares with a reason, so that every comparison of a
// client's input with a secret goes through Equal (or hmac.Equal /
// subtle.ConstantTimeCompare). It also checks that the guards that do
// compare client input with secrets call Equal.
func TestSecretsComparedInConstantTime(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	used := map[string]bool{}
	calls := map[string]bool{} // file -> calls secret.Equal
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if info.IsDir() {
			if strings.HasPrefix(rel, "store/storetest") || info.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if s := exprName(x.Fun); s == "secret.Equal" || s == "hmac.Equal" || s == "subtle.ConstantTimeCompare" {
					calls[filepath.ToSlash(rel)] = true
				}
			case *ast.BinaryExpr:
				if x.Op != token.EQL && x.Op != token.NEQ || trivialOperand(x.X) || trivialOperand(x.Y) {
					return true
				}
				l, r := exprName(x.X), exprName(x.Y)
				if !secretish.MatchString(l) && !secretish.MatchString(r) {
					return true
				}
				key := filepath.ToSlash(rel) + ": " + l + " " + x.Op.String() + " " + r
				if _, ok := allowedCompares[key]; !ok {
					t.Errorf("%s: %s %s %s compares a secret-looking value with ==; use secret.Equal (or add it to allowedCompares with the reason)",
						fset.Position(x.Pos()), l, x.Op, r)
				}
				used[key] = true
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range allowedCompares {
		if !used[k] {
			t.Logf("allowedCompares entry no longer found (remove it): %s", k)
		}
	}
	for _, file := range []string{
		"httpx/auth.go",      // the API secret key
		"dashboard/guard.go", // dashboard Basic credentials and the CSRF token
		"connect/hmac.go",    // the connect HMAC
	} {
		if !calls[file] {
			t.Errorf("%s compares a secret but calls no constant-time comparison", file)
		}
	}
}

func exprName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprName(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprName(x.Fun) + "()"
	case *ast.IndexExpr:
		return exprName(x.X) + "[]"
	case *ast.StarExpr, *ast.ParenExpr:
		if s, ok := x.(*ast.StarExpr); ok {
			return exprName(s.X)
		}
		return exprName(x.(*ast.ParenExpr).X)
	}
	return ""
}

// trivialOperand: literals, nil, booleans and len(...) reveal nothing.
func trivialOperand(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "true" || x.Name == "false"
	case *ast.CallExpr:
		return exprName(x.Fun) == "len"
	}
	return false
}

// TestEqual checks Equal's answers (its timing is by construction: both
// inputs are hashed and the digests compared with
// subtle.ConstantTimeCompare).
func TestEqualAnswers(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true}, {"k", "k", true}, {"k", "K", false}, {"k", "k ", false}, {"", "k", false},
		{strings.Repeat("a", 1000), strings.Repeat("a", 1000), true}, {strings.Repeat("a", 1000), strings.Repeat("a", 999) + "b", false},
	}
	for _, tc := range tests {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%.10q, %.10q) = %v", tc.a, tc.b, got)
		}
	}
}
