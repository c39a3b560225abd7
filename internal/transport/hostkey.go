package transport

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError reports that a host presented a key other than the one
// expected: a possible man-in-the-middle, or a reinstalled host. It is never
// retried.
type HostKeyError struct {
	// Host is the address that was verified, host:port.
	Host string
	// Presented is the SHA256 fingerprint of the key the host presented.
	Presented string
	// PresentedType is its algorithm, e.g. "ssh-ed25519".
	PresentedType string
	// Expected lists the SHA256 fingerprints that would have been accepted.
	Expected []string
	// Source says where the expected keys came from (known_hosts file:line,
	// or "pinned host key").
	Source []string
	// Revoked is true when the presented key is marked @revoked in known_hosts.
	Revoked bool
}

func (e *HostKeyError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("host key for %s is revoked: presented %s %s (%s)",
			e.Host, e.PresentedType, e.Presented, strings.Join(e.Source, ", "))
	}
	return fmt.Sprintf("HOST KEY MISMATCH for %s: presented %s %s, expected %s (from %s); "+
		"someone may be intercepting the connection, or the host was reinstalled: "+
		"verify the new key out of band before updating the expected key",
		e.Host, e.PresentedType, e.Presented, strings.Join(e.Expected, " or "), strings.Join(e.Source, ", "))
}

// UnknownHostError reports that no known_hosts file has an entry for the
// host. It is permanent: the key must be verified and added first.
type UnknownHostError struct {
	// Host is the address that was looked up, host:port.
	Host          string
	Presented     string
	PresentedType string
	Files         []string
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("host %s is not in known_hosts (%s); it presented %s %s: "+
		"verify that fingerprint, then add the host's key to known_hosts (e.g. from ssh-keyscan) "+
		"or pin it as the host key",
		e.Host, strings.Join(e.Files, ", "), e.PresentedType, e.Presented)
}

// hostKeyPolicy verifies server host keys and tells the handshake which key
// algorithms to ask for, so that a host with several keys presents one we
// can check.
type hostKeyPolicy struct {
	check      ssh.HostKeyCallback
	algorithms func(addr string) []string
}

func insecurePolicy() *hostKeyPolicy {
	return &hostKeyPolicy{
		check:      ssh.InsecureIgnoreHostKey(),
		algorithms: func(string) []string { return nil },
	}
}

// pinnedPolicy accepts only the keys in authorizedKeys (authorized_keys
// format, one per line).
func pinnedPolicy(authorizedKeys string) (*hostKeyPolicy, error) {
	keys, err := ParseHostKeys(authorizedKeys)
	if err != nil {
		return nil, err
	}
	var algos, fps, sources []string
	for _, k := range keys {
		algos = append(algos, algorithmsFor(k.Type())...)
		fps = append(fps, ssh.FingerprintSHA256(k))
		sources = append(sources, "pinned host key")
	}
	check := func(hostname string, _ net.Addr, key ssh.PublicKey) error {
		for _, k := range keys {
			if bytes.Equal(k.Marshal(), key.Marshal()) {
				return nil
			}
		}
		return &HostKeyError{
			Host: hostname, Presented: ssh.FingerprintSHA256(key), PresentedType: key.Type(),
			Expected: fps, Source: sources[:1],
		}
	}
	return &hostKeyPolicy{check: check, algorithms: func(string) []string { return algos }}, nil
}

// knownHostsPolicy checks keys against OpenSSH known_hosts files (plain or
// hashed entries, @revoked and @cert-authority markers).
func knownHostsPolicy(files []string) (*hostKeyPolicy, error) {
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, err
	}
	check := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		return knownHostsError(db(hostname, remote, key), hostname, key, files)
	}
	return &hostKeyPolicy{check: check, algorithms: func(addr string) []string {
		return knownAlgorithms(db, addr)
	}}, nil
}

// knownHostsError turns knownhosts' errors into HostKeyError and
// UnknownHostError.
func knownHostsError(err error, hostname string, key ssh.PublicKey, files []string) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return &UnknownHostError{Host: hostname, Presented: ssh.FingerprintSHA256(key),
			PresentedType: key.Type(), Files: files}
	case errors.As(err, &ke):
		e := &HostKeyError{Host: hostname, Presented: ssh.FingerprintSHA256(key), PresentedType: key.Type()}
		for _, w := range ke.Want {
			e.Expected = append(e.Expected, ssh.FingerprintSHA256(w.Key))
			e.Source = append(e.Source, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		return e
	case errors.As(err, &re):
		return &HostKeyError{Host: hostname, Presented: ssh.FingerprintSHA256(key), PresentedType: key.Type(),
			Source: []string{fmt.Sprintf("%s:%d", re.Revoked.Filename, re.Revoked.Line)}, Revoked: true}
	}
	return err
}

// probeKey is a fixed public key that is in no known_hosts file; checking it
// makes knownhosts list the keys it does know for an address.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// knownAlgorithms returns the host key algorithms of the keys known for
// addr, or nil (the library's defaults) when none are known. Without it the
// server may present, say, its ECDSA key while known_hosts holds only its
// Ed25519 key, which would look like a mismatch.
func knownAlgorithms(db ssh.HostKeyCallback, addr string) []string {
	var ke *knownhosts.KeyError
	if !errors.As(db(addr, &net.TCPAddr{IP: net.IPv4zero}, probeKey), &ke) {
		return nil
	}
	var algos []string
	for _, w := range ke.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms that prove it.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
