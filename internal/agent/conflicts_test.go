package agent

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func owned(o wire.Object, owner string) wire.Object {
	o.Owner = owner
	return o
}

func vsWith(scheduler string) wire.Object {
	o := vsObj()
	vs := *o.VirtualServer
	vs.Scheduler = scheduler
	o.VirtualServer = &vs
	return o
}

func frontendObj(name string, bind model.HAProxyBind, backend string) wire.Object {
	return wire.Object{Key: wire.HAProxyFrontendKey(name), HAProxyFrontend: &wire.HAProxyFrontend{
		Frontend: model.HAProxyFrontend{Name: name, Binds: []model.HAProxyBind{bind}, DefaultBackend: backend},
		Backend: model.HAProxyBackend{Name: backend, Servers: []model.HAProxyServer{
			{Name: "s1", Address: netip.MustParseAddr("10.0.0.21"), Port: 80},
		}},
	}}
}

func backendObj(name string) wire.Object {
	return wire.Object{Key: wire.HAProxyBackendKey(name), HAProxyBackend: &model.HAProxyBackend{Name: name,
		Servers: []model.HAProxyServer{{Name: "s1", Address: netip.MustParseAddr("10.0.0.22"), Port: 80}}}}
}

func storeOf(objs ...wire.Object) map[wire.Key]wire.Object {
	m := map[wire.Key]wire.Object{}
	for _, o := range objs {
		m[o.Key] = o
	}
	return m
}

// writers builds a request of one writer per group of puts; create marks
// every put of a group as created.
func writers(create bool, groups ...[]wire.Object) *wire.Request {
	req := &wire.Request{Verb: wire.VerbApply}
	for _, g := range groups {
		w := wire.Writer{Puts: len(g)}
		for _, o := range g {
			req.Put = append(req.Put, o)
			if create {
				w.Create = append(w.Create, o.Key)
			}
		}
		req.Writers = append(req.Writers, w)
	}
	return req
}

