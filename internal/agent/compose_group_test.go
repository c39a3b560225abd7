package agent

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// groupVSObj is a group service over 192.168.0.40 and the range
// 192.168.0.41-42, port 80, of protocol proto.
func groupVSObj(proto string) wire.Object {
	vs := &model.VirtualServer{Group: "web", Protocol: proto, ForwardingMethod: "dr", Scheduler: "rr"}
	g := &model.VirtualServerGroup{Name: "web", Members: []model.VSGroupMember{
		{Address: netip.MustParseAddr("192.168.0.40"), Port: 80},
		{Address: netip.MustParseAddr("192.168.0.41"), RangeEnd: 42, Port: 80},
	}}
	return wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: vs, VirtualServerGroup: g}
}

func groupRSObj(vsKey, addr string) wire.Object {
	rs := &model.RealServer{Address: netip.MustParseAddr(addr), Port: 80}
	return wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: vsKey + "/" + addr + ":80"}, RealServer: rs}
}

func objMap(list ...wire.Object) map[wire.Key]wire.Object {
	m := map[wire.Key]wire.Object{}
	for _, o := range list {
		m[o.Key] = o
	}
	return m
}

func TestComposeCollectsGroupsOnce(t *testing.T) {
	tcp, udp := groupVSObj("tcp"), groupVSObj("udp")
	hc, werr := compose(objMap(directorObj(100), tcp, udp, groupRSObj(tcp.ID, "192.168.1.10")))
	if werr != nil {
		t.Fatal(werr)
	}
	if len(hc.keepalived.Groups) != 1 || hc.keepalived.Groups[0].Name != "web" || len(hc.keepalived.Groups[0].Members) != 2 {
		t.Fatalf("groups %+v, want web once with its two members", hc.keepalived.Groups)
	}
	if n := len(hc.keepalived.VirtualServers); n != 2 {
		t.Fatalf("%d virtual servers, want 2", n)
	}
}

