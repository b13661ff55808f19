package provider

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/secret"
)

func TestInterpolate(t *testing.T) {
	cc := map[string]any{
		"subdomain":       "acme",
		"region":          "eu",
		"port":            8443,
		"ratio":           1.5,
		"big":             float64(12345678901),
		"num":             json.Number("42"),
		"empty":           "",
		"flag":            true,
		"list":            []any{"a"},
		"accounts-server": "https://accounts.zoho.eu",
		"installation":    map[string]any{"uuid": "u-1", "apiEndPoint": "https://x.teamwork.com/"},
		"flat.key":        "flat",
	}
	v := Vars{
		ConnectionConfig: cc,
		Metadata:         map[string]any{"instance_url": "https://na1.salesforce.com", "subdomain": "ignored"},
		Credentials:      map[string]secret.String{"apiKey": "k-123", "username": "u", "password": "p"},
		AccessToken:      "at-1",
		ClientID:         "cid",
		ClientSecret:     "csec",
		Now:              time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC),
		Random:           func() string { return "rnd" },
	}
	tests := []struct {
		name    string
		in      string
		want    string
		missing []string
	}{
		{"no placeholder", "https://api.example.com/v1", "https://api.example.com/v1", nil},
		{"current form", "https://${connectionConfig.subdomain}.zendesk.com", "https://acme.zendesk.com", nil},
		{"seed-era form", "https://${connectionConfig.params.subdomain}.zendesk.com", "https://acme.zendesk.com", nil},
		{"both forms in one string", "${connectionConfig.params.subdomain}-${connectionConfig.region}", "acme-eu", nil},
		{"integer", "https://h:${connectionConfig.port}/", "https://h:8443/", nil},
		{"float", "r=${connectionConfig.ratio}", "r=1.5", nil},
		{"large float without exponent", "n=${connectionConfig.big}", "n=12345678901", nil},
		{"json number", "n=${connectionConfig.num}", "n=42", nil},
		{"missing", "https://${connectionConfig.tenant}.example.com", "https://${connectionConfig.tenant}.example.com", []string{"connectionConfig.tenant"}},
		{"missing seed-era form", "https://${connectionConfig.params.tenant}.x", "https://${connectionConfig.params.tenant}.x", []string{"connectionConfig.params.tenant"}},
		{"partly missing keeps resolved values", "${connectionConfig.subdomain}/${connectionConfig.a}/${connectionConfig.b}/${connectionConfig.a}", "acme/${connectionConfig.a}/${connectionConfig.b}/${connectionConfig.a}", []string{"connectionConfig.a", "connectionConfig.b"}},
		{"empty string is missing", "x${connectionConfig.empty}", "x${connectionConfig.empty}", []string{"connectionConfig.empty"}},
		{"bool is not substituted", "x${connectionConfig.flag}", "x${connectionConfig.flag}", []string{"connectionConfig.flag"}},
		{"list is not substituted", "x${connectionConfig.list}", "x${connectionConfig.list}", []string{"connectionConfig.list"}},
		{"nested path", "${connectionConfig.installation.uuid}", "u-1", nil},
		{"literal dotted key", "${connectionConfig.flat.key}", "flat", nil},
		{"hyphenated key", "${connectionConfig.accounts-server}/oauth/v2/token", "https://accounts.zoho.eu/oauth/v2/token", nil},
		{"metadata fallback", "${connectionConfig.instance_url}/services", "https://na1.salesforce.com/services", nil},
		{"config wins over metadata", "${connectionConfig.subdomain}", "acme", nil},
		{"bare name reads config", "https://cognito-${subdomain}.amazonaws.com", "https://cognito-acme.amazonaws.com", nil},
		{"bare name missing", "${nothing}", "${nothing}", []string{"nothing"}},
		{"spaces inside braces", "${ connectionConfig.subdomain }", "acme", nil},
		{"apiKey", "Bearer ${apiKey}", "Bearer k-123", nil},
		{"credentials", "${credentials.username}:${credentials.password}", "u:p", nil},
		{"missing credential", "${credentials.token}", "${credentials.token}", []string{"credentials.token"}},
		{"access token", "${accessToken}", "at-1", nil},
		{"client id and secret", "${clientId}:${clientSecret}", "cid:csec", nil},
		{"random", "${random}", "rnd", nil},
		{"now default format", "${now}", "2024-03-05T07:08:09Z", nil},
		{"now moment format", "${now:YYYYMMDDTHHmmss[Z]}", "20240305T070809Z", nil},
		{"now RFC 2822 style", "${now:ddd, DD MMM YYYY HH:mm:ss ZZ}", "Tue, 05 Mar 2024 07:08:09 +0000", nil},
		{"now unix", "${now:X}", "1709622489", nil},
		{"now plus a minute", "${now+1:minutes:X}", "1709622549", nil},
		{"now minus a day", "${now-1:days:YYYY-MM-DD}", "2024-03-04", nil},
		{"alternatives: first resolves", "https://${connectionConfig.subdomain}.x.com || https://y.com", "https://acme.x.com", nil},
		{"alternatives: fallback", "https://${connectionConfig.hostname}/a || https://login.example.com/a", "https://login.example.com/a", nil},
		{"alternatives: default value", "${connectionConfig.version} || 2022-11-28", "2022-11-28", nil},
		{"alternatives: none resolves", "https://${connectionConfig.a}/x || ${connectionConfig.b}/x", "https://${connectionConfig.a}/x", []string{"connectionConfig.a", "connectionConfig.b"}},
		{"base64", "Basic ${base64(${credentials.username}:${credentials.password})}", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p")), nil},
		{"base64 with a missing argument", "${base64(${credentials.username}:${credentials.secret})}", "${base64(${credentials.username}:${credentials.secret})}", []string{"credentials.secret"}},
		{"request placeholder without request", "${method}", "${method}", []string{"method"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Interpolate(tt.in, v)
			if got != tt.want {
				t.Errorf("Interpolate(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var me *MissingError
			switch {
			case tt.missing == nil && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.missing != nil && !errors.As(err, &me):
				t.Errorf("error = %v, want missing %v", err, tt.missing)
			case tt.missing != nil && !slices.Equal(me.Names, tt.missing):
				t.Errorf("missing = %v, want %v", me.Names, tt.missing)
			}
		})
	}
}

func TestMissingErrorText(t *testing.T) {
	_, err := Interpolate("https://${connectionConfig.params.subdomain}.x/${credentials.password}/${connectionConfig.region}", Vars{
		Credentials: map[string]secret.String{"other": "s3cr3t"},
	})
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if got, want := err.Error(), "missing value for connectionConfig.params.subdomain, credentials.password, connectionConfig.region"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := me.Params(); !slices.Equal(got, []string{"subdomain", "region"}) {
		t.Errorf("Params() = %v", got)
	}
}

func TestInterpolateSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"unterminated", "https://${connectionConfig.x", `placeholder "https://${connectionConfig.x": unterminated "${"`},
		{"empty", "${}", `placeholder "${}": empty placeholder`},
		{"not a name", "${a b}", `placeholder "${a b}": not a known placeholder`},
		{"unknown function", "${md5(x)}", `placeholder "${md5(x)}": unknown function md5`},
		{"arity", "${hmacSha1Hex(x)}", `placeholder "${hmacSha1Hex(x)}": hmacSha1Hex takes 2 argument(s), got 1`},
		{"bare connectionConfig", "${connectionConfig}", `placeholder "${connectionConfig}": connection config name missing`},
		{"bad time unit", "${now+1:fortnights:X}", `placeholder "${now+1:fortnights:X}": unknown time unit "fortnights"`},
		{"bad offset", "${now+x:minutes:X}", `placeholder "${now+x:minutes:X}": offset is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Interpolate(tt.in, Vars{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("got %q, want %q", err, tt.want)
			}
		})
	}
}

// TestSigningFunctions checks the signing placeholders against published
// test vectors.
func TestSigningFunctions(t *testing.T) {
	t.Run("Cisco Duo Admin API (Duo's documented example)", func(t *testing.T) {
		v := Vars{
			Credentials: map[string]secret.String{"username": "DIWJ8X6AEYOR5OMC6TQ1", "password": "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"},
			Request:     &Request{Method: "POST", Host: "api-xxxxxxxx.duosecurity.com", Path: "/accounts/v1/account/list", RawQuery: "username=root&realname=First+Last"},
		}
		// The template's header with the date of Duo's example in place of ${now:...}.
		tmpl := "Basic ${base64(${credentials.username}:${hmacSha1Hex(Tue, 21 Aug 2012 17:29:18 -0000\n${method}\n${host}\n${path}\n${params}, ${credentials.password})})}"
		got := mustInterpolate(t, tmpl, v)
		if want := "Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MmQ5N2Q2MTY2MzE5NzgxYjVhM2EwN2FmMzlkMzY2ZjQ5MTIzNGVkYw=="; got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
	t.Run("AWS SigV4 (get-vanilla and get-vanilla-query-order-key-case of the AWS test suite)", func(t *testing.T) {
		v := Vars{
			Credentials: map[string]secret.String{"username": "AKIDEXAMPLE", "password": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
			Now:         time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
			Request:     &Request{Method: "GET", Host: "example.amazonaws.com", Path: "/"},
		}
		tmpl := "${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, service)}"
		got := mustInterpolate(t, tmpl, v)
		want := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
		if got != want {
			t.Errorf("vanilla:\n got %s\nwant %s", got, want)
		}
		v.Request.RawQuery = "Param2=value2&Param1=value1"
		got = mustInterpolate(t, tmpl, v)
		if !strings.HasSuffix(got, "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500") {
			t.Errorf("query order: got %s", got)
		}
		if got := mustInterpolate(t, "${now:YYYYMMDDTHHmmss[Z]}", v); got != "20150830T123600Z" {
			t.Errorf("x-amz-date = %s", got)
		}
	})
	t.Run("Ed25519 (RFC 8032 test 2)", func(t *testing.T) {
		seed, _ := hex.DecodeString("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
		v := Vars{Credentials: map[string]secret.String{"password": secret.String(base64.StdEncoding.EncodeToString(seed))}}
		got := mustInterpolate(t, "${ed25519Sign(r, ${credentials.password})}", v)
		sig, _ := base64.StdEncoding.DecodeString(got)
		if want := "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"; hex.EncodeToString(sig) != want {
			t.Errorf("signature %x", sig)
		}
		v.Credentials["password"] = "not a key"
		if _, err := Interpolate("${ed25519Sign(r, ${credentials.password})}", v); err == nil || strings.Contains(err.Error(), "not a key") {
			t.Errorf("bad key: %v (must fail without echoing the key)", err)
		}
	})
	t.Run("sha256Base64 of the body", func(t *testing.T) {
		v := Vars{Request: &Request{Body: []byte("abc")}}
		got := mustInterpolate(t, "sha-256=:${sha256Base64(${bodyCanonicalParams})}:", v)
		if want := "sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:"; got != want {
			t.Errorf("got %s", got)
		}
	})
}

func TestAlternatives(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"https://a", []string{"https://a"}},
		{"a || b", []string{"a", "b"}},
		{"${x||y} || b", []string{"${x||y}", "b"}},
		{"a||b||c", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		got, err := Alternatives(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Alternatives(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{
		"https://${connectionConfig.subdomain}.zendesk.com",
		"https://${connectionConfig.params.subdomain}.x || https://y",
		"Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:ddd, DD MMM YYYY}\n${method}, ${credentials.password})})}",
		"${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam)}",
		"${now+1:minutes:X}", "${", "}${", "${${}}", "${a(}", "||", "${connectionConfig.installation.uuid}",
	} {
		f.Add(s)
	}
	v := Vars{
		ConnectionConfig: map[string]any{"subdomain": "acme", "installation": map[string]any{"uuid": "u"}},
		Credentials:      map[string]secret.String{"username": "u", "password": "p", "apiKey": "k"},
		Now:              SampleTime(),
		Request:          &Request{Method: "GET", Host: "h", Path: "/p", RawQuery: "a=1"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Interpolate(s, v)
		if err == nil && strings.Contains(s, "${") && strings.Contains(out, "${connectionConfig.subdomain}") {
			t.Errorf("resolved %q left a resolvable placeholder: %q", s, out)
		}
		var me *MissingError
		if errors.As(err, &me) && len(me.Names) == 0 {
			t.Errorf("MissingError without names for %q", s)
		}
		if !strings.Contains(s, "${") && !strings.Contains(s, "||") && (out != s || err != nil) {
			t.Errorf("plain text %q changed to %q (%v)", s, out, err)
		}
	})
}
