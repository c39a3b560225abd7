//go:build linux

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

func directorObs(vrrp map[string]string, running bool, instances ...model.VRRPInstance) *wire.Observed {
	return &wire.Observed{
		Objects:    []wire.Object{{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &model.Director{Instances: instances}}},
		Keepalived: &wire.DaemonState{Running: running, VRRP: vrrp},
	}
}

func TestUnsettled(t *testing.T) {
	in := func(name string, masters int, preempting ...string) cluster.InstanceMasters {
		return cluster.InstanceMasters{Name: name, MasterHosts: make([]string, masters), Preempting: preempting}
	}
	if got := unsettled([]cluster.InstanceMasters{in("VI_1", 1), in("VI_2", 1)}); len(got) != 0 || !settled(nil) {
		t.Fatalf("one master each is settled, got %v", got)
	}
	got := unsettled([]cluster.InstanceMasters{in("VI_1", 0), in("VI_2", 1), in("VI_3", 2), in("VI_4", 1, "dir1")})
	if d := cmp.Diff(map[string]int{"VI_1": 0, "VI_3": 2, "VI_4": 1}, got); d != "" {
		t.Fatalf("unsettled (-want +got):\n%s", d)
	}
}

// TestCountMastersPreempting: the failure seen in CI (TestAccModuleHACluster):
// dir2 (priority 100) started first and was MASTER when the data source
// first read the pair, while dir1 (150, preempting) was still BACKUP in
// its first advertisement intervals. That is not settled: dir1 is about
// to take over.
func TestCountMastersPreempting(t *testing.T) {
	vi1 := model.VRRPInstance{Name: "VI_1", VirtualRouterID: 51}
	withElection := func(state string, e wire.VRRPElection) *cluster.View {
		obs := directorObs(map[string]string{"VI_1": state}, true, vi1)
		obs.Keepalived.Elections = map[string]wire.VRRPElection{"VI_1": e}
		return cluster.NewView(obs)
	}
	hosts := []string{"dir1", "dir2"}
	for _, tc := range []struct {
		name       string
		dir1, dir2 *cluster.View
		want       []string
	}{
		{"higher priority backup preempts",
			withElection("BACKUP", wire.VRRPElection{Priority: 150, Preempt: true}),
			withElection("MASTER", wire.VRRPElection{Priority: 100, Preempt: true}), []string{"dir1"}},
		{"nopreempt backup stays",
			withElection("BACKUP", wire.VRRPElection{Priority: 150}),
			withElection("MASTER", wire.VRRPElection{Priority: 100, Preempt: true}), nil},
		{"lower effective priority (a failed tracked script) stays",
			withElection("BACKUP", wire.VRRPElection{Priority: 90, Preempt: true}),
			withElection("MASTER", wire.VRRPElection{Priority: 100, Preempt: true}), nil},
		{"master's priority unknown",
			withElection("BACKUP", wire.VRRPElection{Priority: 150, Preempt: true}),
			cluster.NewView(directorObs(map[string]string{"VI_1": "MASTER"}, true, vi1)), nil},
		{"no master is an election, not a preemption",
			withElection("BACKUP", wire.VRRPElection{Priority: 150, Preempt: true}),
			withElection("BACKUP", wire.VRRPElection{Priority: 100, Preempt: true}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cluster.CountMasters(hosts, []*cluster.View{tc.dir1, tc.dir2}, nil)
			if len(got) != 1 {
				t.Fatalf("instances: %+v", got)
			}
			if d := cmp.Diff(tc.want, got[0].Preempting); d != "" {
				t.Errorf("preempting (-want +got):\n%s", d)
			}
			if want := len(tc.want) == 0 && len(got[0].MasterHosts) == 1; settled(got) != want {
				t.Errorf("settled = %v, want %v", !want, want)
			}
		})
	}
}

