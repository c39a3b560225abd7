package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Error is a fleet call that ended before its host answered: the caller's
// context ended (its Terraform operation timed out or was cancelled) while
// it waited for an observation or for the apply carrying its writes. It
// names the host and the step the call was at; Err is the context's cause
// (a timeout error of the provider's, wrapping context.DeadlineExceeded).
type Error struct {
	Host string
	// Step is where the call was: StepObserve, StepQueued or StepApply.
	Step string
	Err  error
}

// Steps an Error names.
const (
	// StepObserve: waiting for an observation of the host.
	StepObserve = "agent observe"
	// StepQueued: the writes waited for the host's apply in flight; they
	// were not sent (unless another caller's batch still carries them).
	StepQueued = "queued for the host's next agent apply"
	// StepApply: the agent apply carrying the writes was running.
	StepApply = "agent apply"
)

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %v", e.Host, e.Step, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// shared is the context of work done on behalf of several callers at once
// (one observation many readers wait for, one apply many writers joined):
// it ends when every caller that joined has given up, with the cause of the
// last one to go, so that the deadline of each caller reaches the agent
// call, but one caller's short timeout never cuts the work short for the
// others still waiting. Its deadline is the latest of the callers'
// deadlines (none when a caller has none).
type shared struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	live      int
	deadline  time.Time
	unbounded bool
}

// newShared is a shared context with the values (the logger) of first,
// the caller that starts the work, but none of its cancellation.
func newShared(first context.Context) *shared {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(first))
	return &shared{ctx: ctx, cancel: cancel}
}

// join counts ctx among the callers until ctx ends; stop (the caller got
// its answer) stops counting it without ending anything. A caller whose
// ctx ended must not call stop: the count of its end may not have run yet.
func (s *shared) join(ctx context.Context) (stop func()) {
	s.mu.Lock()
	s.live++
	if d, ok := ctx.Deadline(); !ok {
		s.unbounded = true
	} else if d.After(s.deadline) {
		s.deadline = d
	}
	s.mu.Unlock()
	stopAfter := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.live--
		last := s.live == 0
		s.mu.Unlock()
		if last {
			s.cancel(context.Cause(ctx))
		}
	})
	return func() { stopAfter() }
}

// Deadline is the latest deadline of the callers that joined, and whether
// every one of them had one.
func (s *shared) Deadline() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadline, !s.unbounded && !s.deadline.IsZero()
}

// done tells whether every caller gave up.
func (s *shared) done() bool { return s.ctx.Err() != nil }

// lockWait is how long the agent may wait for its host lock within the
// time left before deadline: three quarters of it (at least a second), so
// that a lock held by another run ends the apply with the agent's own
// "lock host" error, before the caller's deadline kills the agent call; 0
// (the agent's default) without a deadline or when the agent's default
// of 60 s is shorter.
func lockWait(deadline time.Time, bounded bool, now time.Time) int {
	const agentDefault = 60
	if !bounded {
		return 0
	}
	secs := int(deadline.Sub(now) * 3 / 4 / time.Second)
	switch {
	case secs >= agentDefault:
		return 0
	case secs < 1:
		return 1
	}
	return secs
}
