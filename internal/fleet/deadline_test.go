package fleet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// blockingAgent is a fake agent whose calls run until their context ends
// (or release is closed): it records each request and the context's end.
type blockingAgent struct {
	mu      sync.Mutex
	reqs    []wire.Request
	ended   []error // context.Cause of each call that ended by its context
	started chan struct{}
	release chan struct{}
}

func newBlockingAgent() *blockingAgent {
	return &blockingAgent{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (a *blockingAgent) Call(ctx context.Context, _ Runner, req *wire.Request) (*wire.Response, error) {
	a.mu.Lock()
	a.reqs = append(a.reqs, *req)
	a.mu.Unlock()
	a.started <- struct{}{}
	select {
	case <-a.release:
		obs := &wire.Observed{Hostname: "h"}
		return &wire.Response{Observed: obs, Applied: &wire.ApplyReport{}}, nil
	case <-ctx.Done():
		a.mu.Lock()
		a.ended = append(a.ended, context.Cause(ctx))
		a.mu.Unlock()
		return nil, context.Cause(ctx)
	}
}

func (a *blockingAgent) endedCauses() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]error(nil), a.ended...)
}

var errOpTimeout = errors.New("the create timeout of 1s ran out")

// opCtx is a Terraform operation's context with a timeout whose cause is
// errOpTimeout, as the provider's withTimeout makes it.
func opCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), d, errOpTimeout)
	t.Cleanup(cancel)
	return ctx
}

// An apply's only writer times out: the agent call itself is cancelled
// with the writer's cause, the writer's error names the host and the
// step, and the agent was told to wait for the host lock no longer than
// the writer's deadline leaves.
func TestApplyDeadlineReachesTheAgentCall(t *testing.T) {
	a := newBlockingAgent()
	f := New(dialer{}, a, Options{Window: time.Millisecond})
	start := time.Now()
	_, err := f.Apply(opCtx(t, 400*time.Millisecond), dir1, []wire.Object{{Key: rsKey(0, 0)}}, nil)
	var fe *Error
	if !errors.As(err, &fe) || fe.Host != dir1.ID() || fe.Step != StepApply || !errors.Is(err, errOpTimeout) {
		t.Fatalf("got %v, want a fleet error naming %s, step %q, caused by the operation's timeout", err, dir1.ID(), StepApply)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 400ms deadline took %v", d)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(a.endedCauses()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ends := a.endedCauses(); len(ends) != 1 || !errors.Is(ends[0], errOpTimeout) {
		t.Fatalf("the agent call ended with %v, want it cancelled by the writer's timeout", ends)
	}
	if got := a.reqs[0].LockTimeoutSeconds; got != 1 {
		t.Errorf("lock timeout %d s sent with 400ms left, want 1 (the minimum)", got)
	}
	// The failed write is forgotten once the batch has its answer (the
	// agent's cancelled call returns to the flush, which then forgets):
	// Written does not claim it.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, ok := f.Written(dir1, rsKey(0, 0)); !ok {
			break
		}
	}
	if w, ok := f.Written(dir1, rsKey(0, 0)); ok {
		t.Errorf("a write whose apply was cut still counts as written: %+v", w)
	}
}

// Two writers share a batch: the first one's short timeout ends its own
// wait but not the apply, which completes for the second.
func TestOneWritersTimeoutDoesNotCutTheBatch(t *testing.T) {
	a := newBlockingAgent()
	f := New(dialer{}, a, Options{Window: 50 * time.Millisecond})
	short := opCtx(t, 300*time.Millisecond)
	long, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = f.Apply(short, dir1, []wire.Object{{Key: rsKey(0, 0)}}, nil) })
	wg.Go(func() { _, errs[1] = f.Apply(long, dir1, []wire.Object{{Key: rsKey(0, 1)}}, nil) })
	<-a.started
	<-short.Done()
	time.Sleep(50 * time.Millisecond)
	close(a.release)
	wg.Wait()
	if !errors.Is(errs[0], errOpTimeout) {
		t.Errorf("short writer: %v, want its timeout", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("long writer: %v, want the batch to complete for it", errs[1])
	}
	if ends := a.endedCauses(); len(ends) != 0 {
		t.Errorf("the batch was cancelled (%v) while a writer still waited", ends)
	}
	if n := len(a.reqs); n != 1 || len(a.reqs[0].Put) != 2 {
		t.Fatalf("requests %+v, want one apply of both writes", a.reqs)
	}
	// The longest deadline is a minute: 3/4 of it is 45 s.
	if got := a.reqs[0].LockTimeoutSeconds; got < 40 || got > 45 {
		t.Errorf("lock timeout %d s, want about 45 (3/4 of the latest writer's minute)", got)
	}
}

