package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// systemUser creates a throwaway local user with a random password in
// /etc/shadow and, when sudoers is not empty, a sudoers drop-in for it
// (every %s becomes the user name). Both are removed when the test ends.
// It changes the machine, so it runs only as root with CI or
// LVS_TEST_SYSTEM_USERS=1 set.
func systemUser(t *testing.T, sudoers string) (name, password string) {
	t.Helper()
	requireRoot(t)
	if os.Getenv("CI") == "" && os.Getenv("LVS_TEST_SYSTEM_USERS") == "" {
		unavailable(t, "this test creates a local user; set LVS_TEST_SYSTEM_USERS=1 (or CI) to allow it")
	}
	for _, tool := range []string{"useradd", "userdel", "chpasswd"} {
		requireTool(t, tool)
	}
	name, password = "lvst"+randomHex(t, 4), randomHex(t, 16)
	// useradd fails while another process holds the passwd lock: retry briefly.
	var out []byte
	var err error
	for range 20 {
		if out, err = exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-f", "-r", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	chpasswd := exec.Command("chpasswd")
	chpasswd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := chpasswd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v\n%s", err, out)
	}
	if sudoers != "" {
		requireTool(t, "sudo")
		visudo := requireTool(t, "visudo")
		path := filepath.Join("/etc/sudoers.d", "lvs-test-"+name) // no dot: sudo would skip it
		writeFile(t, path, strings.ReplaceAll(sudoers, "%s", name)+"\n", 0o440)
		t.Cleanup(func() { os.Remove(path) })
		if out, err := exec.Command(visudo, "-cf", path).CombinedOutput(); err != nil {
			t.Fatalf("visudo: %v\n%s", err, out)
		}
	}
	return name, password
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// userSSHD starts an sshd that accepts a fresh key for any user and returns
// a Config for user.
func userSSHD(t *testing.T, user string, o sshdOptions) Config {
	s, keyPEM := rootSSHD(t, o)
	cfg := s.config(keyPEM)
	cfg.User = user
	return cfg
}

// countLogged counts the logged commands equal to line.
func countLogged(log *recordingLogger, line string) int {
	return strings.Count(log.all(), "command:"+line+" ")
}

func TestSudoWithoutPassword(t *testing.T) {
	user, _ := systemUser(t, "%s ALL=(root) NOPASSWD: ALL")
	cfg := userSSHD(t, user, sshdOptions{})
	log := &recordingLogger{}
	h := mustHost(t, newPool(t, log), cfg)
	ctx := context.Background()

	if got := whoami(t, h); got != "root" {
		t.Fatalf("commands run as %q, want root through sudo", got)
	}
	res, err := h.Run(ctx, Command{Step: "quote", Args: printfArgs(nastyArgs)})
	if err != nil {
		t.Fatal(err)
	}
	if got := splitNUL(res.Stdout); !slices.Equal(got, nastyArgs) {
		t.Fatalf("round trip through sudo:\n got %q\nwant %q", got, nastyArgs)
	}
	target := filepath.Join(t.TempDir(), "root-only", "agent") // t.TempDir is 0700 root
	if uploaded, err := h.Upload(ctx, target, []byte("#!/bin/sh\n"), 0o755); err != nil || !uploaded {
		t.Fatalf("upload as %s through sudo: uploaded=%v err=%v", user, uploaded, err)
	}
	assertFile(t, target, []byte("#!/bin/sh\n"), 0o755)
	if fi, _ := os.Stat(target); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("the uploaded file is not owned by root")
	}
	if n, m := countLogged(log, "id -u"), countLogged(log, "sudo -n true"); n != 1 || m != 1 {
		t.Errorf("sudo probed %d/%d times, want once:\n%s", n, m, log.all())
	}

	// A timed-out command under sudo is killed too.
	duration := fmt.Sprintf("28.%09d", time.Now().Nanosecond())
	_, err = h.Run(ctx, Command{Step: "hang", Timeout: 300 * time.Millisecond, Args: []string{"sleep", duration}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
	_, err = h.Run(ctx, Command{Step: "check", Timeout: 5 * time.Second,
		Args: []string{"sh", "-c", `for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -f "$1" >/dev/null || exit 0; sleep 0.1; done; exit 1`, "sh", "[s]leep " + duration}})
	if err != nil {
		t.Errorf("the sudo command outlived its timeout: %v", err)
	}
}

func TestSudoThatWantsAPassword(t *testing.T) {
	user, password := systemUser(t, "%s ALL=(root) ALL")
	cfg := userSSHD(t, user, sshdOptions{})
	log := &recordingLogger{}
	h := mustHost(t, newPool(t, log), cfg)
	var errs []error
	for range 2 {
		_, err := h.Run(context.Background(), Command{Step: "apply keepalived", Args: []string{"true"}})
		var se *SudoError
		if !errors.As(err, &se) || !se.NeedsPassword {
			t.Fatalf("got %v, want a SudoError that needs a password", err)
		}
		if IsTransient(err) {
			t.Error("a sudo refusal is permanent")
		}
		for _, want := range []string{user + "@" + cfg.Address(), "apply keepalived", "sudo wants a password", "NOPASSWD", user} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		errs = append(errs, err)
	}
	if n := countLogged(log, "sudo -n true"); n != 1 {
		t.Errorf("sudo probed %d times, want 1 (the refusal is cached)", n)
	}
	log.assertNoSecrets(t, errs, password)
}

// passwordless sudo for the users of the password tests: every command runs as root.
const nopasswd = "%s ALL=(root) NOPASSWD: ALL"

func TestPasswordAuth(t *testing.T) {
	user, password := systemUser(t, nopasswd)
	s := startSSHD(t, sshdOptions{config: map[string]string{"PasswordAuthentication": "yes"}})
	log := &recordingLogger{}
	cfg := Config{Host: s.host, Port: s.port, User: user, Password: password, HostKey: s.pinned()}
	whoami(t, mustHost(t, newPool(t, log), cfg))
	if s.logCount("Accepted password for "+user) != 1 {
		t.Errorf("sshd did not log a password login:\n%s", s.log())
	}
	cfg.Password = "wrong-" + password
	err := runOnce(t, cfg)
	var ae *AuthError
	if !errors.As(err, &ae) || IsTransient(err) {
		t.Fatalf("wrong password: got %v, want a permanent AuthError", err)
	}
	log.assertNoSecrets(t, []error{err}, password)
}

// Keyboard-interactive needs PAM on the server (without it OpenSSH offers no
// keyboard-interactive device); Debian's /etc/pam.d/sshd asks "Password:".
func TestKeyboardInteractiveAuth(t *testing.T) {
	user, password := systemUser(t, nopasswd)
	s := startSSHD(t, sshdOptions{config: map[string]string{
		"UsePAM": "yes", "KbdInteractiveAuthentication": "yes", "PasswordAuthentication": "no",
	}})
	cfg := Config{Host: s.host, Port: s.port, User: user, Password: password, HostKey: s.pinned()}
	whoami(t, mustHost(t, newPool(t, nil), cfg))
	if s.logCount("Accepted keyboard-interactive/pam for "+user) != 1 {
		t.Errorf("sshd did not log a keyboard-interactive login:\n%s", s.log())
	}
}

// A key the server rejects does not stop the password from being tried.
func TestPasswordAfterARejectedKey(t *testing.T) {
	user, password := systemUser(t, nopasswd)
	s := startSSHD(t, sshdOptions{config: map[string]string{"PasswordAuthentication": "yes"}})
	_, strangerPEM := newClientKey(t, "")
	cfg := Config{Host: s.host, Port: s.port, User: user, PrivateKey: strangerPEM, Password: password, HostKey: s.pinned()}
	whoami(t, mustHost(t, newPool(t, nil), cfg))
	if s.logCount("Failed publickey for "+user) != 1 || s.logCount("Accepted password for "+user) != 1 {
		t.Errorf("want a rejected key, then a password login:\n%s", s.log())
	}
}

// An sshd that allows keyboard-interactive but has no PAM ends it at once
// with a failure; x/crypto/ssh calls that "unexpected message type 51
// (expected 60)". It is an authentication failure naming user@host and
// the methods tried, whether the password was refused (wrong) or never
// asked for (password authentication off).
func TestKeyboardInteractiveWithoutPAMIsAnAuthFailure(t *testing.T) {
	user, password := systemUser(t, nopasswd)
	for name, c := range map[string]struct{ passwordAuth, password string }{
		"wrong password":   {"yes", "wrong-" + password},
		"no password auth": {"no", password},
	} {
		t.Run(name, func(t *testing.T) {
			s := startSSHD(t, sshdOptions{config: map[string]string{
				"UsePAM": "no", "KbdInteractiveAuthentication": "yes", "PasswordAuthentication": c.passwordAuth,
			}})
			cfg := Config{Host: s.host, Port: s.port, User: user, Password: c.password, HostKey: s.pinned()}
			err := runOnce(t, cfg)
			var ae *AuthError
			if !errors.As(err, &ae) || IsTransient(err) {
				t.Fatalf("got %v, want a permanent AuthError", err)
			}
			for _, want := range []string{"authentication failed for " + user + "@" + s.addr(),
				"password, keyboard-interactive", "without PAM"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "unexpected message type") {
				t.Errorf("the protocol detail leaks as the reason: %v", err)
			}
			(&recordingLogger{}).assertNoSecrets(t, []error{err}, password)
		})
	}
}