func TestComposeRefusesGroupsDeclaredApart(t *testing.T) {
	tcp, udp := groupVSObj("tcp"), groupVSObj("udp")
	udp.VirtualServerGroup.Members = udp.VirtualServerGroup.Members[:1]
	_, werr := compose(objMap(directorObj(100), tcp, udp))
	if werr == nil || werr.Code != wire.ExitBadRequest {
		t.Fatalf("compose: %v, want a bad request", werr)
	}
	msg := werr.Object + ": " + werr.Message
	for _, want := range []string{"virtual_server group/web/tcp", "virtual_server group/web/udp", `"web"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
}

func TestComposeRefusesAnInvalidGroupNamingItsObject(t *testing.T) {
	o := groupVSObj("tcp")
	o.VirtualServerGroup.Members = nil
	_, werr := compose(objMap(directorObj(100), o))
	if werr == nil || werr.Object != o.Key.String() || !strings.Contains(werr.Message, "member") {
		t.Fatalf("compose: %v, want a bad request of %s about its members", werr, o.Key)
	}
}

func TestNetlinkEngineRefusesGroups(t *testing.T) {
	d := directorObj(100)
	d.Director.Engine = "netlink"
	o := groupVSObj("tcp")
	_, werr := compose(objMap(d, o))
	if werr == nil || werr.Object != o.Key.String() || !strings.Contains(werr.Message, "virtual_server[0].group") ||
		!strings.Contains(werr.Message, "keepalived feature") {
		t.Fatalf("compose: %v, want the model's refusal at virtual_server[0].group on %s", werr, o.Key)
	}
}

// The kernel services of a group's members are ours, each with the
// destinations keepalived gave them; a member removed by hand is put back
// by the next apply with the settings and destinations of the others.
func TestKeepalivedGroupMembersAreOursAndRepaired(t *testing.T) {
	_, a, table := netlinkHost(t)
	vsO := groupVSObj("tcp")
	rs := groupRSObj(vsO.ID, "192.168.1.10")
	mustApply(t, a, []wire.Object{directorObj(100), vsO, rs})

	// A keepalived started or reloaded by the apply is left to program
	// the members itself.
	if w := table.WriteCalls(); len(w) != 0 {
		t.Fatalf("the apply that started keepalived wrote %v", w)
	}
	// As keepalived programmed it (the fake keepalived did): three member
	// services, then one (.41) removed by hand; a foreign service beside
	// them.
	members := vsO.VirtualServerGroup.MemberServices(vsO.VirtualServer)
	for i := range members {
		if members[i].Address == netip.MustParseAddr("192.168.0.41") {
			svc, err := ipvs.ServiceOf(&members[i])
			if err != nil {
				t.Fatal(err)
			}
			table.Unseed(svc)
		}
	}
	foreign := model.VirtualServer{Address: netip.MustParseAddr("192.168.0.99"), Port: 80}
	fsvc, _ := ipvs.ServiceOf(&foreign)
	table.Seed(fsvc)

	obs := a.observe(context.Background(), objMap(directorObj(100), vsO, rs))
	ours := map[string]bool{}
	for _, s := range obs.IPVS {
		ours[s.Service.Key()] = s.Ours
	}
	if !ours["tcp/192.168.0.40:80"] || !ours["tcp/192.168.0.42:80"] || ours["tcp/192.168.0.99:80"] {
		t.Errorf("ours %v: want the members ours and the foreign service not", ours)
	}

	table.ResetCalls()
	resp := mustApply(t, a, []wire.Object{vsO})
	if resp.Applied.Netlink != 2 {
		t.Errorf("%d netlink requests (%v), want 2: the member service and its destination", resp.Applied.Netlink, table.WriteCalls())
	}
	got, err := ipvs.Read(table)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, ts := range got {
		if ipvs.ServiceKey(ts.Service.Service) == "tcp/192.168.0.41:80" {
			if ts.Service.Service.Scheduler != "rr" || len(ts.Destinations) != 1 ||
				ipvs.DestinationKey(ts.Destinations[0].Destination) != "192.168.1.10:80" {
				t.Errorf("put back as %+v with %+v", ts.Service.Service, ts.Destinations)
			}
		}
		keys = append(keys, ipvs.ServiceKey(ts.Service.Service))
	}
	if !slices.Contains(keys, "tcp/192.168.0.41:80") {
		t.Fatalf("table %v: the member removed by hand was not put back", keys)
	}
	table.ResetCalls()
	mustApply(t, a, []wire.Object{vsO})
	if w := table.WriteCalls(); len(w) != 0 {
		t.Errorf("an apply with every member in place wrote %v", w)
	}
}

// keepalived, reloaded with fewer group members, leaves the removed
// members' services in the kernel: the apply removes them, and no other.
func TestKeepalivedGroupLeftoversAreRemoved(t *testing.T) {
	_, a, table := netlinkHost(t)
	vsO := groupVSObj("tcp")
	rs := groupRSObj(vsO.ID, "192.168.1.10")
	// The fake keepalived programs the members, and leaves the lost ones
	// without destinations on the reload to the smaller group.
	mustApply(t, a, []wire.Object{directorObj(100), vsO, rs})
	foreign := model.VirtualServer{Address: netip.MustParseAddr("192.168.0.99"), Port: 80}
	fsvc, _ := ipvs.ServiceOf(&foreign)
	table.Seed(fsvc)

	smaller := groupVSObj("tcp")
	smaller.VirtualServerGroup.Members = smaller.VirtualServerGroup.Members[:1]
	mustApply(t, a, []wire.Object{smaller})
	got, err := ipvs.Read(table)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, ts := range got {
		keys = append(keys, ipvs.ServiceKey(ts.Service.Service))
	}
	slices.Sort(keys)
	if want := []string{"tcp/192.168.0.40:80", "tcp/192.168.0.99:80"}; !slices.Equal(keys, want) {
		t.Errorf("table %v, want %v: the removed members gone, the kept member and the foreign service left", keys, want)
	}
}
