package transport

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// step is one expected command of a recordedRunner and its outcome.
type step struct {
	line   string
	stdout string
	exit   int
	stderr string
	err    error // a transport failure
}

// recordedRunner replays expected commands in order and fails the test on
// any other call.
type recordedRunner struct {
	t     *testing.T
	steps []step
}

func (r *recordedRunner) runLine(_ context.Context, label, line string, _ io.Reader, _ time.Duration) (*Result, error) {
	r.t.Helper()
	if len(r.steps) == 0 {
		r.t.Fatalf("unexpected command %q", line)
	}
	s := r.steps[0]
	r.steps = r.steps[1:]
	if s.line != line {
		r.t.Fatalf("command %q, want %q", line, s.line)
	}
	if s.err != nil {
		return nil, s.err
	}
	res := &Result{Stdout: []byte(s.stdout), Stderr: []byte(s.stderr), ExitCode: s.exit}
	if s.exit != 0 {
		return res, &ProcessError{Host: "u@h:22", Step: label, Command: line, ExitCode: s.exit, Stderr: s.stderr}
	}
	return res, nil
}

func (r *recordedRunner) done() {
	r.t.Helper()
	if len(r.steps) > 0 {
		r.t.Errorf("expected commands not run: %v", r.steps)
	}
}

func TestProbeSudo(t *testing.T) {
	refused := &Error{Host: "u@h:22", Op: "connect", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name       string
		steps      []step
		need       bool
		wantErr    func(error) bool
		wantDetail string
	}{
		{name: "uid 0 needs no sudo", steps: []step{{line: "id -u", stdout: "0\n"}}},
		{name: "passwordless sudo", need: true, steps: []step{
			{line: "id -u", stdout: "1000\n"}, {line: "sudo -n true"}}},
		{name: "sudo wants a password", steps: []step{
			{line: "id -u", stdout: "1000\n"},
			{line: "sudo -n true", exit: 1, stderr: "sudo: a password is required\n"}},
			wantErr: func(err error) bool {
				var se *SudoError
				return errors.As(err, &se) && se.NeedsPassword && se.User == "deploy"
			}, wantDetail: "NOPASSWD"},
		{name: "sudo missing", steps: []step{
			{line: "id -u", stdout: "1000\n"},
			{line: "sudo -n true", exit: 127, stderr: "sh: 1: sudo: not found\n"}},
			wantErr: func(err error) bool {
				var se *SudoError
				var pe *ProcessError
				return errors.As(err, &se) && !se.NeedsPassword && errors.As(err, &pe) && pe.ExitCode == 127
			}, wantDetail: "sudo: not found"},
		{name: "transport failure", steps: []step{{line: "id -u", err: refused}},
			wantErr: func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) && IsTransient(err) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordedRunner{t: t, steps: tc.steps}
			need, err := probeSudo(context.Background(), r, "apply", "deploy")
			r.done()
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("error %v", err)
			}
			if need != tc.need {
				t.Errorf("need sudo = %v, want %v", need, tc.need)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantDetail) {
				t.Errorf("error lacks %q: %v", tc.wantDetail, err)
			}
		})
	}
}

// Definite answers are cached; transport failures are probed again.
func TestSudoCache(t *testing.T) {
	c := newSudoCache()
	calls := 0
	probe := func(outcomes ...error) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) {
			err := outcomes[calls]
			calls++
			return err == nil, err
		}
	}
	p := probe(ErrConnectionLost, nil)
	for i, want := range []error{ErrConnectionLost, nil, nil} {
		need, err := c.get(context.Background(), p)
		if !errors.Is(err, want) || need != (want == nil) {
			t.Fatalf("call %d: need %v, err %v; want err %v", i, need, err, want)
		}
	}
	if calls != 2 {
		t.Errorf("probed %d times, want 2", calls)
	}

	c, calls = newSudoCache(), 0
	refusal := &SudoError{User: "deploy", NeedsPassword: true}
	p = probe(refusal)
	for range 3 {
		if _, err := c.get(context.Background(), p); !errors.Is(err, refusal) {
			t.Fatalf("got %v, want the cached refusal", err)
		}
	}
	if calls != 1 {
		t.Errorf("probed %d times, want 1", calls)
	}
}
