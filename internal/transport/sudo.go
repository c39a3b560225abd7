package transport

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// sudoPrefix runs a command as root without ever prompting.
const sudoPrefix = "sudo -n -- "

// lineRunner runs a quoted command line; *Host is the real one.
type lineRunner interface {
	runLine(ctx context.Context, step, line string, stdin io.Reader, timeout time.Duration) (*Result, error)
}

// sudoCache remembers whether a host's commands need sudo. The outcome of a
// probe is kept when it is definite (an answer or a *SudoError); transport
// failures are not, so the next command probes again.
type sudoCache struct {
	lock  chan struct{} // held while probing
	known bool
	need  bool
	err   error
}

func newSudoCache() sudoCache { return sudoCache{lock: make(chan struct{}, 1)} }

func (s *sudoCache) get(ctx context.Context, probe func(context.Context) (bool, error)) (bool, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
	defer func() { <-s.lock }()
	if s.known {
		return s.need, s.err
	}
	need, err := probe(ctx)
	var se *SudoError
	if err == nil || errors.As(err, &se) {
		s.known, s.need, s.err = true, need, err
	}
	return need, err
}

// probeSudo finds out whether commands must run through `sudo -n`: not when
// the user's uid is 0; yes when `sudo -n true` succeeds; otherwise a
// *SudoError that says what to configure.
func probeSudo(ctx context.Context, r lineRunner, step, user string) (bool, error) {
	res, err := r.runLine(ctx, step, "id -u", nil, 0)
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(string(res.Stdout)) == "0" {
		return false, nil
	}
	_, err = r.runLine(ctx, step, "sudo -n true", nil, 0)
	var pe *ProcessError
	switch {
	case err == nil:
		return true, nil
	case !errors.As(err, &pe):
		return false, err
	case strings.Contains(pe.Stderr, "password is required"):
		return false, &SudoError{User: user, NeedsPassword: true, Stderr: pe.Stderr}
	}
	return false, &SudoError{User: user, Stderr: pe.Stderr, Err: err}
}

// privileged returns line as it must run on the host: prefixed with sudo
// when the user is not root. The root user is never probed.
func (h *Host) privileged(ctx context.Context, step, line string) (string, error) {
	if h.cfg.User == "root" {
		return line, nil
	}
	need, err := h.sudo.get(ctx, func(ctx context.Context) (bool, error) {
		return probeSudo(ctx, h, step, h.cfg.User)
	})
	var se *SudoError
	switch {
	case errors.As(err, &se):
		return "", &Error{Host: h.id, Step: step, Op: "check sudo", Err: err}
	case err != nil:
		return "", err
	case need:
		return sudoPrefix + line, nil
	}
	return line, nil
}
