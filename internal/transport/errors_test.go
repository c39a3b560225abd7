package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestIsTransient(t *testing.T) {
	wrap := func(err error) error {
		return &Error{Host: "root@h:22", Step: "apply", Op: "run x", Err: fmt.Errorf("connect: %w", err)}
	}
	dialErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: errno}}
	}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nil":                 {nil, false},
		"refused":             {wrap(dialErr(syscall.ECONNREFUSED)), true},
		"reset":               {wrap(dialErr(syscall.ECONNRESET)), true},
		"host unreachable":    {wrap(dialErr(syscall.EHOSTUNREACH)), true},
		"timeout":             {wrap(context.DeadlineExceeded), true},
		"net timeout":         {wrap(&net.OpError{Op: "dial", Err: timeoutErr{}}), true},
		"connection lost":     {wrap(fmt.Errorf("%w: %w", ErrConnectionLost, io.EOF)), true},
		"eof in handshake":    {wrap(fmt.Errorf("ssh handshake: %w", io.EOF)), true},
		"bastion cannot dial": {wrap(&ssh.OpenChannelError{Reason: ssh.ConnectionFailed}), true},
		"channel prohibited":  {wrap(&ssh.OpenChannelError{Reason: ssh.Prohibited}), false},
		"cancelled":           {wrap(context.Canceled), false},
		"pool closed":         {wrap(ErrClosed), false},
		"permission denied":   {wrap(dialErr(syscall.EACCES)), false},
		"host key mismatch":   {wrap(&HostKeyError{Host: "h:22"}), false},
		"unknown host":        {wrap(&UnknownHostError{Host: "h:22"}), false},
		"auth":                {wrap(&AuthError{User: "root", Err: io.EOF}), false},
		"config":              {&ConfigError{Host: "root@h:22", Msg: "bad"}, false},
		"sudo":                {wrap(&SudoError{User: "u", NeedsPassword: true}), false},
		"process":             {&ProcessError{Host: "root@h:22", ExitCode: 1}, false},
		"unclassified":        {errors.New("something else"), false},
	} {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", name, tc.err, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&Error{Host: "root@10.0.0.1:22", Step: "apply keepalived", Op: "connect", Err: io.EOF},
			"root@10.0.0.1:22: apply keepalived: connect: EOF"},
		{&Error{Host: "root@10.0.0.1:22", Op: "stat", Err: io.EOF}, "root@10.0.0.1:22: stat: EOF"},
		{&ProcessError{Host: "root@h:22", Step: "check", Command: "keepalived -t", ExitCode: 5, Stderr: "bad\nworse\n"},
			"root@h:22: check: command `keepalived -t` exited with code 5; stderr:\nbad\nworse"},
		{&ProcessError{Host: "root@h:22", Command: "true", ExitCode: 1}, "root@h:22: command `true` exited with code 1 (no stderr)"},
		{&HostKeyError{Host: "h:22", Presented: "SHA256:new", PresentedType: "ssh-ed25519", Expected: []string{"SHA256:a", "SHA256:b"}, Source: []string{"kh:1", "kh:2"}},
			"HOST KEY MISMATCH for h:22: presented ssh-ed25519 SHA256:new, expected SHA256:a or SHA256:b (from kh:1, kh:2); " +
				"someone may be intercepting the connection, or the host was reinstalled: verify the new key out of band before updating the expected key"},
		{&ConfigError{Host: "root@h:22", Field: "Port", Msg: "must be between 1 and 65535, got 0"},
			"root@h:22: ssh configuration: Port: must be between 1 and 65535, got 0"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestBrief(t *testing.T) {
	for in, want := range map[string]string{
		"true":                   "true",
		"sh -c 'a\nb'":           "sh -c 'a…",
		string(make([]byte, 70)): string(make([]byte, 60)) + "…",
		"x" + string(make([]byte, 58)) + "日本": "x" + string(make([]byte, 58)) + "…",
	} {
		if got := brief(in); got != want {
			t.Errorf("brief(%q) = %q, want %q", in, got, want)
		}
	}
}

// A refused connection is a ConnectError under the command's Error, so
// callers can tell "never reached" from a failure of the step itself.
func TestRefusedConnectionIsAConnectError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	h, err := NewPool(nil).Host(Config{Host: "127.0.0.1", Port: port, Password: "x", InsecureIgnoreHostKey: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Run(context.Background(), Command{Step: "probe", Args: []string{"true"}})
	if !IsConnectFailure(err) || !IsTransient(err) {
		t.Fatalf("got %v, want a transient ConnectError", err)
	}
	if want := "probe: run true: connect: "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if IsConnectFailure(&Error{Host: "h", Step: "s", Op: "run", Err: ErrConnectionLost}) {
		t.Error("a connection lost mid-command is not a connect failure")
	}
}
