package ipvs_test

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/ipvs"

	lvsipvs "github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs/ipvstest"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func weight(w int) *int { return &w }

// web is a NAT service with two real servers.
func web() model.VirtualServer {
	return model.VirtualServer{
		Address: ip("10.0.0.10"), Port: 80, Scheduler: "wrr",
		RealServers: []model.RealServer{
			{Address: ip("192.168.1.21"), Weight: weight(3)},
			{Address: ip("192.168.1.22"), Port: 8080, UpperThreshold: 100, LowerThreshold: 50},
		},
	}
}

// variety covers every conversion: IPv6 and persistence netmasks, fwmark
// families, sh/mh flags, ops, dr, and tun with each tunnel type.
func variety() []model.VirtualServer {
	return []model.VirtualServer{
		web(),
		{Address: ip("2001:db8::10"), Port: 443, Protocol: "tcp", PersistenceTimeout: 600, PersistenceGranularity: 64, ForwardingMethod: "dr",
			RealServers: []model.RealServer{{Address: ip("2001:db8::21")}, {Address: ip("2001:db8::22"), Weight: weight(0)}}},
		{Address: ip("10.0.0.10"), Port: 53, Protocol: "udp", Scheduler: "rr", OnePacket: true,
			RealServers: []model.RealServer{{Address: ip("192.168.1.31")}}},
		{Address: ip("10.0.0.11"), Port: 0, PersistenceTimeout: 300, PersistenceGranularity: 24, ForwardingMethod: "dr",
			RealServers: []model.RealServer{{Address: ip("192.168.1.41")}}},
		{Address: ip("10.0.0.12"), Port: 80, Scheduler: "sh", SchedulerPort: true, SchedulerFallback: true, ForwardingMethod: "tun",
			RealServers: []model.RealServer{
				{Address: ip("172.16.0.1")},
				{Address: ip("172.16.0.2"), ForwardingMethod: "tun", TunnelType: "gue", TunnelPort: 6080},
				{Address: ip("172.16.0.3"), ForwardingMethod: "tun", TunnelType: "gre"},
			}},
		{Address: ip("10.0.0.13"), Port: 3868, Protocol: "sctp", Scheduler: "mh", SchedulerPort: true,
			RealServers: []model.RealServer{{Address: ip("192.168.1.51"), ForwardingMethod: "dr"}, {Address: ip("192.168.1.52"), Port: 3869}}},
		{Fwmark: 7, Scheduler: "lc",
			RealServers: []model.RealServer{{Address: ip("192.168.1.61")}, {Address: ip("192.168.1.62"), Port: 8443}}},
		{Fwmark: 7, Family: "inet6", PersistenceTimeout: 60, ForwardingMethod: "dr",
			RealServers: []model.RealServer{{Address: ip("2001:db8::61")}}},
	}
}

func TestVarietyIsValid(t *testing.T) {
	for _, vs := range variety() {
		if err := vs.Validate(nil); err != nil {
			t.Errorf("%s: %v", vs.Key(), err)
		}
	}
}

func TestServiceOf(t *testing.T) {
	vs := variety()
	tests := []struct {
		vs      model.VirtualServer
		key     string
		flags   ipvs.Flags
		timeout uint32
		mask    string
	}{
		{vs[0], "tcp/10.0.0.10:80", 0, 0, "255.255.255.255"},
		{vs[1], "tcp/[2001:db8::10]:443", ipvs.ServicePersistent, 600, "64"},
		{vs[2], "udp/10.0.0.10:53", ipvs.ServiceOnePacket, 0, "255.255.255.255"},
		{vs[3], "tcp/10.0.0.11:0", ipvs.ServicePersistent, 300, "255.255.255.0"},
		{vs[4], "tcp/10.0.0.12:80", ipvs.ServiceSchedulerOpt1 | ipvs.ServiceSchedulerOpt2, 0, "255.255.255.255"},
		{vs[5], "sctp/10.0.0.13:3868", ipvs.ServiceSchedulerOpt2, 0, "255.255.255.255"},
		{vs[6], "fwmark/7", 0, 0, "255.255.255.255"},
		{vs[7], "fwmark6/7", ipvs.ServicePersistent, 60, "128"},
	}
	for _, tt := range tests {
		s, err := lvsipvs.ServiceOf(&tt.vs)
		if err != nil {
			t.Fatalf("%s: %v", tt.key, err)
		}
		if got := lvsipvs.ServiceKey(s); got != tt.key || got != tt.vs.Key() {
			t.Errorf("key = %q, want %q (model %q)", got, tt.key, tt.vs.Key())
		}
		if s.Flags != tt.flags || s.Timeout != tt.timeout || s.Netmask.String() != tt.mask {
			t.Errorf("%s: flags %v timeout %d mask %s, want %v %d %s", tt.key, s.Flags, s.Timeout, s.Netmask, tt.flags, tt.timeout, tt.mask)
		}
	}
}

