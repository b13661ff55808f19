package tokens

import "github.com/nango-go/nango/internal/store"

// watch returns a channel that receives a value when the connection is
// written (a store TopicConnection event from any instance) or events may
// have been missed (TopicReset), and a function to stop watching. The
// store subscription is shared by all watchers and opened on first use.
func (s *Service) watch(providerConfigKey, connectionID string) (<-chan struct{}, func()) {
	s.watchOnce.Do(s.startWatch)
	key := store.ConnectionEventPayload(providerConfigKey, connectionID)
	ch := make(chan struct{}, 1)
	s.watchMu.Lock()
	set := s.watchers[key]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		s.watchers[key] = set
	}
	set[ch] = struct{}{}
	s.watchMu.Unlock()
	return ch, func() {
		s.watchMu.Lock()
		delete(set, ch)
		if len(set) == 0 {
			delete(s.watchers, key)
		}
		s.watchMu.Unlock()
	}
}

func (s *Service) startWatch() {
	s.watchMu.Lock()
	if s.closed {
		s.watchMu.Unlock()
		return
	}
	events, cancel := s.o.Store.Subscribe()
	s.stopWatch = cancel
	s.watchMu.Unlock()
	go func() {
		for ev := range events {
			switch ev.Topic {
			case store.TopicConnection:
				s.notify(ev.Payload)
			case store.TopicReset:
				s.notifyAll()
			}
		}
	}()
}

func (s *Service) notify(key string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for ch := range s.watchers[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Service) notifyAll() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, set := range s.watchers {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
