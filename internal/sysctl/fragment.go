package sysctl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// FragmentPath is where a fragment named name lives: SysctlD/<name>. The name must be a plain .conf file name.
func (h *Host) FragmentPath(name string) (string, error) {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".conf") {
		return "", fmt.Errorf("sysctl: fragment %q: give a plain file name ending in .conf", name)
	}
	return filepath.Join(h.SysctlD, name), nil
}

// WriteFragment writes the sysctl.d fragment that keeps list across
// reboots (text from render.Sysctl), atomically: a temporary file in the
// same directory, fsync, mode 0644, rename, fsync of the directory. It
// reports whether the file changed; identical content is not rewritten.
func (h *Host) WriteFragment(name string, list []model.Sysctl) (bool, error) {
	path, err := h.FragmentPath(name)
	if err != nil {
		return false, err
	}
	text := []byte(render.Sysctl(list))
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, text) {
		return false, nil
	}
	if err := writeAtomic(path, text, fileMode); err != nil {
		return false, fmt.Errorf("sysctl: writing fragment %s: %w", path, err)
	}
	return true, nil
}

// RemoveFragment deletes a fragment; a missing one is not an error. It
// reports whether a file was removed.
func (h *Host) RemoveFragment(name string) (bool, error) {
	path, err := h.FragmentPath(name)
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sysctl: removing fragment %s: %w", path, err)
	}
	return true, syncDir(filepath.Dir(path))
}

// writeAtomic replaces path with data so that a reader sees the old file
// or the new one, never a part, even across a crash.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	return syncDir(dir)
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
