package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// recorder is a fake agent: it records every request, answers observe and
// apply, and fails on any other verb. gate, when set, holds each call
// until the test releases it.
type recorder struct {
	mu    sync.Mutex
	reqs  []wire.Request
	gate  chan struct{}
	fail  error
	calls chan struct{}
}

type fakeRunner string

func (f fakeRunner) Run(context.Context, transport.Command) (*transport.Result, error) {
	return nil, errors.New("the fleet must not run commands itself")
}
func (f fakeRunner) String() string { return string(f) }

type dialer struct{}

func (dialer) Host(cfg transport.Config) (Runner, error) { return fakeRunner(cfg.ID()), nil }

func (r *recorder) Call(_ context.Context, run Runner, req *wire.Request) (*wire.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, *req)
	n := len(r.reqs)
	r.mu.Unlock()
	if r.calls != nil {
		r.calls <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	if r.fail != nil {
		return nil, r.fail
	}
	obs := &wire.Observed{Hostname: fmt.Sprintf("%s#%d", run, n)}
	switch req.Verb {
	case wire.VerbObserve:
		return &wire.Response{Observed: obs}, nil
	case wire.VerbApply:
		return &wire.Response{Observed: obs, Applied: &wire.ApplyReport{Reloads: map[string]int{"keepalived": 1}}}, nil
	}
	return nil, fmt.Errorf("unexpected verb %s", req.Verb)
}

func (r *recorder) requests() []wire.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wire.Request(nil), r.reqs...)
}

var dir1 = transport.Config{Host: "10.77.0.11", User: "root", Port: 22}

func TestConcurrentReadsShareOneObservation(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), calls: make(chan struct{}, 10)}
	f := New(dialer{}, rec, Options{})
	var wg sync.WaitGroup
	got := make([]*wire.Observed, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obs, err := f.Observe(context.Background(), dir1)
			if err != nil {
				t.Error(err)
			}
			got[i] = obs
		}()
	}
	<-rec.calls // the first reader's call is in flight; let the others queue on it
	time.Sleep(20 * time.Millisecond)
	close(rec.gate)
	wg.Wait()
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("8 concurrent reads made %d agent calls, want 1", n)
	}
	for _, o := range got {
		if o != got[0] {
			t.Fatal("readers received different observations")
		}
	}
	// A later read is served from the cache too.
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(dir1); s.AgentCalls != 1 || s.Reads != 9 || s.Observes != 1 {
		t.Fatalf("stats = %+v, want 1 agent call for 9 reads", s)
	}
}

func TestObservationExpires(t *testing.T) {
	rec := &recorder{}
	now := time.Unix(1000, 0)
	f := New(dialer{}, rec, Options{MaxAge: 10 * time.Second, Now: func() time.Time { return now }})
	for range 2 {
		if _, err := f.Observe(context.Background(), dir1); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(11 * time.Second)
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests()); n != 2 {
		t.Fatalf("%d agent calls, want 2 (one per MaxAge)", n)
	}
}

func TestConcurrentWritesCoalesce(t *testing.T) {
	rec := &recorder{}
	f := New(dialer{}, rec, Options{Window: 50 * time.Millisecond})
	var wg sync.WaitGroup
	resps := make([]*wire.Response, 10)
	for i := range resps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			obj := wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: fmt.Sprint(i)}}
			r, err := f.Apply(context.Background(), dir1, []wire.Object{obj}, nil)
			if err != nil {
				t.Error(err)
			}
			resps[i] = r
		}()
	}
	wg.Wait()
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Verb != wire.VerbApply || len(reqs[0].Put) != 10 {
		t.Fatalf("10 concurrent writes gave requests %+v, want one apply of 10 objects", reqs)
	}
	for _, r := range resps {
		if r != resps[0] {
			t.Fatal("writers of one batch received different responses")
		}
	}
	// The apply's own observation serves the next read: no extra call.
	obs, err := f.Observe(context.Background(), dir1)
	if err != nil || obs != resps[0].Observed {
		t.Fatalf("read after apply: %v, %v; want the apply's observation", obs, err)
	}
	s := f.Stats(dir1)
	if s.AgentCalls != 1 || s.Applies != 1 || s.Writes != 10 || s.Reloads["keepalived"] != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestWritesDuringAnApplyFormTheNextBatch(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), calls: make(chan struct{}, 10)}
	f := New(dialer{}, rec, Options{Window: time.Millisecond})
	put := func(id string) <-chan error {
		ch := make(chan error, 1)
		go func() {
			_, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: wire.Key{Kind: wire.KindVirtualServer, ID: id}}}, nil)
			ch <- err
		}()
		return ch
	}
	first := put("a")
	<-rec.calls // "a" is being applied
	later := []<-chan error{put("b"), put("c"), put("d")}
	time.Sleep(20 * time.Millisecond)
	close(rec.gate)
	for _, ch := range append(later, first) {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.requests()
	if len(reqs) != 2 || len(reqs[0].Put) != 1 || len(reqs[1].Put) != 3 {
		t.Fatalf("got %d applies %+v; want [a] then [b c d]", len(reqs), reqs)
	}
}

