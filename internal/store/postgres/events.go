package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nango-go/nango/internal/store"
)

// MaxPayload is the largest event payload Publish accepts (PostgreSQL's
// NOTIFY limit is 8000 bytes, including the envelope).
const MaxPayload = 7000

// wireEvent is the JSON sent as NOTIFY payload. Connection events written
// by SQL carry the two keys instead of a payload.
type wireEvent struct {
	T string  `json:"t"`
	P string  `json:"p,omitempty"`
	K *string `json:"k,omitempty"`
	C *string `json:"c,omitempty"`
}

func encodeEvent(ev store.Event) string {
	b, _ := json.Marshal(wireEvent{T: ev.Topic, P: ev.Payload})
	return string(b)
}

func decodeEvent(s string) (store.Event, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return store.Event{}, err
	}
	ev := store.Event{Topic: w.T, Payload: w.P}
	if w.K != nil && w.C != nil {
		ev.Payload = store.ConnectionEventPayload(*w.K, *w.C)
	}
	return ev, nil
}

// Publish sends ev to every subscriber of every instance on this database
// and schema (this one included) through NOTIFY.
func (s *Store) Publish(ctx context.Context, ev store.Event) error {
	p := encodeEvent(ev)
	if len(p) > MaxPayload {
		return fmt.Errorf("postgres: event payload of %d bytes is over the %d-byte limit", len(p), MaxPayload)
	}
	_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, p)
	return dbErr(err)
}

// Subscribe returns every event published on this database and schema. The
// first call starts the store's listener: one dedicated connection that
// LISTENs and reconnects when it drops. Subscribers receive
// store.TopicReset as soon as the connection is found lost (events
// committed from then until the listener is back are not delivered: caches
// must stop trusting themselves at once, not when it reconnects) and again
// after each reconnection.
func (s *Store) Subscribe() (<-chan store.Event, func()) {
	s.startListener()
	return s.broker.Subscribe()
}

func (s *Store) startListener() {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.listening {
		return
	}
	s.listening = true
	ctx, cancel := context.WithCancel(context.Background())
	s.listenStop, s.listenDone = cancel, make(chan struct{})
	// Connect before returning, so that a subscriber sees every event
	// committed after Subscribe returns; if that fails, keep trying in the
	// background.
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := s.dialListener(cctx)
	ccancel()
	if err != nil {
		s.log.Warn("event listener cannot connect; retrying", "err", err)
	}
	go s.listen(ctx, conn)
}

// dialListener connects the listener: connectListener, or the test hook
// that replaces it.
func (s *Store) dialListener(ctx context.Context) (*pgx.Conn, error) {
	if f := s.listenDial.Load(); f != nil {
		return (*f)(ctx)
	}
	return s.connectListener(ctx)
}

func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, dbErr(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		_ = conn.Close(ctx)
		return nil, dbErr(err)
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenDone)
	backoff := 100 * time.Millisecond
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			var err error
			if conn, err = s.dialListener(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				backoff = min(2*backoff, 5*time.Second)
				s.log.Warn("event listener cannot reconnect", "err", err, "retry_in", backoff)
				continue
			}
			backoff = 100 * time.Millisecond
			s.log.Info("event listener reconnected")
			s.broker.Publish(store.Event{Topic: store.TopicReset})
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			_ = conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("event listener lost its connection", "err", err)
			s.broker.Publish(store.Event{Topic: store.TopicReset})
			continue
		}
		ev, err := decodeEvent(n.Payload)
		if err != nil {
			s.log.Warn("ignoring a malformed event notification", "err", err)
			continue
		}
		s.broker.Publish(ev)
	}
}
