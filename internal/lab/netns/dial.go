package netns

import (
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ClientConfig returns an SSH client configuration for the lab's hosts: the
// lab's client key as root, host keys checked against the lab's known_hosts.
func (l *Lab) ClientConfig() (*ssh.ClientConfig, error) {
	signer, err := ssh.ParsePrivateKey(l.ClientKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("lab %s: parse client key %s: %w", l.Name, l.ClientKeyPath, err)
	}
	check, err := knownhosts.New(l.KnownHostsPath)
	if err != nil {
		return nil, fmt.Errorf("lab %s: read known_hosts: %w", l.Name, err)
	}
	return &ssh.ClientConfig{
		User:              User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   check,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
	}, nil
}

// Dial opens an SSH connection to the named host. The context bounds the TCP
// connection and the handshake.
func (l *Lab) Dial(ctx context.Context, host string) (*ssh.Client, error) {
	h, err := l.Host(host)
	if err != nil {
		return nil, err
	}
	cfg, err := l.ClientConfig()
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", h.SSHAddr())
	if err != nil {
		return nil, fmt.Errorf("host %s: connect to %s: %w", host, h.SSHAddr(), err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, h.SSHAddr(), cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("host %s: ssh handshake with %s: %w", host, h.SSHAddr(), err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}