func TestCountMasters(t *testing.T) {
	vi1 := model.VRRPInstance{Name: "VI_1", VirtualRouterID: 51}
	vi2 := model.VRRPInstance{Name: "VI_2", VirtualRouterID: 52}
	hosts := []string{"dir1", "dir2", "dir3"}
	obs := []*cluster.View{
		cluster.NewView(directorObs(map[string]string{"VI_1": "MASTER", "VI_2": "BACKUP"}, true, vi1, vi2)),
		cluster.NewView(directorObs(map[string]string{"VI_1": "MASTER", "VI_2": "MASTER"}, true, vi1, vi2)),
		cluster.NewView(directorObs(nil, false, vi1, vi2)), // keepalived stopped
	}
	got := countMasters(cluster.CountMasters(hosts, obs, nil))
	want := []vrrpInstanceMaster{{
		Name: str("VI_1"), VirtualRouterID: num(51), Masters: num(2),
		MasterHosts: []types.String{str("dir1"), str("dir2")},
		States:      map[string]string{"dir1": "MASTER", "dir2": "MASTER", "dir3": "NONE"},
	}, {
		Name: str("VI_2"), VirtualRouterID: num(52), Masters: num(1),
		MasterHosts: []types.String{str("dir2")},
		States:      map[string]string{"dir1": "BACKUP", "dir2": "MASTER", "dir3": "NONE"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("countMasters (-want +got):\n%s", d)
	}

	// Named instances: only those, and one no host runs counts no master.
	got = countMasters(cluster.CountMasters(hosts, obs, []string{"VI_9", "VI_2", "VI_2"}))
	if len(got) != 2 || got[0].Name.ValueString() != "VI_2" || got[1].Name.ValueString() != "VI_9" {
		t.Fatalf("named instances: %+v", got)
	}
	if got[1].Masters.ValueInt64() != 0 || !got[1].VirtualRouterID.IsNull() || got[1].States["dir1"] != "NONE" {
		t.Fatalf("unknown instance: %+v", got[1])
	}
}

// isolate cuts (or restores) the lab network between the given hosts:
// their bridge ports become isolated ports, which exchange no frames with
// each other (VRRP adverts included) while the machine still reaches each
// of them over SSH.
func (a *accLab) isolate(on bool, hosts ...string) {
	a.t.Helper()
	for _, h := range hosts {
		veth := ""
		links, _ := filepath.Glob("/sys/class/net/*/ifalias")
		for _, f := range links {
			dev := filepath.Base(filepath.Dir(f))
			alias, _ := os.ReadFile(f)
			master, _ := os.Readlink(filepath.Join(filepath.Dir(f), "master"))
			if strings.TrimSpace(string(alias)) == h && filepath.Base(master) == a.Bridge {
				veth = dev
			}
		}
		if veth == "" {
			a.t.Fatalf("no bridge port of %s on %s", h, a.Bridge)
		}
		state := "off"
		if on {
			state = "on"
		}
		if out, err := exec.Command("bridge", "link", "set", "dev", veth, "isolated", state).CombinedOutput(); err != nil {
			a.t.Fatalf("bridge link set dev %s isolated %s: %v: %s", veth, state, err, out)
		}
	}
}

// vrrpChecks is the configuration of the status and split-brain data
// sources over the director pair, with a check block asserting one master.
// The check reads the top-level data source: a data source scoped inside a
// check block (as the examples show) is re-read at every apply, so the
// plan after an apply always lists it, which the test framework counts as
// a non-empty plan. settle, when not negative, is the data sources'
// settle_seconds.
func vrrpChecks(a *accLab, guard bool, settle int) string {
	hosts := fmt.Sprintf("[%q, %q]", a.addr("dir1"), a.addr("dir2"))
	settleAttr := ""
	if settle >= 0 {
		settleAttr = fmt.Sprintf("settle_seconds = %d", settle)
	}
	s := fmt.Sprintf(`
data "lvs_vrrp_masters" "pair" {
  hosts      = %[1]s
  %[3]s
  depends_on = [lvs_director.dir1, lvs_director.dir2]
}

check "one_vrrp_master" {
  assert {
    condition     = data.lvs_vrrp_masters.pair.all_have_one_master
    error_message = "VRRP instances without exactly one master: ${jsonencode([for i in data.lvs_vrrp_masters.pair.instances : i.states if i.masters != 1])}"
  }
}

data "lvs_director_status" "dir1" {
  ssh {
    host = %[2]q
  }
  depends_on = [lvs_director.dir1]
}
`, hosts, a.addr("dir1"), settleAttr)
	if guard {
		s += fmt.Sprintf(`
data "lvs_vrrp_masters" "guard" {
  hosts           = %s
  instance_names  = ["VI_1"]
  %s
  depends_on      = [lvs_director.dir1, lvs_director.dir2]
  lifecycle {
    postcondition {
      condition     = !self.split_brain
      error_message = "split brain: ${join(", ", self.instances[0].master_hosts)} are all MASTER of VI_1"
    }
  }
}
`, hosts, settleAttr)
	}
	return s
}

// TestAccVRRPMasters_splitBrain runs two lab directors in VRRP and reads
// them with lvs_director_status and lvs_vrrp_masters: one master; then the
// network between them is cut (bridge port isolation), both become
// MASTER, which the data source counts and a postcondition refuses; joined
// again, one master.
func TestAccVRRPMasters_splitBrain(t *testing.T) {
	a := startAccLab(t, "dir1", "dir2")
	if _, err := exec.LookPath("bridge"); err != nil {
		t.Fatalf("iproute2's bridge command is missing: %v", err)
	}
	vip := a.vip(100)
	dirs := directorPair(a, 100, 1)
	dir1, dir2 := a.addr("dir1"), a.addr("dir2")
	t.Cleanup(func() { a.isolate(false, "dir1", "dir2") })
	masters := func(name string, n int, hosts ...string) []statecheck.StateCheck {
		list := []knownvalue.Check{}
		for _, h := range hosts {
			list = append(list, knownvalue.StringExact(h))
		}
		at := tfjsonpath.New("instances").AtSliceIndex(0)
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(name, at.AtMapKey("name"), knownvalue.StringExact("VI_1")),
			statecheck.ExpectKnownValue(name, at.AtMapKey("virtual_router_id"), knownvalue.Int64Exact(51)),
			statecheck.ExpectKnownValue(name, at.AtMapKey("masters"), knownvalue.Int64Exact(int64(n))),
			statecheck.ExpectKnownValue(name, at.AtMapKey("master_hosts"), knownvalue.ListExact(list)),
			statecheck.ExpectKnownValue(name, tfjsonpath.New("split_brain"), knownvalue.Bool(n > 1)),
			statecheck.ExpectKnownValue(name, tfjsonpath.New("all_have_one_master"), knownvalue.Bool(n == 1)),
		}
	}
	holders := func(want ...string) func() error {
		return func() error {
			var got []string
			for _, h := range []string{"dir1", "dir2"} {
				if a.hasVIP(h, vip) {
					got = append(got, h)
				}
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("VIP %s held by %v, want %v", vip, got, want)
			}
			return nil
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			// The directors, read by the split-brain check in the apply that
			// creates them: the data source waits for the pair to elect one
			// master (which one depends on which keepalived started first:
			// dir1 preempts a moment later), so the check passes at once.
			{
				Config: dirs + vrrpChecks(a, false, -1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_vrrp_masters.pair",
						tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("masters"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("data.lvs_vrrp_masters.pair",
						tfjsonpath.New("all_have_one_master"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error { return waitFor(15*time.Second, holders("dir1")) },
			},
			// One master; dir1's status says so.
			{
				Config: dirs + vrrpChecks(a, true, -1),
				ConfigStateChecks: append(masters("data.lvs_vrrp_masters.pair", 1, dir1),
					statecheck.ExpectKnownValue("data.lvs_vrrp_masters.pair",
						tfjsonpath.New("instances").AtSliceIndex(0).AtMapKey("states"),
						knownvalue.MapExact(map[string]knownvalue.Check{
							dir1: knownvalue.StringExact("MASTER"), dir2: knownvalue.StringExact("BACKUP"),
						})),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("vrrp"),
						knownvalue.MapExact(map[string]knownvalue.Check{"VI_1": knownvalue.StringExact("MASTER")})),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("keepalived_running"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("haproxy_running"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("hostname"), knownvalue.StringExact("dir1")),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("agent_version"), knownvalue.NotNull()),
					// The lab kernel has no IPVS: an empty table, said so.
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("ipvs_available"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("ipvs"), knownvalue.ListSizeExact(0)),
				),
			},
			// The network between the directors cut: dir2 hears no adverts
			// and takes the VIP too. Both MASTER: counted, the check fails.
			{
				PreConfig: func() {
					a.isolate(true, "dir1", "dir2")
					if err := waitFor(20*time.Second, holders("dir1", "dir2")); err != nil {
						t.Fatal(err)
					}
				},
				// A lasting split brain is reported once the settle time is up.
				Config: dirs + vrrpChecks(a, false, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: masters("data.lvs_vrrp_masters.pair", 2, dir1, dir2),
			},
			// The same, with the guard that turns split brain into an error.
			{
				Config:      dirs + vrrpChecks(a, true, 2),
				ExpectError: phrase("split brain: " + dir1 + ", " + dir2 + " are all MASTER of VI_1"),
			},
			// A director that cannot be reached is an error naming it, not
			// a gap in the count.
			{
				Config: dirs + fmt.Sprintf(`
data "lvs_vrrp_masters" "gone" {
  hosts = [%q, %q]
}
`, dir1, a.vip(99)),
				ExpectError: regexp.MustCompile(`Unable to Read VRRP State[\s\S]*Host: root@` + regexp.QuoteMeta(a.vip(99)) + `:22`),
			},
			// Joined again: dir2 hears dir1's higher priority and backs off.
			{
				PreConfig: func() {
					a.isolate(false, "dir1", "dir2")
					if err := waitFor(20*time.Second, holders("dir1")); err != nil {
						t.Fatal(err)
					}
				},
				// Hosts may also be written user@host:port.
				Config: dirs + vrrpChecks(a, true, -1) + fmt.Sprintf(`
data "lvs_vrrp_masters" "long" {
  hosts      = ["root@%s:22", %q]
  depends_on = [lvs_director.dir1, lvs_director.dir2]
}
`, dir1, dir2),
				ConfigStateChecks: append(masters("data.lvs_vrrp_masters.pair", 1, dir1),
					masters("data.lvs_vrrp_masters.long", 1, "root@"+dir1+":22")...),
			},
		},
	})
}