func TestRefuseConflicts(t *testing.T) {
	a := owned(vsWith("rr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1")
	b := owned(vsWith("wrr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1,dir2")
	fe := func(name, addr string, port int, backend string) wire.Object {
		var ad netip.Addr
		if addr != "" {
			ad = netip.MustParseAddr(addr)
		}
		return owned(frontendObj(name, model.HAProxyBind{Address: ad, Port: port}, backend), "lvs_haproxy_frontend "+name)
	}
	for _, tc := range []struct {
		name    string
		stored  map[wire.Key]wire.Object
		req     *wire.Request
		refused []int    // writers refused
		want    []string // in the first refusal's message
	}{
		{"create over a stored key with other content", storeOf(a), writers(true, []wire.Object{b}), []int{0},
			[]string{"by lvs_virtual_server tcp/192.168.0.10:80@dir1 ", "lvs_virtual_server tcp/192.168.0.10:80@dir1,dir2 cannot create", "virtual_server.scheduler"}},
		{"create with the stored content (an interrupted apply re-run)", storeOf(a), writers(true, []wire.Object{owned(a, "other")}), nil, nil},
		{"an update may change a stored key", storeOf(a), writers(false, []wire.Object{b}), nil, nil},
		{"two creates of one key in one batch: the first wins", nil, writers(true, []wire.Object{a}, []wire.Object{b}), []int{1},
			[]string{"already stored on this host by lvs_virtual_server tcp/192.168.0.10:80@dir1 "}},
		{"two identical creates in one batch", nil, writers(true, []wire.Object{a}, []wire.Object{owned(a, "x")}), nil, nil},
		{"a stored object without owner", storeOf(owned(a, "")), writers(true, []wire.Object{b}), []int{0}, []string{"another resource (or an import)"}},
		{"a refused writer leaves the others", storeOf(a), writers(true, []wire.Object{rsObj("10.0.0.1")}, []wire.Object{b}, []wire.Object{rsObj("10.0.0.2")}), []int{1}, nil},
		{"one bind in two frontends", storeOf(fe("web", "10.0.0.5", 80, "web_be")), writers(true, []wire.Object{fe("api", "10.0.0.5", 80, "api_be")}), []int{0},
			[]string{"binds 10.0.0.5:80, which frontend web (lvs_haproxy_frontend web) already binds"}},
		{"a bind on every address overlaps", storeOf(fe("web", "10.0.0.5", 80, "web_be")), writers(false, []wire.Object{fe("api", "", 80, "api_be")}), []int{0}, []string{"*:80"}},
		{"other ports do not overlap", storeOf(fe("web", "", 80, "web_be")), writers(false, []wire.Object{fe("api", "", 81, "api_be")}), nil, nil},
		{"a frontend's own bind on update", storeOf(fe("web", "", 80, "web_be")), writers(false, []wire.Object{fe("web", "", 80, "web_be")}), nil, nil},
		{"two frontends in one batch with one bind", nil, writers(true, []wire.Object{fe("web", "", 80, "web_be")}, []wire.Object{fe("api", "", 80, "api_be")}), []int{1}, nil},
		{"a backend name held by another frontend", storeOf(fe("web", "", 80, "shared")), writers(true, []wire.Object{owned(backendObj("shared"), "lvs_haproxy_backend shared")}), []int{0},
			[]string{`backend "shared", which haproxy_frontend web (lvs_haproxy_frontend web) already holds`}},
		{"a frontend's backend named as a backend object", storeOf(backendObj("shared")), writers(true, []wire.Object{fe("web", "", 80, "shared")}), []int{0}, nil},
		{"two fwmark services of one mark", storeOf(fwmarkObj("rr", "lvs_virtual_server fwmark/7@dir1")),
			writers(true, []wire.Object{fwmarkObj("sh", "lvs_virtual_server fwmark/7@dir1,dir2")}), []int{0}, []string{"fwmark/7 is already stored", "virtual_server.scheduler"}},
		{"two real servers of one address:port in one service", storeOf(owned(rsObj("10.0.0.1"), "lvs_real_server a")),
			writers(true, []wire.Object{owned(rsWeight("10.0.0.1", 5), "lvs_real_server b")}), []int{0}, []string{"by lvs_real_server a ", "real_server.weight"}},
		{"a key deleted by an earlier writer may be created", storeOf(a), &wire.Request{Put: []wire.Object{b}, Delete: []wire.Key{a.Key},
			Writers: []wire.Writer{{Deletes: 1}, {Puts: 1, Create: []wire.Key{b.Key}}}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored := tc.stored
			if stored == nil {
				stored = map[wire.Key]wire.Object{}
			}
			before := len(stored)
			put, del, refused := refuseConflicts(stored, tc.req)
			if len(stored) != before {
				t.Error("the stored set was modified")
			}
			var got []int
			for _, r := range refused {
				got = append(got, r.Writer)
				if r.Code != wire.ExitConflict || r.Step != StepConflicts || r.With == nil {
					t.Errorf("refusal %+v: want code %d, step %q and the object it conflicts with", r, wire.ExitConflict, StepConflicts)
				}
			}
			if !equalInts(got, tc.refused) {
				t.Fatalf("refused writers %v, want %v: %+v", got, tc.refused, refused)
			}
			for _, w := range tc.want {
				if !strings.Contains(refused[0].Message, w) {
					t.Errorf("message %q lacks %q", refused[0].Message, w)
				}
			}
			// The accepted writers' writes are kept, in order.
			puts, dels, _ := tc.req.WriterRanges()
			var wantPut, wantDel int
			for i := range puts {
				if !contains(tc.refused, i) {
					wantPut += len(puts[i])
					wantDel += len(dels[i])
				}
			}
			if len(put) != wantPut || len(del) != wantDel {
				t.Errorf("kept %d puts and %d deletes, want %d and %d", len(put), len(del), wantPut, wantDel)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// hostFiles reads every file under the agent's state and config dirs
// but the lock and the call counters (stats.json).
func hostFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{StateDir, "/etc"} {
		_ = filepath.Walk(filepath.Join(root, dir), func(p string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() && !strings.HasSuffix(p, "/lock") && !strings.HasSuffix(p, "/stats.json") {
				data, _ := os.ReadFile(p)
				out[p] = string(data)
			}
			return nil
		})
	}
	return out
}

// TestApplyRefusesAConflictingCreateBeforeTouching: an apply whose every
// writer conflicts changes nothing on the host (no file, no command, no
// journal) and exits with ExitConflict naming both owners; a batch with
// one conflicting writer applies the others.
func TestApplyRefusesAConflictingCreateBeforeTouching(t *testing.T) {
	f, a := newFakeHost(t)
	first := owned(vsWith("rr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1")
	mustApply(t, a, []wire.Object{directorObj(100), first})
	f.take()
	before := hostFiles(t, f.root)

	second := owned(vsWith("wrr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1,dir2")
	req := writers(true, []wire.Object{second})
	req.Version, req.LockTimeoutSeconds = wire.Version, 1
	resp, code := a.Handle(context.Background(), req)
	if code != wire.ExitConflict || resp.Error == nil || len(resp.Refused) != 1 {
		t.Fatalf("exit %d, error %v, refused %+v; want exit %d with one refusal", code, resp.Error, resp.Refused, wire.ExitConflict)
	}
	for _, w := range []string{first.Owner + " ", second.Owner + " cannot create"} {
		if !strings.Contains(resp.Error.Message, w) {
			t.Errorf("error %q does not name %q", resp.Error.Message, w)
		}
	}
	if calls, signals := f.take(); len(calls)+len(signals) != 0 {
		t.Errorf("a refused apply ran %q and sent %q", calls, signals)
	}
	after := hostFiles(t, f.root)
	if len(after) != len(before) {
		t.Errorf("files: %d before, %d after", len(before), len(after))
	}
	for p, data := range before {
		if after[p] != data {
			t.Errorf("%s changed", p)
		}
	}

	// One batch: a conflicting create between two good writes.
	req = writers(true, []wire.Object{owned(rsObj("10.0.0.1"), "lvs_real_server a")}, []wire.Object{second}, []wire.Object{owned(rsObj("10.0.0.2"), "lvs_real_server b")})
	req.Version, req.LockTimeoutSeconds = wire.Version, 1
	resp, code = a.Handle(context.Background(), req)
	if code != wire.ExitOK {
		t.Fatalf("batch: exit %d: %v", code, resp.Error)
	}
	if len(resp.Refused) != 1 || resp.Refused[0].Writer != 1 {
		t.Fatalf("batch refused %+v, want writer 1", resp.Refused)
	}
	var vs *model.VirtualServer
	rs := 0
	for _, o := range resp.Observed.Objects {
		if o.Kind == wire.KindVirtualServer {
			vs = o.VirtualServer
		}
		if o.Kind == wire.KindRealServer {
			rs++
		}
	}
	if vs == nil || vs.Scheduler != "rr" || rs != 2 {
		t.Errorf("stored service %+v and %d real servers; want the first service (rr) and both real servers", vs, rs)
	}
}

// TestApplyCreateOfStoredContentConverges: a create of what the host
// already stores (an apply that stored it, then was cut off before
// Terraform recorded the resource) is accepted and changes nothing.
func TestApplyCreateOfStoredContentConverges(t *testing.T) {
	f, a := newFakeHost(t)
	obj := owned(vsWith("rr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1")
	mustApply(t, a, []wire.Object{directorObj(100), obj})
	f.take()
	req := writers(true, []wire.Object{obj})
	req.Version, req.LockTimeoutSeconds = wire.Version, 1
	resp, code := a.Handle(context.Background(), req)
	if code != wire.ExitOK || len(resp.Refused) != 0 {
		t.Fatalf("exit %d, refused %+v: %v", code, resp.Refused, resp.Error)
	}
	if len(resp.Applied.Changed) != 0 || resp.Applied.Reloads["keepalived"] != 0 {
		t.Errorf("applied %+v, want no change", resp.Applied)
	}
}

// TestWriteWithoutOwnerKeepsTheStoredOwner: a write that names no owner
// (a drain setting a weight) does not erase who owns the object.
func TestWriteWithoutOwnerKeepsTheStoredOwner(t *testing.T) {
	stored := owned(vsWith("rr"), "lvs_virtual_server tcp/192.168.0.10:80@dir1")
	put, _, refused := refuseConflicts(storeOf(stored), writers(false, []wire.Object{vsWith("wrr")}))
	if len(refused) != 0 || len(put) != 1 || put[0].Owner != stored.Owner {
		t.Errorf("put %+v, refused %+v; want the write with the stored owner", put, refused)
	}
}

func fwmarkObj(scheduler, owner string) wire.Object {
	vs := &model.VirtualServer{Fwmark: 7, Scheduler: scheduler, ForwardingMethod: "dr"}
	return wire.Object{Key: wire.VirtualServerKey(vs.Key()), Owner: owner, VirtualServer: vs}
}

func rsWeight(addr string, weight int) wire.Object {
	o := rsObj(addr)
	rs := *o.RealServer
	rs.Weight = &weight
	o.RealServer = &rs
	return o
}
