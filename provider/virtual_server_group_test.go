//go:build linux

package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// groupVSModel is a group service "web" over 10.0.0.40:80 and the range
// 10.0.0.41-42:80.
func groupVSModel() virtualServerResourceModel {
	m := vsModel()
	m.Address, m.Port = iptypes.NewIPAddressNull(), types.Int64Null()
	m.Scheduler = types.StringValue("wrr")
	m.Group = &virtualServerGroupModel{Name: types.StringValue("web"), Members: []vsGroupMember{
		{Address: iptypes.NewIPAddressValue("10.0.0.40"), RangeEnd: types.Int64Null(), Port: types.Int64Value(80), Fwmark: types.Int64Null()},
		{Address: iptypes.NewIPAddressValue("10.0.0.41"), RangeEnd: types.Int64Value(42), Port: types.Int64Value(80), Fwmark: types.Int64Null()},
	}}
	return m
}

func TestGroupServiceMapping(t *testing.T) {
	m := groupVSModel()
	vs := m.toModel()
	if vs.Group != "web" || vs.Key() != "group/web/tcp" {
		t.Fatalf("group %q key %q, want web and group/web/tcp", vs.Group, vs.Key())
	}
	g := m.groupModel()
	if g == nil || len(g.Members) != 2 || g.Members[1].RangeEnd != 42 || g.Members[0].Address != netip.MustParseAddr("10.0.0.40") {
		t.Fatalf("group %+v", g)
	}
	if err := groupServiceErrors(&vs, g, ""); err != nil {
		t.Fatalf("a valid group service refused: %v", err)
	}
	// The schema holds it (the state round-trips).
	ctx := context.Background()
	m.Directors, _ = types.SetValueFrom(ctx, types.StringType, []string{"dir1"})
	m.ID, m.Managed = types.StringValue("group/web/tcp@dir1"), types.BoolValue(true)
	st := tfsdk.State{Schema: virtualServerResourceSchema()}
	if d := st.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	var back virtualServerResourceModel
	if d := st.Get(ctx, &back); d.HasError() {
		t.Fatal(d)
	}
	if back.groupName() != "web" || len(back.Group.Members) != 2 {
		t.Fatalf("state round trip: %+v", back.Group)
	}
}

func TestGroupServiceErrorsHaveResourcePaths(t *testing.T) {
	m := groupVSModel()
	m.Group.Members[1].RangeEnd = types.Int64Value(30) // below the address's last octet
	vs := m.toModel()
	got := map[string]string{}
	for _, fe := range model.AsErrors(groupServiceErrors(&vs, m.groupModel(), "")) {
		got[fe.Path.String()] = fe.Msg
	}
	if _, ok := got["group.member[1].range_end"]; !ok || len(got) != 1 {
		t.Errorf("errors %v, want one at group.member[1].range_end", got)
	}
	m = groupVSModel()
	vs = m.toModel()
	got = map[string]string{}
	for _, fe := range model.AsErrors(groupServiceErrors(&vs, m.groupModel(), "netlink")) {
		got[fe.Path.String()] = fe.Msg
	}
	if msg := got["group"]; !strings.Contains(msg, "keepalived feature") {
		t.Errorf("netlink engine: errors %v, want the model's refusal at group", got)
	}
	// Exactly one identity: address and group together.
	m.Address, m.Port = iptypes.NewIPAddressValue("10.0.0.10"), types.Int64Value(80)
	vs = m.toModel()
	if err := groupServiceErrors(&vs, m.groupModel(), ""); err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("address with group: %v, want the exclusive identity error", err)
	}
}

func TestParseGroupIDs(t *testing.T) {
	id, err := cluster.ParseVirtualServerID("group/web/udp@dir2,dir1")
	if err != nil || id.Group != "web" || id.Protocol != "udp" || id.String() != "group/web/udp@dir1,dir2" {
		t.Fatalf("parseVSID: %+v, %v", id, err)
	}
	rid, err := cluster.ParseRealServerID("group/web/tcp/192.168.1.40:80@dir1")
	if err != nil || rid.VS.Key() != "group/web/tcp" || rid.DestKey() != "192.168.1.40:80" {
		t.Fatalf("parseRSID: %+v, %v", rid, err)
	}
	for _, bad := range []string{"group/web@dir1", "group//tcp@dir1", "group/web/icmp@dir1"} {
		if _, err := cluster.ParseVirtualServerID(bad); err == nil {
			t.Errorf("cluster.ParseVirtualServerID(%q) accepted", bad)
		}
	}
}

