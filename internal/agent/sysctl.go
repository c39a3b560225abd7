package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/sysctl"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// Where sysctls persist, relative to the root.
const (
	// SysctlFragment keeps the host's settings across reboots.
	SysctlFragment = "/etc/sysctl.d/90-lvs-agent.conf"
	// previousFile remembers, per key, the value a setting had before the
	// agent first changed it, so that removing the object restores it.
	previousFile = StateDir + "/sysctl-previous.json"
)

// applySysctls sets the host's settings at runtime, writes the sysctl.d
// fragment, and puts back the original value of every setting no object
// manages any more. Undo restores the values and files of before the run.
func (a *Agent) applySysctls(_ context.Context, hc *hostConfig, tx *txn, rep *wire.ApplyReport) *wire.Error {
	const step = "apply sysctls"
	fail := func(err error) *wire.Error {
		return &wire.Error{Code: wire.ExitFailed, Step: step, Message: err.Error()}
	}
	prevPath := filepath.Join(a.Root, previousFile)
	prev, err := loadPrevious(prevPath)
	if err != nil {
		return fail(err)
	}
	prevSnap, err := takeSnapshot(prevPath, secretFileMode)
	if err != nil {
		return fail(err)
	}
	fragPath := filepath.Join(a.Root, SysctlFragment)
	fragSnap, err := takeSnapshot(fragPath, 0o644)
	if err != nil {
		return fail(err)
	}
	if fragSnap.exists && !isOurs(fragSnap.data) {
		return &wire.Error{Code: wire.ExitForeign, Step: step, Message: SysctlFragment + " was not written by lvs-agent; move it away (its settings are not managed)"}
	}

	// undo holds the value each key had before this run, in change order.
	var undoKeys []string
	undo := map[string]string{}
	set := func(key, value string) error {
		was, err := a.Sysctl.Set(key, value)
		if err != nil {
			return err
		}
		if _, seen := undo[key]; !seen && was != value {
			undo[key] = was
			undoKeys = append(undoKeys, key)
		}
		if _, known := prev[key]; !known {
			prev[key] = was
		}
		return nil
	}
	tx.add(func() error {
		var errs []error
		for i := len(undoKeys) - 1; i >= 0; i-- {
			if _, err := a.Sysctl.Set(undoKeys[i], undo[undoKeys[i]]); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, fragSnap.restore(), prevSnap.restore())
		return errors.Join(errs...)
	})

	a.loadIPVSFor(hc.sysctls)
	want := map[string]bool{}
	applied := make([]model.Sysctl, 0, len(hc.sysctls))
	for _, s := range hc.sysctls {
		err := set(s.Key, s.Value)
		if s.Optional && errors.Is(err, sysctl.ErrUnknownKey) {
			// This kernel lacks it (no IPVS here): nothing to set.
			continue
		}
		if err != nil {
			return fail(err)
		}
		want[s.Key] = true
		applied = append(applied, s)
	}
	for _, key := range sortedKeys(prev) {
		if want[key] {
			continue
		}
		if _, err := a.Sysctl.Set(key, prev[key]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("restoring %s = %s: %w", key, prev[key], err))
		}
		delete(prev, key)
	}
	changed, err := writeIfChanged(fragPath, fragSnap, sysctlFragment(applied), 0o644)
	if err != nil {
		return fail(err)
	}
	if changed {
		rep.Files = append(rep.Files, SysctlFragment)
	}
	if err := savePrevious(prevPath, prev); err != nil {
		return fail(err)
	}
	return nil
}

// sysctlFragment is the fragment's content; nil when there is nothing to keep.
func sysctlFragment(list []model.Sysctl) []byte {
	if len(list) == 0 {
		return nil
	}
	return []byte(render.Sysctl(list))
}

// writeIfChanged makes path hold data (nil: no file) and reports whether
// it changed anything.
func writeIfChanged(path string, old snapshot, data []byte, mode os.FileMode) (bool, error) {
	switch {
	case data == nil && !old.exists:
		return false, nil
	case data == nil:
		return true, removeDurably(path)
	case old.exists && string(old.data) == string(data):
		return false, nil
	}
	return true, writeAtomic(path, data, mode)
}

func loadPrevious(path string) (map[string]string, error) {
	data, exists, err := readOptional(path)
	if err != nil || !exists {
		return map[string]string{}, err
	}
	out := map[string]string{}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func savePrevious(path string, prev map[string]string) error {
	if len(prev) == 0 {
		return removeDurably(path)
	}
	data, err := json.MarshalIndent(prev, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), secretDirMode); err != nil {
		return err
	}
	return writeAtomic(path, data, secretFileMode)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// isOurs reports whether a file starts with render.ManagedMarker.
func isOurs(data []byte) bool {
	return strings.HasPrefix(string(data), render.ManagedMarker)
}
