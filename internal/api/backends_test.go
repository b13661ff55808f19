package api_test

func apiBackends() []apiBackend { return []apiBackend{sqliteAPIBackend} }