func TestDestinationOf(t *testing.T) {
	vs := variety()
	tests := []struct {
		vs   int
		rs   int
		want ipvs.Destination
	}{
		{0, 0, ipvs.Destination{Address: ip("192.168.1.21"), Port: 80, Family: ipvs.INET, FwdMethod: ipvs.Masquerade, Weight: 3}},
		{0, 1, ipvs.Destination{Address: ip("192.168.1.22"), Port: 8080, Family: ipvs.INET, FwdMethod: ipvs.Masquerade, Weight: 1, UpperThreshold: 100, LowerThreshold: 50}},
		{1, 1, ipvs.Destination{Address: ip("2001:db8::22"), Port: 443, Family: ipvs.INET6, FwdMethod: ipvs.DirectRoute, Weight: 0}},
		{4, 0, ipvs.Destination{Address: ip("172.16.0.1"), Port: 80, Family: ipvs.INET, FwdMethod: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.IPIP}},
		{4, 1, ipvs.Destination{Address: ip("172.16.0.2"), Port: 80, Family: ipvs.INET, FwdMethod: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.GUE, TunnelPort: 6080}},
		{4, 2, ipvs.Destination{Address: ip("172.16.0.3"), Port: 80, Family: ipvs.INET, FwdMethod: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.GRE}},
		// dr keeps the virtual port; nat maps it.
		{5, 0, ipvs.Destination{Address: ip("192.168.1.51"), Port: 3868, Family: ipvs.INET, FwdMethod: ipvs.DirectRoute, Weight: 1}},
		{5, 1, ipvs.Destination{Address: ip("192.168.1.52"), Port: 3869, Family: ipvs.INET, FwdMethod: ipvs.Masquerade, Weight: 1}},
		// fwmark services have no virtual port: a portless nat destination keeps 0.
		{6, 0, ipvs.Destination{Address: ip("192.168.1.61"), Port: 0, Family: ipvs.INET, FwdMethod: ipvs.Masquerade, Weight: 1}},
		{6, 1, ipvs.Destination{Address: ip("192.168.1.62"), Port: 8443, Family: ipvs.INET, FwdMethod: ipvs.Masquerade, Weight: 1}},
	}
	for _, tt := range tests {
		got := lvsipvs.DestinationOf(&vs[tt.vs], &vs[tt.vs].RealServers[tt.rs])
		if got != tt.want {
			t.Errorf("%s real server %d:\n got %+v\nwant %+v", vs[tt.vs].Key(), tt.rs, got, tt.want)
		}
	}
}

func TestServiceOfRefusesGroups(t *testing.T) {
	_, err := lvsipvs.ServiceOf(&model.VirtualServer{Group: "web"})
	if !errors.Is(err, lvsipvs.ErrNotConvertible) || !strings.Contains(err.Error(), "group/web/tcp") {
		t.Fatalf("err = %v, want ErrNotConvertible naming group/web/tcp", err)
	}
}

// TestVirtualServerOfRoundTrip converts each virtual server to the kernel
// and back, and checks that the result is valid and programs the same
// kernel entries.
func TestVirtualServerOfRoundTrip(t *testing.T) {
	for _, vs := range variety() {
		svc, dests := kernel(t, vs)
		back := lvsipvs.VirtualServerOf(svc, dests)
		if err := back.Validate(nil); err != nil {
			t.Errorf("%s: read back invalid: %v", vs.Key(), err)
			continue
		}
		svc2, dests2 := kernel(t, back)
		if !reflect.DeepEqual(svc, svc2) || !reflect.DeepEqual(dests, dests2) {
			t.Errorf("%s: round trip differs:\n%+v %+v\n%+v %+v", vs.Key(), svc, dests, svc2, dests2)
		}
	}
}

