package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// slowAgent is a fake agent whose applies take a while, as a real one's
// do: it records each batch it was asked to apply and the store it
// reached, answers each apply with an observation of that store, and
// fails on a verb it does not know.
type slowAgent struct {
	delay time.Duration
	mu    sync.Mutex
	// batches are the keys put by each apply, in order.
	batches  [][]wire.Key
	observes int
	store    map[wire.Key]wire.Object
	fail     error
	// applying, when set, is closed when the first apply starts.
	applying chan struct{}
	once     sync.Once
}

func (a *slowAgent) Call(_ context.Context, run Runner, req *wire.Request) (*wire.Response, error) {
	if req.Verb == wire.VerbApply && a.applying != nil {
		a.once.Do(func() { close(a.applying) })
	}
	time.Sleep(a.delay)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.store == nil {
		a.store = map[wire.Key]wire.Object{}
	}
	switch req.Verb {
	case wire.VerbObserve:
		a.observes++
	case wire.VerbApply:
		var keys []wire.Key
		for _, o := range req.Put {
			keys = append(keys, o.Key)
		}
		a.batches = append(a.batches, keys)
		if a.fail != nil {
			return nil, a.fail
		}
		for _, o := range req.Put {
			a.store[o.Key] = o
		}
		for _, k := range req.Delete {
			delete(a.store, k)
		}
	default:
		return nil, fmt.Errorf("unexpected verb %s", req.Verb)
	}
	obs := &wire.Observed{Hostname: run.String()}
	for _, o := range a.store {
		obs.Objects = append(obs.Objects, o)
	}
	resp := &wire.Response{Observed: obs}
	if req.Verb == wire.VerbApply {
		resp.Applied = &wire.ApplyReport{Reloads: map[string]int{"keepalived": 1}}
	}
	return resp, nil
}

func rsKey(w, i int) wire.Key {
	return wire.Key{Kind: wire.KindRealServer, ID: fmt.Sprintf("tcp/10.0.0.10:80/192.168.%d.%d:80", w, i)}
}

// Terraform at -parallelism=P runs P creates at once and starts the next
// as soon as one returns. With group commit the writes of the resources
// an apply released join the next apply together: P workers writing 10
// objects each, one after the other, cost 10 applies (plus at most the
// one or two of a ragged start), not one per write. One worker starts
// late, while the first apply runs: its write waits for the next batch,
// and the writers the first apply releases join it there rather than
// alternating with it (1, 9, 1, 9, ...).
func TestGroupCommitKeepsBatchesFull(t *testing.T) {
	const workers, each = 10, 10
	// Applies take longer than MaxWait, as a real agent's do.
	ag := &slowAgent{delay: 30 * time.Millisecond, applying: make(chan struct{})}
	f := New(dialer{}, ag, Options{Window: 5 * time.Millisecond, MaxWait: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A ragged start, as Terraform's walk has, and a straggler
			// that comes once the first apply runs.
			if w == workers-1 {
				<-ag.applying
			} else {
				time.Sleep(time.Duration(w) * time.Millisecond / 2)
			}
			for i := range each {
				if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: rsKey(w, i)}}, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if limit := workers*each/workers + 2; len(ag.batches) > limit {
		t.Errorf("%d applies for %d writes by %d workers, want at most %d; batch sizes %v", len(ag.batches), workers*each, workers, limit, f.Stats(dir1).Batches)
	}
	seen := map[wire.Key]int{}
	for _, b := range ag.batches {
		for _, k := range b {
			seen[k]++
		}
	}
	if len(seen) != workers*each || len(ag.store) != workers*each {
		t.Errorf("%d distinct keys applied, %d stored; want %d", len(seen), len(ag.store), workers*each)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s applied %d times", k, n)
		}
	}
	if ag.observes != 0 {
		t.Errorf("%d observes during the writes, want none", ag.observes)
	}
	t.Logf("batch sizes %v", f.Stats(dir1).Batches)
}

