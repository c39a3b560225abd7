//go:build unix

package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// errLocked says another agent held the host lock past the timeout.
var errLocked = errors.New("another lvs-agent holds the host lock")

// lockHost takes the host-wide lock (flock on <root>/var/lib/lvs-agent/lock),
// waiting at most timeout. The returned function releases it.
func lockHost(ctx context.Context, root string, timeout time.Duration) (func(), error) {
	path := filepath.Join(root, lockFile)
	if err := os.MkdirAll(filepath.Dir(path), secretDirMode); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, secretFileMode)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, errLocked
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
