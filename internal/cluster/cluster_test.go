package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// Every id the builders make is read back by its parser as the same
// identity, and is the one canonical spelling.
func TestIDsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Service
		switch rapid.IntRange(0, 2).Draw(t, "shape") {
		case 0:
			b := rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4")
			s = Service{Address: netip.AddrFrom4([4]byte(b)), Port: rapid.IntRange(0, 65535).Draw(t, "port"),
				Protocol: rapid.SampledFrom(model.Protocols).Draw(t, "proto")}
		case 1:
			b := rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6")
			a := netip.AddrFrom16([16]byte(b))
			if a.Is4In6() {
				a = a.Unmap()
			}
			s = Service{Address: a, Port: rapid.IntRange(0, 65535).Draw(t, "port"), Protocol: rapid.SampledFrom(model.Protocols).Draw(t, "proto")}
		case 2:
			s = Service{Fwmark: rapid.Uint32Range(1, 1<<32-1).Draw(t, "mark"), Family: rapid.SampledFrom([]string{"inet", "inet6"}).Draw(t, "family")}
		}
		dirs := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z][a-z0-9.-]{0,10}`), 1, 4, rapid.ID[string]).Draw(t, "dirs")
		vid := VirtualServerID{Service: s, Directors: dirs}
		got, err := ParseVirtualServerID(vid.String())
		if err != nil {
			t.Fatalf("ParseVirtualServerID(%q): %v", vid.String(), err)
		}
		if got.String() != vid.String() || got.Key() != s.Key() {
			t.Fatalf("%q read back as %q", vid.String(), got.String())
		}
		rb := rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "rs")
		rid := RealServerID{VS: got, Address: netip.AddrFrom4([4]byte(rb)), Port: rapid.IntRange(0, 65535).Draw(t, "rsport")}
		back, err := ParseRealServerID(rid.String())
		if err != nil {
			t.Fatalf("ParseRealServerID(%q): %v", rid.String(), err)
		}
		if back.String() != rid.String() || back.ObjectKey() != rid.ObjectKey() {
			t.Fatalf("%q read back as %q", rid.String(), back.String())
		}
		svc, dest, ok := wire.SplitRealServerID(rid.ObjectID())
		if !ok || svc != s.Key() || dest != rid.DestKey() {
			t.Fatalf("SplitRealServerID(%q) = %q, %q, %v", rid.ObjectID(), svc, dest, ok)
		}
	})
}

func TestParseIDsRefuse(t *testing.T) {
	for _, id := range []string{"tcp/10.0.0.10:80", "tcp/10.0.0.10:80@", "tcp/10.0.0.10:80@a,,b", "tcp/10.0.0.10:80@a,a",
		"http/10.0.0.10:80@a", "tcp/10.0.0.010:80@a", "fwmark/0@a", "TCP/10.0.0.10:80@a", "group/web@a", "tcp/[fe80::1%eth0]:80@a"} {
		if _, err := ParseVirtualServerID(id); err == nil {
			t.Errorf("ParseVirtualServerID accepted %q", id)
		}
	}
	for _, id := range []string{"tcp/10.0.0.10:80@a", "tcp/10.0.0.10:80/10.0.1.1@a", "tcp/10.0.0.10:80/x:1@a"} {
		if _, err := ParseRealServerID(id); err == nil {
			t.Errorf("ParseRealServerID accepted %q", id)
		}
	}
}

func vs(addr string, port int) *model.VirtualServer {
	return &model.VirtualServer{Address: netip.MustParseAddr(addr), Port: port, Scheduler: "wrr"}
}

func directorObj(engine string) wire.Object {
	return wire.Object{Key: wire.DirectorKey, Director: &model.Director{Interface: "eth0", Engine: engine}}
}

func vsObj(v *model.VirtualServer) wire.Object {
	return wire.Object{Key: wire.VirtualServerKey(v.Key()), VirtualServer: v}
}

func rsObj(v *model.VirtualServer, addr string) wire.Object {
	weight := 5
	rs := &model.RealServer{Address: netip.MustParseAddr(addr), Weight: &weight, TCPCheck: &model.TCPCheck{}}
	return wire.Object{Key: wire.RealServerKey(v.Key(), rs.Key(v)), RealServer: rs}
}

func kernel(v *model.VirtualServer, dests ...model.RealServer) wire.IPVSService {
	k := *v
	k.RealServers = dests
	return wire.IPVSService{Service: k, Ours: true}
}

// What a director does with a virtual server decides how Read treats it:
// running, not rendered by design (no real servers under keepalived),
// missing (stored, not in the kernel: put it back), or gone.
func TestVirtualServerPresence(t *testing.T) {
	web, api, empty := vs("10.0.0.10", 80), vs("10.0.0.10", 443), vs("10.0.0.10", 8080)
	w := 5
	obs := &wire.Observed{IPVSAvailable: true,
		Objects: []wire.Object{directorObj(""), vsObj(web), rsObj(web, "10.0.1.1"), vsObj(api), rsObj(api, "10.0.1.1"), vsObj(empty)},
		IPVS: []wire.IPVSService{kernel(&model.VirtualServer{Address: web.Address, Port: 80, Scheduler: "wlc"},
			model.RealServer{Address: netip.MustParseAddr("10.0.1.1"), Port: 80, Weight: &w})},
	}
	v := NewView(obs)
	for _, c := range []struct {
		key    string
		want   Presence
		stored bool
	}{
		{web.Key(), Running, true},
		{api.Key(), Missing, true},
		{empty.Key(), NotRendered, true},
		{"tcp/10.0.0.99:80", Gone, false},
	} {
		st, err := v.VirtualServer(c.key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Presence != c.want || st.Stored != c.stored || (st.Observed == nil) != (c.want == Gone) {
			t.Errorf("%s: %v stored %v observed %v; want %v stored %v", c.key, st.Presence, st.Stored, st.Observed, c.want, c.stored)
		}
	}
	if st, _ := v.VirtualServer(web.Key()); st.Observed.Scheduler != "wlc" {
		t.Errorf("observed scheduler %q, want the kernel's wlc", st.Observed.Scheduler)
	}
	// Under the netlink engine an empty service is in the kernel like any
	// other: one stored and absent is missing.
	obs.Objects[0] = directorObj("netlink")
	if st, _ := NewView(obs).VirtualServer(empty.Key()); st.Presence != Missing {
		t.Errorf("netlink director: empty service is %v, want missing", st.Presence)
	}
	if _, err := NewView(&wire.Observed{Hostname: "dir9"}).VirtualServer(web.Key()); err == nil || !strings.Contains(err.Error(), "dir9") {
		t.Errorf("no IPVS: %v, want an error naming the host", err)
	}
}

func TestRealServerHealthIsStatus(t *testing.T) {
	web := vs("10.0.0.10", 80)
	w0 := 0
	obs := &wire.Observed{IPVSAvailable: true,
		Objects: []wire.Object{directorObj(""), vsObj(web), rsObj(web, "10.0.1.1"), rsObj(web, "10.0.1.2")},
		IPVS:    []wire.IPVSService{kernel(web, model.RealServer{Address: netip.MustParseAddr("10.0.1.2"), Port: 80, Weight: &w0})},
	}
	id := func(addr string) RealServerID {
		return RealServerID{VS: VirtualServerID{Service: ServiceOf(web), Directors: []string{"dir1"}}, Address: netip.MustParseAddr(addr), Port: 80}
	}
	v := NewView(obs)
	down, err := v.RealServer(id("10.0.1.1"))
	if err != nil || !down.DownByHealth || down.Observed == nil || *down.Observed.Weight != 5 {
		t.Errorf("a checked server out of the table: %+v, %v; want down by health with its stored weight", down, err)
	}
	zero, _ := v.RealServer(id("10.0.1.2"))
	if zero.DownByHealth || zero.Observed == nil || *zero.Observed.Weight != 0 {
		t.Errorf("a server at weight 0 without inhibit: %+v; want its kernel weight 0 (drift)", zero)
	}
	gone, _ := v.RealServer(id("10.0.1.3"))
	if gone.Observed != nil || gone.Stored {
		t.Errorf("an unknown server: %+v, want gone", gone)
	}
}

// The view answers in O(1) per lookup: a read of every object of a large
// host costs a constant per object.
func BenchmarkViewLookups(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			obs := &wire.Observed{IPVSAvailable: true, Objects: []wire.Object{directorObj("netlink")}}
			var keys []string
			for i := range n {
				v := vs(fmt.Sprintf("10.%d.%d.1", i/256, i%256), 80)
				obs.Objects = append(obs.Objects, vsObj(v))
				obs.IPVS = append(obs.IPVS, kernel(v))
				keys = append(keys, v.Key())
			}
			view := NewView(obs)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if st, _ := view.VirtualServer(keys[i%n]); st.Presence != Running {
					b.Fatal(st.Presence)
				}
			}
		})
	}
}

// ActiveConns and RealServer find a destination by its address and port
// among many of the same service.
func TestDestinationLookups(t *testing.T) {
	web := vs("10.0.0.10", 80)
	obs := &wire.Observed{IPVSAvailable: true, Objects: []wire.Object{directorObj("netlink"), vsObj(web)}}
	k := kernel(web)
	for i := 1; i <= 50; i++ {
		w := i
		a := netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})
		k.Service.RealServers = append(k.Service.RealServers, model.RealServer{Address: a, Port: 80, Weight: &w})
		k.Destinations = append(k.Destinations, wire.IPVSDestination{Key: netip.AddrPortFrom(a, 80).String(), Weight: w, ActiveConns: 100 + i})
	}
	obs.IPVS = []wire.IPVSService{k}
	v := NewView(obs)
	id := func(last byte) RealServerID {
		return RealServerID{VS: VirtualServerID{Service: ServiceOf(web), Directors: []string{"dir1"}}, Address: netip.AddrFrom4([4]byte{10, 0, 1, last}), Port: 80}
	}
	for _, i := range []byte{1, 17, 50} {
		if got := v.ActiveConns(id(i)); got != 100+int(i) {
			t.Errorf("ActiveConns(10.0.1.%d) = %d, want %d", i, got, 100+int(i))
		}
		st, err := v.RealServer(id(i))
		if err != nil || st.Observed == nil || *st.Observed.Weight != int(i) {
			t.Errorf("RealServer(10.0.1.%d) = %+v, %v; want weight %d", i, st, err, i)
		}
	}
	if got := v.ActiveConns(id(51)); got != 0 {
		t.Errorf("ActiveConns of a server not in the table = %d, want 0", got)
	}
	if st, _ := v.RealServer(id(51)); st.Observed != nil {
		t.Errorf("RealServer of a server not in the table: %+v, want gone", st)
	}
}

// BenchmarkViewRealServerReads is the read of one real server (its
// destination and its connections) on a host of n real server objects,
// spread over services of 10 or all under one service: the cost per read
// must not grow with n (ns/op flat from 100 to 10000).
func BenchmarkViewRealServerReads(b *testing.B) {
	for _, shape := range []struct {
		name    string
		perSvc  int // real servers per service; 0: all under one
		objects []int
	}{{"spread", 10, []int{100, 10000}}, {"one-service", 0, []int{100, 10000}}} {
		for _, n := range shape.objects {
			b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
				per := shape.perSvc
				if per == 0 {
					per = n
				}
				obs := &wire.Observed{IPVSAvailable: true, Objects: []wire.Object{directorObj("netlink")}}
				var ids []RealServerID
				for s := range n / per {
					v := vs(fmt.Sprintf("10.%d.%d.1", s/256, s%256), 80)
					k := kernel(v)
					for r := range per {
						a := netip.AddrFrom4([4]byte{172, byte(16 + r/65536), byte(r / 256), byte(r)})
						o := rsObj(v, a.String())
						obs.Objects = append(obs.Objects, o)
						w := 5
						k.Service.RealServers = append(k.Service.RealServers, model.RealServer{Address: a, Port: 80, Weight: &w})
						k.Destinations = append(k.Destinations, wire.IPVSDestination{Key: netip.AddrPortFrom(a, 80).String(), Weight: w, ActiveConns: 1})
						ids = append(ids, RealServerID{VS: VirtualServerID{Service: ServiceOf(v), Directors: []string{"dir1"}}, Address: a, Port: 80})
					}
					obs.Objects = append(obs.Objects, vsObj(v))
					obs.IPVS = append(obs.IPVS, k)
				}
				view := NewView(obs)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					id := ids[(i*7919)%len(ids)]
					if st, err := view.RealServer(id); err != nil || st.Observed == nil {
						b.Fatal(st, err)
					}
					if view.ActiveConns(id) != 1 {
						b.Fatal("no connections")
					}
				}
			})
		}
	}
}

// A service and real server that run without being stored, read through
// WithHandBuilt: the hand-built file's health checks and defaults come
// with them, the kernel's scheduling and weight win, and they stay
// unstored; the plain view knows only the kernel.
func TestWithHandBuiltFillsWhatTheKernelCannotShow(t *testing.T) {
	file := vs("10.0.0.10", 80)
	file.Scheduler, file.DelayLoop, file.Quorum = "rr", 3, 2
	rs := model.RealServer{Address: netip.MustParseAddr("10.0.1.1"), Port: 80, Weight: new(4),
		TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectTimeout: 3}}}
	obs := &wire.Observed{IPVSAvailable: true, Objects: []wire.Object{directorObj("")},
		IPVS: []wire.IPVSService{kernel(&model.VirtualServer{Address: file.Address, Port: 80, Scheduler: "wrr"},
			model.RealServer{Address: rs.Address, Port: 80, Weight: new(2)})}}
	imported := []wire.Object{vsObj(file), {Key: wire.RealServerKey(file.Key(), rs.Key(file)), RealServer: &rs}}
	id := RealServerID{VS: VirtualServerID{Service: ServiceOf(file), Directors: []string{"dir1"}}, Address: rs.Address, Port: 80}

	plain := NewView(obs)
	adopting := plain.WithHandBuilt(imported)
	st, err := adopting.VirtualServer(file.Key())
	if err != nil || st.Stored || st.Presence != Running || st.Observed.DelayLoop != 3 || st.Observed.Quorum != 2 || st.Observed.Scheduler != "wrr" {
		t.Errorf("hand-built service: %+v %+v, %v; want running, unstored, delay_loop 3, quorum 2 from the file and wrr from the kernel", st, st.Observed, err)
	}
	r, err := adopting.RealServer(id)
	if err != nil || r.Stored || r.Observed == nil || r.Observed.TCPCheck == nil || r.Observed.TCPCheck.ConnectTimeout != 3 || *r.Observed.Weight != 2 {
		t.Errorf("hand-built real server: %+v %+v, %v; want unstored, the file's tcp_check, the kernel's weight 2", r, r.Observed, err)
	}
	if st, _ := plain.VirtualServer(file.Key()); st.Observed.DelayLoop != 0 {
		t.Errorf("the plain view changed: delay_loop %d", st.Observed.DelayLoop)
	}
	if r, _ := plain.RealServer(id); r.Observed == nil || r.Observed.TCPCheck != nil {
		t.Errorf("the plain view's real server: %+v, want the kernel's, without a check", r.Observed)
	}
}
