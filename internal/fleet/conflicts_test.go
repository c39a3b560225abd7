package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// judge is a fake agent that refuses, as the real one does, a writer that
// creates a key stored with another owner, and applies the other writers.
type judge struct {
	mu    sync.Mutex
	store map[wire.Key]wire.Object
	reqs  []wire.Request
}

func (j *judge) Call(_ context.Context, run Runner, req *wire.Request) (*wire.Response, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reqs = append(j.reqs, *req)
	resp := &wire.Response{Observed: &wire.Observed{Hostname: run.String()}}
	if req.Verb == wire.VerbApply {
		puts, dels, writers := req.WriterRanges()
		for i, w := range writers {
			refused := false
			for _, k := range w.Create {
				for _, o := range puts[i] {
					if prev, ok := j.store[k]; ok && o.Key == k && prev.Owner != o.Owner {
						refused = true
						resp.Refused = append(resp.Refused, wire.Refusal{Writer: i, With: &k, WithOwner: prev.Owner,
							Error: wire.Error{Code: wire.ExitConflict, Step: "check conflicts", Message: fmt.Sprintf("%s is stored by %s", k, prev.Owner)}})
					}
				}
			}
			if refused {
				continue
			}
			for _, k := range dels[i] {
				delete(j.store, k)
			}
			for _, o := range puts[i] {
				j.store[o.Key] = o
			}
		}
		resp.Applied = &wire.ApplyReport{}
	}
	for _, o := range j.store {
		resp.Observed.Objects = append(resp.Observed.Objects, o)
	}
	return resp, nil
}

// TestRefusedWriteFailsOnlyItsCaller: three writes gathered into one
// apply, the second of which creates a key another resource stores: its
// caller gets a RefusedError, the others succeed, the request names each
// writer's share, creates and owner, and the fleet's view of the key is
// what the host stores, not the refused write.
func TestRefusedWriteFailsOnlyItsCaller(t *testing.T) {
	vs := wire.VirtualServerKey("tcp/10.0.0.10:80")
	stored := wire.Object{Key: vs, Owner: "lvs_virtual_server a", VirtualServer: &model.VirtualServer{Scheduler: "rr"}}
	ag := &judge{store: map[wire.Key]wire.Object{vs: stored}}
	f := New(dialer{}, ag, Options{Window: 100 * time.Millisecond, MaxWait: time.Second})
	writes := []Write{
		{Put: []wire.Object{{Key: rsKey(1, 1)}}, Create: []wire.Key{rsKey(1, 1)}, Owner: "lvs_real_server one"},
		{Put: []wire.Object{{Key: vs, VirtualServer: &model.VirtualServer{Scheduler: "wrr"}}}, Create: []wire.Key{vs}, Owner: "lvs_virtual_server b"},
		{Put: []wire.Object{{Key: rsKey(1, 2)}}, Delete: []wire.Key{rsKey(9, 9)}, Owner: "lvs_real_server two"},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 10 * time.Millisecond) // in order, within the window
			_, errs[i] = f.Write(context.Background(), dir1, w)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("the writes beside the refused one failed: %v, %v", errs[0], errs[2])
	}
	var re *RefusedError
	if !errors.As(errs[1], &re) || re.Refusal.WithOwner != "lvs_virtual_server a" || re.Host != dir1.ID() {
		t.Fatalf("the conflicting write returned %v, want a RefusedError naming lvs_virtual_server a on %s", errs[1], dir1.ID())
	}
	if len(ag.reqs) != 1 {
		t.Fatalf("%d agent calls, want one apply", len(ag.reqs))
	}
	req := ag.reqs[0]
	if len(req.Writers) != 3 || req.Writers[1].Create[0] != vs || req.Writers[2].Deletes != 1 || req.Put[1].Owner != "lvs_virtual_server b" {
		t.Errorf("request writers %+v, puts %+v", req.Writers, req.Put)
	}
	got, err := f.Stored(context.Background(), dir1, vs)
	if err != nil || got == nil || got.Owner != "lvs_virtual_server a" {
		t.Errorf("Stored(%s) = %+v, %v; want the host's object, not the refused write", vs, got, err)
	}
	if got, _ := f.Stored(context.Background(), dir1, rsKey(1, 2)); got == nil {
		t.Errorf("Stored(%s) lost the accepted write", rsKey(1, 2))
	}
}
