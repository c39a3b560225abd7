package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// ErrConnectionLost reports that the SSH connection ended while it was in
// use: the peer closed it, the network dropped it, or keepalives went
// unanswered. It is transient: a later call dials a new connection.
var ErrConnectionLost = errors.New("ssh connection lost")

// ErrClosed is returned by a Host whose Pool has been closed.
var ErrClosed = errors.New("ssh connection pool closed")

// Error is a transport failure on one host: it names the host
// (user@host:port, with the bastion chain), the caller's step, the transport
// operation that failed and the cause.
type Error struct {
	// Host is the connection's identity, e.g. "root@10.0.0.1:22".
	Host string
	// Step is the caller's label for what it was doing ("apply keepalived").
	Step string
	// Op is the transport operation: "connect", "run", "upload", ...
	Op  string
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Host)
	for _, s := range []string{e.Step, e.Op} {
		if s != "" {
			b.WriteString(": " + s)
		}
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ConnectError reports that no connection to the host could be made: TCP
// (or the tunnel through the bastion), the handshake, the host key check
// or authentication failed. No command ran. Callers that label steps use
// it to say "connect" rather than the step that needed the connection.
type ConnectError struct {
	Err error
}

func (e *ConnectError) Error() string { return "connect: " + e.Err.Error() }

func (e *ConnectError) Unwrap() error { return e.Err }

// IsConnectFailure reports whether err is (or wraps) a ConnectError.
func IsConnectFailure(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce)
}

// ProcessError reports a command that ran and exited non-zero (or was killed
// by a signal). It keeps the full stderr.
type ProcessError struct {
	Host    string
	Step    string
	Command string
	// ExitCode is the remote exit status; for a signal it is 128 + the signal number.
	ExitCode int
	// Signal is the name of the signal that killed the command ("KILL"), if any.
	Signal string
	Stderr string
}

func (e *ProcessError) Error() string {
	var b strings.Builder
	b.WriteString(e.Host)
	if e.Step != "" {
		b.WriteString(": " + e.Step)
	}
	b.WriteString(": command `" + e.Command + "` ")
	if e.Signal != "" {
		fmt.Fprintf(&b, "was killed by signal %s", e.Signal)
	} else {
		fmt.Fprintf(&b, "exited with code %d", e.ExitCode)
	}
	if s := strings.TrimRight(e.Stderr, "\n"); s != "" {
		b.WriteString("; stderr:\n" + s)
	} else {
		b.WriteString(" (no stderr)")
	}
	return b.String()
}

// ConfigError reports an unusable Config. Field is the Config field name.
type ConfigError struct {
	Host  string
	Field string
	Msg   string
	Err   error
}

func (e *ConfigError) Error() string {
	s := e.Host + ": ssh configuration"
	if e.Field != "" {
		s += ": " + e.Field
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ConfigError) Unwrap() error { return e.Err }

// AuthError reports that the server rejected every authentication method
// offered for User on Host.
type AuthError struct {
	User string
	// Host is the server's address, host:port.
	Host    string
	Methods []string
	Err     error
}

func (e *AuthError) Error() string {
	who := fmt.Sprintf("as %q", e.User)
	if e.Host != "" {
		who = "for " + e.User + "@" + e.Host
	}
	return fmt.Sprintf("authentication failed %s with the methods tried (%s): %v",
		who, strings.Join(e.Methods, ", "), e.Err)
}

// errNoPrompt is why an AuthError happened when the server ended
// keyboard-interactive without sending a prompt: OpenSSH does so when it
// allows keyboard-interactive but has no PAM (or BSD auth) to ask with.
var errNoPrompt = errors.New("the server refused the password, and ended keyboard-interactive without " +
	"asking for it (an sshd without PAM does)")

func (e *AuthError) Unwrap() error { return e.Err }

// SudoError reports that a non-root user cannot run commands through
// `sudo -n`.
type SudoError struct {
	User string
	// NeedsPassword is true when sudo asked for a password.
	NeedsPassword bool
	// Stderr is what sudo said.
	Stderr string
	// Err is the failed probe command (a *ProcessError), if any.
	Err error
}

func (e *SudoError) Error() string {
	if e.NeedsPassword {
		return fmt.Sprintf("user %q is not root and sudo wants a password (`sudo -n true`: %s); "+
			"commands run non-interactively, so allow passwordless sudo for this user "+
			"(sudoers: `%s ALL=(root) NOPASSWD: ALL`, which covers the agent binary and the upload commands) "+
			"or connect as root", e.User, strings.TrimSpace(e.Stderr), e.User)
	}
	return fmt.Sprintf("user %q is not root and `sudo -n true` failed: %v", e.User, e.Err)
}

func (e *SudoError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying later: refused, reset or
// lost connections and timeouts. Authentication failures, host key problems,
// configuration errors, sudo refusals and commands that exited non-zero are
// permanent, as is a cancelled context.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var (
		hke *HostKeyError
		uhe *UnknownHostError
		ae  *AuthError
		ce  *ConfigError
		se  *SudoError
		pe  *ProcessError
	)
	switch {
	case errors.As(err, &hke), errors.As(err, &uhe), errors.As(err, &ae),
		errors.As(err, &ce), errors.As(err, &se), errors.As(err, &pe),
		errors.Is(err, context.Canceled), errors.Is(err, ErrClosed),
		errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return false
	case errors.Is(err, ErrConnectionLost), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return true
	}
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		// The bastion could not reach the target, or the server is out of
		// sessions: both may pass.
		return oce.Reason == ssh.ConnectionFailed || oce.Reason == ssh.ResourceShortage
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
