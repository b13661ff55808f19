package connect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/nango-go/nango/internal/httpx"
)

// Limits of the WebSocket channel.
const (
	// writeTimeout bounds one message write (ack or result).
	writeTimeout = 10 * time.Second
	// clientReadLimit bounds one client message; the server discards what
	// clients send, so anything bigger only closes the socket.
	clientReadLimit = 64 << 10
	// deliveryWait is how long a callback waits for its result to be written
	// to a socket of this instance before answering the popup, so that the
	// message is sent before the page (SPEC §2.4).
	deliveryWait = 2 * time.Second
	// defaultMaxSockets bounds the open sockets of one instance.
	defaultMaxSockets = 10000
)

// Message types of the WebSocket channel (SPEC §2.3).
const (
	msgAck     = "connection_ack"
	msgSuccess = "success"
	msgError   = "error"
)

// ackMessage is the first message on every socket.
type ackMessage struct {
	MessageType string `json:"message_type"`
	WSClientID  string `json:"ws_client_id"`
}

// resultMessage is the one success or error message a socket receives.
type resultMessage struct {
	MessageType       string `json:"message_type"`
	ProviderConfigKey string `json:"provider_config_key,omitempty"`
	ConnectionID      string `json:"connection_id,omitempty"`
	ErrorType         string `json:"error_type,omitempty"`
	ErrorDesc         string `json:"error_desc,omitempty"`
}

// hub holds this instance's open sockets by ws_client_id. It is safe for
// concurrent use.
type hub struct {
	log *slog.Logger

	mu       sync.Mutex
	lifetime time.Duration // of each socket
	max      int           // open sockets
	clients  map[string]*wsClient
	closed   bool
	done     chan struct{} // closed by close()
	wg       sync.WaitGroup
}

// wsClient is one open socket waiting for its flow's result.
type wsClient struct {
	id       string
	lifetime time.Duration
	result   chan resultMessage // capacity 1: the one result
	once     sync.Once
	sent     chan struct{} // closed once the result was written (or could not be)
}

func newHub(log *slog.Logger, lifetime time.Duration, max int) *hub {
	return &hub{log: log, lifetime: lifetime, max: max, clients: map[string]*wsClient{}, done: make(chan struct{})}
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// register adds a client with a fresh id, unless the hub is closed or full.
func (h *hub) register() (*wsClient, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= h.max {
		return nil, false
	}
	c := &wsClient{id: newUUID(), lifetime: h.lifetime, result: make(chan resultMessage, 1), sent: make(chan struct{})}
	h.clients[c.id] = c
	h.wg.Add(1)
	return c, true
}

// drop forgets a client.
func (h *hub) drop(c *wsClient) {
	h.mu.Lock()
	if h.clients[c.id] == c {
		delete(h.clients, c.id)
	}
	h.mu.Unlock()
}

// deliver hands msg to the socket id of this instance, at most once per
// socket. It reports whether the socket is here; when wait is set it also
// waits (up to deliveryWait) until the message was written.
func (h *hub) deliver(id string, msg resultMessage, wait bool) bool {
	h.mu.Lock()
	c := h.clients[id]
	h.mu.Unlock()
	if c == nil {
		return false
	}
	c.once.Do(func() { c.result <- msg })
	if wait {
		t := time.NewTimer(deliveryWait)
		defer t.Stop()
		select {
		case <-c.sent:
		case <-t.C:
		}
	}
	return true
}

// count returns the number of open sockets.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// close makes every socket close (going away) and refuses new ones; it
// waits up to timeout for the sockets' handlers to finish.
func (h *hub) close(timeout time.Duration) {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	waited := make(chan struct{})
	go func() { h.wg.Wait(); close(waited) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-waited:
	case <-t.C:
		h.log.Warn("websocket: sockets still closing at shutdown", "open", h.count())
	}
}

// serve runs one socket from upgrade to close: it sends the ack, discards
// whatever the client sends (answering pings and the close handshake), and
// ends when the flow's result was sent, the client left, the socket's
// lifetime passed or the hub closed.
func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	// The server's read and write deadlines are meant for ordinary requests;
	// a socket lives as long as a flow, bounded below by its lifetime.
	// (net/http clears them on hijack today, without promising it.)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	if e := checkHandshake(r); e != nil {
		// Answered here, in the API's error form, rather than by the
		// WebSocket library's plain-text refusal.
		h.log.Debug("websocket: bad handshake", "err", e.Message)
		if e.Status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		httpx.WriteError(w, r, e)
		return
	}
	c, ok := h.register()
	if !ok {
		h.log.Warn("websocket: refusing a socket: shutting down or too many open")
		w.Header().Set("Retry-After", "5")
		httpx.WriteError(w, r, &httpx.Error{Status: http.StatusServiceUnavailable, Type: "too_many_sockets",
			Message: "The server holds as many WebSocket connections as it allows, or is shutting down; retry shortly."})
		return
	}
	defer h.wg.Done()
	defer h.drop(c)
	defer c.markSent()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The browser SDK runs on the app's origin, never the server's, and
		// the socket carries no credentials and grants nothing but this
		// socket's own result: every origin is accepted, as the reference did.
		InsecureSkipVerify: true,
	})
	if err != nil {
		// Accept has answered the request (400/403/426).
		h.log.Debug("websocket: upgrade refused", "err", err)
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(clientReadLimit)

	ctx := context.Background()
	if err := writeJSON(ctx, conn, ackMessage{MessageType: msgAck, WSClientID: c.id}); err != nil {
		h.log.Debug("websocket: ack not delivered", "err", err)
		return
	}

	// The reader answers pings and the close handshake and throws data
	// messages away. Its context never ends: closing the socket ends it.
	left := make(chan struct{})
	go func() {
		defer close(left)
		for {
			_, rd, err := conn.Reader(ctx)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				return
			}
		}
	}()
	defer func() {
		_ = conn.CloseNow()
		<-left
	}()

	lifetime := time.NewTimer(c.lifetime)
	defer lifetime.Stop()
	select {
	case msg := <-c.result:
		err := writeJSON(ctx, conn, msg)
		c.markSent()
		if err != nil {
			h.log.Info("websocket: result not delivered: the client left", "ws_client_id", c.id, "err", err)
			return
		}
		// A close frame without a status code, as the reference sends.
		_ = conn.Close(websocket.StatusNoStatusRcvd, "")
	case <-left:
		// The client closed the socket or the connection broke.
	case <-lifetime.C:
		_ = conn.Close(websocket.StatusPolicyViolation, "flow not completed in time")
	case <-h.done:
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
	}
}

// markSent records that the client's result has been handled.
func (c *wsClient) markSent() {
	select {
	case <-c.sent:
	default:
		close(c.sent)
	}
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}

// newUUID returns a random (version 4) UUID in its canonical text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// validClientID reports whether id has the form of the ids this server
// hands out (a canonical lowercase UUID); other values cannot name a socket
// and are not published.
func validClientID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
				return false
			}
		}
	}
	return true
}
