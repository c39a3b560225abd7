package transport

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// unavailable stops a test whose environment lacks something: a loud skip
// normally, a failure under CI (where every tool is installed and we are root).
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skipf("SKIPPED (environment): %s", reason)
}

// requireTool returns the path of an executable, or stops the test.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name+" is not installed: "+err.Error())
	}
	return path
}

// requireRoot stops the test unless it runs as root.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the test needs root")
	}
}

// recordingLogger keeps every debug event, to assert what was logged (and
// that no secret was).
type recordingLogger struct {
	mu     sync.Mutex
	events []string
}

func (l *recordingLogger) Debug(_ context.Context, msg string, fields map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %v", msg, fields))
}

func (l *recordingLogger) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.events, "\n")
}

// assertNoSecrets fails if any secret appears in the log or in errs.
func (l *recordingLogger) assertNoSecrets(t testing.TB, errs []error, secrets ...string) {
	t.Helper()
	text := l.all()
	for _, err := range errs {
		if err != nil {
			text += "\n" + err.Error()
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("a secret (%d bytes) leaked into logs or errors", len(s))
		}
	}
}
