package transport

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// The rules below check SSH settings without touching any host, so that a
// caller (the provider, at plan time) can refuse a bad value before a
// connection is attempted. Their errors say what is wrong and which forms
// are allowed; they quote host names, user names and file names, never key
// material, passphrases or passwords.

// HostForms names the forms ValidateHost accepts, for error messages.
const HostForms = "a host name (`dir1.example.com`), an IPv4 address (`192.0.2.1`) or an IPv6 address " +
	"(`2001:db8::1`, also written `[2001:db8::1]`)"

// ValidateHost checks the host of a connection: a DNS name, an IPv4
// address or an IPv6 address (bare, or in brackets as it is written before
// a port; with a zone such as `fe80::1%eth0`). The user and the port have
// attributes of their own, so `user@host` and `host:port` are refused, as
// are blanks, control characters and a leading `-` (which ssh tools would
// read as an option).
func ValidateHost(host string) error {
	bad := func(why string) error {
		return fmt.Errorf("host %q %s; write %s", host, why, HostForms)
	}
	switch {
	case host == "":
		return fmt.Errorf("host is empty; write %s", HostForms)
	case strings.IndexFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return bad("contains a blank or a control character (a space, tab or newline)")
	case strings.HasPrefix(host, "-"):
		return bad("starts with `-`")
	case strings.Contains(host, "@"):
		return bad("contains `@`: set the login user in `user`, not in the host")
	}
	if inner, ok := strings.CutPrefix(host, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if a, err := netip.ParseAddr(inner); !ok || err != nil || !a.Is6() {
			return bad("is not an IPv6 address in brackets")
		}
		return nil
	}
	if strings.Contains(host, ":") {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
			return nil
		}
		return bad("is neither an IPv6 address nor a host name (set the port in `port`, not in the host)")
	}
	if len(host) > 253 {
		return bad("is longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" {
			return bad("has an empty name between dots")
		}
		for _, r := range label {
			if !nameChar(r) {
				return bad(fmt.Sprintf("contains %q, which a host name cannot", r))
			}
		}
	}
	return nil
}

// nameChar reports whether r may appear in a host name: ASCII letters and
// digits, '-' and '_' (which some internal names use).
func nameChar(r rune) bool {
	return r == '-' || r == '_' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// ValidateUser checks a login user: not empty, no blanks or control
// characters, no `@` or `:` (which would make user@host:port ambiguous), no
// leading `-`.
func ValidateUser(user string) error {
	bad := func(why string) error {
		return fmt.Errorf("user %q %s; write a login name such as `root` or `ops`", user, why)
	}
	switch {
	case user == "":
		return errors.New("user is empty; write a login name such as `root` or `ops`, or leave it unset for `root`")
	case strings.IndexFunc(user, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return bad("contains a blank or a control character")
	case strings.HasPrefix(user, "-"):
		return bad("starts with `-`")
	case strings.ContainsAny(user, "@:"):
		return bad("contains `@` or `:`")
	}
	return nil
}

// ParseHostKeys reads pinned host keys in authorized_keys form, one per
// line; blank lines and `#` comments are skipped. Every other line must be
// a public key: a line that is not one is an error naming its number (the
// library's own parser would skip it silently and pin fewer keys than
// written).
func ParseHostKeys(s string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d is not a public key in authorized_keys form "+
				"(`ssh-ed25519 AAAAC3Nza...`, as `ssh-keyscan` prints it without the host name)", i+1)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key found; write one per line in authorized_keys form " +
			"(`ssh-ed25519 AAAAC3Nza...`)")
	}
	return keys, nil
}

// ErrKeyEncrypted reports an encrypted private key without a passphrase.
var ErrKeyEncrypted = errors.New("the private key is encrypted and no passphrase is set: set its passphrase, " +
	"or load the key into ssh-agent and authenticate with the agent instead of the key")

// ErrWrongPassphrase reports a passphrase that does not decrypt the key.
var ErrWrongPassphrase = errors.New("the passphrase does not decrypt the private key")

// CheckPrivateKey parses a private key in PEM form (OpenSSH, PKCS#1,
// PKCS#8, SEC1) with its passphrase, if any. An encrypted key without a
// passphrase is ErrKeyEncrypted, a wrong passphrase ErrWrongPassphrase.
// Errors never quote the key or the passphrase.
func CheckPrivateKey(pem []byte, passphrase string) error {
	_, err := parseKey(pem, passphrase)
	return err
}

// parseKey parses a private key; see CheckPrivateKey.
func parseKey(pem []byte, passphrase string) (ssh.Signer, error) {
	if len(bytes.TrimSpace(pem)) == 0 {
		return nil, errors.New("the private key is empty")
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return signer, nil
	case !errors.As(err, &missing):
		return nil, errors.New("not a private key in PEM form (OpenSSH `-----BEGIN OPENSSH PRIVATE KEY-----`, " +
			"PKCS#1, PKCS#8 or SEC1), or a key type SSH does not support")
	case passphrase == "":
		return nil, ErrKeyEncrypted
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase))
	switch {
	case errors.Is(err, x509.IncorrectPasswordError), err != nil && strings.Contains(err.Error(), "decryption"):
		return nil, ErrWrongPassphrase
	case err != nil:
		return nil, errors.New("the private key does not parse once decrypted")
	}
	return signer, nil
}