func TestErrorsReachEveryWriterAndReader(t *testing.T) {
	boom := errors.New("keepalived -t failed")
	rec := &recorder{fail: boom}
	f := New(dialer{}, rec, Options{Window: 10 * time.Millisecond})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Apply(context.Background(), dir1, nil, []wire.Key{{Kind: wire.KindDirector, ID: "director"}}); !errors.Is(err, boom) {
				t.Errorf("writer got %v, want %v", err, boom)
			}
		}()
	}
	wg.Wait()
	if _, err := f.Observe(context.Background(), dir1); !errors.Is(err, boom) {
		t.Fatalf("reader got %v", err)
	}
	// A failed observation is not cached.
	rec.fail = nil
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
}

func TestHostsAreIndependent(t *testing.T) {
	rec := &recorder{}
	f := New(dialer{}, rec, Options{Window: time.Millisecond})
	dir2 := dir1
	dir2.Host = "10.77.0.12"
	for _, c := range []transport.Config{dir1, dir2} {
		if _, err := f.Observe(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}}}, nil); err != nil {
		t.Fatal(err)
	}
	// dir2's observation survives a write to dir1.
	if _, err := f.Observe(context.Background(), dir2); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests()); n != 3 {
		t.Fatalf("%d agent calls, want 3 (2 observes, 1 apply)", n)
	}
}

func TestAdoptionsJoinTheBatch(t *testing.T) {
	rec := &recorder{}
	f := New(dialer{}, rec, Options{Window: 50 * time.Millisecond})
	vs := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := f.ApplyAdopting(context.Background(), dir1, []wire.Object{{Key: vs}}, nil, []wire.Key{vs}); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := f.Apply(context.Background(), dir1, []wire.Object{{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}}}, nil); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	reqs := rec.requests()
	if len(reqs) != 1 || len(reqs[0].Put) != 2 || len(reqs[0].Adopt) != 1 || reqs[0].Adopt[0] != vs {
		t.Fatalf("requests = %+v, want one apply of 2 objects adopting %s", reqs, vs)
	}
}

func TestObserveFreshSkipsTheCache(t *testing.T) {
	rec := &recorder{}
	f := New(dialer{}, rec, Options{})
	for range 2 {
		if _, err := f.ObserveFresh(context.Background(), dir1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Observe(context.Background(), dir1); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests()); n != 2 {
		t.Fatalf("%d agent calls, want 2 (each fresh observation; the plain read reuses the last)", n)
	}
}

// sectionFailer answers every observe with an observation whose IPVS
// section failed.
type sectionFailer struct{ recorder }

func (s *sectionFailer) Call(ctx context.Context, run Runner, req *wire.Request) (*wire.Response, error) {
	resp, err := s.recorder.Call(ctx, run, req)
	if resp != nil && resp.Observed != nil {
		resp.Observed.Errors = map[string]string{wire.ObserveIPVS: "reading the IPVS table: netlink: message truncated"}
	}
	return resp, err
}

// An observation with a failed section is an error for every read of the
// host, naming the host and the section, and it is never cached.
func TestObservationWithAFailedSectionIsAnError(t *testing.T) {
	sf := &sectionFailer{}
	f := New(dialer{}, sf, Options{})
	for range 2 {
		obs, err := f.Observe(context.Background(), dir1)
		if err == nil || obs != nil {
			t.Fatalf("Observe = %v, %v; want an error", obs, err)
		}
		if msg := err.Error(); !strings.Contains(msg, dir1.ID()) || !strings.Contains(msg, "observe ipvs") || !strings.Contains(msg, "truncated") {
			t.Errorf("error %q does not name the host, the section and the cause", msg)
		}
	}
	if n := len(sf.requests()); n != 2 {
		t.Errorf("%d agent calls for two reads, want 2 (a failed observation is not reused)", n)
	}
}
