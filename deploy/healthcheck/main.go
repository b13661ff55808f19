// Command healthcheck is the container image's HEALTHCHECK: it asks the
// server in the same container for GET /health (liveness) — or the path in
// its first argument, e.g. /ready — on 127.0.0.1 and the port the server
// listens on (SERVER_PORT, else PORT, else 3003), and exits 0 on a 200
// answer, 1 otherwise. The distroless image has no shell or curl, hence this
// small static binary. It imports only the standard library.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	path := "/health"
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "/") {
		path = os.Args[1]
	}
	if err := check(port(os.Getenv), path); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// port chooses the port as the server does.
func port(env func(string) string) int {
	for _, name := range []string{"SERVER_PORT", "PORT"} {
		if n, err := strconv.Atoi(strings.TrimSpace(env(name))); err == nil && n > 0 && n < 65536 {
			return n
		}
	}
	return 3003
}

func check(port int, path string) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered %d", path, resp.StatusCode)
	}
	return nil
}
