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
