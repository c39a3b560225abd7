//go:build linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// acquireLock takes the exclusive lock file at path, waiting while another
// process holds it. The file is removed by its holder when the lab goes
// down, so after locking we check that the locked file is still the one at
// path, and start over when it is not.
func acquireLock(ctx context.Context, path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, fs.ErrNotExist) {
			// A test's cleanup removes the empty scratch dir when its lab
			// goes down; another lab may be between MkdirAll and here.
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open lock %s: %w", path, err)
		}
		if err := lockFile(ctx, f); err != nil {
			f.Close()
			return nil, err
		}
		current, err := sameFile(f, path)
		if err != nil || current {
			if err != nil {
				releaseLock(f)
			}
			return f, err
		}
		releaseLock(f)
	}
}

// lockFile flocks f, polling until it is free or ctx is done.
func lockFile(ctx context.Context, f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lock %s (another process has this lab up): %w", f.Name(), ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// sameFile reports whether the open file f is still the file at path.
func sameFile(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat lock %s: %w", path, err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat lock %s: %w", path, err)
	}
	return os.SameFile(held, now), nil
}

// releaseLock unlocks and closes a lock file.
func releaseLock(f *os.File) {
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	f.Close()
}
