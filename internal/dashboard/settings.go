package dashboard

import (
	"net/http"

	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/version"
)

type keyUse struct {
	Table, KeyID string
	Count        int64
	Current      bool
	Known        bool
}

type settingsView struct {
	ServerURL, CallbackURL string
	APISecured             bool
	DashboardSecured       bool
	Encryption             bool
	CurrentKeyID           string
	PreviousKeyIDs         []string
	KeyUse                 []keyUse
	HMAC                   bool
	HMACAlgorithm          string
	Database               string
	Retention              string
	Templates              int
	Version, Commit        string
}

// settings is GET /settings: how this server is configured (never a
// secret: keys are named by their ids only).
func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	c := h.d.Config
	v := settingsView{
		ServerURL: c.ServerURL, CallbackURL: c.CallbackURL,
		APISecured: !c.SecretKey.IsZero(), DashboardSecured: h.authRequired(),
		Encryption: !c.EncryptionKey.IsZero(),
		HMAC:       c.HMAC.Enabled, HMACAlgorithm: c.HMAC.Algorithm,
		Database: c.DB.Driver, Retention: retentionText(h.retention()), Templates: h.d.Catalog.Len(),
	}
	v.Version, v.Commit = version.Info()
	known := map[string]bool{"": true}
	if k, err := secret.ParseKey(c.EncryptionKey.Reveal()); err == nil && v.Encryption {
		v.CurrentKeyID = k.ID()
		known[k.ID()] = true
	}
	for _, pk := range c.EncryptionPreviousKeys {
		if k, err := secret.ParseKey(pk.Reveal()); err == nil {
			v.PreviousKeyIDs = append(v.PreviousKeyIDs, k.ID())
			known[k.ID()] = true
		}
	}
	usage, err := h.d.Store.KeyUsage(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, u := range usage {
		if u.Count == 0 {
			continue
		}
		v.KeyUse = append(v.KeyUse, keyUse{Table: u.Table, KeyID: u.KeyID, Count: u.Count,
			Current: u.KeyID == v.CurrentKeyID, Known: known[u.KeyID]})
	}
	h.render(w, r, http.StatusOK, "settings", view{Title: "Settings", Nav: "settings", Data: v})
}
