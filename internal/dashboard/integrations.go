package dashboard

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nango-go/nango/internal/api"
	"github.com/nango-go/nango/internal/provider"
	"github.com/nango-go/nango/internal/secret"
	"github.com/nango-go/nango/internal/store"
)

// pickerItem is one provider template in the create-integration picker.
type pickerItem struct {
	Name, Display, Mode, Categories string
	// Search is the lower-case text the picker's filter matches.
	Search string
}

func buildPicker(cat *provider.Catalog) []pickerItem {
	ts := cat.Templates()
	out := make([]pickerItem, 0, len(ts))
	for _, t := range ts {
		cats := strings.Join(t.Categories, ", ")
		out = append(out, pickerItem{
			Name: t.Name, Display: t.DisplayName, Mode: string(t.AuthMode), Categories: cats,
			Search: strings.ToLower(t.Name + " " + t.DisplayName + " " + cats + " " + string(t.AuthMode)),
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ToLower(out[i].Display) < strings.ToLower(out[j].Display)
	})
	return out
}

type integrationRow struct {
	Key, Provider, Display, Mode string
	Known                        bool
	Count                        int64
	Created                      time.Time
}

// integrations is GET /integrations.
func (h *Handler) integrations(w http.ResponseWriter, r *http.Request) {
	list, err := h.d.Store.ListIntegrations(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.d.Store.CountConnections(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]integrationRow, 0, len(list))
	for _, in := range list {
		row := integrationRow{Key: in.Key, Provider: in.Provider, Display: in.Provider, Count: counts[in.Key], Created: in.CreatedAt}
		if t, ok := h.d.Catalog.Get(in.Provider); ok {
			row.Known, row.Display, row.Mode = true, t.DisplayName, string(t.AuthMode)
		}
		rows = append(rows, row)
	}
	h.render(w, r, http.StatusOK, "integrations", view{Title: "Integrations", Nav: "integrations", Flash: integrationFlash(r), Data: rows})
}

// integrationFlash is the confirmation shown after a redirect. Only fixed
// texts (and a number) are shown, never text taken from the URL.
func integrationFlash(r *http.Request) string {
	q := r.URL.Query()
	switch q.Get("flash") {
	case "created":
		return "Integration created."
	case "saved":
		return "Integration saved."
	case "deleted":
		n, _ := strconv.ParseInt(q.Get("n"), 10, 64)
		if n > 0 {
			return "Integration deleted, with its " + fmtCount(n) + " connection(s)."
		}
		return "Integration deleted."
	}
	return ""
}

// integrationForm is the create/edit form.
type integrationForm struct {
	Editing     bool
	Provider    string
	Display     string
	Mode        string
	Key         string
	ClientID    string
	Scopes      string
	SecretSet   bool
	NeedsClient bool
	CallbackURL string
	Docs        string
	SetupGuide  string
	Count       int64
}

func (h *Handler) formFor(t *provider.Template) integrationForm {
	return integrationForm{
		Provider: t.Name, Display: t.DisplayName, Mode: string(t.AuthMode),
		NeedsClient: api.NeedsClient(t), CallbackURL: h.d.Config.CallbackURL,
		Docs: t.Docs, SetupGuide: t.SetupGuideURL,
	}
}

// pickerView is the provider picker.
type pickerView struct {
	Query string
	Items []pickerItem
	Total int
}

// newIntegration is GET /integrations/new: the provider picker, or with
// ?provider=<template> the form for that template.
func (h *Handler) newIntegration(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("provider")
	if name == "" {
		h.renderPicker(w, r, http.StatusOK, q.Get("q"), "")
		return
	}
	t, ok := h.d.Catalog.Get(name)
	if !ok {
		h.renderPicker(w, r, http.StatusNotFound, "", "There is no provider template with that name: pick one from the list.")
		return
	}
	f := h.formFor(t)
	f.Key = h.freeKey(r, t.Name)
	f.Scopes = strings.Join(t.DefaultScopes, ",")
	h.render(w, r, http.StatusOK, "integration_form", view{Title: "New " + t.DisplayName + " integration", Nav: "integrations", Data: f})
}

// renderPicker shows the searchable list of every template. The filter
// also works without JavaScript (?q=).
func (h *Handler) renderPicker(w http.ResponseWriter, r *http.Request, status int, query, errMsg string) {
	if checkText("Search", query, 200) != nil {
		query, errMsg, status = "", "The search text is not valid.", http.StatusBadRequest
	}
	items := h.picker
	if query != "" {
		ql := strings.ToLower(strings.TrimSpace(query))
		items = nil
		for _, it := range h.picker {
			if strings.Contains(it.Search, ql) {
				items = append(items, it)
			}
		}
	}
	h.render(w, r, status, "integration_new", view{Title: "New integration", Nav: "integrations", Error: errMsg,
		Data: pickerView{Query: query, Items: items, Total: len(h.picker)}})
}

// freeKey proposes an unused integration key: the template name, else
// name-2, name-3...
func (h *Handler) freeKey(r *http.Request, name string) string {
	for i := 1; i < 100; i++ {
		k := name
		if i > 1 {
			k = name + "-" + strconv.Itoa(i)
		}
		if _, err := h.d.Store.GetIntegration(r.Context(), k); errors.Is(err, store.ErrNotFound) {
			return k
		}
	}
	return name
}

// createIntegration is POST /integrations/new.
func (h *Handler) createIntegration(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	t, ok := h.d.Catalog.Get(r.PostForm.Get("provider"))
	if !ok {
		h.renderPicker(w, r, http.StatusBadRequest, "", "There is no provider template with that name: pick one from the list.")
		return
	}
	f := h.formFor(t)
	f.Key = strings.TrimSpace(r.PostForm.Get("unique_key"))
	f.ClientID = strings.TrimSpace(r.PostForm.Get("client_id"))
	f.Scopes = r.PostForm.Get("scopes")
	clientSecret := strings.TrimSpace(r.PostForm.Get("client_secret"))
	title := "New " + t.DisplayName + " integration"
	bad := func(status int, msg string) {
		h.render(w, r, status, "integration_form", view{Title: title, Nav: "integrations", Error: msg, Data: f})
	}
	if err := validateIntegration(f, clientSecret, true); err != nil {
		bad(http.StatusBadRequest, err.Error())
		return
	}
	in := store.Integration{Key: f.Key, Provider: t.Name, ClientID: f.ClientID,
		ClientSecret: secret.String(clientSecret), Scopes: api.NormalizeScopes(f.Scopes)}
	err := h.d.Store.CreateIntegration(r.Context(), &in)
	if errors.Is(err, store.ErrConflict) {
		bad(http.StatusConflict, "Unique Key already exists: choose another key.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Info("integration created from the dashboard", "provider_config_key", in.Key, "provider", in.Provider)
	http.Redirect(w, r, "/integrations?flash=created", http.StatusSeeOther)
}

// validateIntegration checks a submitted form. On create, a client secret
// is required when the mode needs a client; on edit an empty one keeps
// the stored secret.
func validateIntegration(f integrationForm, clientSecret string, creating bool) error {
	if err := checkKey("Unique key", f.Key); err != nil {
		return err
	}
	for _, fld := range []struct{ label, v string }{{"Client ID", f.ClientID}, {"Client secret", clientSecret}, {"Scopes", f.Scopes}} {
		if err := checkText(fld.label, fld.v, maxField); err != nil {
			return err
		}
	}
	if f.NeedsClient && f.ClientID == "" {
		return badInput("Client ID is required for " + modeName(f.Mode) + " integrations.")
	}
	if f.NeedsClient && creating && clientSecret == "" {
		return badInput("Client secret is required for " + modeName(f.Mode) + " integrations.")
	}
	return nil
}

// loadForm reads the integration named by key into an edit form.
func (h *Handler) loadForm(r *http.Request, key string) (integrationForm, error) {
	in, err := h.d.Store.GetIntegration(r.Context(), key)
	if err != nil {
		return integrationForm{}, err
	}
	f := integrationForm{Provider: in.Provider, Display: in.Provider, CallbackURL: h.d.Config.CallbackURL, NeedsClient: in.ClientID != ""}
	if t, ok := h.d.Catalog.Get(in.Provider); ok {
		f = h.formFor(t)
	}
	f.Editing, f.Key, f.ClientID, f.Scopes, f.SecretSet = true, in.Key, in.ClientID, in.Scopes, !in.ClientSecret.IsZero()
	page, err := h.d.Store.ListConnections(r.Context(), store.ConnectionFilter{ProviderConfigKey: key, Limit: 1})
	if err != nil {
		return f, err
	}
	f.Count = page.Total
	return f, nil
}

// integrationKey reads and validates ?key= (or the posted key).
func integrationKey(r *http.Request) (string, error) {
	key := r.FormValue("key")
	return key, checkKey("Integration key", key)
}

// editIntegration is GET /integrations/edit?key=.
func (h *Handler) editIntegration(w http.ResponseWriter, r *http.Request) {
	key, err := integrationKey(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	f, err := h.loadForm(r, key)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such integration", "There is no integration with that key. It may have been deleted.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "integration_form", view{Title: "Integration " + key, Nav: "integrations", Flash: integrationFlash(r), Data: f})
}

// updateIntegration is POST /integrations/edit.
func (h *Handler) updateIntegration(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	key, err := integrationKey(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	f, err := h.loadForm(r, key)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such integration", "There is no integration with that key. It may have been deleted.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f.ClientID = strings.TrimSpace(r.PostForm.Get("client_id"))
	f.Scopes = r.PostForm.Get("scopes")
	clientSecret := strings.TrimSpace(r.PostForm.Get("client_secret"))
	if err := validateIntegration(f, clientSecret, false); err != nil {
		h.render(w, r, http.StatusBadRequest, "integration_form", view{Title: "Integration " + key, Nav: "integrations", Error: err.Error(), Data: f})
		return
	}
	if f.NeedsClient && clientSecret == "" && !f.SecretSet {
		h.render(w, r, http.StatusBadRequest, "integration_form", view{Title: "Integration " + key, Nav: "integrations",
			Error: "Client secret is required for " + modeName(f.Mode) + " integrations.", Data: f})
		return
	}
	_, err = h.d.Store.UpdateIntegration(r.Context(), key, func(in *store.Integration) error {
		in.ClientID = f.ClientID
		if clientSecret != "" {
			in.ClientSecret = secret.String(clientSecret)
		}
		in.Scopes = api.NormalizeScopes(f.Scopes)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such integration", "There is no integration with that key. It may have been deleted.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Info("integration updated from the dashboard", "provider_config_key", key)
	http.Redirect(w, r, link("/integrations/edit", "key", key, "flash", "saved"), http.StatusSeeOther)
}

// confirmDeleteIntegration is GET /integrations/delete?key=: a page naming
// how many connections go with the integration.
func (h *Handler) confirmDeleteIntegration(w http.ResponseWriter, r *http.Request) {
	key, err := integrationKey(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	f, err := h.loadForm(r, key)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such integration", "There is no integration with that key. It may have been deleted.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "integration_delete", view{Title: "Delete integration " + key, Nav: "integrations", Data: f})
}

// deleteIntegration is POST /integrations/delete.
func (h *Handler) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	key, err := integrationKey(r)
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	if _, err := h.d.Store.GetIntegration(r.Context(), key); errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "No such integration", "There is no integration with that key. It may have been deleted already.")
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.d.Store.DeleteIntegration(r.Context(), key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log(r).Info("integration deleted from the dashboard", "provider_config_key", key, "connections_deleted", n)
	http.Redirect(w, r, link("/integrations", "flash", "deleted", "n", n), http.StatusSeeOther)
}
