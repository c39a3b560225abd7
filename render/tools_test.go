package render

import (
	"os"
	"os/exec"
	"testing"
)

// unavailable skips t with a loud reason, or fails it when the CI
// environment variable is set: CI has every tool and runs as root, so a
// missing one there is a broken pipeline, not a reason to pass.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skipf("SKIPPED, NOT TESTED: %s (set up the tool and rerun; CI fails here)", reason)
}

// requireTool returns the path of the named executable, or stops the test
// through unavailable when it is not on PATH.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name+" is not installed: "+err.Error())
	}
	return path
}

// requireRoot stops the test through unavailable unless it runs as root
// (network namespaces, dummy interfaces).
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the test needs root")
	}
}
