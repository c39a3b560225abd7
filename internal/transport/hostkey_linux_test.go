package transport

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// runOnce runs `true` on a fresh pool and returns the error.
func runOnce(t *testing.T, cfg Config) error {
	t.Helper()
	h, err := newPool(t, nil).Host(cfg)
	if err != nil {
		return err
	}
	_, err = h.Run(context.Background(), Command{Step: "verify", Args: []string{"true"}})
	return err
}

func TestKnownHosts(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	impostor, _ := newHostKey(t, "ed25519")
	withKnown := func(path string) Config {
		cfg := s.config(keyPEM)
		cfg.HostKey, cfg.KnownHostsFiles = "", []string{path}
		return cfg
	}

	t.Run("known", func(t *testing.T) {
		if err := runOnce(t, withKnown(s.knownHosts(t, s.hostKeys[0]))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("hashed entry", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "known_hosts")
		line := knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(s.addr()))}, s.hostKeys[0])
		writeFile(t, path, line+"\n", 0o644)
		if err := runOnce(t, withKnown(path)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("second file", func(t *testing.T) {
		cfg := withKnown(s.knownHosts(t))
		cfg.KnownHostsFiles = append(cfg.KnownHostsFiles, s.knownHosts(t, s.hostKeys[0]))
		if err := runOnce(t, cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("mismatch", func(t *testing.T) {
		before := s.logCount("Connection from")
		known := s.knownHosts(t, impostor.PublicKey())
		err := runOnce(t, withKnown(known))
		var hke *HostKeyError
		if !errors.As(err, &hke) {
			t.Fatalf("got %v, want a HostKeyError", err)
		}
		want, presented := ssh.FingerprintSHA256(impostor.PublicKey()), ssh.FingerprintSHA256(s.hostKeys[0])
		if hke.Presented != presented || !slices.Equal(hke.Expected, []string{want}) || hke.Host != s.addr() {
			t.Errorf("HostKeyError %+v, want host %s presented %s expected %s", hke, s.addr(), presented, want)
		}
		for _, part := range []string{"root@" + s.addr(), "verify", presented, want, known + ":3"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error lacks %q: %v", part, err)
			}
		}
		if IsTransient(err) {
			t.Errorf("a host key mismatch must not be retried: %v", err)
		}
		if n := s.logCount("Connection from") - before; n != 1 {
			t.Errorf("the mismatch made %d connections, want 1 (never retried)", n)
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		known := s.knownHosts(t) // only an unrelated host
		err := runOnce(t, withKnown(known))
		var uhe *UnknownHostError
		if !errors.As(err, &uhe) {
			t.Fatalf("got %v, want an UnknownHostError", err)
		}
		var hke *HostKeyError
		if errors.As(err, &hke) || IsTransient(err) {
			t.Errorf("unknown host must be its own permanent error: %v", err)
		}
		for _, part := range []string{s.addr(), "not in known_hosts", known, ssh.FingerprintSHA256(s.hostKeys[0])} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error lacks %q: %v", part, err)
			}
		}
	})
	t.Run("revoked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, path, "@revoked * "+string(ssh.MarshalAuthorizedKey(s.hostKeys[0])), 0o644)
		var hke *HostKeyError
		if err := runOnce(t, withKnown(path)); !errors.As(err, &hke) || !hke.Revoked {
			t.Fatalf("got %v, want a revoked HostKeyError", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		var ce *ConfigError
		if err := runOnce(t, withKnown(filepath.Join(t.TempDir(), "nope"))); !errors.As(err, &ce) || ce.Field != "KnownHostsFiles" {
			t.Fatalf("got %v, want a ConfigError on KnownHostsFiles", err)
		}
	})
}

// A host with several host keys presents the one the client asks for; the
// client must ask for the types it has on file, or a host whose known_hosts
// entry is its Ed25519 key would present ECDSA and look like an impostor.
func TestKnownHostsChoosesTheKnownKeyType(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{extraHostKeys: []string{"ecdsa", "rsa"}})
	for _, k := range s.hostKeys {
		t.Run(k.Type(), func(t *testing.T) {
			cfg := s.config(keyPEM)
			cfg.HostKey, cfg.KnownHostsFiles = "", []string{s.knownHosts(t, k)}
			if err := runOnce(t, cfg); err != nil {
				t.Fatal(err)
			}
			cfg.HostKey, cfg.KnownHostsFiles = string(ssh.MarshalAuthorizedKey(k)), nil
			if err := runOnce(t, cfg); err != nil {
				t.Fatalf("pinned: %v", err)
			}
		})
	}
}

func TestPinnedHostKey(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	if err := runOnce(t, s.config(keyPEM)); err != nil {
		t.Fatal(err)
	}
	impostor, _ := newHostKey(t, "ed25519")
	cfg := s.config(keyPEM)
	cfg.HostKey = string(ssh.MarshalAuthorizedKey(impostor.PublicKey()))
	err := runOnce(t, cfg)
	var hke *HostKeyError
	if !errors.As(err, &hke) {
		t.Fatalf("got %v, want a HostKeyError", err)
	}
	want, presented := ssh.FingerprintSHA256(impostor.PublicKey()), ssh.FingerprintSHA256(s.hostKeys[0])
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), presented) || IsTransient(err) {
		t.Errorf("error must name both fingerprints (%s, %s) and be permanent: %v", want, presented, err)
	}

	cfg.HostKey = "not a key"
	var ce *ConfigError
	if _, err := NewPool(nil).Host(cfg); !errors.As(err, &ce) || ce.Field != "HostKey" {
		t.Fatalf("got %v, want a ConfigError on HostKey", err)
	}
}

func TestHostKeyCheckIsOnByDefault(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := s.config(keyPEM)
	cfg.HostKey = ""

	// No settings: ~/.ssh/known_hosts, which does not exist.
	var ce *ConfigError
	if err := runOnce(t, cfg); !errors.As(err, &ce) || !strings.Contains(err.Error(), filepath.Join(home, ".ssh", "known_hosts")) {
		t.Fatalf("got %v, want a ConfigError naming ~/.ssh/known_hosts", err)
	}
	// ~/.ssh/known_hosts without this host.
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home, ".ssh", "known_hosts"), "", 0o600)
	var uhe *UnknownHostError
	if err := runOnce(t, cfg); !errors.As(err, &uhe) {
		t.Fatalf("got %v, want an UnknownHostError", err)
	}
	// Only the explicit opt-in skips the check.
	cfg.InsecureIgnoreHostKey = true
	if err := runOnce(t, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.HostKey = s.pinned()
	if err := runOnce(t, cfg); !errors.As(err, &ce) || ce.Field != "InsecureIgnoreHostKey" {
		t.Fatalf("got %v, want InsecureIgnoreHostKey to conflict with HostKey", err)
	}
}
