package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// errOpTimeout is a cause as the provider sets it: a deadline, named.
var errOpTimeout = fmt.Errorf("the create timeout of 1s ran out: %w", context.DeadlineExceeded)

// A Terraform operation's deadline reaches the SSH dial: a peer that
// accepts TCP but never speaks SSH is given up on when the caller's
// deadline passes (well before the connect timeout), and the error
// carries the caller's cause, names the host and the step, and stays
// transient.
func TestCallerDeadlineBoundsTheDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, keyPEM := newClientKey(t, "")
	h := mustHost(t, newPool(t, nil), Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		PrivateKey: keyPEM, InsecureIgnoreHostKey: true, ConnectTimeout: time.Minute})
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errOpTimeout)
	defer cancel()
	start := time.Now()
	_, err = h.Run(ctx, Command{Step: "agent apply", Args: []string{"true"}})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a 300ms deadline took %v", d)
	}
	if !errors.Is(err, errOpTimeout) || !IsTransient(err) {
		t.Fatalf("got %v, want the caller's timeout as the cause", err)
	}
	if msg := err.Error(); !strings.Contains(msg, h.String()) || !strings.Contains(msg, "agent apply") || !strings.Contains(msg, errOpTimeout.Error()) {
		t.Errorf("error %q does not name the host, the step and the timeout", msg)
	}
}

// The deadline reaches a running command's session: the remote command
// is killed when the caller's deadline passes, with the caller's cause,
// and the connection survives for the next command.
func TestCallerDeadlineKillsTheCommand(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	whoami(t, h)
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errOpTimeout)
	defer cancel()
	start := time.Now()
	_, err := h.Run(ctx, Command{Step: "agent apply", Timeout: time.Minute, Args: []string{"sleep", "30"}})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 300ms deadline took %v", d)
	}
	if !errors.Is(err, errOpTimeout) || !IsTransient(err) {
		t.Fatalf("got %v, want a transient error caused by the caller's timeout", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "agent apply") || !strings.Contains(msg, errOpTimeout.Error()) {
		t.Errorf("error %q does not name the step and the timeout", msg)
	}
	if got := whoami(t, h); got != "root" {
		t.Fatalf("the connection did not survive the deadline: %q", got)
	}
}

// A caller waiting for a free session (the host's MaxSessions are busy)
// gives up at its deadline, with its cause.
func TestCallerDeadlineBoundsTheSessionWait(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	cfg := s.config(keyPEM)
	cfg.MaxSessions = 1
	h := mustHost(t, newPool(t, nil), cfg)
	busy, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.Run(busy, Command{Step: "hold", Args: []string{"sleep", "30"}})
	}()
	defer func() { stop(); <-done }()
	time.Sleep(500 * time.Millisecond) // the only session is taken
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errOpTimeout)
	defer cancel()
	_, err := h.Run(ctx, Command{Step: "agent observe", Args: []string{"true"}})
	if !errors.Is(err, errOpTimeout) {
		t.Fatalf("got %v, want the caller's timeout while waiting for a session", err)
	}
}
