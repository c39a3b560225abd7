package model

import (
	"net/netip"
	"strings"
	"testing"
)

// TestRoutesAndRulesRefused: each bad route, rule or VMAC setting is
// refused at its attribute path with what is allowed.
func TestRoutesAndRulesRefused(t *testing.T) {
	a, pf := netip.MustParseAddr, netip.MustParsePrefix
	cases := []struct {
		name string
		set  func(d *Director)
		path string
		msg  string
	}{
		{"no destination", func(d *Director) { d.StaticRoutes = []Route{{Device: "eth0"}} }, "static_route[0].to", "must be an IP prefix"},
		{"host bits", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.1/8"), Device: "eth0"}} }, "static_route[0].to", "use 10.0.0.0/8"},
		{"nowhere to go", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8")}} }, "static_route[0].via", `"blackhole", "unreachable" or "prohibit"`},
		{"bad type", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Type: "throw"}} }, "static_route[0].type", `allowed values are "blackhole"`},
		{"blackhole via", func(d *Director) {
			d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Type: "blackhole", Via: a("192.168.0.1")}}
		}, "static_route[0].via", "cannot be set on a blackhole route"},
		{"bad scope", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Device: "eth0", Scope: "universe"}} }, "static_route[0].scope", `"global", "site", "link", "host" or "nowhere"`},
		{"family", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Via: a("2001:db8::1")}} }, "static_route[0].via", "another address family"},
		{"one nexthop", func(d *Director) {
			d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Nexthops: []Nexthop{{Via: a("192.168.0.1")}}}}
		}, "static_route[0].nexthop", "at least 2"},
		{"too many nexthops", func(d *Director) {
			nh := make([]Nexthop, MaxNexthops+1)
			for i := range nh {
				nh[i] = Nexthop{Device: "eth0"}
			}
			d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Nexthops: nh}}
		}, "static_route[0].nexthop", "at most 8"},
		{"nexthop weight", func(d *Director) {
			d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Nexthops: []Nexthop{{Device: "eth0", Weight: 300}, {Device: "eth1"}}}}
		}, "static_route[0].nexthop[0].weight", "0 to 256"},
		{"bad device", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Device: "eth0\nrouter_id x"}} }, "static_route[0].device", "not a valid interface name"},
		{"duplicate", func(d *Director) {
			d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Device: "eth0"}, {To: pf("10.0.0.0/8"), Device: "eth1"}}
		}, "static_route[1].to", "already static_route[0]"},
		{"static no_track", func(d *Director) { d.StaticRoutes = []Route{{To: pf("10.0.0.0/8"), Device: "eth0", NoTrack: true}} }, "static_route[0].no_track", "virtual routes only"},
		{"virtual route", func(d *Director) { d.Instances[0].VirtualRoutes = []Route{{To: pf("10.0.0.0/8")}} }, "vrrp_instance[0].virtual_route[0].via", "needs a gateway"},
		{"rule without table", func(d *Director) { d.StaticRules = []Rule{{From: pf("10.0.0.0/8"), Priority: 10}} }, "static_rule[0].table", "must be set"},
		{"rule without priority", func(d *Director) { d.StaticRules = []Rule{{From: pf("10.0.0.0/8"), Table: 1}} }, "static_rule[0].priority", "keepalived -t refuses"},
		{"rule priority range", func(d *Director) { d.StaticRules = []Rule{{Table: 1, Priority: 32766}} }, "static_rule[0].priority", "1 to 32765"},
		{"rule family", func(d *Director) {
			d.StaticRules = []Rule{{From: pf("10.0.0.0/8"), To: pf("2001:db8::/32"), Table: 1, Priority: 5}}
		}, "static_rule[0].from", "another address family"},
		{"rule fwmask", func(d *Director) { d.StaticRules = []Rule{{FwMask: 0xff, Table: 1, Priority: 5}} }, "static_rule[0].fwmask", "needs fwmark"},
		{"rule iif", func(d *Director) { d.StaticRules = []Rule{{InputInterface: "a b", Table: 1, Priority: 5}} }, "static_rule[0].iif", "not a valid interface name"},
		{"virtual rule", func(d *Director) { d.Instances[0].VirtualRules = []Rule{{Table: 1}} }, "vrrp_instance[0].virtual_rule[0].priority", "must be set"},
		{"vmac name without use_vmac", func(d *Director) { d.Instances[0].VMACInterface = "vrrp1" }, "vrrp_instance[0].vmac_interface", "needs use_vmac"},
		{"xmit_base without use_vmac", func(d *Director) { d.Instances[0].VMACXmitBase = true }, "vrrp_instance[0].vmac_xmit_base", "needs use_vmac"},
		{"vmac unicast", func(d *Director) {
			in := &d.Instances[0]
			in.UseVMAC, in.UnicastPeers = true, []netip.Addr{a("192.168.0.9")}
		}, "vrrp_instance[0].vmac_xmit_base", "unicast_peers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := drConfig()
			tc.set(&c.Director)
			errs := AsErrors(c.Validate(nil))
			for _, e := range errs {
				if e.Path.String() == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("want an error at %s containing %q, got %v", tc.path, tc.msg, errs)
		})
	}
}

// TestRoutesAndRulesAccepted: the forms keepalived documents validate.
func TestRoutesAndRulesAccepted(t *testing.T) {
	a, pf := netip.MustParseAddr, netip.MustParsePrefix
	c := drConfig()
	d := &c.Director
	d.StaticRoutes = []Route{
		{To: pf("192.168.210.0/24"), Src: a("192.168.0.1"), Via: a("192.168.0.254"), Device: "eth0", Scope: "global", Table: 7, Metric: 10},
		{To: pf("192.168.214.0/24"), Type: "blackhole"},
		{To: pf("192.168.217.0/24"), Nexthops: []Nexthop{{Via: a("192.168.0.252"), Weight: 2}, {Via: a("192.168.0.253")}}},
		{To: pf("2001:db8::/64"), Device: "eth0"},
	}
	d.StaticRules = []Rule{{From: pf("10.1.0.0/16"), FwMark: 5, FwMask: 0xff, Priority: 100, Table: 7}, {Priority: 101, Table: 8}}
	in := &d.Instances[0]
	in.UseVMAC, in.VMACInterface, in.VMACXmitBase = true, "vrrp51", true
	in.VirtualRoutes = []Route{{To: pf("0.0.0.0/0"), Via: a("192.168.0.254"), Table: 100, NoTrack: true}}
	in.VirtualRules = []Rule{{To: pf("192.168.201.0/24"), Priority: 201, Table: 100, NoTrack: true}}
	if err := c.Validate(nil); err != nil {
		t.Fatal(err)
	}
}
