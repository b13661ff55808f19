package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// flowPayload has JSON, non-ASCII text and a NUL byte.
const flowPayload = "{\"ws\":\"abc\",\"ok\":true,\"text\":\"é\x00\"}"

func connEvent(key, id string) store.Event {
	return store.Event{Topic: store.TopicConnection, Payload: store.ConnectionEventPayload(key, id)}
}

func intEvent(key string) store.Event {
	return store.Event{Topic: store.TopicIntegration, Payload: key}
}

// nextEvent returns the next event, failing after a timeout.
func nextEvent(t testing.TB, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return store.Event{}
}

// checkWritesPublish makes writes on w and expects their events, in order,
// on ch (a subscription of w or of another instance).
func checkWritesPublish(t *testing.T, w store.Store, ch <-chan store.Event) {
	ctx := ctxT(t)
	steps := []struct {
		name  string
		write func() error
		want  []store.Event
	}{
		{"CreateIntegration", func() error { return w.CreateIntegration(ctx, &store.Integration{Key: "gh", Provider: "github"}) }, []store.Event{intEvent("gh")}},
		{"UpdateIntegration", func() error {
			_, err := w.UpdateIntegration(ctx, "gh", func(in *store.Integration) error { in.Scopes = "x"; return nil })
			return err
		}, []store.Event{intEvent("gh")}},
		{"UpsertConnection", func() error {
			_, err := w.UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "gh", ConnectionID: "u1", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}})
			return err
		}, []store.Event{connEvent("gh", "u1")}},
		{"UpsertConnection u2", func() error {
			_, err := w.UpsertConnection(ctx, &store.Connection{ProviderConfigKey: "gh", ConnectionID: "u2", Credentials: store.Credentials{Type: store.APIKey, APIKey: "k"}})
			return err
		}, []store.Event{connEvent("gh", "u2")}},
		{"UpdateConnection", func() error {
			_, err := w.UpdateConnection(ctx, "gh", "u2", func(c *store.Connection) error { c.Metadata["a"] = "b"; return nil })
			return err
		}, []store.Event{connEvent("gh", "u2")}},
		{"failed UpdateConnection publishes nothing", func() error {
			_, err := w.UpdateConnection(ctx, "gh", "u2", func(c *store.Connection) error { return errors.New("no") })
			if err == nil {
				return errors.New("fn error lost")
			}
			return w.Publish(ctx, store.Event{Topic: "marker", Payload: "1"})
		}, []store.Event{{Topic: "marker", Payload: "1"}}},
		{"UnlockRefresh with fn", func() error {
			_, err := w.UnlockRefresh(ctx, "gh", "u2", "h", func(c *store.Connection) error { c.Metadata["a"] = "c"; return nil })
			return err
		}, []store.Event{connEvent("gh", "u2")}},
		{"DeleteConnection", func() error { return w.DeleteConnection(ctx, "gh", "u2") }, []store.Event{connEvent("gh", "u2")}},
		{"DeleteIntegration", func() error { _, err := w.DeleteIntegration(ctx, "gh"); return err }, []store.Event{intEvent("gh"), connEvent("gh", "u1")}},
		{"Publish", func() error {
			return w.Publish(ctx, store.Event{Topic: store.TopicFlowResult, Payload: flowPayload})
		}, []store.Event{{Topic: store.TopicFlowResult, Payload: flowPayload}}},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		// Several events of one write may come in any order.
		var got []store.Event
		for range step.want {
			got = append(got, nextEvent(t, ch))
		}
		for _, want := range step.want {
			i := slices.Index(got, want)
			if i < 0 {
				t.Fatalf("%s: events %+q, want %+q", step.name, got, step.want)
			}
			got = slices.Delete(got, i, i+1)
		}
	}
}

func (s *suite) testEvents(t *testing.T) {
	st, _, _ := s.fresh(t)
	ch, cancel := st.Subscribe()
	ch2, cancel2 := st.Subscribe()
	checkWritesPublish(t, st, ch)
	// The second subscriber got the same events.
	waitEvent(t, ch2, store.Event{Topic: store.TopicFlowResult, Payload: flowPayload})
	cancel()
	cancel() // idempotent
	select {
	case _, ok := <-ch:
		if ok {
			// Drain anything queued before cancel; the channel must close.
			for range ch {
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	defer cancel2()
	must(t, st.Close(), "Close")
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch2:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("subscription not closed by Close")
		}
	}
}

func (s *suite) testEventsAcrossInstances(t *testing.T) {
	db := s.f.NewDatabase(t)
	if !db.Instances() {
		t.Skip("driver serves a single instance")
	}
	a := open(t, db, store.Options{})
	b := open(t, db, store.Options{})
	chB, cancel := b.Subscribe()
	defer cancel()
	checkWritesPublish(t, a, chB)
	// And the other way round, to a's own subscriber too.
	chA, cancelA := a.Subscribe()
	defer cancelA()
	must(t, b.Publish(ctxT(t), store.Event{Topic: "hello", Payload: "from b"}), "Publish")
	waitEvent(t, chA, store.Event{Topic: "hello", Payload: "from b"})
	waitEvent(t, chB, store.Event{Topic: "hello", Payload: "from b"})
}
