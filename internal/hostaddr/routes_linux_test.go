package hostaddr

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// TestRoutesAndRulesRoundTrip: routes and rules added with ip are read
// back as the model's, held by the routes and rules the model wanted;
// AddRoute and AddRule install them as keepalived does (proto keepalived,
// checked with ip), idempotently, and the Delete twins remove them.
func TestRoutesAndRulesRoundTrip(t *testing.T) {
	m, ns := testNetns(t)
	if err := m.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"eth0", "peer0", "lo"} {
		if _, err := m.Up(dev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Ensure("eth0", pfx("192.168.50.1/24")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure("eth0", pfx("2001:db8:50::1/64")); err != nil {
		t.Fatal(err)
	}
	ipShow(t, ns, "route", "add", "10.20.0.0/16", "via", "192.168.50.254", "dev", "eth0", "table", "100", "metric", "7")
	ipShow(t, ns, "route", "add", "blackhole", "10.21.0.0/16")
	ipShow(t, ns, "route", "add", "10.22.0.0/16", "nexthop", "via", "192.168.50.253", "weight", "2", "nexthop", "via", "192.168.50.252")
	ipShow(t, ns, "-6", "route", "add", "2001:db8:60::/48", "via", "2001:db8:50::fe", "table", "100")
	ipShow(t, ns, "rule", "add", "from", "192.168.50.0/24", "priority", "1000", "table", "100")
	ipShow(t, ns, "rule", "add", "fwmark", "5", "priority", "1001", "table", "100")
	ipShow(t, ns, "-6", "rule", "add", "to", "2001:db8:60::/48", "priority", "1000", "table", "100")
	ipShow(t, ns, "rule", "add", "not", "from", "192.168.60.0/24", "priority", "1002", "table", "100")

	a := netip.MustParseAddr
	wantRoutes := []model.Route{
		{To: pfx("10.20.0.0/16"), Via: a("192.168.50.254"), Device: "eth0", Table: 100, Metric: 7},
		{To: pfx("10.21.0.0/16"), Type: "blackhole"},
		{To: pfx("10.22.0.0/16"), Nexthops: []model.Nexthop{{Via: a("192.168.50.253"), Weight: 2}, {Via: a("192.168.50.252")}}},
		{To: pfx("2001:db8:60::/48"), Via: a("2001:db8:50::fe"), Table: 100},
	}
	wantRules := []model.Rule{
		{From: pfx("192.168.50.0/24"), Table: 100, Priority: 1000},
		{FwMark: 5, Table: 100, Priority: 1001},
		{To: pfx("2001:db8:60::/48"), Table: 100, Priority: 1000},
	}
	var routes, rules []string
	for _, v6 := range []bool{false, true} {
		rs, err := m.Routes(v6)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			routes = append(routes, r.To.String())
		}
		if missing := model.MissingRoutes(familyRoutes(wantRoutes, v6), rs); len(missing) > 0 {
			t.Errorf("v6 %v: routes %+v not held by the kernel's %+v", v6, missing, rs)
		}
		ru, err := m.Rules(v6)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ru {
			rules = append(rules, r.From.String())
			if r.Priority == 1002 {
				t.Errorf("the inverted rule (not from) is listed as %+v", r)
			}
		}
		if missing := model.MissingRules(familyRules(wantRules, v6), ru); len(missing) > 0 {
			t.Errorf("v6 %v: rules %+v not held by the kernel's %+v", v6, missing, ru)
		}
	}
	t.Logf("routes %v, rules from %v", routes, rules)

	// Deleted by hand, put back as keepalived installs them.
	ipShow(t, ns, "route", "del", "10.20.0.0/16", "table", "100", "metric", "7")
	ipShow(t, ns, "route", "del", "10.22.0.0/16")
	ipShow(t, ns, "rule", "del", "priority", "1000")
	for range 2 {
		for _, r := range []model.Route{wantRoutes[0], wantRoutes[2]} {
			if err := m.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.AddRule(wantRules[0]); err != nil {
			t.Fatal(err)
		}
	}
	if out := ipShow(t, ns, "route", "show", "table", "100"); !strings.Contains(out, "10.20.0.0/16 via 192.168.50.254 dev eth0 proto keepalived metric 7") {
		t.Errorf("ip route show table 100:\n%s", out)
	}
	if out := ipShow(t, ns, "route", "show", "10.22.0.0/16"); !strings.Contains(out, "proto keepalived") || !strings.Contains(out, "nexthop via 192.168.50.253 dev eth0 weight 2") {
		t.Errorf("ip route show 10.22.0.0/16:\n%s", out)
	}
	if out := ipShow(t, ns, "rule", "show", "priority", "1000"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "from 192.168.50.0/24 lookup 100 proto keepalived") {
		t.Errorf("ip rule show priority 1000 (once, proto keepalived):\n%s", out)
	}
	// A gateway changed by hand is replaced back.
	ipShow(t, ns, "route", "replace", "10.20.0.0/16", "via", "192.168.50.9", "dev", "eth0", "table", "100", "metric", "7")
	if err := m.AddRoute(wantRoutes[0]); err != nil {
		t.Fatal(err)
	}
	if out := ipShow(t, ns, "route", "show", "table", "100"); !strings.Contains(out, "via 192.168.50.254") || strings.Contains(out, "192.168.50.9") {
		t.Errorf("after replacing back, ip route show table 100:\n%s", out)
	}
	for range 2 {
		if err := m.DeleteRoute(wantRoutes[0]); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteRule(wantRules[0]); err != nil {
			t.Fatal(err)
		}
	}
	if out := ipShow(t, ns, "route", "show", "table", "100"); strings.Contains(out, "10.20.0.0") {
		t.Errorf("after DeleteRoute:\n%s", out)
	}
	if out := ipShow(t, ns, "rule", "show", "priority", "1000"); strings.TrimSpace(out) != "" {
		t.Errorf("after DeleteRule:\n%s", out)
	}
}

func familyRoutes(list []model.Route, v6 bool) []model.Route {
	var out []model.Route
	for _, r := range list {
		if r.IsV6() == v6 {
			out = append(out, r)
		}
	}
	return out
}

func familyRules(list []model.Rule, v6 bool) []model.Rule {
	var out []model.Rule
	for _, r := range list {
		if r.IsV6() == v6 {
			out = append(out, r)
		}
	}
	return out
}
