package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runAll runs cmd n times at once and returns the errors.
func runAll(h *Host, n int, cmd func(i int) Command) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = h.Run(context.Background(), cmd(i))
		}()
	}
	wg.Wait()
	return errs
}

func TestConnectionIsSharedPerUserHostPort(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	p := newPool(t, nil)
	h := mustHost(t, p, s.config(keyPEM))
	if again := mustHost(t, p, s.config(keyPEM)); again != h {
		t.Fatal("the pool returned a second Host for the same user@host:port")
	}
	for i, err := range runAll(h, 8, func(i int) Command {
		return Command{Step: "reuse", Args: []string{"echo", strconv.Itoa(i)}}
	}) {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if conns := connectionsTo(t, s.port); len(conns) != 1 {
		t.Errorf("8 concurrent commands used %d TCP connections, want 1:\n%s", len(conns), strings.Join(conns, "\n"))
	}
	if n := s.logCount("Accepted publickey"); n != 1 {
		t.Errorf("sshd accepted %d logins, want 1", n)
	}

	other := s.config(keyPEM)
	other.MaxSessions = 9
	var ce *ConfigError
	if _, err := p.Host(other); !errors.As(err, &ce) {
		t.Errorf("different settings for the same connection: got %v, want a ConfigError", err)
	}
}

// The limit is checked on the host: each command registers itself in a
// directory while it runs and records how many were registered.
func TestSessionLimitPerHost(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	cfg := s.config(keyPEM)
	cfg.MaxSessions = 2
	h := mustHost(t, newPool(t, nil), cfg)
	dir := t.TempDir()
	const script = `d=$1; mkdir "$d/run.$$"; ls -d "$d"/run.* | wc -l >> "$d/seen.$$"; sleep 0.3; rmdir "$d/run.$$"`
	for i, err := range runAll(h, 6, func(int) Command {
		return Command{Step: "limit", Args: []string{"sh", "-c", script, "sh", dir}}
	}) {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	res, err := h.Run(context.Background(), Command{Step: "collect", Args: []string{"sh", "-c", `cat "$1"/seen.*`, "sh", dir}})
	if err != nil {
		t.Fatal(err)
	}
	maxSeen := 0
	for _, f := range strings.Fields(string(res.Stdout)) {
		n, _ := strconv.Atoi(f)
		maxSeen = max(maxSeen, n)
	}
	if len(strings.Fields(string(res.Stdout))) != 6 || maxSeen != 2 {
		t.Fatalf("observed concurrency %q: want 6 observations, at most 2 at once and 2 reached", res.Stdout)
	}
}

func TestReconnectAfterTheServerDropsTheConnection(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	whoami(t, h)
	for _, pid := range s.sessionPIDs(t) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	if got := whoami(t, h); got != "root" {
		t.Fatalf("after reconnect: %q", got)
	}
	if n := s.logCount("Accepted publickey"); n != 2 {
		t.Errorf("sshd accepted %d logins, want 2 (one reconnect)", n)
	}
}

func TestConnectionLostDuringACommandIsTransient(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	h := mustHost(t, newPool(t, nil), s.config(keyPEM))
	// The shell's parent is the sshd process serving this connection.
	_, err := h.Run(context.Background(), Command{Step: "suicide", Args: []string{"sh", "-c", "kill -9 $PPID; sleep 5"}})
	if !errors.Is(err, ErrConnectionLost) || !IsTransient(err) {
		t.Fatalf("got %v, want a transient ErrConnectionLost", err)
	}
	if !strings.Contains(err.Error(), "root@"+s.addr()+": suicide") {
		t.Errorf("error does not name host and step: %v", err)
	}
	if got := whoami(t, h); got != "root" {
		t.Fatalf("next command: %q", got)
	}
}

// A frozen peer answers nothing, not even TCP resets: only the SSH
// keepalive notices, drops the connection and lets the next command redial.
func TestKeepaliveDropsADeadPeer(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	cfg := s.config(keyPEM)
	cfg.KeepaliveInterval, cfg.KeepaliveCountMax = 100*time.Millisecond, 3
	log := &recordingLogger{}
	h := mustHost(t, newPool(t, log), cfg)
	whoami(t, h)
	frozen := s.sessionPIDs(t)
	for _, pid := range frozen {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, pid := range frozen {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	// Without keepalive this would wait for the frozen connection forever.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.Run(ctx, Command{Step: "after freeze", Args: []string{"echo", "alive"}})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.all())
	}
	if strings.TrimSpace(string(res.Stdout)) != "alive" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	if n := s.logCount("Accepted publickey"); n != 2 {
		t.Errorf("sshd accepted %d logins, want 2", n)
	}
	if !strings.Contains(log.all(), "no reply to 3 keepalives") {
		t.Errorf("the keepalive did not report the dead peer:\n%s", log.all())
	}
}

func TestCommandTimeoutKillsTheCommand(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	cfg := s.config(keyPEM)
	cfg.CommandTimeout = 300 * time.Millisecond
	h := mustHost(t, newPool(t, nil), cfg)
	// A unique duration marks the remote sleep.
	duration := fmt.Sprintf("29.%09d", time.Now().Nanosecond())
	start := time.Now()
	_, err := h.Run(context.Background(), Command{Step: "hang", Args: []string{"sleep", duration}})
	if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
		t.Fatalf("got %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v", d)
	}
	// The remote sleep was killed (SIGKILL over the channel), not left behind.
	res, err := h.Run(context.Background(), Command{Step: "check", Timeout: 5 * time.Second,
		Args: []string{"sh", "-c", `for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -f "$1" >/dev/null || exit 0; sleep 0.1; done; exit 1`, "sh", "[s]leep " + duration}})
	if err != nil {
		t.Errorf("the remote command outlived its timeout: %v %s", err, res.Stdout)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err = h.Run(ctx, Command{Step: "cancelled", Timeout: time.Minute, Args: []string{"sleep", "30"}})
	if !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Fatalf("got %v, want a permanent context.Canceled", err)
	}
	if got := whoami(t, h); got != "root" {
		t.Fatalf("the connection did not survive a timeout: %q", got)
	}
}

func TestConnectFailuresAreTransient(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		port := freePort(t, "127.0.0.1")
		_, keyPEM := newClientKey(t, "")
		h := mustHost(t, newPool(t, nil), Config{Host: "127.0.0.1", Port: port, PrivateKey: keyPEM, InsecureIgnoreHostKey: true})
		_, err := h.Run(context.Background(), Command{Step: "apply", Args: []string{"true"}})
		if !errors.Is(err, syscall.ECONNREFUSED) || !IsTransient(err) {
			t.Fatalf("got %v, want transient ECONNREFUSED", err)
		}
		if want := fmt.Sprintf("root@127.0.0.1:%d: apply: ", port); !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q does not start with %q", err, want)
		}
	})
	t.Run("silent peer", func(t *testing.T) {
		// Accepts TCP but never speaks SSH: the handshake must time out.
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
			PrivateKey: keyPEM, InsecureIgnoreHostKey: true, ConnectTimeout: 300 * time.Millisecond})
		start := time.Now()
		_, err = h.Run(context.Background(), Command{Step: "apply", Args: []string{"true"}})
		if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
			t.Fatalf("got %v, want a transient handshake timeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("connect timeout 300ms took %v", d)
		}
	})
}

func TestPoolClose(t *testing.T) {
	s, keyPEM := rootSSHD(t, sshdOptions{})
	p := NewPool(nil)
	h := mustHost(t, p, s.config(keyPEM))
	running := make(chan error, 1)
	go func() {
		_, err := h.Run(context.Background(), Command{Step: "long", Args: []string{"sh", "-c", "echo started; sleep 5"}})
		running <- err
	}()
	s.waitLog(t, "Starting session", 1)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-running; !errors.Is(err, ErrConnectionLost) {
		t.Errorf("running command: got %v, want ErrConnectionLost", err)
	}
	_, err := h.Run(context.Background(), Command{Step: "after", Args: []string{"true"}})
	if !errors.Is(err, ErrClosed) || IsTransient(err) {
		t.Errorf("after Close: got %v, want a permanent ErrClosed", err)
	}
	if _, err := p.Host(s.config(keyPEM)); !errors.Is(err, ErrClosed) {
		t.Errorf("Host after Close: got %v, want ErrClosed", err)
	}
	if n := s.logCount("Accepted publickey"); n != 1 {
		t.Errorf("%d logins, want 1 (no dial after Close)", n)
	}
}
