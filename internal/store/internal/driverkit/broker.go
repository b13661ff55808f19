package driverkit

import (
	"sync"

	"github.com/nango-go/nango/internal/store"
)

// SubscriberBuffer is how many events a subscriber may fall behind before it
// loses them and receives store.TopicReset instead.
const SubscriberBuffer = 256

// Broker fans events out to in-process subscribers. It never blocks a
// publisher: when a subscriber's buffer is full, its pending events are
// dropped and replaced by one store.TopicReset event (a subscriber that
// resets drops its caches, so the dropped events carry nothing it still
// needs). Broker is safe for concurrent use; the zero value is ready.
type Broker struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch   chan store.Event
	once sync.Once
}

// Subscribe returns a channel of every event published from now on, and a
// cancel function that ends the subscription and closes the channel. After
// Close the channel is closed at once.
func (b *Broker) Subscribe() (<-chan store.Event, func()) {
	s := &subscriber{ch: make(chan store.Event, SubscriberBuffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	if b.subs == nil {
		b.subs = make(map[*subscriber]struct{})
	}
	b.subs[s] = struct{}{}
	return s.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[s]; ok {
			delete(b.subs, s)
			s.once.Do(func() { close(s.ch) })
		}
	}
}

// Publish delivers ev to every subscriber without blocking.
func (b *Broker) Publish(ev store.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- ev:
			continue
		default:
		}
		// Full: drop what is pending and tell the subscriber to reset. Only
		// publishers send, and they hold b.mu, so after draining there is
		// room.
	drain:
		for {
			select {
			case <-s.ch:
			default:
				break drain
			}
		}
		s.ch <- store.Event{Topic: store.TopicReset}
	}
}

// Close ends every subscription. Later Subscribe calls return a closed
// channel; later Publish calls do nothing.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		s.once.Do(func() { close(s.ch) })
	}
	b.subs = nil
}

// MaxDeleteEvents is the largest number of connections deleted with their
// integration that are announced one TopicConnection event each; beyond it a
// single store.TopicReset is published instead (after the
// TopicIntegration event), since caches drop everything on a reset.
const MaxDeleteEvents = 1000