// A read made while a write to the host is queued or in flight waits for
// that apply and takes the observation it returns: no observe of its own,
// and the write is in what it sees.
func TestReadAfterWriteTakesTheApplysObservation(t *testing.T) {
	ag := &slowAgent{delay: 30 * time.Millisecond, applying: make(chan struct{})}
	f := New(dialer{}, ag, Options{Window: time.Millisecond})
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
	k := rsKey(1, 1)
	done := make(chan error, 1)
	go func() {
		_, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: k}}, nil)
		done <- err
	}()
	time.Sleep(5 * time.Millisecond) // the write is queued or in flight
	obs, err := f.Observe(context.Background(), dir1)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(obs.Objects) != 1 || obs.Objects[0].Key != k {
		t.Errorf("read after the write saw %+v, want the written object", obs.Objects)
	}
	// And the next read is served from it too.
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(dir1); s.Observes != 1 || s.AgentCalls != 2 {
		t.Errorf("stats %+v, want the one observe before the write and the apply", s)
	}
}

// Stored answers from the process's own writes (even while queued) and
// the latest observation, observing only a host it never saw.
func TestStoredAnswersWithoutObserving(t *testing.T) {
	ag := &slowAgent{delay: 20 * time.Millisecond}
	f := New(dialer{}, ag, Options{Window: time.Millisecond})
	vs := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}
	other := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.11:80"}
	ag.store = map[wire.Key]wire.Object{other: {Key: other}}

	// Never seen: one observe.
	if o, err := f.Stored(context.Background(), dir1, other); err != nil || o == nil {
		t.Fatalf("Stored(other) = %v, %v; want it from the first observation", o, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: vs}}, nil)
		done <- err
	}()
	time.Sleep(5 * time.Millisecond)
	// While the write is on its way: from the write itself, and for keys
	// it did not touch from the older observation, without waiting.
	if o, err := f.Stored(context.Background(), dir1, vs); err != nil || o == nil || o.Key != vs {
		t.Fatalf("Stored(vs) = %v, %v; want the queued write", o, err)
	}
	if o, err := f.Stored(context.Background(), dir1, other); err != nil || o == nil {
		t.Fatalf("Stored(other) = %v, %v", o, err)
	}
	if o, err := f.Stored(context.Background(), dir1, rsKey(1, 1)); err != nil || o != nil {
		t.Fatalf("Stored(absent) = %v, %v; want nil", o, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ag.mu.Lock()
	observes := ag.observes
	ag.mu.Unlock()
	if observes != 1 {
		t.Errorf("%d observes, want 1 (the host's first)", observes)
	}
}

// A failed apply does not leave its writes behind as stored.
func TestStoredForgetsAFailedWrite(t *testing.T) {
	boom := errors.New("keepalived -t refused the config")
	ag := &slowAgent{fail: boom}
	f := New(dialer{}, ag, Options{Window: time.Millisecond})
	vs := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}
	if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: vs}}, nil); !errors.Is(err, boom) {
		t.Fatalf("apply: %v, want %v", err, boom)
	}
	if _, ok := f.Written(dir1, vs); ok {
		t.Error("the failed write is still taken as stored")
	}
	ag.fail = nil
	if o, err := f.Stored(context.Background(), dir1, vs); err != nil || o != nil {
		t.Errorf("Stored = %v, %v; want nil from a new observation", o, err)
	}
}

// Terraform records each completion before it starts the next resource,
// so the successors of one batch come one by one, further apart than the
// quiet Window: the next batch still waits (up to MaxWait) for as many
// writers as the last one had.
func TestGroupCommitWaitsForStaggeredSuccessors(t *testing.T) {
	const workers, each = 10, 5
	ag := &slowAgent{delay: 20 * time.Millisecond}
	f := New(dialer{}, ag, Options{Window: 2 * time.Millisecond, MaxWait: 300 * time.Millisecond})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				if i > 0 {
					time.Sleep(time.Duration(w) * 6 * time.Millisecond) // 0, 6, ... 54 ms after the return
				}
				if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: rsKey(w, i)}}, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	batches := f.Stats(dir1).Batches
	if len(batches) > each+2 {
		t.Errorf("%d applies for %d writes by %d workers, want at most %d; batch sizes %v", len(batches), workers*each, workers, each+2, batches)
	}
	t.Logf("batch sizes %v", batches)
}
