// Package sysctl reads and sets kernel settings through /proc/sys and
// keeps them across reboots in sysctl.d fragments, all under an
// injectable root directory so tests run against a temporary tree.
//
// Keys use the dotted form of sysctl(8); a slash in a key stands for a dot
// in the path, so VLAN interfaces work:
// net.ipv4.conf.eth0/100.rp_filter is /proc/sys/net/ipv4/conf/eth0.100/rp_filter.
package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// fileMode is the mode of sysctl.d fragments, as systemd-sysctl expects.
const fileMode = 0o644

// ErrUnknownKey says the kernel has no such setting (the /proc/sys file is
// missing: a typo, an interface that does not exist, a module not loaded).
var ErrUnknownKey = errors.New("no such sysctl")

// Host reads and writes the settings of one host.
type Host struct {
	// ProcSys is the live settings' directory, /proc/sys on a real host.
	ProcSys string
	// SysctlD is where fragments go, /etc/sysctl.d on a real host.
	SysctlD string
}

// New returns a Host whose /proc/sys and /etc/sysctl.d are below root:
// "/" on a real host, a temporary directory in tests.
func New(root string) *Host {
	return &Host{ProcSys: filepath.Join(root, "proc", "sys"), SysctlD: filepath.Join(root, "etc", "sysctl.d")}
}

// KeyPath turns a dotted key into its path below /proc/sys, swapping dots
// and slashes as sysctl(8) does. It refuses keys that are empty, have
// empty components or would climb out of /proc/sys.
func KeyPath(key string) (string, error) {
	if key == "" {
		return "", errors.New("sysctl: empty key")
	}
	parts := strings.Split(key, ".")
	for i, p := range parts {
		p = strings.ReplaceAll(p, "/", ".")
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\x00") {
			return "", fmt.Errorf("sysctl: key %q: invalid component %q", key, parts[i])
		}
		parts[i] = p
	}
	return strings.Join(parts, "/"), nil
}

// PathKey is the inverse of KeyPath: net/ipv4/conf/eth0.100/rp_filter
// gives net.ipv4.conf.eth0/100.rp_filter.
func PathKey(path string) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, ".", "/")
	}
	return strings.Join(parts, ".")
}

func (h *Host) file(key string) (string, error) {
	rel, err := KeyPath(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(h.ProcSys, filepath.FromSlash(rel)), nil
}

// Get returns a setting's value, white space folded as in the model
// ("32768 60999" for a tab-separated pair).
func (h *Host) Get(key string) (string, error) {
	path, err := h.file(key)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sysctl: reading %s: %w", key, ErrUnknownKey)
	}
	if err != nil {
		return "", fmt.Errorf("sysctl: reading %s: %w", key, err)
	}
	return normalize(string(b)), nil
}

// Set writes a setting and returns its previous value. A setting that
// already has the value is not written.
func (h *Host) Set(key, value string) (previous string, err error) {
	previous, err = h.Get(key)
	if err != nil {
		return "", err
	}
	if previous == normalize(value) {
		return previous, nil
	}
	path, _ := h.file(key) // Get checked the key
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return previous, fmt.Errorf("sysctl: setting %s = %s: %w", key, value, err)
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return previous, fmt.Errorf("sysctl: setting %s = %s: %w", key, value, err)
	}
	return previous, nil
}

func normalize(v string) string { return strings.Join(strings.Fields(v), " ") }

// Previous records, per key, the value a setting had before we first
// changed it, so that deleting the object that wanted it can put it back.
// The agent keeps it in its state store (it is plain JSON).
type Previous map[string]string

// Apply sets every setting in order and records in prev the original value
// of each key it changes, unless prev already holds one (the value from
// before our first change is what a delete restores). It returns the keys
// it changed. When one fails, the settings this call changed are put back
// and their records dropped, so the host is left as it was.
func (h *Host) Apply(list []model.Sysctl, prev Previous) ([]string, error) {
	var changed []string
	undo := map[string]string{}
	recorded := map[string]bool{}
	for _, s := range list {
		old, err := h.Set(s.Key, s.Value)
		if err != nil {
			return nil, errors.Join(err, h.rollback(changed, undo, recorded, prev))
		}
		if old == normalize(s.Value) {
			continue
		}
		changed = append(changed, s.Key)
		undo[s.Key] = old
		if _, seen := prev[s.Key]; !seen {
			prev[s.Key] = old
			recorded[s.Key] = true
		}
	}
	return changed, nil
}

// rollback puts back the settings one Apply changed, newest first, and
// drops the records that Apply added.
func (h *Host) rollback(changed []string, undo map[string]string, recorded map[string]bool, prev Previous) error {
	var errs []error
	for i := len(changed) - 1; i >= 0; i-- {
		key := changed[i]
		if _, err := h.Set(key, undo[key]); err != nil {
			errs = append(errs, fmt.Errorf("rolling back: %w", err))
		}
		if recorded[key] {
			delete(prev, key)
		}
	}
	return errors.Join(errs...)
}

// Restore sets each key back to its value in prev and forgets it. Keys prev
// does not hold were never changed by us and are left alone.
func (h *Host) Restore(keys []string, prev Previous) error {
	var errs []error
	for _, key := range keys {
		old, ok := prev[key]
		if !ok {
			continue
		}
		if _, err := h.Set(key, old); err != nil {
			errs = append(errs, fmt.Errorf("restoring: %w", err))
			continue
		}
		delete(prev, key)
	}
	return errors.Join(errs...)
}
