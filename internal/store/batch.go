package store

import "context"

// ActivityBatcher is an optional interface of drivers that can append many
// activity entries in one transaction (one commit instead of one per
// entry), for writers of high-volume activity such as the proxy's
// background log.
//
// AddActivities appends every entry of entries, or none of them: it is
// atomic. It sets each entry's ID (and fills a zero Time and rounds Duration
// as AddActivity does) in the caller's slice. It is safe for concurrent use.
// An empty slice is a no-op.
type ActivityBatcher interface {
	AddActivities(ctx context.Context, entries []Activity) error
}

// ActivityAdder is what AddActivities needs of a store: AddActivity, and
// ActivityBatcher when it has it.
type ActivityAdder interface {
	AddActivity(ctx context.Context, a *Activity) error
}

// AddActivities appends entries to st in one batch when st is an
// ActivityBatcher (atomic), else one by one, writing every entry it can
// and returning the first error. Store decorators that forward
// ActivityBatcher, and writers of many entries, call it rather than
// checking for the interface themselves.
func AddActivities(ctx context.Context, st ActivityAdder, entries []Activity) error {
	if b, ok := st.(ActivityBatcher); ok {
		return b.AddActivities(ctx, entries)
	}
	var first error
	for i := range entries {
		if err := st.AddActivity(ctx, &entries[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}
