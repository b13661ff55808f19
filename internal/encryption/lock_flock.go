//go:build unix

package encryption

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// FileLock is an exclusive flock(2) on a lock file next to a SQLite
// database, serialising the key check and record updates of processes
// sharing the file (a server and a `nango keys` command, or two servers
// started on one file by mistake). The kernel releases it if the process
// dies.
type FileLock struct {
	Path string // the lock file; created when missing
}

// Lock takes the lock, polling until ctx ends.
func (l *FileLock) Lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("taking the encryption lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			_ = f.Close()
			return nil, fmt.Errorf("taking the encryption lock %s: %w", l.Path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func sqliteLocker(dbPath string) Locker { return &FileLock{Path: dbPath + ".keylock"} }
