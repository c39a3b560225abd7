//go:build linux

package vm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ClientConfig is an SSH client configuration that logs in as root with
// the VM's client key and checks the host key against KnownHosts.
func (v *VM) ClientConfig() (*ssh.ClientConfig, error) {
	check, err := knownhosts.New(v.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("VM %s: read known_hosts: %w", v.Name, err)
	}
	return &ssh.ClientConfig{
		User:              "root",
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(v.Signer)},
		HostKeyCallback:   check,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	}, nil
}

// SSHCommand is the OpenSSH command line that logs in to the VM, checked
// against KnownHosts: for a person looking at a VM a test left running.
func (v *VM) SSHCommand() []string {
	host, port, _ := net.SplitHostPort(v.SSHAddr)
	return []string{"ssh", "-i", v.KeyFile, "-o", "UserKnownHostsFile=" + v.KnownHosts,
		"-o", "IdentitiesOnly=yes", "-p", port, "root@" + host}
}

// Dial opens a new SSH connection to the VM's loopback address; the caller
// closes it.
func (v *VM) Dial(ctx context.Context) (*ssh.Client, error) {
	client, err := v.dial(ctx, v.SSHAddr, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("VM %s: %w", v.Name, err)
	}
	return client, nil
}

// dial connects to addr (1 s connect timeout) and completes the SSH
// handshake within handshake.
func (v *VM) dial(ctx context.Context, addr string, handshake time.Duration) (*ssh.Client, error) {
	cfg, err := v.ClientConfig()
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	deadline := time.Now().Add(handshake)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// sshClient returns the kept connection, dialling a new one when there is
// none.
func (v *VM) sshClient(ctx context.Context) (*ssh.Client, error) {
	if c := v.currentClient(); c != nil {
		return c, nil
	}
	c, err := v.Dial(ctx)
	if err != nil {
		return nil, err
	}
	v.setClient(c)
	return c, nil
}

func (v *VM) currentClient() *ssh.Client {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.client
}

func (v *VM) setClient(c *ssh.Client) {
	v.mu.Lock()
	old := v.client
	v.client = c
	v.mu.Unlock()
	if old != nil && old != c {
		old.Close()
	}
}

func (v *VM) dropClient() { v.setClient(nil) }

// Result is what a command printed and its exit status.
type Result struct {
	Stdout, Stderr string
	ExitStatus     int
}

// CommandError is returned by Run when a command exits non-zero.
type CommandError struct {
	VM      string
	Command string
	Result  Result
	Err     *ssh.ExitError
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("VM %s: %q exited %d: %s", e.VM, e.Command, e.Result.ExitStatus, strings.TrimSpace(e.Result.Stderr))
}

func (e *CommandError) Unwrap() error { return e.Err }

// Run runs command as root with bash on the VM, with stdin when not nil,
// and returns its output. A non-zero exit returns the Result with a
// *CommandError; other errors are the transport's. When ctx ends first the
// session is closed.
func (v *VM) Run(ctx context.Context, command string, stdin io.Reader) (Result, error) {
	client, err := v.sshClient(ctx)
	if err != nil {
		return Result{}, err
	}
	s, err := client.NewSession()
	if err != nil {
		// The kept connection may be stale: try once with a new one.
		v.dropClient()
		if client, err = v.sshClient(ctx); err == nil {
			s, err = client.NewSession()
		}
		if err != nil {
			return Result{}, fmt.Errorf("VM %s: open session for %q: %w", v.Name, command, err)
		}
	}
	defer s.Close()

	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr, s.Stdin = &stdout, &stderr, stdin
	done := make(chan error, 1)
	go func() { done <- s.Run(command) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Close()
		return Result{}, fmt.Errorf("VM %s: run %q: %w", v.Name, command, ctx.Err())
	}

	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.ExitStatus = exit.ExitStatus()
		return res, &CommandError{VM: v.Name, Command: command, Result: res, Err: exit}
	default:
		return res, fmt.Errorf("VM %s: run %q: %w", v.Name, command, err)
	}
}

// Upload writes data to path on the VM atomically (a temporary file
// checked against data's sha256, then renamed) with the given mode.
func (v *VM) Upload(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	sum := sha256.Sum256(data)
	tmp := path + ".upload"
	script := fmt.Sprintf("set -e; cat > %[1]s; echo '%[2]s  '%[1]s | sha256sum -c -s; chmod %[3]o %[1]s; mv -f %[1]s %[4]s",
		shellQuote(tmp), hex.EncodeToString(sum[:]), mode.Perm(), shellQuote(path))
	if _, err := v.Run(ctx, script, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
