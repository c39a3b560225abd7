package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestValidateHost(t *testing.T) {
	for _, ok := range []string{"dir1", "dir1.example.com", "dir1.example.com.", "192.0.2.1", "2001:db8::1",
		"[2001:db8::1]", "fe80::1%eth0", "[fe80::1%eth0]", "::1", "my_host", "xn--bcher-kva.example"} {
		if err := ValidateHost(ok); err != nil {
			t.Errorf("ValidateHost(%q): %v", ok, err)
		}
	}
	for bad, why := range map[string]string{
		"":                 "empty",
		"dir1\n":           "control character",
		"dir 1":            "blank",
		"\tdir1":           "blank",
		"root@dir1":        "`user`",
		"-oProxyCommand=x": "starts with `-`",
		"dir1:22":          "set the port in `port`",
		"[dir1]":           "IPv6 address in brackets",
		"[192.0.2.1]":      "IPv6 address in brackets",
		"[2001:db8::1":     "IPv6 address in brackets",
		"dir1..example":    "empty name",
		"dir/1":            `'/'`,
		"dïr1":             `'ï'`,
	} {
		err := ValidateHost(bad)
		if err == nil {
			t.Errorf("ValidateHost(%q) accepted it", bad)
			continue
		}
		if !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "IPv6 address (`2001:db8::1`") {
			t.Errorf("ValidateHost(%q) = %q: want the reason %q and the allowed forms", bad, err, why)
		}
	}
}

func TestValidateUser(t *testing.T) {
	for _, ok := range []string{"root", "ops", "deploy-user", "a.b"} {
		if err := ValidateUser(ok); err != nil {
			t.Errorf("ValidateUser(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ops\n", "o ps", "-l", "ops@x", "ops:1"} {
		if err := ValidateUser(bad); err == nil {
			t.Errorf("ValidateUser(%q) accepted it", bad)
		}
	}
}

// An IPv6 host works bare and in brackets; the bracketed one does not
// become "[[...]]" in the address.
func TestConfigIPv6HostForms(t *testing.T) {
	for _, h := range []string{"2001:db8::1", "[2001:db8::1]"} {
		c, err := Config{Host: h, Password: "x", InsecureIgnoreHostKey: true}.normalize()
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if c.Address() != "[2001:db8::1]:22" {
			t.Errorf("%s: address %q", h, c.Address())
		}
	}
	_, err := Config{Host: "-oProxyCommand=sh", Password: "x", InsecureIgnoreHostKey: true}.normalize()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Host" {
		t.Errorf("a host starting with - must be refused before any dial: %v", err)
	}
}

func TestParseHostKeys(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	keys, err := ParseHostKeys("# pinned\n" + line + " comment\n\n" + line + "\n")
	if err != nil || len(keys) != 2 {
		t.Fatalf("two keys with a comment line: %d, %v", len(keys), err)
	}
	for in, want := range map[string]string{
		"":                             "no public key found",
		"# only a comment":             "no public key found",
		"garbage":                      "line 1 is not a public key",
		line + "\nssh-ed25519 AAAAnot": "line 2 is not a public key",
	} {
		if _, err := ParseHostKeys(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHostKeys(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestCheckPrivateKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "correct horse"
	enc, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	plainPEM, encPEM := pem.EncodeToMemory(plain), pem.EncodeToMemory(enc)
	if err := CheckPrivateKey(plainPEM, ""); err != nil {
		t.Errorf("plain key: %v", err)
	}
	if err := CheckPrivateKey(encPEM, passphrase); err != nil {
		t.Errorf("encrypted key with its passphrase: %v", err)
	}
	if err := CheckPrivateKey(encPEM, ""); !errors.Is(err, ErrKeyEncrypted) {
		t.Errorf("encrypted key without passphrase: %v", err)
	}
	if err := CheckPrivateKey(encPEM, "wrong"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	garbage := "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----\n"
	for _, in := range []string{garbage, "hunter2", "   "} {
		err := CheckPrivateKey([]byte(in), "s3cret-pass")
		if err == nil {
			t.Errorf("%q accepted as a key", in)
			continue
		}
		for _, secret := range []string{"c2VjcmV0LW1hdGVyaWFs", "hunter2", "s3cret-pass"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes a secret", err)
			}
		}
	}
}
