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

// ActivityBatcher is implemented by stores that can append several activity
// entries in one transaction; the proxy then writes its queued entries in
// batches (one commit for many calls) instead of one by one.
type ActivityBatcher interface {
	AddActivities(ctx context.Context, entries []store.Activity) error
}

func (a *activityLog) run() {
	defer close(a.done)
	batcher, _ := a.st.(ActivityBatcher)
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
		a.write(batcher, batch)
	}
}

func (a *activityLog) write(batcher ActivityBatcher, batch []store.Activity) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if batcher != nil && len(batch) > 1 {
		if err := batcher.AddActivities(ctx, batch); err != nil {
			a.log.Warn("proxy: activity entries could not be written", "entries", len(batch), "err", err)
		}
		return
	}
	for i := range batch {
		if err := a.st.AddActivity(ctx, &batch[i]); err != nil {
			a.log.Warn("proxy: activity entry could not be written", "err", err)
		}
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
