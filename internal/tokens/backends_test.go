package tokens_test

func backends() []backend { return []backend{sqliteBackend} }
