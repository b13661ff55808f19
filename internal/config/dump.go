package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dump writes the effective configuration, one NAME=value line per
// variable, secrets masked, then the values derived from them. It never
// writes a secret.
func (c *Config) Dump(w io.Writer, env Env) error {
	lookup := func(name string) (string, bool) {
		if env == nil {
			return "", false
		}
		return env(name)
	}
	group := ""
	for _, v := range vars {
		if v.Group != group {
			group = v.Group
			if _, err := fmt.Fprintf(w, "# %s\n", group); err != nil {
				return err
			}
		}
		val, set := lookup(v.Name)
		if v.Secret {
			if _, fset := lookup(v.Name + "_FILE"); fset {
				set = true
			}
		}
		var shown string
		switch {
		case v.Secret && set:
			shown = "[redacted]"
		case v.Secret:
			shown = "(unset)"
		case set:
			shown = val
		case v.Default != "":
			shown = v.Default + "  (default)"
		default:
			shown = "(unset)"
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", v.Name, shown); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, `# Effective
listen port: %d
server url: %s
callback url: %s
database: %s
api secret key: %s
dashboard auth: %s
encryption: %s
hmac: %s
log: %s %s
telemetry: %t
`, c.Port, c.ServerURL, c.CallbackURL, c.dbSummary(), onOff(!c.SecretKey.IsZero()),
		onOff(c.DashboardUsername != ""), c.encryptionSummary(), c.hmacSummary(),
		strings.ToLower(c.LogLevel.String()), c.LogFormat, c.Telemetry)
	return err
}

func (c *Config) dbSummary() string {
	if c.DB.Driver == "sqlite" {
		return "sqlite " + c.DB.SQLitePath
	}
	schema := c.DB.Schema
	if schema == "" {
		schema = "(from the URL, else public)"
	}
	return "postgres " + c.DB.RedactedDSN() + " schema=" + schema +
		" pool=" + strconv.Itoa(c.DB.PoolMin) + "-" + strconv.Itoa(c.DB.PoolMax)
}

func (c *Config) encryptionSummary() string {
	if c.EncryptionKey.IsZero() {
		if len(c.EncryptionPreviousKeys) > 0 {
			return fmt.Sprintf("off (%d previous key(s) for decryption)", len(c.EncryptionPreviousKeys))
		}
		return "off"
	}
	return fmt.Sprintf("on (AES-256-GCM, %d previous key(s))", len(c.EncryptionPreviousKeys))
}

func (c *Config) hmacSummary() string {
	if !c.HMAC.Enabled {
		return "off"
	}
	return "on (" + c.HMAC.Algorithm + ")"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Markdown returns the configuration reference as a Markdown table, grouped
// as in the variable table. docs/configuration.md embeds it.
func Markdown() string {
	var b strings.Builder
	group := ""
	for _, v := range vars {
		if v.Group != group {
			if group != "" {
				b.WriteString("\n")
			}
			group = v.Group
			fmt.Fprintf(&b, "### %s\n\n| Variable | Default | Description |\n|---|---|---|\n", group)
		}
		name := "`" + v.Name + "`"
		if v.Secret {
			name += " (or `" + v.Name + "_FILE`)"
		}
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(v.Doc, "|", `\|`))
	}
	return b.String()
}
