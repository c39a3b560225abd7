package agentbin

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestArch(t *testing.T) {
	for machine, want := range map[string]string{
		"x86_64": "amd64", "x86_64\n": "amd64", "amd64": "amd64",
		"aarch64": "arm64", "aarch64\n": "arm64", "arm64": "arm64",
	} {
		got, err := Arch(machine)
		if err != nil || got != want {
			t.Errorf("Arch(%q) = %q, %v; want %q", machine, got, err, want)
		}
	}
	for _, machine := range []string{"armv7l", "i686", "riscv64", "mips", ""} {
		_, err := Arch(machine)
		if !errors.Is(err, ErrUnsupportedArch) || !strings.Contains(err.Error(), `"`+machine+`"`) {
			t.Errorf("Arch(%q) = %v; want ErrUnsupportedArch naming the machine", machine, err)
		}
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := load(fstest.MapFS{".keep": {}}, "aarch64\n")
	want := "this provider was built without the agent for linux/arm64; run `make agent` before `make build`"
	if err == nil || err.Error() != want {
		t.Fatalf("load without binaries = %v; want %q", err, want)
	}
	if !errors.Is(err, ErrNotBuilt) {
		t.Errorf("%v is not ErrNotBuilt", err)
	}
}

func TestCorruptBinary(t *testing.T) {
	_, err := load(fstest.MapFS{fileName("amd64"): {Data: []byte("not gzip")}}, "x86_64")
	if err == nil || !strings.Contains(err.Error(), "linux/amd64") || !strings.Contains(err.Error(), "make agent") {
		t.Fatalf("load of a corrupt binary = %v; want an error naming linux/amd64 and make agent", err)
	}
}

// TestEmbeddedBinaries checks what `make agent` embedded: for each
// architecture either a static Linux executable of that architecture, or
// the not-built error.
func TestEmbeddedBinaries(t *testing.T) {
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range Arches {
		bin, err := Binary(arch)
		if errors.Is(err, ErrNotBuilt) {
			t.Logf("linux/%s: not embedded (run `make agent`): %v", arch, err)
			continue
		}
		if err != nil {
			t.Fatalf("Binary(%s): %v", arch, err)
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("linux/%s: embedded agent is not ELF: %v", arch, err)
		}
		if f.Machine != machines[arch] {
			t.Errorf("linux/%s: embedded agent is for %v", arch, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("linux/%s: embedded agent is dynamically linked (CGO_ENABLED=0 missing?)", arch)
			}
		}
	}
}

func TestRemotePath(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	if got, want := RemotePath("1.2.3", sum), "/var/lib/lvs-agent/bin/lvs-agent-1.2.3-abababababab"; got != want {
		t.Errorf("RemotePath = %q; want %q", got, want)
	}
}

func TestNewRejectsUnsafeVersions(t *testing.T) {
	for _, v := range []string{"", "../x", "1 2", "a/b", "-x", "v1;rm"} {
		if _, err := New(v, fstest.MapFS{}); err == nil {
			t.Errorf("New(%q) accepted a version unfit for a file name", v)
		}
	}
	for _, v := range []string{"dev", "1.2.3", "0.1.0-rc.1+dirty", "v1_2"} {
		if _, err := New(v, fstest.MapFS{}); err != nil {
			t.Errorf("New(%q): %v", v, err)
		}
	}
}

// TestScripts runs the check and install scripts in the local shell.
func TestScripts(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatal("no sh on PATH:", err)
	}
	bins, sum := fakeBinaries(t, "#!/bin/sh\necho hello\n")
	gz := bins[fileName("amd64")].Data
	dir := t.TempDir()
	dst := filepath.Join(dir, "sub", "lvs-agent-1-"+sum[:12])
	sh := func(stdin []byte, script string, args ...string) (string, error) {
		cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return stderr.String(), err
		}
		return string(out), nil
	}

	if out, err := sh(nil, checkScript, dst); err != nil || out != "absent\n" {
		t.Fatalf("check of a missing file = %q, %v", out, err)
	}
	if out, err := sh(gz, installScript, dst, strings.Repeat("0", 64), "x1"); err == nil ||
		!strings.Contains(out, "expected "+strings.Repeat("0", 64)) {
		t.Fatalf("install with a wrong sha256 = %q, %v; want a refusal", out, err)
	}
	assertOnly(t, filepath.Dir(dst))

	if out, err := sh(gz, installScript, dst, sum, "x2"); err != nil {
		t.Fatalf("install: %v: %s", err, out)
	}
	assertOnly(t, filepath.Dir(dst), filepath.Base(dst))
	if out, err := exec.Command(dst).Output(); err != nil || string(out) != "hello\n" {
		t.Fatalf("running the installed file = %q, %v", out, err)
	}
	if out, err := sh(nil, checkScript, dst); err != nil || !strings.HasPrefix(out, sum+" ") {
		t.Fatalf("check of the installed file = %q, %v; want %s", out, err, sum)
	}
	if err := os.Chmod(dst, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := sh(nil, checkScript, dst); err != nil || out != "absent\n" {
		t.Fatalf("check of a non-executable file = %q, %v; want absent", out, err)
	}
}

// assertOnly checks that dir holds exactly the named files (no temporaries).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q; want %q", dir, got, names)
	}
}
