//go:build linux

package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		nil,
		{"bogus", "-dir", dir},
		{"up", "-dir", dir},                   // no bridge
		{"up", "-dir", dir, "-bridge", "br0"}, // no VMs
		{"up", "-dir", dir, "-bridge", "br0", "-vm", "dir1"},    // no address
		{"up", "-dir", dir, "-bridge", "br0", "-vm", "d=1.2.3"}, // bad prefix
		{"up", "-dir", dir, "-bridge", "br0", "-vm", "d=10.0.0.2/24,d=10.0.0.3/24"},
		{"up", "-dir", "relative", "-bridge", "br0", "-vm", "d=10.0.0.2/24"},
		{"status", "-dir", dir}, // nothing runs
	} {
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

func TestParseSpecAuthorize(t *testing.T) {
	dir := t.TempDir()
	pubKey, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub := filepath.Join(dir, "id"), filepath.Join(dir, "id.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{priv, pub} {
		sp, err := parseSpec("br0", "dir1=10.0.0.21/24,dir2=10.0.0.22/24", path, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(sp.VMs) != 2 || sp.VMs[1].Name != "dir2" || sp.VMs[1].Addr.String() != "10.0.0.22/24" {
			t.Errorf("VMs = %+v", sp.VMs)
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(sp.Authorize)); err != nil {
			t.Errorf("%s: authorize %q: %v", path, sp.Authorize, err)
		}
	}
}

// TestCleanStateKeepsForeignFiles: down removes only what up made.
func TestCleanStateKeepsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{pidFile, logFile, stateFile, knownHosts, specFile, "dir1/disk.img", "dir1/console.log", "notes.txt", "other/file"} {
		write(p)
	}
	if err := cleanState(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := strings.Join(left, ","); got != "notes.txt,other" {
		t.Errorf("left %s, want notes.txt,other", got)
	}
}
