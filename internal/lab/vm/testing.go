//go:build linux

package vm

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Start boots a VM for the test t and stops it in t.Cleanup; an empty
// cfg.Dir becomes a directory of t.TempDir(). When the VM lab cannot run
// here (not root, qemu or mke2fs missing, setup.sh not run) it skips t with
// a loud reason, or fails it when the CI environment variable is set: CI
// runs setup.sh first, so there a missing piece is a broken pipeline.
func Start(t testing.TB, cfg Config) *VM {
	t.Helper()
	requireHost(t)
	if cfg.CacheDir == "" {
		cfg.CacheDir = CacheDir()
	}
	requireCache(t, cfg.CacheDir)
	if cfg.Bridge != "" {
		requireTool(t, "ip")
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultBootTimeout)
	defer cancel()
	v, err := Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VM %s (%s): SSH after %v: %s", v.Name, v.cfg.Machine, v.BootTime.Round(100*time.Millisecond), strings.Join(v.SSHCommand(), " "))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("VM %s console, last lines:\n%s", v.Name, v.ConsoleTail(40))
		}
		if err := v.Stop(); err != nil {
			t.Error(err)
		}
	})
	return v
}

// Require stops t through a loud skip (a failure under CI) unless the VM
// lab can run: root, qemu-system-x86_64 and mke2fs, and a cache built by
// setup.sh.
func Require(t testing.TB) {
	t.Helper()
	requireHost(t)
	requireCache(t, CacheDir())
}

func requireHost(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the VM lab needs root (tap devices, qemu)")
	}
	requireTool(t, "qemu-system-x86_64")
	requireTool(t, "mke2fs")
}

func requireCache(t testing.TB, dir string) {
	t.Helper()
	if _, err := LoadCache(dir); err != nil {
		unavailable(t, err.Error())
	}
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		unavailable(t, name+" is not installed: "+err.Error())
	}
}

// unavailable skips t with a loud reason, or fails it when CI is set.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skipf("SKIPPED, NOT TESTED: %s (see internal/lab/vm/setup.sh; CI fails here)", reason)
}
