package dashboard

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// funcs are the template helpers. None of them returns a template.HTML or
// other "safe" type built from data: html/template escapes every value.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":    h.assetURL,
		"time":     fmtTime,
		"timep":    fmtTimePtr,
		"iso":      isoTime,
		"ago":      h.ago,
		"mask":     mask,
		"initial":  initial,
		"hue":      hue,
		"json":     prettyJSON,
		"link":     link,
		"count":    fmtCount,
		"total":    fmtTotal,
		"duration": fmtDuration,
		"expired":  h.expired,
		"modeName": modeName,
	}
}

func (h *Handler) assetURL(name string) (string, error) { return h.assets.url(name) }

// fmtTime formats t in UTC for tables.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

// isoTime is a <time datetime> value.
func isoTime(t any) string {
	switch v := t.(type) {
	case time.Time:
		return store.FormatTime(v)
	case *time.Time:
		if v != nil {
			return store.FormatTime(*v)
		}
	}
	return ""
}

// ago says how far t is from now ("3 minutes ago", "in 2 hours").
func (h *Handler) ago(t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return ""
		}
		tt = *v
	}
	if tt.IsZero() {
		return ""
	}
	d := h.d.Now().Sub(tt)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "less than a minute"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// expired reports whether t is in the past.
func (h *Handler) expired(t *time.Time) bool { return t != nil && t.Before(h.d.Now()) }

// mask shows that a secret is set without showing it: dots, plus the last
// four characters of long values (enough to tell two tokens apart).
func mask(s secret.String) string {
	v := s.Reveal()
	if v == "" {
		return "(none)"
	}
	if utf8.RuneCountInString(v) < 24 {
		return "••••••••"
	}
	r := []rune(v)
	return "••••••••" + string(r[len(r)-4:])
}

// initial is the letter shown in place of a provider logo.
func initial(name string) string {
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return strings.ToUpper(string(c))
		}
	}
	return "?"
}

// hue picks one of eight avatar colours (CSS classes hue-0..hue-7) from a
// name, so one provider always gets the same colour.
func hue(name string) string {
	f := fnv.New32a()
	_, _ = f.Write([]byte(name))
	return "hue-" + strconv.Itoa(int(f.Sum32()%8))
}

// prettyJSON renders a value as indented JSON text (escaped by the
// template like any other text).
func prettyJSON(v any) string {
	if v == nil {
		return "{}"
	}
	if m, ok := v.(map[string]any); ok && len(m) == 0 {
		return "{}"
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes; keep the text readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("(not representable as JSON: %v)", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// link builds path?k=v&... from pairs, leaving out empty values; the query
// is encoded, so any value is safe in it.
func link(path string, kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		var v string
		switch x := kv[i+1].(type) {
		case string:
			v = x
		case int64:
			if x != 0 {
				v = strconv.FormatInt(x, 10)
			}
		case int:
			if x != 0 {
				v = strconv.Itoa(x)
			}
		default:
			v = fmt.Sprint(x)
		}
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// fmtTotal writes a count of connections as the store computes it
// (store.Options.CountCap: above the cap it reports cap+1): "10,000+" for
// more than the cap, else n with thousands separators.
func fmtTotal(n int64) string {
	if n > store.DefaultCountCap {
		return fmtCount(store.DefaultCountCap) + "+"
	}
	return fmtCount(n)
}

// fmtCount writes n with thousands separators.
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	}
}

// modeName is an auth mode as people say it.
func modeName(m any) string {
	switch fmt.Sprint(m) {
	case "OAUTH2":
		return "OAuth 2"
	case "OAUTH1":
		return "OAuth 1.0a"
	case "API_KEY":
		return "API key"
	case "BASIC":
		return "Basic"
	case "OAUTH2_CC":
		return "OAuth 2 client credentials"
	case "":
		return "—"
	}
	return fmt.Sprint(m)
}
