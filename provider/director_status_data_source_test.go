//go:build linux

package provider

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestDirectorStatusHealth proves how the status reads real-server health
// out of the kernel table and the stored objects: weight in the table is
// up, a declared server missing from the table or inhibited to weight 0
// is down, a server configured with weight 0 is drained.
func TestDirectorStatusHealth(t *testing.T) {
	vs := model.VirtualServer{Address: addr("10.0.0.10"), Port: 80, RealServers: []model.RealServer{
		{Address: addr("192.168.1.10")},                 // up
		{Address: addr("192.168.1.11")},                 // inhibited by its check
		{Address: addr("192.168.1.12"), Weight: ptr(0)}, // drained on purpose
		{Address: addr("192.168.1.13")},                 // removed by its check
	}}
	obs := &wire.Observed{
		Hostname: "dir1", Kernel: "6.1.0", AgentVersion: "v1", IPVSAvailable: true,
		Objects: []wire.Object{
			{Key: wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, VirtualServer: &vs},
			// A real server stored as its own object counts as declared too.
			{Key: wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/192.168.1.14:80"}, RealServer: &model.RealServer{Address: addr("192.168.1.14")}},
		},
		IPVS: []wire.IPVSService{{
			Service: model.VirtualServer{Address: addr("10.0.0.10"), Port: 80, Protocol: "tcp", Scheduler: "wlc"},
			Ours:    true,
			Destinations: []wire.IPVSDestination{
				{Key: "192.168.1.10:80", Weight: 1, ActiveConns: 3, InactiveConns: 7},
				{Key: "192.168.1.11:80", Weight: 0, ActiveConns: 1},
				{Key: "192.168.1.12:80", Weight: 0},
				{Key: "192.168.1.14:80", Weight: 5, PersistConns: 2},
			},
		}, {
			Service:      model.VirtualServer{Fwmark: 7, Scheduler: "rr"},
			Destinations: []wire.IPVSDestination{{Key: "192.168.2.1:0", Weight: 1}},
		}},
		Keepalived: &wire.DaemonState{Running: true, ConfigMatches: true, VRRP: map[string]string{"VI_1": "MASTER"},
			MissingVIPs: map[string][]string{"VI_1": {"10.0.0.10/24"}}},
		HAProxy: &wire.DaemonState{Running: true, ConfigMatches: false, Servers: map[string]string{"web/a": "DOWN"}},
	}
	var m directorStatusModel
	m.setStatus(cluster.NewView(obs))

	if m.Hostname.ValueString() != "dir1" || m.AgentVersion.ValueString() != "v1" || !m.IPVSAvailable.ValueBool() ||
		!m.KeepalivedInSync.ValueBool() || !m.HAProxyRunning.ValueBool() || m.HAProxyInSync.ValueBool() {
		t.Errorf("host fields: %+v", m)
	}
	if m.VRRP["VI_1"] != "MASTER" || m.HAProxyServers["web/a"] != "DOWN" {
		t.Errorf("vrrp %v, haproxy servers %v", m.VRRP, m.HAProxyServers)
	}
	if got := m.MissingVIPs["VI_1"]; len(got) != 1 || got[0] != "10.0.0.10/24" || len(m.MissingVIPs) != 1 {
		t.Errorf("missing VIPs %v", m.MissingVIPs)
	}
	if len(m.IPVS) != 2 {
		t.Fatalf("ipvs: %+v", m.IPVS)
	}
	svc := m.IPVS[0]
	if svc.Key.ValueString() != "tcp/10.0.0.10:80" || svc.Address.ValueString() != "10.0.0.10" || !svc.Fwmark.IsNull() || !svc.Ours.ValueBool() {
		t.Errorf("service: %+v", svc)
	}
	health := map[string]string{}
	for _, d := range svc.Destinations {
		health[d.Address.ValueString()] = d.Health.ValueString()
	}
	want := map[string]string{
		"192.168.1.10": healthUp, "192.168.1.11": healthDown, "192.168.1.12": healthDrained,
		"192.168.1.13": healthDown, "192.168.1.14": healthUp,
	}
	if d := cmp.Diff(want, health); d != "" {
		t.Errorf("health (-want +got):\n%s", d)
	}
	first := svc.Destinations[0]
	if first.Port.ValueInt64() != 80 || first.ActiveConns.ValueInt64() != 3 || first.InactiveConns.ValueInt64() != 7 {
		t.Errorf("counters: %+v", first)
	}
	fw := m.IPVS[1]
	if fw.Key.ValueString() != "fwmark/7" || fw.Fwmark.ValueInt64() != 7 || !fw.Address.IsNull() || !fw.Protocol.IsNull() {
		t.Errorf("fwmark service: %+v", fw)
	}
	// The table as ipvsadm -Ln has it: the kernel's destinations only (the
	// removed 192.168.1.13 is not in it), fwmark services last.
	wantTable := "Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"TCP  10.0.0.10:80 wlc\n" +
		"  -> 192.168.1.10:80              Masq    1      3          7         \n" +
		"  -> 192.168.1.11:80              Masq    0      1          0         \n" +
		"  -> 192.168.1.12:80              Masq    0      0          0         \n" +
		"  -> 192.168.1.14:80              Masq    5      0          0         \n" +
		"FWM  7 rr\n" +
		"  -> 192.168.2.1:0                Masq    1      0          0         \n"
	if d := cmp.Diff(wantTable, m.IPVSTable.ValueString()); d != "" {
		t.Errorf("ipvs_table (-want +got):\n%s", d)
	}
	if len(m.Objects) != 2 || m.Objects[0] != types.StringValue("virtual_server tcp/10.0.0.10:80") {
		t.Errorf("objects: %v", m.Objects)
	}
}

// TestAccDirectorStatus_ipvs reads the status of a VM director with a real
// IPVS kernel: the provider's virtual server in the table, its real
// servers with their weights, counters and health (one drained by its
// configured weight 0), and no change planned by reading it.
func TestAccDirectorStatus_ipvs(t *testing.T) {
	d := startVMDirector(t, "accst")
	config := d.config(fmt.Sprintf(`
resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.10"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
}

resource "lvs_real_server" "web1" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.10"
  weight            = 5
}

resource "lvs_real_server" "web2" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.11"
  weight            = 0
}

data "lvs_director_status" "d1" {
  ssh {
    host = %q
    port = %s
  }
  depends_on = [lvs_real_server.web1, lvs_real_server.web2]
}
`, d.host, d.port))
	status := "data.lvs_director_status.d1"
	svc := tfjsonpath.New("ipvs").AtSliceIndex(0)
	dest := func(i int) tfjsonpath.Path { return svc.AtMapKey("destination").AtSliceIndex(i) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(status, tfjsonpath.New("ipvs_available"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(status, tfjsonpath.New("agent_version"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue(status, tfjsonpath.New("ipvs"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue(status, svc.AtMapKey("key"), knownvalue.StringExact("tcp/10.0.0.10:80")),
				statecheck.ExpectKnownValue(status, svc.AtMapKey("scheduler"), knownvalue.StringExact("wrr")),
				statecheck.ExpectKnownValue(status, svc.AtMapKey("ours"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(status, svc.AtMapKey("destination"), knownvalue.ListSizeExact(2)),
				statecheck.ExpectKnownValue(status, dest(0).AtMapKey("address"), knownvalue.StringExact("192.168.1.10")),
				statecheck.ExpectKnownValue(status, dest(0).AtMapKey("port"), knownvalue.Int64Exact(80)),
				statecheck.ExpectKnownValue(status, dest(0).AtMapKey("weight"), knownvalue.Int64Exact(5)),
				statecheck.ExpectKnownValue(status, dest(0).AtMapKey("active_conns"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(status, dest(0).AtMapKey("health"), knownvalue.StringExact(healthUp)),
				statecheck.ExpectKnownValue(status, dest(1).AtMapKey("address"), knownvalue.StringExact("192.168.1.11")),
				statecheck.ExpectKnownValue(status, dest(1).AtMapKey("weight"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(status, dest(1).AtMapKey("health"), knownvalue.StringExact(healthDrained)),
				statecheck.ExpectKnownValue(status, tfjsonpath.New("ipvs_table"), knownvalue.StringExact(
					"Prot LocalAddress:Port Scheduler Flags\n"+
						"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"+
						"TCP  10.0.0.10:80 wrr\n"+
						"  -> 192.168.1.10:80              Route   5      0          0         \n"+
						"  -> 192.168.1.11:80              Route   0      0          0         \n")),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

// TestAccDirectorStatus_keepalivedHealth reads real-server health where
// keepalived's checks decide it, on a real IPVS kernel: a server its check
// removed from the table and one it set to weight 0 (inhibit_on_failure)
// are down, an unchecked one is up, and the plan stays empty.
func TestAccDirectorStatus_keepalivedHealth(t *testing.T) {
	d := startVMDirector(t, "accsk")
	status := fmt.Sprintf(`
data "lvs_director_status" "d1" {
  ssh {
    host = %q
    port = %s
  }
}
`, d.host, d.port)
	health := func(s *terraform.State) (map[string]string, error) {
		r, ok := s.RootModule().Resources["data.lvs_director_status.d1"]
		if !ok {
			return nil, fmt.Errorf("no data.lvs_director_status.d1 in the state")
		}
		a := r.Primary.Attributes
		out := map[string]string{}
		for i := 0; a[fmt.Sprintf("ipvs.%d.key", i)] != ""; i++ {
			if a[fmt.Sprintf("ipvs.%d.key", i)] != "tcp/10.0.0.30:80" {
				continue
			}
			for j := 0; a[fmt.Sprintf("ipvs.%d.destination.%d.address", i, j)] != ""; j++ {
				p := fmt.Sprintf("ipvs.%d.destination.%d.", i, j)
				out[a[p+"address"]] = a[p+"health"] + "/" + a[p+"weight"]
			}
		}
		return out, nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		Steps: []resource.TestStep{
			{Config: d.configEngine("keepalived", checkedConfig)},
			{
				PreConfig: func() {
					d.waitFor("ipvsadm-save -n", "-r 192.168.1.31:80 -g -w 0")()
					d.waitFor("ipvsadm-save -n | grep -c 192.168.1.30 || true", "0")()
				},
				Config: d.configEngine("keepalived", checkedConfig) + status,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_director_status.d1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					got, err := health(s)
					if err != nil {
						return err
					}
					want := map[string]string{
						"192.168.1.30": healthDown + "/0", "192.168.1.31": healthDown + "/0", "192.168.1.32": healthUp + "/6",
					}
					if d := cmp.Diff(want, got); d != "" {
						return fmt.Errorf("health/weight of tcp/10.0.0.30:80 (-want +got):\n%s", d)
					}
					return nil
				},
			},
		},
	})
}
