package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestRunKeepsOutputAndReportsProcessErrors(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	ctx := context.Background()

	// 300 KB on each stream, interleaved, kept in full.
	script := `i=0; while [ $i -lt 3000 ]; do printf '%0100d\n' $i; printf '%0100d\n' $i >&2; i=$((i+1)); done; exit 7`
	res, err := h.Run(ctx, Command{Step: "apply keepalived", Args: []string{"sh", "-c", script}})
	var pe *ProcessError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a ProcessError", err)
	}
	if res == nil || res.ExitCode != 7 || len(res.Stdout) != 3000*101 || len(res.Stderr) != 3000*101 {
		t.Fatalf("result: exit %d, %d bytes stdout, %d bytes stderr", res.ExitCode, len(res.Stdout), len(res.Stderr))
	}
	if pe.Host != "root@"+s.addr() || pe.Step != "apply keepalived" || pe.ExitCode != 7 ||
		pe.Stderr != string(res.Stderr) || !strings.HasPrefix(pe.Command, "sh -c ") {
		t.Errorf("ProcessError fields: host %q step %q exit %d command %q, stderr kept: %v",
			pe.Host, pe.Step, pe.ExitCode, pe.Command, pe.Stderr == string(res.Stderr))
	}
	if IsTransient(err) {
		t.Error("a failed command is not transient")
	}

	_, err = h.Run(ctx, Command{Step: "check config", Args: []string{"sh", "-c", "echo '(FILE: Line 3) Unknown keyword' >&2; exit 5"}})
	want := "root@" + s.addr() + ": check config: command `sh -c 'echo '\\''(FILE: Line 3) Unknown keyword'\\'' >&2; exit 5'` exited with code 5; stderr:\n(FILE: Line 3) Unknown keyword"
	if err == nil || err.Error() != want {
		t.Errorf("error text:\n got %v\nwant %s", err, want)
	}

	_, err = h.Run(ctx, Command{Step: "missing", Args: []string{"no-such-program-lvs"}})
	if !errors.As(err, &pe) || pe.ExitCode != 127 || !strings.Contains(pe.Stderr, "no-such-program-lvs") {
		t.Errorf("missing program: %v", err)
	}

	_, err = h.Run(ctx, Command{Step: "killed", Args: []string{"sh", "-c", "kill -TERM $$"}})
	if !errors.As(err, &pe) || pe.ExitCode != 128+15 || pe.Signal != "TERM" || !strings.Contains(err.Error(), "killed by signal TERM") {
		t.Errorf("killed command: %v", err)
	}
}

func TestArgumentsSurviveTheRemoteShell(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	res, err := h.Run(context.Background(), Command{Step: "quote", Args: printfArgs(nastyArgs)})
	if err != nil {
		t.Fatal(err)
	}
	if got := splitNUL(res.Stdout); !slices.Equal(got, nastyArgs) {
		t.Fatalf("round trip through the remote login shell:\n got %q\nwant %q", got, nastyArgs)
	}
}

func TestStdinCarriesSecretsNotLogs(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	log := &recordingLogger{}
	h := mustHost(t, newPool(t, log), s.config(keyPEM))
	const secret = "vrrp-pass-s3cr3t"
	res, err := h.Run(context.Background(), Command{Step: "agent", Args: []string{"sha256sum"}, Stdin: strings.NewReader(secret)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if !strings.HasPrefix(string(res.Stdout), hex.EncodeToString(sum[:])) {
		t.Fatalf("stdin did not arrive intact: %q", res.Stdout)
	}
	log.assertNoSecrets(t, nil, secret)
}

func TestUpload(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	log := &recordingLogger{}
	h := mustHost(t, newPool(t, log), s.config(keyPEM))
	ctx := context.Background()
	dir := t.TempDir()
	target := filepath.Join(dir, "etc", "keepalived", "keepalived.conf") // parents created
	content := bytes.Repeat([]byte("vrrp_instance VI_1 { auth_pass s3cr3t }\n"), 5000)

	if _, err := h.Sha256(ctx, target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Sha256 of a missing file: got %v, want fs.ErrNotExist", err)
	}
	uploaded, err := h.Upload(ctx, target, content, 0o600)
	if err != nil || !uploaded {
		t.Fatalf("first upload: uploaded=%v err=%v", uploaded, err)
	}
	assertFile(t, target, content, 0o600)
	sum := sha256.Sum256(content)
	if got, err := h.Sha256(ctx, target); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Fatalf("Sha256 = %q, %v; want %x", got, err, sum)
	}
	before := inode(t, target)

	// Same content: nothing is written.
	if uploaded, err := h.Upload(ctx, target, content, 0o600); err != nil || uploaded {
		t.Fatalf("unchanged upload: uploaded=%v err=%v", uploaded, err)
	}
	if inode(t, target) != before {
		t.Error("an unchanged file was rewritten")
	}
	// Same content, other mode: only the mode changes.
	if uploaded, err := h.Upload(ctx, target, content, 0o640); err != nil || uploaded {
		t.Fatalf("mode-only upload: uploaded=%v err=%v", uploaded, err)
	}
	assertFile(t, target, content, 0o640)

	// New content replaces the file by rename: a new inode, no temp file left.
	next := []byte("short\n")
	if uploaded, err := h.Upload(ctx, target, next, 0o755); err != nil || !uploaded {
		t.Fatalf("second upload: uploaded=%v err=%v", uploaded, err)
	}
	assertFile(t, target, next, 0o755)
	if inode(t, target) == before {
		t.Error("the file was rewritten in place, not renamed over")
	}
	if entries, _ := os.ReadDir(filepath.Dir(target)); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the target", len(entries))
	}
	// Empty content is a valid file.
	if _, err := h.Upload(ctx, target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	assertFile(t, target, nil, 0o644)
	log.assertNoSecrets(t, nil, "s3cr3t")

	for _, bad := range []string{"relative/path", "/tmp/../etc/x", "/", "/tmp/dir/"} {
		var e *Error
		if _, err := h.Upload(ctx, bad, content, 0o644); !errors.As(err, &e) || e.Op != "check path" {
			t.Errorf("Upload(%q): got %v, want a path error", bad, err)
		}
	}
}

// A failed upload leaves the old file and no temporary file behind.
func TestUploadFailureKeepsTheOldFile(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	dir := t.TempDir()
	target := filepath.Join(dir, "file")
	writeFile(t, target, "old\n", 0o644)
	// A file where the parent directory should be makes mkdir fail.
	_, err := h.Upload(context.Background(), filepath.Join(target, "child"), []byte("new"), 0o644)
	var pe *ProcessError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "upload "+filepath.Join(target, "child")) {
		t.Fatalf("got %v, want a ProcessError naming the upload", err)
	}
	assertFile(t, target, []byte("old\n"), 0o644)

	// Content that arrives corrupted (here: a wrong expected sum) is not installed.
	_, err = h.Run(context.Background(), Command{Step: "corrupt",
		Args:  []string{"sh", "-c", uploadScript, "sh", target, target + ".tmp", "0644", strings.Repeat("0", 64), dir},
		Stdin: strings.NewReader("new\n")})
	if !errors.As(err, &pe) || !strings.Contains(pe.Stderr, "sha256 of the uploaded copy is") {
		t.Fatalf("got %v, want the sha256 check to fail", err)
	}
	assertFile(t, target, []byte("old\n"), 0o644)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries after failed uploads, want 1", len(entries))
	}
}

func assertFile(t *testing.T, path string, content []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("%s holds %d bytes, want %d", path, len(got), len(content))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
