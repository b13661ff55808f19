package telemetry

import "github.com/nango-go/nango/internal/store"

func storeOptions() store.Options { return store.Options{} }
