package proxy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nango-go/nango/internal/store"
)

// activityQueue bounds the entries waiting to be written; beyond it entries
// are dropped (and counted in a warning) rather than slowing calls down.
const activityQueue = 4096

// activityLog writes proxy activity entries in the background, so a
// proxied call never waits for the database after its answer.
type activityLog struct {
	st       Store
	log      *slog.Logger
	mu       sync.RWMutex
	ch       chan store.Activity
	closed   bool
	done     chan struct{}
	dropped  atomic.Int64
	lastWarn atomic.Int64 // unix nanoseconds of the last "dropped" warning
}

func newActivityLog(st Store, log *slog.Logger) *activityLog {
	a := &activityLog{st: st, log: log, ch: make(chan store.Activity, activityQueue), done: make(chan struct{})}
	go a.run()
	return a
}

// add queues e; it never blocks.
func (a *activityLog) add(e store.Activity) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return
	}
	select {
	case a.ch <- e:
	default:
		n := a.dropped.Add(1)
		now := time.Now().UnixNano()
		if last := a.lastWarn.Load(); now-last > int64(10*time.Second) && a.lastWarn.CompareAndSwap(last, now) {
			a.log.Warn("proxy: the activity log cannot keep up with the calls; entries dropped", "dropped_total", n)
		}
	}
}

// batchMax bounds the entries written together.
const batchMax = 256

// run writes the queued entries in batches: a store that can append
// several in one transaction (store.ActivityBatcher) commits once for many
// calls instead of once per call.
func (a *activityLog) run() {
	defer close(a.done)
	batch := make([]store.Activity, 0, batchMax)
	for e := range a.ch {
		batch = append(batch[:0], e)
	more:
		for len(batch) < batchMax {
			select {
			case e, ok := <-a.ch:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		a.write(batch)
	}
}

func (a *activityLog) write(batch []store.Activity) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.AddActivities(ctx, a.st, batch); err != nil {
		a.log.Warn("proxy: activity entries could not be written", "entries", len(batch), "err", err)
	}
}

// close writes what is queued and stops.
func (a *activityLog) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	close(a.ch)
	a.mu.Unlock()
	<-a.done
}
