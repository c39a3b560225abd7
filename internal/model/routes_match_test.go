package model

import (
	"net/netip"
	"testing"
)

func TestRouteHeld(t *testing.T) {
	a := netip.MustParseAddr
	p := netip.MustParsePrefix
	want := Route{To: p("192.168.10.0/24"), Via: a("10.0.0.1"), Device: "eth0", Table: 100}
	// What the kernel reports for it, as keepalived installed it.
	kernel := Route{To: p("192.168.10.0/24"), Via: a("10.0.0.1"), Device: "eth0", Scope: "global", Table: 100}
	main := Route{To: p("10.1.0.0/16"), Device: "eth1"}
	v6 := Route{To: p("2001:db8:1::/48"), Via: a("2001:db8::1")}
	multi := Route{To: p("10.2.0.0/16"), Nexthops: []Nexthop{{Via: a("10.0.0.1"), Device: "eth0"}, {Via: a("10.0.0.2"), Weight: 2}}}
	for _, tc := range []struct {
		name   string
		want   Route
		kernel Route
		at     bool
		held   bool
	}{
		{"as installed", want, kernel, true, true},
		{"another table", want, with(kernel, func(r *Route) { r.Table = 101 }), false, false},
		{"another gateway (ip route replace)", want, with(kernel, func(r *Route) { r.Via = a("10.0.0.9") }), true, false},
		{"another device", want, with(kernel, func(r *Route) { r.Device = "eth1" }), true, false},
		{"another metric", want, with(kernel, func(r *Route) { r.Metric = 5 }), false, false},
		{"another destination", want, with(kernel, func(r *Route) { r.To = p("192.168.11.0/24") }), false, false},
		{"a blackhole there", want, Route{To: want.To, Type: "blackhole", Table: 100}, true, false},
		{"main table is 254 in the kernel", main, Route{To: main.To, Device: "eth1", Scope: "link", Table: MainTable, Src: a("10.1.0.5")}, true, true},
		{"the kernel's IPv6 metric", v6, Route{To: v6.To, Via: v6.Via, Device: "eth0", Table: MainTable, Metric: 1024}, true, true},
		{"an IPv6 route of another metric", v6, Route{To: v6.To, Via: v6.Via, Table: MainTable, Metric: 10}, false, false},
		{"multipath in another order, weight 1 as 1", multi, Route{To: multi.To, Table: MainTable, Nexthops: []Nexthop{
			{Via: a("10.0.0.2"), Device: "eth0", Weight: 2}, {Via: a("10.0.0.1"), Device: "eth0", Weight: 1}}}, true, true},
		{"multipath with a path gone", multi, Route{To: multi.To, Table: MainTable, Nexthops: []Nexthop{
			{Via: a("10.0.0.1"), Device: "eth0", Weight: 1}}}, true, false},
		{"multipath of another weight", multi, Route{To: multi.To, Table: MainTable, Nexthops: []Nexthop{
			{Via: a("10.0.0.2"), Device: "eth0", Weight: 3}, {Via: a("10.0.0.1"), Device: "eth0", Weight: 1}}}, true, false},
		{"a scope asked for is compared", with(main, func(r *Route) { r.Scope = "host" }), Route{To: main.To, Device: "eth1", Scope: "link", Table: MainTable}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RouteAt(&tc.want, &tc.kernel); got != tc.at {
				t.Errorf("RouteAt = %v, want %v", got, tc.at)
			}
			if got := RouteHeld(&tc.want, &tc.kernel); got != tc.held {
				t.Errorf("RouteHeld = %v, want %v", got, tc.held)
			}
			missing := MissingRoutes([]Route{tc.want}, []Route{{To: p("0.0.0.0/0"), Via: a("10.0.0.254")}, tc.kernel})
			if (len(missing) == 0) != tc.held {
				t.Errorf("MissingRoutes = %v, want missing %v", missing, !tc.held)
			}
		})
	}
}

func with[T any](v T, f func(*T)) T {
	f(&v)
	return v
}

func TestRuleHeld(t *testing.T) {
	p := netip.MustParsePrefix
	from := Rule{From: p("10.0.0.0/24"), Table: 100, Priority: 1000}
	all := Rule{FwMark: 5, Table: 100, Priority: 1001}
	v6 := Rule{To: p("2001:db8::/32"), Table: 100, Priority: 1000}
	for _, tc := range []struct {
		name   string
		want   Rule
		kernel Rule
		at     bool
		held   bool
	}{
		{"as installed", from, from, true, true},
		{"another table", from, with(from, func(r *Rule) { r.Table = 101 }), true, false},
		{"another source", from, with(from, func(r *Rule) { r.From = p("10.0.1.0/24") }), true, false},
		{"another preference", from, with(from, func(r *Rule) { r.Priority = 999 }), false, false},
		{"from all as the kernel reports it, the mark's full mask", all, Rule{From: p("0.0.0.0/0"), FwMark: 5, FwMask: 0xffffffff, Table: 100, Priority: 1001}, true, true},
		{"another mask", all, Rule{From: p("0.0.0.0/0"), FwMark: 5, FwMask: 0xff, Table: 100, Priority: 1001}, true, false},
		{"from all is not from a prefix", all, Rule{From: p("10.0.0.0/8"), FwMark: 5, Table: 100, Priority: 1001}, true, false},
		{"an iif added", from, with(from, func(r *Rule) { r.InputInterface = "eth0" }), true, false},
		{"an IPv4 rule is not at an IPv6 one's place", v6, Rule{From: p("0.0.0.0/0"), To: p("10.0.0.0/8"), Table: 100, Priority: 1000}, false, false},
		{"IPv6, from all as ::/0", v6, Rule{From: p("::/0"), To: p("2001:db8::/32"), Table: 100, Priority: 1000}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuleAt(&tc.want, &tc.kernel); got != tc.at {
				t.Errorf("RuleAt = %v, want %v", got, tc.at)
			}
			if got := RuleHeld(&tc.want, &tc.kernel); got != tc.held {
				t.Errorf("RuleHeld = %v, want %v", got, tc.held)
			}
			if missing := MissingRules([]Rule{tc.want}, []Rule{tc.kernel}); (len(missing) == 0) != tc.held {
				t.Errorf("MissingRules = %v, want missing %v", missing, !tc.held)
			}
		})
	}
}
