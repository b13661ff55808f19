package connect

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nango-go/nango/internal/store"
)

func TestIsWebSocketUpgrade(t *testing.T) {
	tests := []struct {
		name       string
		connection string
		upgrade    string
		want       bool
	}{
		{"browser", "Upgrade", "websocket", true},
		{"token list, any case", "keep-alive, Upgrade", "WebSocket", true},
		{"plain GET", "keep-alive", "", false},
		{"other protocol", "Upgrade", "h2c", false},
		{"upgrade header only", "", "websocket", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://x/anything", nil)
			if tc.connection != "" {
				r.Header.Set("Connection", tc.connection)
			}
			if tc.upgrade != "" {
				r.Header.Set("Upgrade", tc.upgrade)
			}
			if got := IsWebSocketUpgrade(r); got != tc.want {
				t.Errorf("IsWebSocketUpgrade = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewUUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := newUUID()
		if !uuidV4RE.MatchString(id) || !validClientID(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "x", strings.ToUpper(newUUID()), newUUID() + "0", "0b6d3d3c-5f0e-4f57-9d5b-8c1f2f0e3a1g"} {
		if validClientID(bad) {
			t.Errorf("validClientID(%q) = true", bad)
		}
	}
}

// TestSocketIgnoresClientMessages checks the server reads nothing from the
// client: text messages and pings do not disturb the flow.
func TestSocketIgnoresClientMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws, id := e.dial("/?foo=bar")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range []string{`{"message_type":"success"}`, "hello", strings.Repeat("x", 30000)} {
		if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	results := make(chan map[string]string, 1)
	go func() { results <- readResult(t, ws) }()
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	get(t, e.sdkURL(keyOK, "u1", nil, "", id)).check(t, http.StatusOK)
	select {
	case m := <-results:
		if m["message_type"] != "success" {
			t.Errorf("message = %v", m)
		}
	case <-ctx.Done():
		t.Fatal("no result")
	}
}

// TestSocketOutlivesServerTimeouts checks a socket is not cut by the HTTP
// server's read and write timeouts, which are meant for plain requests.
func TestSocketOutlivesServerTimeouts(t *testing.T) {
	e := newEnv(t, envOptions{serverTimeout: 200 * time.Millisecond})
	ws, id := e.dial("/")
	time.Sleep(600 * time.Millisecond)
	get(t, e.sdkURL(keyOK, "u1", nil, "", id)).check(t, http.StatusOK)
	if m := readResult(t, ws); m["message_type"] != "success" {
		t.Errorf("message = %v", m)
	}
}

// TestSocketDropped checks sockets leave the hub when the client closes
// them, when the connection just breaks, and when they outlive their
// lifetime.
func TestSocketDropped(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws, _ := e.dial("/")
	if e.h.hub.count() != 1 {
		t.Fatalf("open sockets = %d", e.h.hub.count())
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "a closed socket to be dropped", func() bool { return e.h.hub.count() == 0 })

	ws, _ = e.dial("/")
	_ = ws.CloseNow()
	waitFor(t, "a broken socket to be dropped", func() bool { return e.h.hub.count() == 0 })

	e.h.hub.mu.Lock()
	e.h.hub.lifetime = 50 * time.Millisecond
	e.h.hub.mu.Unlock()
	ws, _ = e.dial("/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("an expired socket read %v, want a policy-violation close", err)
	}
	waitFor(t, "an expired socket to be dropped", func() bool { return e.h.hub.count() == 0 })
}

// TestSocketLimit checks an instance refuses sockets beyond its limit.
func TestSocketLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.h.hub.mu.Lock()
	e.h.hub.max = 1
	e.h.hub.mu.Unlock()
	e.dial("/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second socket: %v, %v; want 503", resp, err)
	}
}

// TestCloseClosesSockets checks Close ends every socket (going away) and
// refuses new ones.
func TestCloseClosesSockets(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, _ := e.dial("/")
	b, _ := e.dial("/x")
	done := make(chan struct{})
	go func() { _ = e.h.Close(); close(done) }()
	for _, ws := range []*websocket.Conn{a, b} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := ws.Read(ctx)
		cancel()
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("read after Close: %v, want going away", err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if e.h.hub.count() != 0 {
		t.Errorf("open sockets after Close = %d", e.h.hub.count())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http"), nil); err == nil {
		t.Errorf("a socket was accepted after Close")
	}
}

// TestExactlyOneResult checks a socket gets one result however many are
// delivered.
func TestExactlyOneResult(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws, id := e.dial("/")
	first := resultMessage{MessageType: msgSuccess, ProviderConfigKey: "k", ConnectionID: "c"}
	if !e.h.hub.deliver(id, first, true) {
		t.Fatal("the socket is not in the hub")
	}
	e.h.hub.deliver(id, resultMessage{MessageType: msgError, ErrorType: "unknown_err"}, false)
	if got := readResult(t, ws); !jsonEqual(got, first) {
		t.Errorf("message = %v, want %v", got, first)
	}
}

// TestResultFromEvent checks a result published on the store (as another
// instance does) reaches the socket, and that foreign or malformed events
// are ignored.
func TestResultFromEvent(t *testing.T) {
	e := newEnv(t, envOptions{})
	ws, id := e.dial("/")
	ctx := context.Background()
	publish := func(payload string) {
		t.Helper()
		if err := e.store.Publish(ctx, store.Event{Topic: store.TopicFlowResult, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	publish("not json")
	publish(`{"ws_client_id":"` + id + `","message":{"message_type":"connection_ack"}}`)
	publish(`{"ws_client_id":"` + strings.ToUpper(id) + `","message":{"message_type":"success"}}`)
	if err := e.store.Publish(ctx, store.Event{Topic: store.TopicConnection, Payload: id}); err != nil {
		t.Fatal(err)
	}
	want := resultMessage{MessageType: msgError, ProviderConfigKey: "k", ConnectionID: "c", ErrorType: "callback_err", ErrorDesc: "d"}
	b, _ := json.Marshal(flowEvent{WSClientID: id, Message: want})
	publish(string(b))
	if got := readResult(t, ws); !jsonEqual(got, want) {
		t.Errorf("message = %v, want %v", got, want)
	}
}

// TestUnknownSocket checks a flow whose socket is on no instance still
// answers the popup (the result is published for other instances), and that
// a ws_client_id this server cannot have issued is not published.
func TestUnknownSocket(t *testing.T) {
	e := newEnv(t, envOptions{})
	events, cancel := e.store.Subscribe()
	defer cancel()
	absent := newUUID()
	p := get(t, e.sdkURL(keyOK, "u1", nil, "", absent))
	p.check(t, http.StatusOK)
	if p.posted(t) != nil {
		t.Errorf("a WebSocket popup posted to its opener")
	}
	get(t, e.sdkURL(keyOK, "u2", nil, "", "not-a-uuid")).check(t, http.StatusOK)
	var got []flowEvent
	timeout := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case ev := <-events:
			if ev.Topic == store.TopicFlowResult {
				var fe flowEvent
				if err := json.Unmarshal([]byte(ev.Payload), &fe); err != nil {
					t.Fatal(err)
				}
				got = append(got, fe)
			}
		case <-timeout:
			done = true
		}
	}
	want := []flowEvent{{WSClientID: absent, Message: resultMessage{MessageType: msgSuccess, ProviderConfigKey: keyOK, ConnectionID: "u1"}}}
	if !jsonEqual(got, want) {
		t.Errorf("published %+v, want %+v", got, want)
	}
}

// TestEventTooLarge checks a huge error description is shortened for other
// instances so the event fits a NOTIFY payload, whatever its characters.
func TestEventTooLarge(t *testing.T) {
	e := newEnv(t, envOptions{})
	events, cancel := e.store.Subscribe()
	defer cancel()
	for _, desc := range []string{strings.Repeat("é", 10000), strings.Repeat(`<"\`, 3000), strings.Repeat("\u2028", 3000)} {
		e.h.notify(context.Background(), e.h.log, newUUID(), resultMessage{MessageType: msgError, ErrorType: "url_param_err", ErrorDesc: desc})
		select {
		case ev := <-events:
			wire, _ := json.Marshal(ev.Payload)
			if len(wire) > maxEventPayload {
				t.Errorf("event of %d bytes once encoded", len(wire))
			}
			var fe flowEvent
			if err := json.Unmarshal([]byte(ev.Payload), &fe); err != nil || !strings.HasSuffix(fe.Message.ErrorDesc, "…") ||
				!strings.HasPrefix(desc, strings.TrimSuffix(fe.Message.ErrorDesc, "…")) {
				t.Errorf("shortened event = %+v, %v", fe, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("nothing published")
		}
	}
	// A connection id too large by itself is not published.
	e.h.notify(context.Background(), e.h.log, newUUID(), resultMessage{MessageType: msgSuccess, ConnectionID: strings.Repeat("x", 8000)})
	select {
	case ev := <-events:
		t.Errorf("published %d bytes", len(ev.Payload))
	case <-time.After(200 * time.Millisecond):
	}
}
