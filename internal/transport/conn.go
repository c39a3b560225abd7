package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// tcpKeepAlive is the kernel-level keepalive on direct TCP connections. The
// SSH keepalive (Config.KeepaliveInterval) also covers tunnelled ones.
var tcpKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 15 * time.Second, Count: 4}

// conn is one live SSH connection.
type conn struct {
	client *ssh.Client
	done   chan struct{} // closed once the connection has ended

	mu     sync.Mutex
	reason error // why it ended, when we ended it
}

func newConn(client *ssh.Client) *conn {
	c := &conn{client: client, done: make(chan struct{})}
	go func() {
		_ = client.Wait()
		close(c.done)
	}()
	return c
}

// alive reports whether the connection has not ended.
func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close ends the connection, recording why (the first reason wins).
func (c *conn) close(reason error) {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = reason
	}
	c.mu.Unlock()
	_ = c.client.Close()
}

// lost returns ErrConnectionLost, with the reason when one is known.
func (c *conn) lost(cause error) error {
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	if reason == nil {
		reason = cause
	}
	if reason == nil {
		return ErrConnectionLost
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, reason)
}

// keepalive sends keepalive@openssh.com every interval and closes the
// connection when a reply takes longer than countMax intervals: the peer or
// the path to it is dead, and commands on it would hang.
func (c *conn) keepalive(interval time.Duration, countMax int) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		wait := time.NewTimer(interval * time.Duration(countMax))
		select {
		case err := <-replied:
			wait.Stop()
			if err != nil {
				c.close(fmt.Errorf("keepalive: %w", err))
				return
			}
		case <-wait.C:
			c.close(fmt.Errorf("no reply to %d keepalives sent %s apart: peer unreachable", countMax, interval))
			return
		case <-c.done:
			wait.Stop()
			return
		}
	}
}

// newSession opens a session, giving up when ctx ends.
func (c *conn) newSession(ctx context.Context) (*ssh.Session, error) {
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- opened{s, err}
	}()
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.s != nil {
				o.s.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// dial opens a new connection to h: TCP (or a channel through the bastion),
// handshake, host key check, authentication; all within ConnectTimeout.
func (h *Host) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ConnectTimeout)
	defer cancel()
	addr := h.cfg.Address()
	nc, err := h.dialTransport(ctx, addr)
	if err != nil {
		// The caller's own deadline (a Terraform operation's timeout) is
		// named, not only the socket's "i/o timeout".
		if cause := context.Cause(ctx); cause != nil && !errors.Is(ctx.Err(), cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		return nil, err
	}
	methods, names, done, err := h.creds.methods()
	if err != nil {
		nc.Close()
		return nil, err
	}
	defer done()

	var hostKeyErr error
	cc := &ssh.ClientConfig{
		User: h.cfg.User,
		Auth: methods,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			hostKeyErr = h.hostKeys.check(hostname, remote, key)
			return hostKeyErr
		},
		HostKeyAlgorithms: h.hostKeys.algorithms(addr),
	}
	// Close the socket if ctx ends mid-handshake; that unblocks NewClientConn.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cc)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		nc.Close()
		switch {
		case hostKeyErr != nil:
			return nil, hostKeyErr
		case strings.Contains(err.Error(), "unable to authenticate"),
			strings.Contains(err.Error(), "Too many authentication failures"):
			return nil, &AuthError{User: h.cfg.User, Host: addr, Methods: names, Err: err}
		case noPrompt(err):
			return nil, &AuthError{User: h.cfg.User, Host: addr, Methods: names, Err: errNoPrompt}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	c := newConn(ssh.NewClient(sc, chans, reqs))
	if h.cfg.KeepaliveInterval > 0 {
		go c.keepalive(h.cfg.KeepaliveInterval, h.cfg.KeepaliveCountMax)
	}
	return c, nil
}

// noPrompt tells the error x/crypto/ssh returns when a server answers
// keyboard-interactive with a failure before any prompt ("unexpected message
// type 51 (expected 60)": USERAUTH_FAILURE where USERAUTH_INFO_REQUEST was
// due). It is an authentication failure, not a protocol error.
func noPrompt(err error) bool {
	return strings.Contains(err.Error(), "unexpected message type 51 (expected 60)")
}

// dialTransport returns the byte stream to run SSH over: a TCP connection,
// or a direct-tcpip channel through the bastion's shared connection.
func (h *Host) dialTransport(ctx context.Context, addr string) (net.Conn, error) {
	if h.bastion == nil {
		d := net.Dialer{KeepAliveConfig: tcpKeepAlive}
		return d.DialContext(ctx, "tcp", addr)
	}
	nc, err := h.bastion.tunnel(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("through bastion %s: %w", h.bastion.id, err)
	}
	return nc, nil
}

// tunnel opens a TCP channel from this host to addr, reconnecting once if
// the shared connection turns out to be broken.
func (h *Host) tunnel(ctx context.Context, addr string) (net.Conn, error) {
	c, err := h.client(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := c.client.DialContext(ctx, "tcp", addr)
	if err == nil || ctx.Err() != nil || !brokenBy(err) {
		return nc, err
	}
	h.drop(c, err)
	h.log.Debug(ctx, "ssh reconnect", map[string]any{"host": h.id, "reason": err.Error()})
	if c, err = h.client(ctx); err != nil {
		return nil, err
	}
	return c.client.DialContext(ctx, "tcp", addr)
}

// brokenBy tells errors that mean "the connection is gone" from refusals
// by a working server (which say nothing about the connection).
func brokenBy(err error) bool {
	var oce *ssh.OpenChannelError
	return !errors.As(err, &oce)
}
