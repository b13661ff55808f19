package connect

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/nango-go/nango/internal/secret"
)

//go:embed templates/popup.html
var templateFS embed.FS

// popupTemplate is the page every terminal outcome of /oauth/connect and
// /oauth/callback answers the popup with (SPEC §2.4). html/template escapes
// every value for its context: Message is written as a JSON literal inside
// the script, with <, >, &, quotes and U+2028/U+2029 escaped.
var popupTemplate = template.Must(template.ParseFS(templateFS, "templates/popup.html"))

// Legacy event types posted to window.opener when the popup was opened
// without a ws_client_id. "SUCEEDED" is the reference's spelling, which the
// legacy SDKs match.
const (
	eventSucceeded = "AUTHORIZATION_SUCEEDED"
	eventFailed    = "AUTHORIZATION_FAILED"
)

// legacyMessage is what a legacy popup posts to its opener.
type legacyMessage struct {
	EventType string `json:"eventType"`
	Data      any    `json:"data"`
}

// legacySuccess is the data of a legacy success message.
type legacySuccess struct {
	ConnectionID      string `json:"connectionId"`
	ProviderConfigKey string `json:"providerConfigKey"`
}

// legacyFailure is the data of a legacy error message.
type legacyFailure struct {
	Error legacyError `json:"error"`
}

type legacyError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// pageData fills popupTemplate.
type pageData struct {
	// Nonce authorises the page's one script under its CSP.
	Nonce string
	// Message is posted to window.opener; nil posts nothing.
	Message *legacyMessage
}

// writePage answers the popup: status 200 for success, 500 for a failure
// (as the reference; clients do not read it). When legacy is set (the popup
// came without a ws_client_id) the page posts msg to window.opener. The
// page carries a Content-Security-Policy allowing its own script (by nonce)
// and nothing else, and is never cached.
func writePage(w http.ResponseWriter, log *slog.Logger, status int, legacy bool, msg legacyMessage) {
	data := pageData{Nonce: secret.RandomToken(18)}
	if legacy {
		data.Message = &msg
	}
	var buf bytes.Buffer
	if err := popupTemplate.Execute(&buf, data); err != nil {
		// The template and its data types are fixed: this cannot happen
		// short of a programming error.
		log.Error("rendering the popup page", "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+data.Nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
