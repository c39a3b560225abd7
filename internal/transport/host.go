package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// cancelGrace is how long a cancelled session may take to close before the
// whole connection is dropped (the peer is then presumed unreachable).
const cancelGrace = 2 * time.Second

// Command is one remote command.
type Command struct {
	// Step labels what the caller is doing ("apply keepalived"); errors and
	// logs carry it.
	Step string
	// Args is the program and its arguments. They are quoted for the remote
	// shell and appear in logs and errors: never put secrets here.
	Args []string
	// Stdin, when set, is copied to the command's standard input. This is
	// where secrets go.
	Stdin io.Reader
	// Timeout overrides Config.CommandTimeout when positive.
	Timeout time.Duration
}

// Result is what a finished command produced, in full.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	// Signal names the signal that killed the command, if any.
	Signal string
}

// Host runs commands on one remote host over the pool's shared connection.
// It is safe for concurrent use.
type Host struct {
	id       string
	cfg      Config
	creds    *credentials
	hostKeys *hostKeyPolicy
	bastion  *Host
	log      Logger
	sessions chan struct{} // semaphore: one token per running session
	dialing  chan struct{} // one dial at a time

	mu     sync.Mutex
	conn   *conn
	closed bool

	sudo sudoCache
}

func newHost(cfg Config, bastion *Host, log Logger) (*Host, error) {
	creds, err := newCredentials(cfg)
	if err != nil {
		return nil, err
	}
	var policy *hostKeyPolicy
	switch {
	case cfg.InsecureIgnoreHostKey:
		policy = insecurePolicy()
	case cfg.HostKey != "":
		if policy, err = pinnedPolicy(cfg.HostKey); err != nil {
			return nil, &ConfigError{Host: cfg.ID(), Field: "HostKey", Msg: "cannot parse the pinned host key", Err: err}
		}
	default:
		if policy, err = knownHostsPolicy(cfg.KnownHostsFiles); err != nil {
			return nil, &ConfigError{Host: cfg.ID(), Field: "KnownHostsFiles", Msg: "cannot load known_hosts", Err: err}
		}
	}
	return &Host{
		id:       cfg.ID(),
		cfg:      cfg,
		creds:    creds,
		hostKeys: policy,
		bastion:  bastion,
		log:      log,
		sessions: make(chan struct{}, cfg.MaxSessions),
		dialing:  make(chan struct{}, 1),
		sudo:     newSudoCache(),
	}, nil
}

// String returns the connection's ID: user@host:port [via bastion].
func (h *Host) String() string { return h.id }

// Run runs cmd and returns its output. A command that exits non-zero returns
// its Result together with a *ProcessError. Other failures are *Error values
// naming the host and cmd.Step; see IsTransient.
func (h *Host) Run(ctx context.Context, cmd Command) (*Result, error) {
	line, err := commandLine(cmd.Args)
	if err != nil {
		return nil, &Error{Host: h.id, Step: cmd.Step, Op: "run", Err: err}
	}
	if line, err = h.privileged(ctx, cmd.Step, line); err != nil {
		return nil, err
	}
	timeout := h.cfg.CommandTimeout
	if cmd.Timeout > 0 {
		timeout = cmd.Timeout
	}
	return h.runLine(ctx, cmd.Step, line, cmd.Stdin, timeout)
}

// runLine runs a finished command line and turns the outcome into a Result
// or an error.
func (h *Host) runLine(ctx context.Context, step, line string, stdin io.Reader, timeout time.Duration) (*Result, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := h.exec(ctx, line, stdin)
	fields := map[string]any{"host": h.id, "step": step, "command": line, "duration_ms": time.Since(start).Milliseconds()}
	if err != nil {
		fields["error"] = err.Error()
		h.log.Debug(ctx, "ssh command failed", fields)
		return nil, &Error{Host: h.id, Step: step, Op: "run " + brief(line), Err: err}
	}
	fields["exit_code"] = res.ExitCode
	h.log.Debug(ctx, "ssh command", fields)
	if res.ExitCode != 0 {
		return res, &ProcessError{Host: h.id, Step: step, Command: line,
			ExitCode: res.ExitCode, Signal: res.Signal, Stderr: string(res.Stderr)}
	}
	return res, nil
}

// brief shortens a command line for an error message: its first line, at
// most 60 bytes. (ProcessError keeps the whole command.)
func brief(line string) string {
	limit := 60
	first, _, multi := strings.Cut(line, "\n")
	if len(first) > limit {
		for !utf8.RuneStart(first[limit]) {
			limit--
		}
		first, multi = first[:limit], true
	}
	if multi {
		first += "…"
	}
	return first
}