// A writer that gives up while its batch waits behind an apply in flight
// is not sent: its error says it was queued, and the next batch carries
// only the writes of callers still waiting.
func TestAbandonedQueuedBatchIsNotSent(t *testing.T) {
	a := newBlockingAgent()
	f := New(dialer{}, a, Options{Window: time.Millisecond})
	var wg sync.WaitGroup
	var firstErr error
	wg.Go(func() { _, firstErr = f.Apply(context.Background(), dir1, []wire.Object{{Key: rsKey(0, 0)}}, nil) })
	<-a.started // the first apply is in flight
	_, err := f.Apply(opCtx(t, 200*time.Millisecond), dir1, []wire.Object{{Key: rsKey(1, 0)}}, nil)
	var fe *Error
	if !errors.As(err, &fe) || fe.Step != StepQueued || !errors.Is(err, errOpTimeout) {
		t.Fatalf("queued writer: %v, want step %q caused by its timeout", err, StepQueued)
	}
	close(a.release)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	time.Sleep(100 * time.Millisecond) // the flusher would send the next batch by now
	if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: rsKey(2, 0)}}, nil); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) != 2 {
		t.Fatalf("%d applies, want 2 (the abandoned batch never sent)", len(a.reqs))
	}
	if put := a.reqs[1].Put; len(put) != 1 || put[0].Key != rsKey(2, 0) {
		t.Errorf("second apply put %+v, want only the live writer's object", put)
	}
	if _, ok := f.Written(dir1, rsKey(1, 0)); ok {
		t.Error("the abandoned write still counts as written")
	}
}

// A shared observe outlives its first reader's timeout while another
// reader waits, and is cancelled with the cause when the last one goes.
func TestObserveDeadlineIsTheLastReaders(t *testing.T) {
	a := newBlockingAgent()
	f := New(dialer{}, a, Options{})
	short := opCtx(t, 200*time.Millisecond)
	longer := opCtx(t, 600*time.Millisecond)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = f.Observe(short, dir1) })
	<-a.started
	wg.Go(func() { _, errs[1] = f.Observe(longer, dir1) })
	<-short.Done()
	time.Sleep(100 * time.Millisecond)
	if ends := a.endedCauses(); len(ends) != 0 {
		t.Fatalf("the observe was cancelled by the first reader's timeout while another waited: %v", ends)
	}
	wg.Wait()
	for i, err := range errs {
		var fe *Error
		if !errors.As(err, &fe) || fe.Step != StepObserve || fe.Host != dir1.ID() || !errors.Is(err, errOpTimeout) {
			t.Errorf("reader %d: %v, want step %q on %s caused by its timeout", i, err, StepObserve, dir1.ID())
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(a.endedCauses()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if ends := a.endedCauses(); len(ends) != 1 || !errors.Is(ends[0], errOpTimeout) {
		t.Errorf("the observe ended with %v, want it cancelled once the last reader gave up", ends)
	}
	if n := len(a.reqs); n != 1 {
		t.Errorf("%d agent calls, want the two readers to share 1", n)
	}
}

func TestLockWait(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		left    time.Duration
		bounded bool
		want    int
	}{
		{time.Minute, false, 0}, {10 * time.Minute, true, 0}, {time.Minute, true, 45},
		{10 * time.Second, true, 7}, {time.Second, true, 1}, {-time.Second, true, 1},
	} {
		if got := lockWait(now.Add(c.left), c.bounded, now); got != c.want {
			t.Errorf("lockWait(%v left, bounded %v) = %d, want %d", c.left, c.bounded, got, c.want)
		}
	}
}
