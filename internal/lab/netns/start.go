package netns

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Defaults Start uses when Config.Name is empty, distinct from DefaultName
// and DefaultSubnet so that tests never take down a lab brought up by hand.
const TestName = "lvstest"

// TestSubnet is Start's subnet when Config.Name is empty.
var TestSubnet = netip.MustParsePrefix("10.78.0.0/24")

// Start brings a lab up for a test and registers its Down with t.Cleanup.
// It skips the test with a loud reason when not root or when a tool is
// missing, and fails it instead when $CI is set. When another test process
// has the same lab up, Start waits for it (up to a minute).
func Start(t testing.TB, cfg Config) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the network-namespace lab needs root")
	}
	if _, err := sshdPath(); err != nil {
		unavailable(t, "the network-namespace lab needs OpenSSH's sshd: "+err.Error())
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, "the network-namespace lab needs "+tool+": "+err.Error())
		}
	}
	if cfg.Name == "" {
		cfg.Name = TestName
		if !cfg.Subnet.IsValid() {
			cfg.Subnet = TestSubnet
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	l, err := Up(ctx, cfg)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Logf("lab %s: %d hosts up in %v (%s)", l.Name, len(l.Order), time.Since(began).Round(time.Millisecond), l.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			l.logSSHD(t)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		began := time.Now()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
			return
		}
		t.Logf("lab %s: down in %v", l.Name, time.Since(began).Round(time.Millisecond))
	})
	return l
}

// TempDir returns a new directory, removed when t ends, that every lab host
// sees at the same path: the place for a binary or file that a test runs or
// reads on hosts through Lab.Command or Lab.Exec. (t.TempDir is under /tmp,
// and each host has a /tmp of its own.) It is under $LVS_LAB_DIR, else
// DefaultDir.
func TempDir(t testing.TB) string {
	t.Helper()
	base := Config{}.withDefaults().Dir
	if underTmp(base) {
		t.Fatalf("%s=%s: lab hosts have their own /tmp and cannot see it", DirEnv, base)
	}
	parent := filepath.Join(base, tempDirName)
	prefix := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, t.Name()) + "-"
	var dir string
	err := errors.New("no try")
	// Another test's cleanup may remove parent between the two calls:
	// then again.
	for try := 0; try < 3 && err != nil; try++ {
		if err = os.MkdirAll(parent, 0o755); err == nil {
			// Not t.TempDir: that is under /tmp, which the hosts cannot see.
			dir, err = os.MkdirTemp(parent, prefix) //nolint:usetesting // see above
		}
	}
	if err != nil {
		t.Fatalf("lab temp dir: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove lab temp dir: %v", err)
		}
		_ = os.Remove(parent) // fails, as it should, while another test uses it
		_ = os.Remove(base)   // likewise, while a lab is up
	})
	return dir
}

// tempDirName is TempDir's directory under the scratch dir: never a lab
// name (those have no '_').
const tempDirName = "_tmp"

// logSSHD logs each host's sshd log, for a failed test.
func (l *Lab) logSSHD(t testing.TB) {
	t.Helper()
	for _, name := range l.Order {
		b, err := os.ReadFile(filepath.Join(l.Hosts[name].Dir, "sshd.log"))
		if err != nil {
			t.Logf("host %s: sshd log: %v", name, err)
			continue
		}
		t.Logf("host %s: sshd log:\n%s", name, b)
	}
}

// unavailable skips t with a loud reason, or fails it when $CI is set: CI
// runs as root with every tool, so a missing one there is a broken
// pipeline, not a reason to pass.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skipf("SKIPPED, NOT TESTED: %s (set it up and rerun; CI fails here)", reason)
}

// sshdPath finds sshd on PATH or where Debian installs it (/usr/sbin is not
// on every user's PATH).
func sshdPath() (string, error) {
	p, err := exec.LookPath("sshd")
	if err == nil {
		return p, nil
	}
	if _, statErr := os.Stat("/usr/sbin/sshd"); statErr == nil {
		return "/usr/sbin/sshd", nil
	}
	return "", err
}
