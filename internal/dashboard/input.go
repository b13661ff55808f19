package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nango-go/nango/internal/api"
)

// maxField bounds free-text form fields (client ids, scopes, params).
const maxField = 16 * 1024

// badInput is a user error: the page is shown again (or an error page)
// with status 400 and this message.
type badInput string

func (e badInput) Error() string { return string(e) }

// checkKey validates an integration key or connection id taken from a
// request, naming the field in the message.
func checkKey(label, s string) error {
	if s == "" {
		return badInput(label + " is required.")
	}
	what := "provider_config_key"
	if strings.Contains(label, "onnection") {
		what = "connection_id"
	}
	if e := api.CheckKey(what, s); e != nil {
		return badInput(label + ": " + strings.TrimSuffix(strings.ReplaceAll(e.Message, "'"+what+"'", "the value"), ".") + ".")
	}
	return nil
}

// optionalKey validates a filter value that may be empty.
func optionalKey(label, s string) error {
	if s == "" {
		return nil
	}
	return checkKey(label, s)
}

// checkText validates a free-text field: bounded, valid UTF-8, no control
// characters other than tab and newline.
func checkText(label, s string, max int) error {
	switch {
	case len(s) > max:
		return badInput(label + " is longer than " + strconv.Itoa(max) + " bytes.")
	case !utf8.ValidString(s):
		return badInput(label + " is not valid UTF-8.")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0:
		return badInput(label + " contains control characters.")
	}
	return nil
}

// cursor reads a keyset-pagination cursor ("before", a row id); 0 = first
// page.
func cursor(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("before")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, badInput("The page cursor is not valid: start again from the first page.")
	}
	return n, nil
}

// parseForm reads a posted form with a size limit (the guard may already
// have read it for the CSRF token).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return badInput("The form could not be read.")
	}
	return nil
}
