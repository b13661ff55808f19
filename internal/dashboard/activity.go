package dashboard

import (
	"context"
	"net/http"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// activityActions are the actions offered in the filter (others written
// by future components are still shown and filterable by URL).
var activityActions = []struct{ Value, Label string }{
	{"oauth", "OAuth flows"},
	{"refresh", "Token refreshes"},
	{"token", "Token fetches"},
	{"proxy", "Proxy calls"},
}

type activityView struct {
	Action, Integration, Connection, Outcome string
	Actions                                  []struct{ Value, Label string }
	Integrations                             []string
	Rows                                     []store.Activity
	Before, Next                             int64
	RetentionDays                            string
}

// activity is GET /activity?action=&integration=&connection=&outcome=&before=.
func (h *Handler) activity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := activityView{Action: q.Get("action"), Integration: q.Get("integration"), Connection: q.Get("connection"),
		Outcome: q.Get("outcome"), Actions: activityActions, RetentionDays: retentionText(h.retention())}
	var err error
	v.Before, err = cursor(r)
	if err == nil && !validAction(v.Action) {
		err = badInput("The action filter is not valid.")
	}
	if err == nil && v.Outcome != "" && v.Outcome != "success" && v.Outcome != "failure" {
		err = badInput("The outcome filter must be success or failure.")
	}
	if err == nil {
		err = optionalKey("Integration", v.Integration)
	}
	if err == nil {
		err = optionalKey("Connection ID", v.Connection)
	}
	if err != nil {
		v = activityView{Actions: activityActions, RetentionDays: v.RetentionDays}
		v.Integrations, _ = h.integrationKeys(r)
		h.render(w, r, http.StatusBadRequest, "activity", view{Title: "Activity", Nav: "activity", Error: err.Error(), Data: v})
		return
	}
	v.Integrations, err = h.integrationKeys(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := store.ActivityFilter{Action: v.Action, ProviderConfigKey: v.Integration, ConnectionID: v.Connection,
		BeforeID: v.Before, Limit: pageSize + 1}
	if v.Outcome != "" {
		ok := v.Outcome == "success"
		f.Success = &ok
	}
	rows, err := h.d.Store.ListActivity(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		v.Next = rows[pageSize-1].ID
	}
	v.Rows = rows
	h.render(w, r, http.StatusOK, "activity", view{Title: "Activity", Nav: "activity", Data: v})
}

// validAction accepts "" or a short lower-case word.
func validAction(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// retention is the configured activity retention period.
func (h *Handler) retention() time.Duration {
	if d := h.d.Config.ActivityRetention; d > 0 {
		return d
	}
	return DefaultRetention
}

func retentionText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

// PruneActivity deletes the activity entries older than the retention
// period and returns how many it deleted.
func (h *Handler) PruneActivity(ctx context.Context) (int64, error) {
	return h.d.Store.PruneActivity(ctx, h.d.Now().Add(-h.retention()))
}

// pruneInterval is how often RunRetention prunes.
const pruneInterval = time.Hour

// RunRetention prunes the activity log now and then every hour until ctx
// ends (the server runs it in the background). Several instances may run
// it at once: deleting old rows twice is harmless.
func (h *Handler) RunRetention(ctx context.Context) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		n, err := h.PruneActivity(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			h.d.Logger.Warn("pruning the activity log failed; retrying in an hour", "err", err)
		case n > 0:
			h.d.Logger.Info("activity log pruned", "deleted", n, "retention", retentionText(h.retention()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
