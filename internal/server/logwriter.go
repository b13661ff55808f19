package server

import (
	"io"
	"sync"
	"time"
)

// LogWriter buffers the server's log output so that the one line logged per
// request does not cost a write system call: lines are written together
// at most FlushInterval after the first of them, at once when the buffer
// reaches its size, and by Flush and Close. It is safe for concurrent use.
//
// Lines written but not yet flushed are lost only if the process dies
// without Close (a crash or SIGKILL): at most FlushInterval of lines.
type LogWriter struct {
	w        io.Writer
	interval time.Duration

	mu      sync.Mutex
	buf     []byte
	pending bool // a flush is scheduled
	closed  bool
	err     error // the last write error (reported by Flush)
}

// Defaults of NewLogWriter.
const (
	// FlushInterval is the longest a line waits in the buffer.
	FlushInterval = 100 * time.Millisecond
	// logBufferSize is flushed at once when reached.
	logBufferSize = 64 << 10
)

// NewLogWriter returns a LogWriter in front of w (usually os.Stderr).
// Close it when the server stops, after the last log line.
func NewLogWriter(w io.Writer) *LogWriter {
	return &LogWriter{w: w, interval: FlushInterval, buf: make([]byte, 0, logBufferSize)}
}

// Write buffers p (one log line). After Close it writes through.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	if len(l.buf)+len(p) > cap(l.buf) {
		l.flushLocked()
		if len(p) > cap(l.buf) {
			return l.w.Write(p)
		}
	}
	l.buf = append(l.buf, p...)
	if !l.pending {
		l.pending = true
		time.AfterFunc(l.interval, l.timed)
	}
	return len(p), nil
}

func (l *LogWriter) timed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = false
	l.flushLocked()
}

func (l *LogWriter) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := l.w.Write(l.buf); err != nil {
		l.err = err
	}
	l.buf = l.buf[:0]
}

// Flush writes what is buffered and returns the last write error, if any.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	err := l.err
	l.err = nil
	return err
}

// Close flushes; later writes go straight to the underlying writer (a line
// logged after Close is never lost). It does not close that writer.
func (l *LogWriter) Close() error {
	err := l.Flush()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return err
}
