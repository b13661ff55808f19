package server

// registerProxy adds the proxy routes (ALL /proxy/*) behind the secret-key
// guard. Owned by the proxy work (issue 5).
func (s *Server) registerProxy(secured guarded) {}
