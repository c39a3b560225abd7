package agent

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// Runner runs a command on the host and returns its output. A command that
// exits non-zero returns an error (wrapping *exec.ExitError for the real
// runner) along with everything it printed.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) (stdout, stderr string, err error)
}

// Procs reads and signals the host's processes.
type Procs interface {
	// Alive reports whether a process with that pid exists.
	Alive(pid int) bool
	// Signal sends sig to pid.
	Signal(pid int, sig syscall.Signal) error
	// Cmdline returns the arguments pid was started with.
	Cmdline(pid int) ([]string, error)
}

// Sysctls reads and sets kernel settings; Set returns the previous value.
// *sysctl.Host implements it.
type Sysctls interface {
	Get(key string) (string, error)
	Set(key, value string) (previous string, err error)
}

// ExecRunner runs commands with os/exec. Daemons that fork into the
// background (keepalived, haproxy -D) may keep the output pipes open; the
// wait for them is bounded by WaitDelay.
type ExecRunner struct {
	WaitDelay time.Duration
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = r.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 2 * time.Second
	}
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The command exited cleanly; a daemon it forked holds the pipes.
		err = nil
	}
	return stdout.String(), stderr.String(), err
}