// exec runs line in a new session, within the host's session limit. When
// ctx ends first, the remote command is killed and its session closed.
func (h *Host) exec(ctx context.Context, line string, stdin io.Reader) (*Result, error) {
	select {
	case h.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	release := func() { <-h.sessions }
	s, c, err := h.session(ctx)
	if err != nil {
		release()
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	pid := &pidWriter{dst: &stdout}
	s.Stdin, s.Stdout, s.Stderr = stdin, pid, &stderr
	if err := s.Start(pidHeader + line); err != nil {
		s.Close()
		release()
		return nil, h.failed(c, err)
	}
	finished := make(chan error, 1)
	go func() {
		err := s.Wait()
		release() // only now is the server's session gone
		finished <- err
	}()
	select {
	case err := <-finished:
		_ = pid.flush() // a bytes.Buffer does not fail
		return h.result(c, stdout.Bytes(), stderr.Bytes(), err)
	case <-ctx.Done():
		h.kill(c, s, pid.get(), strings.HasPrefix(line, sudoPrefix))
		select {
		case <-finished: //nolint:errcheck // cancelled: the command's own error no longer matters
		case <-time.After(cancelGrace):
			h.drop(c, errors.New("a cancelled session did not close"))
			<-finished //nolint:errcheck // likewise
		}
		return nil, context.Cause(ctx)
	}
}

// kill ends a running command and its session. The "signal" channel request
// works for non-root users only (OpenSSH runs root sessions without
// privilege separation and refuses it), so the command's process group is
// also killed from a second session, bypassing the session limit (the
// cancelled session still holds its slot).
func (h *Host) kill(c *conn, s *ssh.Session, pgid int, sudo bool) {
	_ = s.Signal(ssh.SIGKILL)
	defer s.Close()
	if pgid <= 1 || !c.alive() {
		return
	}
	// The kill builtins of dash, bash and busybox sh take "-PGID" but not
	// all take "--"; procps' /bin/kill is the reverse. sh's builtin it is.
	line := fmt.Sprintf("sh -c 'kill -KILL -%d'", pgid)
	if sudo {
		line = sudoPrefix + line
	}
	ctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
	defer cancel()
	ks, err := c.newSession(ctx)
	if err != nil {
		return
	}
	defer ks.Close()
	done := make(chan error, 1)
	go func() { done <- ks.Run(line) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	fields := map[string]any{"host": h.id, "command": line}
	if err != nil {
		fields["error"] = err.Error()
	}
	h.log.Debug(ctx, "ssh command cancelled", fields)
}

// result interprets the end of a session.
func (h *Host) result(c *conn, stdout, stderr []byte, err error) (*Result, error) {
	res := &Result{Stdout: stdout, Stderr: stderr}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.ExitCode, res.Signal = exit.ExitStatus(), exit.Signal()
		return res, nil
	}
	return nil, h.failed(c, err)
}

// failed handles an error on connection c: if the connection is gone it is
// dropped and the error becomes ErrConnectionLost.
func (h *Host) failed(c *conn, err error) error {
	var missing *ssh.ExitMissingError
	if c.alive() && !errors.Is(err, io.EOF) && !errors.As(err, &missing) {
		return err
	}
	h.drop(c, err)
	return c.lost(err)
}

// session opens a session, reconnecting once when the shared connection
// turns out to be broken. A refusal by a working server is returned as is.
func (h *Host) session(ctx context.Context) (*ssh.Session, *conn, error) {
	c, err := h.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.newSession(ctx)
	if err == nil || ctx.Err() != nil || !brokenBy(err) {
		return s, c, err
	}
	h.drop(c, err)
	h.log.Debug(ctx, "ssh reconnect", map[string]any{"host": h.id, "reason": c.lost(err).Error()})
	if c, err = h.client(ctx); err != nil {
		return nil, nil, err
	}
	if s, err = c.newSession(ctx); err != nil {
		return nil, nil, h.failed(c, err)
	}
	return s, c, nil
}

// client returns the live shared connection, dialing when there is none.
// Concurrent callers wait for a single dial.
func (h *Host) client(ctx context.Context) (*conn, error) {
	if c, err := h.current(); c != nil || err != nil {
		return c, err
	}
	select {
	case h.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-h.dialing }()
	if c, err := h.current(); c != nil || err != nil {
		return c, err
	}
	start := time.Now()
	c, err := h.dial(ctx)
	fields := map[string]any{"host": h.id, "duration_ms": time.Since(start).Milliseconds()}
	if err != nil {
		fields["error"] = err.Error()
		h.log.Debug(ctx, "ssh connect failed", fields)
		return nil, &ConnectError{Err: err}
	}
	h.log.Debug(ctx, "ssh connected", fields)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.close(ErrClosed)
		return nil, ErrClosed
	}
	h.conn = c
	return c, nil
}

// current returns the shared connection if it is still alive, nil if a new
// one is needed, or ErrClosed once the pool is closed.
func (h *Host) current() (*conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.conn != nil && !h.conn.alive() {
		h.conn = nil
	}
	return h.conn, nil
}

// drop closes c and forgets it, so the next command dials again.
func (h *Host) drop(c *conn, reason error) {
	h.mu.Lock()
	if h.conn == c {
		h.conn = nil
	}
	h.mu.Unlock()
	c.close(reason)
}

// close ends the shared connection for good.
func (h *Host) close() {
	h.mu.Lock()
	h.closed = true
	c := h.conn
	h.conn = nil
	h.mu.Unlock()
	if c != nil {
		c.close(ErrClosed)
	}
}
