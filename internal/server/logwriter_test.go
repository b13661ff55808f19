package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nango-go/nango/internal/server"
)

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name string
		// act writes through lw and returns what must be in the sink
		// right after it, and what must not be yet.
		act          func(lw *server.LogWriter) (want, notYet string)
		wantAfterAll string
	}{
		{"buffered until flushed", func(lw *server.LogWriter) (string, string) {
			_, _ = lw.Write([]byte("a line\n"))
			return "", "a line"
		}, "a line\n"},
		{"Flush writes at once", func(lw *server.LogWriter) (string, string) {
			_, _ = lw.Write([]byte("one\n"))
			_ = lw.Flush()
			return "one\n", ""
		}, "one\n"},
		{"Close writes at once and writes through after", func(lw *server.LogWriter) (string, string) {
			_, _ = lw.Write([]byte("before\n"))
			_ = lw.Close()
			_, _ = lw.Write([]byte("after\n"))
			return "before\nafter\n", ""
		}, "before\nafter\n"},
		{"a full buffer is written", func(lw *server.LogWriter) (string, string) {
			line := strings.Repeat("x", 1000) + "\n"
			for range 70 {
				_, _ = lw.Write([]byte(line))
			}
			return strings.Repeat("x", 1000), ""
		}, strings.Repeat(strings.Repeat("x", 1000)+"\n", 70)},
		{"a line larger than the buffer", func(lw *server.LogWriter) (string, string) {
			big := strings.Repeat("y", 100<<10) + "\n"
			_, _ = lw.Write([]byte("small\n"))
			_, _ = lw.Write([]byte(big))
			return "small\n" + big, ""
		}, "small\n" + strings.Repeat("y", 100<<10) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &syncBuffer{}
			lw := server.NewLogWriter(sink)
			want, notYet := tt.act(lw)
			got := sink.String()
			if !strings.Contains(got, want) {
				t.Errorf("right after: sink has %d bytes, want it to contain %.40q…", len(got), want)
			}
			if notYet != "" && strings.Contains(got, notYet) {
				t.Errorf("right after: %q already written; want it buffered", notYet)
			}
			deadline := time.Now().Add(5 * time.Second)
			for sink.String() != tt.wantAfterAll && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := sink.String(); got != tt.wantAfterAll {
				t.Errorf("eventually: sink has %d bytes, want %d", len(got), len(tt.wantAfterAll))
			}
		})
	}
}

func TestLogWriterConcurrentLinesStayWhole(t *testing.T) {
	sink := &syncBuffer{}
	lw := server.NewLogWriter(sink)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				_, _ = fmt.Fprintf(lw, "g=%d i=%d %s\n", g, i, strings.Repeat("z", 50))
			}
		}()
	}
	wg.Wait()
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	if len(lines) != 8*2000 {
		t.Fatalf("%d lines, want %d", len(lines), 8*2000)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "g=") || !strings.HasSuffix(l, strings.Repeat("z", 50)) {
			t.Fatalf("mangled line %q", l)
		}
	}
}
