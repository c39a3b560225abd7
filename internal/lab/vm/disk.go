//go:build linux

package vm

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// Files in a VM's state directory.
const (
	diskFile       = "disk.img"
	clientKeyFile  = "id_ed25519"
	hostPubFile    = "ssh_host_ed25519_key.pub"
	knownHostsFile = "known_hosts"
	consoleFile    = "console.log"
	qemuLogFile    = "qemu.log"
)

// identity is a VM's SSH keys: the client key that logs in as root and the
// public half of the VM's host key.
type identity struct {
	signer  ssh.Signer
	hostKey ssh.PublicKey
}

// prepareState makes sure dir holds a persistent disk with a host key and
// an authorized client key, creating both the first time, and returns the
// keys. A directory prepared before (by an earlier Boot) is reused as it
// is: that is how a VM keeps its identity and its files.
func prepareState(dir string, diskMiB int) (identity, error) {
	if _, err := os.Stat(filepath.Join(dir, diskFile)); err == nil {
		return loadIdentity(dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return identity{}, fmt.Errorf("stat disk: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return identity{}, fmt.Errorf("create state dir: %w", err)
	}
	seed, err := os.MkdirTemp(dir, "seed-")
	if err != nil {
		return identity{}, fmt.Errorf("create disk seed: %w", err)
	}
	defer os.RemoveAll(seed)

	id, err := newIdentity(dir, seed)
	if err != nil {
		return identity{}, err
	}
	if err := makeDisk(filepath.Join(dir, diskFile), seed, diskMiB); err != nil {
		return identity{}, err
	}
	return id, nil
}

// newIdentity generates the VM's host key and the client key: the private
// client key and the host's public key go to dir, the host key and the
// authorized key to the disk's seed (its /etc overlay).
func newIdentity(dir, seed string) (identity, error) {
	sshDir := filepath.Join(seed, "etc", "ssh")
	if err := os.MkdirAll(filepath.Join(sshDir, "authorized_keys"), 0o755); err != nil {
		return identity{}, fmt.Errorf("create disk seed: %w", err)
	}
	for _, sub := range []string{"var/lib/lvs-agent", "etc/keepalived", "etc/haproxy", "etc/sysctl.d"} {
		if err := os.MkdirAll(filepath.Join(seed, sub), 0o755); err != nil {
			return identity{}, fmt.Errorf("create disk seed: %w", err)
		}
	}

	hostPub, err := writeKeyPair(filepath.Join(sshDir, "ssh_host_ed25519_key"), "lvs-vm host")
	if err != nil {
		return identity{}, fmt.Errorf("generate host key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, hostPubFile), ssh.MarshalAuthorizedKey(hostPub), 0o644); err != nil {
		return identity{}, fmt.Errorf("save host key: %w", err)
	}
	clientPub, err := writeKeyPair(filepath.Join(dir, clientKeyFile), "lvs-vm client")
	if err != nil {
		return identity{}, fmt.Errorf("generate client key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys", "root"), ssh.MarshalAuthorizedKey(clientPub), 0o644); err != nil {
		return identity{}, fmt.Errorf("authorize client key: %w", err)
	}
	return loadIdentity(dir)
}

// writeKeyPair generates an ed25519 key, writes it in OpenSSH format to
// path (0600) and its public half to path.pub, and returns the public key.
func writeKeyPair(path, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		return nil, err
	}
	return sshPub, nil
}

// loadIdentity reads the keys newIdentity saved in dir.
func loadIdentity(dir string) (identity, error) {
	pemBytes, err := os.ReadFile(filepath.Join(dir, clientKeyFile))
	if err != nil {
		return identity{}, fmt.Errorf("read client key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		return identity{}, fmt.Errorf("parse client key: %w", err)
	}
	pubBytes, err := os.ReadFile(filepath.Join(dir, hostPubFile))
	if err != nil {
		return identity{}, fmt.Errorf("read host key: %w", err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(pubBytes)
	if err != nil {
		return identity{}, fmt.Errorf("parse host key: %w", err)
	}
	return identity{signer: signer, hostKey: hostKey}, nil
}

// makeDisk creates an ext4 image of sizeMiB at path holding the files of
// seed (mke2fs -d: no loop device, no mount).
func makeDisk(path, seed string, sizeMiB int) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create disk: %w", err)
	}
	err = f.Truncate(int64(sizeMiB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("size disk: %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", "lvs-persist", "-E", "root_owner=0:0", "-d", seed, path)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(path)
		return fmt.Errorf("mke2fs %s: %w: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