// groupObservation is a director storing the group service of
// groupVSModel with the kernel running the member services of keys, each
// with one DR destination 192.168.1.40:80 of weight 3.
func groupObservation(keys ...string) *wire.Observed {
	m := groupVSModel()
	vs := m.toModel()
	obj := wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: &vs, VirtualServerGroup: m.groupModel()}
	var svcs []wire.IPVSService
	for _, k := range keys {
		ap := netip.MustParseAddrPort(strings.TrimPrefix(k, "tcp/"))
		s := model.VirtualServer{Address: ap.Addr(), Port: int(ap.Port()), Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "dr",
			RealServers: []model.RealServer{{Address: netip.MustParseAddr("192.168.1.40"), Port: 80, Weight: rsIntPtr(3)}}}
		svcs = append(svcs, wire.IPVSService{Service: s, Ours: true,
			Destinations: []wire.IPVSDestination{{Key: "192.168.1.40:80", Weight: 3, ActiveConns: 2}}})
	}
	return directorObservation("keepalived", []wire.Object{obj}, svcs...)
}

func TestObserveGroupService(t *testing.T) {
	m := groupVSModel()
	prior := m.toModel()
	all := groupObservation("tcp/10.0.0.40:80", "tcp/10.0.0.41:80", "tcp/10.0.0.42:80")
	vs, g := observeGroupService(all, &prior, m.groupModel())
	if vs == nil || len(g.Members) != 2 || vs.Scheduler != "wrr" {
		t.Fatalf("all members run: %+v %+v", vs, g)
	}
	if got := m.Group; keepGroup(got, g) != got {
		t.Errorf("the same members are not kept as written")
	}
	// .42 removed by hand: the range member is missing, which the plan shows.
	vs, g = observeGroupService(groupObservation("tcp/10.0.0.40:80", "tcp/10.0.0.41:80"), &prior, m.groupModel())
	if vs == nil || len(g.Members) != 1 || g.Members[0].Address != netip.MustParseAddr("10.0.0.40") {
		t.Fatalf("one address of the range gone: %+v", g)
	}
	if kept := keepGroup(m.Group, g); len(kept.Members) != 1 || kept.Name.ValueString() != "web" {
		t.Errorf("keepGroup: %+v", kept)
	}
	// A scheduler edited by hand on one member shows.
	edited := groupObservation("tcp/10.0.0.40:80", "tcp/10.0.0.41:80", "tcp/10.0.0.42:80")
	edited.IPVS[1].Service.Scheduler = "rr"
	if vs, _ = observeGroupService(edited, &prior, m.groupModel()); vs.Scheduler != "rr" {
		t.Errorf("scheduler %q, want the member's rr", vs.Scheduler)
	}
	// No member runs: the service is gone from the director.
	if vs, _ = observeGroupService(groupObservation(), &prior, m.groupModel()); vs != nil {
		t.Errorf("no member runs, observed %+v", vs)
	}
	// The real server of a group service is found in a member service.
	rid, err := cluster.ParseRealServerID("group/web/tcp/192.168.1.40:80@dir1")
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := observeRealServer(groupObservation("tcp/10.0.0.41:80"), rid)
	if err != nil || rs == nil || rs.EffectiveWeight() != 3 {
		t.Fatalf("real server of the group: %+v, %v", rs, err)
	}
	if n := activeConns(groupObservation("tcp/10.0.0.41:80"), rid); n != 2 {
		t.Errorf("active connections %d, want 2", n)
	}
}

// groupConfig is a keepalived group service over two members (one a
// range) with one real server without a health check.
func groupConfig(members string) string {
	return fmt.Sprintf(`
resource "lvs_virtual_server" "grp" {
  directors         = [lvs_director.d1.id]
  scheduler         = "wrr"
  forwarding_method = "dr"
  group {
    name = "web"
%s
  }
}

resource "lvs_real_server" "grp" {
  virtual_server_id = lvs_virtual_server.grp.id
  address           = "192.168.1.40"
  port              = 80
  weight            = 3
}
`, members)
}

const (
	groupMembers = `
    member {
      address = "10.0.0.40"
      port    = 80
    }
    member {
      address   = "10.0.0.41"
      range_end = 42
      port      = 80
    }`
	groupMembersChanged = `
    member {
      address = "10.0.0.40"
      port    = 80
    }
    member {
      address = "10.0.0.43"
      port    = 80
    }`
)

// groupRules are the kernel's rules of the group service over vips.
func groupRules(vips ...string) []string {
	var out []string
	for _, v := range vips {
		out = append(out, "-A -t "+v+":80 -s wrr", "-a -t "+v+":80 -r 192.168.1.40:80 -g -w 3")
	}
	return out
}

