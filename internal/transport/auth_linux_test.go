package transport

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// rootSSHD starts an sshd that accepts a fresh Ed25519 key for root.
func rootSSHD(t *testing.T, o sshdOptions) (*testSSHD, string) {
	t.Helper()
	signer, keyPEM := newClientKey(t, "")
	o.authorizedKeys = append(o.authorizedKeys, signer.PublicKey())
	return startSSHD(t, o), keyPEM
}

// whoami runs `id -un` and returns the remote user name.
func whoami(t *testing.T, h *Host) string {
	t.Helper()
	res, err := h.Run(context.Background(), Command{Step: "whoami", Args: []string{"id", "-un"}})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(res.Stdout))
}

func TestKeyAuthFromContentAndFile(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	writeFile(t, keyFile, keyPEM, 0o600)

	for name, cfg := range map[string]Config{
		"content": s.config(keyPEM),
		"file":    {Host: s.host, Port: s.port, PrivateKeyPath: keyFile, HostKey: s.pinned()},
	} {
		t.Run(name, func(t *testing.T) {
			log := &recordingLogger{}
			h := mustHost(t, newPool(t, log), cfg)
			if got := whoami(t, h); got != "root" {
				t.Fatalf("remote user %q, want root", got)
			}
			if !strings.Contains(log.all(), "host:root@"+s.addr()) || !strings.Contains(log.all(), "step:whoami") {
				t.Errorf("log lacks host and step fields:\n%s", log.all())
			}
			log.assertNoSecrets(t, nil, keyPEM)
		})
	}
}

func TestPassphraseProtectedKeys(t *testing.T) {
	const passphrase = "correct horse battery staple"
	edSigner, edPEM := newClientKey(t, passphrase)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	// The legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED") that old ssh-keygen wrote.
	block, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte(passphrase), x509.PEMCipherAES256) //nolint:staticcheck // the format under test
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(block))
	s := startSSHD(t, sshdOptions{authorizedKeys: []ssh.PublicKey{edSigner.PublicKey(), rsaSigner.PublicKey()}})

	for name, keyPEM := range map[string]string{"openssh ed25519": edPEM, "pem rsa": rsaPEM} {
		t.Run(name, func(t *testing.T) {
			log := &recordingLogger{}
			p := newPool(t, log)
			cfg := s.config(keyPEM)
			cfg.Passphrase = passphrase
			if got := whoami(t, mustHost(t, p, cfg)); got != "root" {
				t.Fatalf("remote user %q", got)
			}

			var errs []error
			for _, wrong := range []string{"", "not the passphrase"} {
				cfg.Passphrase = wrong
				_, err := NewPool(log).Host(cfg)
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Field != "PrivateKey" {
					t.Fatalf("passphrase %q: got %v, want a ConfigError on PrivateKey", wrong, err)
				}
				if IsTransient(err) {
					t.Errorf("a bad passphrase is permanent: %v", err)
				}
				errs = append(errs, err)
			}
			if !strings.Contains(errs[0].Error(), "encrypted and no passphrase") ||
				!strings.Contains(errs[1].Error(), "does not decrypt") {
				t.Errorf("unclear errors: %v / %v", errs[0], errs[1])
			}
			log.assertNoSecrets(t, errs, passphrase, keyPEM)
		})
	}
}

// startAgent serves keyring on a unix socket, like ssh-agent does.
func startAgent(t *testing.T, keyring agent.Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	return sock
}

func TestAgentAuth(t *testing.T) {
	signer, keyPEM := newClientKey(t, "")
	s := startSSHD(t, sshdOptions{authorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	priv, err := ssh.ParseRawPrivateKey([]byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	// A key the server does not know comes first: the agent's keys are all tried.
	_, otherPEM := newClientKey(t, "")
	other, _ := ssh.ParseRawPrivateKey([]byte(otherPEM))
	for _, k := range []any{other, priv} {
		if err := keyring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := startAgent(t, keyring)

	t.Run("given socket", func(t *testing.T) {
		cfg := Config{Host: s.host, Port: s.port, Agent: true, AgentSocket: sock, HostKey: s.pinned()}
		if got := whoami(t, mustHost(t, newPool(t, nil), cfg)); got != "root" {
			t.Fatalf("remote user %q", got)
		}
	})
	t.Run("SSH_AUTH_SOCK", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", sock)
		cfg := Config{Host: s.host, Port: s.port, Agent: true, HostKey: s.pinned()}
		if got := whoami(t, mustHost(t, newPool(t, nil), cfg)); got != "root" {
			t.Fatalf("remote user %q", got)
		}
	})
	t.Run("no socket", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		_, err := NewPool(nil).Host(Config{Host: s.host, Port: s.port, Agent: true, HostKey: s.pinned()})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "AgentSocket" {
			t.Fatalf("got %v, want a ConfigError on AgentSocket", err)
		}
	})
}

func TestAuthFailureIsPermanentAndNamesTheUser(t *testing.T) {
	s, _ := rootSSHD(t, sshdOptions{})
	_, strangerPEM := newClientKey(t, "")
	h := mustHost(t, newPool(t, nil), s.config(strangerPEM))
	_, err := h.Run(context.Background(), Command{Step: "probe", Args: []string{"true"}})
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an AuthError", err)
	}
	if IsTransient(err) {
		t.Errorf("auth failure classified transient: %v", err)
	}
	for _, want := range []string{"root@" + s.addr(), "probe", "authentication failed for root@" + s.addr(), "publickey (ssh-ed25519)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// An agent full of keys the server does not know hits sshd's MaxAuthTries:
// the server disconnects, which is an authentication failure too.
func TestTooManyAgentKeysIsAnAuthFailure(t *testing.T) {
	s, _ := rootSSHD(t, sshdOptions{config: map[string]string{"MaxAuthTries": "3"}})
	keyring := agent.NewKeyring()
	for range 5 {
		_, keyPEM := newClientKey(t, "")
		k, err := ssh.ParseRawPrivateKey([]byte(keyPEM))
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	err := runOnce(t, Config{Host: s.host, Port: s.port, Agent: true, AgentSocket: startAgent(t, keyring), HostKey: s.pinned()})
	var ae *AuthError
	if !errors.As(err, &ae) || IsTransient(err) || !strings.Contains(err.Error(), "ssh-agent, 5 keys") {
		t.Fatalf("got %v, want a permanent AuthError naming the agent's keys", err)
	}
}
