package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// tempFile writes data to a new temporary file beside path (same directory,
// so that a rename installs it atomically), synced to disk, and returns its
// name. The caller renames or removes it.
func tempFile(path string, data []byte, mode os.FileMode) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	ok = true
	return tmp.Name(), nil
}

// install renames tmp over path and makes the rename durable.
func install(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeAtomic replaces path with data so that a reader sees the old file
// or the new one, never a part, even across a crash.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := tempFile(path, data, mode)
	if err != nil {
		return err
	}
	return install(tmp, path)
}

// removeDurably deletes path; a missing file is not an error.
func removeDurably(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// readOptional reads path; a missing file reads as nil with exists false.
func readOptional(path string) (data []byte, exists bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// snapshot is a file's content before a step changed it, so that the step
// can be undone: restore puts back the old bytes, or removes the file when
// there was none.
type snapshot struct {
	path   string
	data   []byte
	exists bool
	mode   os.FileMode
}

func takeSnapshot(path string, mode os.FileMode) (snapshot, error) {
	data, exists, err := readOptional(path)
	return snapshot{path: path, data: data, exists: exists, mode: mode}, err
}

func (s snapshot) restore() error {
	if !s.exists {
		return removeDurably(s.path)
	}
	return writeAtomic(s.path, s.data, s.mode)
}
