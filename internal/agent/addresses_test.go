package agent

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func rshObj(id string, h model.RealServerHost) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindRealServerHost, ID: id}, RealServerHost: &h}
}

func TestRealServerHostDRPutsVIPsOnLoAndTakesOnlyThemAway(t *testing.T) {
	f, a := newFakeHost(t)
	vip := netip.MustParseAddr("192.168.0.10")
	vip2 := netip.MustParseAddr("192.168.0.11")
	resp := mustApply(t, a, []wire.Object{
		rshObj("tcp/192.168.0.10:80", model.RealServerHost{Method: "dr", VIPs: []netip.Addr{vip}}),
		rshObj("tcp/192.168.0.11:80", model.RealServerHost{Method: "dr", VIPs: []netip.Addr{vip2}}),
	})
	lo := f.addrs.devs["lo"]
	if !slices.Contains(lo, netip.PrefixFrom(vip, 32)) || !slices.Contains(lo, netip.PrefixFrom(vip2, 32)) || resp.Applied.Netlink != 2 {
		t.Errorf("lo = %v, netlink ops %d", lo, resp.Applied.Netlink)
	}
	if f.sysctl("net.ipv4.conf.all.arp_ignore") != "1" || f.sysctl("net.ipv4.conf.lo.arp_announce") != "2" {
		t.Error("DR real server: arp_ignore/arp_announce not set")
	}
	if len(resp.Observed.Addresses) != 3 {
		t.Errorf("observed addresses %v, want lo's three", resp.Observed.Addresses)
	}

	mustApply(t, a, nil, wire.Key{Kind: wire.KindRealServerHost, ID: "tcp/192.168.0.10:80"})
	lo = f.addrs.devs["lo"]
	if slices.Contains(lo, netip.PrefixFrom(vip, 32)) || !slices.Contains(lo, netip.PrefixFrom(vip2, 32)) {
		t.Errorf("after deleting one: lo = %v", lo)
	}
	mustApply(t, a, nil, wire.Key{Kind: wire.KindRealServerHost, ID: "tcp/192.168.0.11:80"})
	if lo := f.addrs.devs["lo"]; !slices.Equal(lo, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}) {
		t.Errorf("after deleting both: lo = %v, want only what was there before", lo)
	}
	if f.sysctl("net.ipv4.conf.all.arp_ignore") != "0" {
		t.Error("arp_ignore not restored")
	}
}

func TestRealServerHostTunLoadsTheModuleAndBringsTheTunnelUp(t *testing.T) {
	f, a := newFakeHost(t)
	vip := netip.MustParseAddr("192.168.0.10")
	mustApply(t, a, []wire.Object{rshObj("tcp/192.168.0.10:80", model.RealServerHost{Method: "tun", VIPs: []netip.Addr{vip}})})
	if calls, _ := f.take(); !slices.Contains(calls, "modprobe ipip") {
		t.Errorf("commands %q: ipip not loaded", calls)
	}
	if !slices.Contains(f.addrs.up, "tunl0") || !slices.Contains(f.addrs.devs["tunl0"], netip.PrefixFrom(vip, 32)) {
		t.Errorf("tunl0 up %v, addresses %v", f.addrs.up, f.addrs.devs["tunl0"])
	}
	if f.sysctl("net.ipv4.conf.tunl0.rp_filter") != "0" {
		t.Error("tunl0 rp_filter not 0")
	}
}

func TestRealServerHostNATGatewayIsRestored(t *testing.T) {
	f, a := newFakeHost(t)
	gw := netip.MustParseAddr("192.168.0.254")
	mustApply(t, a, []wire.Object{rshObj("tcp/192.168.0.10:80", model.RealServerHost{Method: "nat", Gateway: gw})})
	if f.addrs.gw != gw {
		t.Fatalf("default gateway %v, want %v", f.addrs.gw, gw)
	}
	mustApply(t, a, nil, wire.Key{Kind: wire.KindRealServerHost, ID: "tcp/192.168.0.10:80"})
	if want := netip.MustParseAddr("192.168.0.1"); f.addrs.gw != want {
		t.Errorf("default gateway %v after delete, want the original %v", f.addrs.gw, want)
	}
}