func TestVirtualServerOfForm(t *testing.T) {
	vs := variety()
	svc, dests := kernel(t, vs[1])
	back := lvsipvs.VirtualServerOf(svc, dests)
	want := model.VirtualServer{
		Address: ip("2001:db8::10"), Port: 443, Protocol: "tcp", Scheduler: "wlc",
		PersistenceTimeout: 600, PersistenceGranularity: 64, ForwardingMethod: "dr",
		RealServers: []model.RealServer{
			{Address: ip("2001:db8::21"), Port: 443, Weight: weight(1)},
			{Address: ip("2001:db8::22"), Port: 443, Weight: weight(0)},
		},
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("got  %+v\nwant %+v", back, want)
	}
	// Mixed methods stay on each real server; the single-address mask reads as 0.
	svc, dests = kernel(t, vs[4])
	back = lvsipvs.VirtualServerOf(svc, dests)
	if back.ForwardingMethod != "" || back.RealServers[1].TunnelType != "gue" || back.RealServers[1].TunnelPort != 6080 ||
		back.RealServers[0].TunnelType != "ipip" || !back.SchedulerPort || !back.SchedulerFallback || back.PersistenceGranularity != 0 {
		t.Errorf("sh/tun service read back as %+v", back)
	}
	svc, dests = kernel(t, vs[7])
	if back := lvsipvs.VirtualServerOf(svc, dests); back.Family != "inet6" || back.Fwmark != 7 || back.Key() != "fwmark6/7" {
		t.Errorf("fwmark6 read back as %+v", back)
	}
}

func kernel(t *testing.T, vs model.VirtualServer) (ipvs.Service, []ipvs.Destination) {
	t.Helper()
	svc, err := lvsipvs.ServiceOf(&vs)
	if err != nil {
		t.Fatal(err)
	}
	var dests []ipvs.Destination
	for i := range vs.RealServers {
		dests = append(dests, lvsipvs.DestinationOf(&vs, &vs.RealServers[i]))
	}
	return svc, dests
}

// TestOpen proves Open on this machine: the kernel here has no IPVS, so
// Open must fail with ErrNoIPVS; where /proc/net/ip_vs exists (the VM
// lab), Open must work and answer Info.
func TestOpen(t *testing.T) {
	_, statErr := os.Stat("/proc/net/ip_vs")
	hasIPVS := runtime.GOOS == "linux" && statErr == nil
	c, err := lvsipvs.Open()
	if !hasIPVS {
		if !errors.Is(err, lvsipvs.ErrNoIPVS) {
			t.Fatalf("Open() without IPVS: err = %v, want ErrNoIPVS", err)
		}
		if !strings.Contains(err.Error(), "the kernel has no IPVS (ip_vs module not loaded or not built)") {
			t.Errorf("error %q does not say the kernel lacks IPVS", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Open() with /proc/net/ip_vs present: %v", err)
	}
	defer c.Close()
	if _, err := c.Info(); err != nil {
		t.Fatalf("Info: %v", err)
	}
}

// Fake behaviour: it refuses what the kernel refuses.

func TestFakeRefusesWhatTheKernelRefuses(t *testing.T) {
	vs := web()
	svc, dests := kernel(t, vs)
	f := ipvstest.New()
	if err := f.UpdateService(svc); !errors.Is(err, ipvstest.ErrNoService) {
		t.Errorf("update of a missing service: %v", err)
	}
	if err := f.RemoveService(svc); !errors.Is(err, ipvstest.ErrNoService) {
		t.Errorf("removal of a missing service: %v", err)
	}
	if err := f.CreateDestination(svc, dests[0]); !errors.Is(err, ipvstest.ErrNoService) {
		t.Errorf("destination of a missing service: %v", err)
	}
	noMask := svc
	noMask.Netmask = ipvs.Service{}.Netmask
	if err := f.CreateService(noMask); !errors.Is(err, ipvstest.ErrInvalid) {
		t.Errorf("service without netmask: %v", err)
	}
	if err := f.CreateService(svc); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateService(svc); !errors.Is(err, ipvstest.ErrExists) {
		t.Errorf("duplicate service: %v", err)
	}
	if err := f.CreateDestination(svc, dests[0]); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateDestination(svc, dests[0]); !errors.Is(err, ipvstest.ErrExists) {
		t.Errorf("duplicate destination: %v", err)
	}
	if err := f.UpdateDestination(svc, dests[1]); !errors.Is(err, ipvstest.ErrNoDestination) {
		t.Errorf("update of a missing destination: %v", err)
	}
	v6 := dests[0]
	v6.Address, v6.Family = ip("2001:db8::1"), ipvs.INET6
	if err := f.CreateDestination(svc, v6); !errors.Is(err, ipvstest.ErrInvalid) {
		t.Errorf("IPv6 nat destination of an IPv4 service: %v", err)
	}
	bad := dests[1]
	bad.LowerThreshold = 200
	if err := f.CreateDestination(svc, bad); !errors.Is(err, ipvstest.ErrInvalid) {
		t.Errorf("lower threshold above upper: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Services(); !errors.Is(err, ipvstest.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

func methods(calls []ipvstest.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.String())
	}
	return out
}

func checkCalls(t *testing.T, got []ipvstest.Call, want ...string) {
	t.Helper()
	if g := methods(got); !slices.Equal(g, want) {
		t.Errorf("netlink writes:\n got %q\nwant %q", g, want)
	}
}