// TestAccVirtualServer_group proves a keepalived virtual_server_group on a
// real IPVS kernel: keepalived programs one service per member address
// (the range expanded) with the real server on each; import verify; the
// members change in place; a member service deleted by hand is planned
// back and repaired; destroy empties the table.
func TestAccVirtualServer_group(t *testing.T) {
	d := startVMDirector(t, "accgrp")
	start := time.Now()
	defer func() { t.Logf("terraform steps took %v", time.Since(start).Round(time.Second)) }()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy: func(*terraform.State) error {
			if rules := d.ipvsRules(); len(rules) != 0 {
				return fmt.Errorf("IPVS table after destroy: %q, want empty", rules)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: d.configEngine("keepalived", groupConfig(groupMembers)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_virtual_server.grp", tfjsonpath.New("id"),
						knownvalue.StringRegexp(regexp.MustCompile(`^group/web/tcp@`))),
					statecheck.ExpectKnownValue("lvs_virtual_server.grp", tfjsonpath.New("group").AtMapKey("member").AtSliceIndex(1).AtMapKey("range_end"),
						knownvalue.Int64Exact(42)),
					statecheck.ExpectKnownValue("lvs_real_server.grp", tfjsonpath.New("id"),
						knownvalue.StringRegexp(regexp.MustCompile(`^group/web/tcp/192\.168\.1\.40:80@`))),
				},
				Check: func(s *terraform.State) error {
					// keepalived programs the members as it starts its checker.
					d.waitFor("ipvsadm-save -n", "-a -t 10.0.0.42:80 -r 192.168.1.40:80")()
					t.Logf("table:\n%s", d.run("ipvsadm -Ln"))
					return d.expectRules(groupRules("10.0.0.40", "10.0.0.41", "10.0.0.42")...)(s)
				},
			},
			{ResourceName: "lvs_virtual_server.grp", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_real_server.grp", ImportState: true, ImportStateVerify: true},
			{
				// The members change in place.
				Config: d.configEngine("keepalived", groupConfig(groupMembersChanged)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("lvs_virtual_server.grp", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("lvs_real_server.grp", plancheck.ResourceActionNoop),
				}},
				Check: func(s *terraform.State) error {
					d.waitFor("ipvsadm-save -n", "-a -t 10.0.0.43:80 -r 192.168.1.40:80")()
					return d.expectRules(groupRules("10.0.0.40", "10.0.0.43")...)(s)
				},
			},
			{Config: d.configEngine("keepalived", groupConfig(groupMembersChanged)), PlanOnly: true},
			{
				// A member service deleted by hand is drift, planned back and repaired.
				PreConfig: d.runStep("ipvsadm -D -t 10.0.0.43:80"),
				Config:    d.configEngine("keepalived", groupConfig(groupMembersChanged)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("lvs_virtual_server.grp", plancheck.ResourceActionUpdate),
				}},
				Check: d.expectRules(groupRules("10.0.0.40", "10.0.0.43")...),
			},
			{Config: d.configEngine("keepalived", groupConfig(groupMembersChanged)), PlanOnly: true},
		},
	})
}

// A group service on a netlink director is refused at `group` with the
// model's reason, before anything is sent to the director.
func TestGroupServiceRefusedOnNetlinkDirector(t *testing.T) {
	ctx := context.Background()
	f := newHostsFake()
	f.obs["dir1"] = directorObservation("netlink", nil)
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	plan := groupVSModel()
	plan.Directors, _ = types.SetValueFrom(ctx, types.StringType, []string{"dir1"})
	plan.ID, plan.Managed = types.StringUnknown(), types.BoolUnknown()
	st := tfsdk.State{Schema: virtualServerResourceSchema()}
	if d := st.Set(ctx, &plan); d.HasError() {
		t.Fatal(d)
	}
	var diags diag.Diagnostics
	r.apply(ctx, tfsdk.Config(st), nil, &plan, &diags, "Create")
	if !diags.HasError() {
		t.Fatal("a group service was accepted by a netlink director")
	}
	var found bool
	for _, d := range diags.Errors() {
		if wp, ok := d.(diag.DiagnosticWithPath); ok && wp.Path().Equal(path.Root("group")) && strings.Contains(d.Detail(), "keepalived feature") {
			found = true
		}
	}
	if !found {
		t.Errorf("diagnostics %v, want the model's refusal at group", diags)
	}
	if a := f.applies("dir1"); len(a) != 0 {
		t.Errorf("applies sent: %+v", a)
	}
}
