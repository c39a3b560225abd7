package provider

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestRoutesRulesMappingRoundTrip: routes, rules and the VMAC settings go
// from the model into Terraform values and back unchanged (what Read after
// an import or an apply relies on for an empty plan); host prefixes read
// back as bare addresses.
func TestRoutesRulesMappingRoundTrip(t *testing.T) {
	a, pf := netip.MustParseAddr, netip.MustParsePrefix
	d := model.Director{
		Interface: "eth0",
		StaticRoutes: []model.Route{
			{To: pf("192.168.210.0/24"), Src: a("192.168.0.1"), Via: a("192.168.0.254"), Device: "eth0", Scope: "global", Table: 7, Metric: 10},
			{To: pf("192.168.113.1/32"), Type: "blackhole"},
			{To: pf("192.168.217.0/24"), Nexthops: []model.Nexthop{{Via: a("192.168.0.252"), Device: "eth1", Weight: 2}, {Via: a("192.168.0.253")}}},
		},
		StaticRules: []model.Rule{
			{From: pf("10.1.0.0/16"), To: pf("10.2.0.1/32"), FwMark: 5, FwMask: 0xff, InputInterface: "eth0", OutputInterface: "eth1", Priority: 100, Table: 7},
			{Priority: 101, Table: 4294967294},
		},
		Instances: []model.VRRPInstance{{
			Name: "VI_1", VirtualRouterID: 51, Priority: 100, UseVMAC: true, VMACInterface: "vrrp51", VMACXmitBase: true,
			VirtualIPs:    []model.VirtualIP{{Prefix: pf("192.168.0.10/32")}},
			VirtualRoutes: []model.Route{{To: pf("0.0.0.0/0"), Via: a("192.168.0.254"), Table: 100, NoTrack: true}},
			VirtualRules:  []model.Rule{{From: pf("192.168.0.0/24"), Priority: 200, Table: 100, NoTrack: true}},
		}},
	}
	m := directorModelFrom(d)
	if got := m.StaticRoutes[1].To.ValueString(); got != "192.168.113.1" {
		t.Errorf("host route reads back as %q, want the bare address", got)
	}
	back := m.toModel()
	if !reflect.DeepEqual(normalDirector(back), normalDirector(d)) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back, d)
	}
}

// TestAccKeepalivedConfigDataSource_routes renders static and virtual
// routes and rules and a VMAC instance through Terraform, and refuses bad
// ones at plan with their attribute paths.
func TestAccKeepalivedConfigDataSource_routes(t *testing.T) {
	const ds = "data.lvs_keepalived_config.test"
	cfg := func(static, virtual string) string {
		return `
data "lvs_keepalived_config" "test" {
  interface = "eth0"
` + static + `
  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    virtual_router_id = 51
    priority          = 150
    use_vmac          = true
    virtual_ipaddress {
      address = "10.0.0.10/24"
    }
` + virtual + `
  }
}
`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: cfg(`
  static_route {
    to     = "192.168.210.0/24"
    via    = "10.0.0.254"
    device = "eth0"
    table  = 7
  }
  static_route {
    to = "192.168.217.0/24"
    nexthop {
      via    = "10.0.0.252"
      weight = 2
    }
    nexthop {
      via = "10.0.0.253"
    }
  }
  static_rule {
    from     = "10.1.0.0/16"
    fwmark   = 5
    priority = 100
    table    = 7
  }`, `
    virtual_route {
      to    = "0.0.0.0/0"
      via   = "10.0.0.254"
      table = 100
    }
    virtual_rule {
      from     = "10.0.0.10"
      priority = 200
      table    = 100
    }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("content"), containsAll(
						"static_routes {\n    192.168.210.0/24 via 10.0.0.254 dev eth0 table 7\n"+
							"    192.168.217.0/24 no_track nexthop via 10.0.0.252 weight 2 nexthop via 10.0.0.253\n}\n",
						"static_rules {\n    from 10.1.0.0/16 fwmark 5 priority 100 table 7\n}\n",
						"    interface eth0\n    use_vmac\n    virtual_router_id 51\n",
						"    virtual_routes {\n        0.0.0.0/0 via 10.0.0.254 table 100 no_track\n    }\n",
						"    virtual_rules {\n        from 10.0.0.10/32 priority 200 table 100\n    }\n",
					)),
				},
			},
			{
				Config:      cfg("  static_route {\n    to = \"10.0.0.1/8\"\n    device = \"eth0\"\n  }", ""),
				ExpectError: phrase("static_route[0].to: 10.0.0.1/8 has host bits set"),
			},
			{
				Config:      cfg("  static_rule {\n    from = \"10.0.0.0/8\"\n    table = 1\n  }", ""),
				ExpectError: phrase(`The argument "priority" is required`),
			},
			{
				Config:      cfg("", "    virtual_rule {\n      from = \"10.0.0.x\"\n      priority = 5\n      table = 1\n    }"),
				ExpectError: phrase("must be an IP prefix such as 10.0.0.0/24"),
			},
			{
				Config:      cfg("", "    virtual_route {\n      to = \"10.9.0.0/16\"\n      type = \"blackhole\"\n      via = \"10.0.0.1\"\n    }"),
				ExpectError: phrase("vrrp_instance[0].virtual_route[0].via: cannot be set on a blackhole route"),
			},
			{
				Config:      cfg("", `    vmac_interface = "vrrp 1"`),
				ExpectError: phrase("vrrp_instance[0].vmac_interface"),
			},
			// A valid last step, for the test's destroy.
			{Config: cfg("", "")},
		},
	})
}

// TestStaticRouteRemovedByHandLeavesTheState: Read keeps the static routes
// and rules the kernel holds and drops those it lacks, so the plan puts
// them back; a failed read of the routes is an error and changes nothing.
func TestStaticRouteRemovedByHandLeavesTheState(t *testing.T) {
	d := model.Director{Interface: "eth0", RouterID: "dir1",
		StaticRoutes: []model.Route{
			{To: netip.MustParsePrefix("10.20.0.0/16"), Via: netip.MustParseAddr("10.0.0.1"), Table: 100},
			{To: netip.MustParsePrefix("10.21.0.0/16"), Type: "blackhole"},
		},
		StaticRules: []model.Rule{{From: netip.MustParsePrefix("10.0.0.0/24"), Table: 100, Priority: 1000}},
	}
	m := directorModelFrom(d)
	// The blackhole and the rule deleted by hand.
	view := cluster.NewView(&wire.Observed{Routes: []model.Route{
		{To: netip.MustParsePrefix("10.20.0.0/16"), Via: netip.MustParseAddr("10.0.0.1"), Device: "eth0", Table: 100},
	}})
	if err := m.observeStaticRoutes(view); err != nil {
		t.Fatal(err)
	}
	if len(m.StaticRoutes) != 1 || m.StaticRoutes[0].To.ValueString() != "10.20.0.0/16" || len(m.StaticRules) != 0 {
		t.Errorf("kept routes %+v, rules %+v; want the route of table 100 only", m.StaticRoutes, m.StaticRules)
	}
	m = directorModelFrom(d)
	failed := cluster.NewView(&wire.Observed{Errors: map[string]string{wire.ObserveRoutes: "netlink: permission denied"}})
	if err := m.observeStaticRoutes(failed); err == nil || len(m.StaticRoutes) != 2 || len(m.StaticRules) != 1 {
		t.Errorf("a failed read: %v, kept %d routes and %d rules; want an error and all kept", err, len(m.StaticRoutes), len(m.StaticRules))
	}
}
