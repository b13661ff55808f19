package httpx

import (
	"net/http"
	"time"
)

// SlowResponse is how long a handler that may wait on a provider (a token
// refresh, possibly behind another instance's) may take to answer.
const SlowResponse = 3 * time.Minute

// AllowSlowResponse moves the connection's write deadline to now +
// SlowResponse, beyond the server's WriteTimeout, for handlers that may wait
// on a provider: without it the answer of a request that waited for a
// refresh would be cut off by the WriteTimeout and lost.
func AllowSlowResponse(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(SlowResponse))
}
