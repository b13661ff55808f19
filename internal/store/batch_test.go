package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nango-go/nango/internal/store"
)

// adder records AddActivity calls and fails the entry named "bad".
type adder struct{ got []string }

func (a *adder) AddActivity(_ context.Context, e *store.Activity) error {
	a.got = append(a.got, e.Message)
	if e.Message == "bad" {
		return errors.New("write failed")
	}
	return nil
}

type batcher struct {
	adder
	batches int
}

func (b *batcher) AddActivities(_ context.Context, entries []store.Activity) error {
	b.batches++
	return nil
}

// TestAddActivities: a batcher gets one call; any other store gets every
// entry, also after a failure, and the first error comes back.
func TestAddActivities(t *testing.T) {
	entries := []store.Activity{{Message: "a"}, {Message: "bad"}, {Message: "c"}}
	var b batcher
	if err := store.AddActivities(context.Background(), &b, entries); err != nil || b.batches != 1 || len(b.got) != 0 {
		t.Fatalf("batcher: err %v, %d batches, %d single writes", err, b.batches, len(b.got))
	}
	var a adder
	err := store.AddActivities(context.Background(), &a, entries)
	if err == nil || err.Error() != "write failed" {
		t.Fatalf("err = %v, want the failed write's", err)
	}
	if len(a.got) != 3 || a.got[2] != "c" {
		t.Fatalf("written %v, want all three in order", a.got)
	}
}
