//go:build linux

package provider

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
)

// loseVIPScript removes the VIP from a MASTER the way keepalived misses
// it: keepalived 2.2.7 re-adds a VIP it sees removed within a second
// (measured: the instance drops to BACKUP and retakes MASTER after its
// skew time, ~0.6s), so a plain `ip addr del` is healed before any plan.
// It misses the removal when its netlink monitor socket overruns: the
// script holds the VRRP process still (SIGSTOP, well within the peer's
// master-down interval), floods the socket with 4000 address events on
// lo, removes the VIP, lets keepalived go on, and takes the flood away.
const loseVIPScript = `set -e
vip=$1
kids=$(pgrep -P "$(cat /run/keepalived.pid)")
[ -n "$kids" ]
trap 'kill -CONT $kids' EXIT
kill -STOP $kids
awk 'BEGIN{for(i=0;i<4000;i++) printf "address add 10.201.%d.%d/32 dev lo\n", int(i/250), i%250+1}' >/tmp/flood
ip -batch /tmp/flood
ip addr del "$vip" dev eth0
kill -CONT $kids
trap - EXIT
sed 's/^address add/address del/' /tmp/flood >/tmp/unflood
ip -batch /tmp/unflood
rm -f /tmp/flood /tmp/unflood
`

// startVIPDriftLab is startAccLab with a lab of its own name and subnet,
// so that this test never waits for the other director tests' lab.
func startVIPDriftLab(t *testing.T, hosts ...string) *accLab {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	l := netns.Start(t, netns.Config{Name: "lvsvipd", Subnet: netip.MustParsePrefix("10.87.0.0/24"), Hosts: hosts})
	a := &accLab{Lab: l, t: t}
	a.provider = &lvsProvider{version: "acctest", agentBins: bins}
	a.provider.configured = func(c *client) {
		a.mu.Lock()
		a.clients = append(a.clients, c)
		a.mu.Unlock()
	}
	return a
}

// TestAccDirector_vipRemovedFromMaster: a VIP gone from the MASTER where
// keepalived did not see it go makes the plan non-empty
// (keepalived_in_sync false -> true on that director only); the apply puts
// it back on the MASTER without reloading or restarting keepalived (no
// failover), and the plan is empty again.
func TestAccDirector_vipRemovedFromMaster(t *testing.T) {
	a := startVIPDriftLab(t, "dir1", "dir2")
	for _, tool := range []string{"keepalived", "pgrep", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (internal/lab/deps.sh installs it): %v", tool, err)
		}
	}
	// A longer advert interval gives the frozen MASTER seconds before its
	// peer would take over.
	config := strings.ReplaceAll(directorPair(a, 100, 1), "advert_int        = 1", "advert_int        = 3")
	vip := a.vip(100)
	// With the status of dir1, read at plan time: before the repair.
	withStatus := config + fmt.Sprintf(`
data "lvs_director_status" "dir1" {
  ssh {
    host = %q
  }
}
`, a.addr("dir1"))
	var pid string
	var from int

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					return waitFor(40*time.Second, func() error {
						if !a.hasVIP("dir1", vip) || a.hasVIP("dir2", vip) {
							return fmt.Errorf("VIP %s: on dir1 %v, on dir2 %v; want dir1 (MASTER) only", vip, a.hasVIP("dir1", vip), a.hasVIP("dir2", vip))
						}
						if st := a.observe("dir1").Keepalived; st == nil || st.VRRP["VI_1"] != "MASTER" {
							return fmt.Errorf("dir1 keepalived %+v, want VI_1 MASTER", st)
						}
						return nil
					})
				},
			},
			// Drift: the VIP is gone from the MASTER, keepalived still says MASTER.
			{
				PreConfig: func() {
					pid = a.keepalivedPID("dir1")
					lost := false
					for try := 0; try < 3 && !lost; try++ {
						a.exec("dir1", "sh", "-c", loseVIPScript, "lose-vip", vip+"/24")
						// keepalived would re-add one it saw go within a second.
						time.Sleep(3 * time.Second)
						lost = !a.hasVIP("dir1", vip)
						if !lost {
							t.Logf("try %d: keepalived saw the VIP go and put it back; again", try+1)
						}
					}
					if !lost {
						t.Fatal("keepalived put the VIP back every time: the removal could not be hidden from it")
					}
					st := a.observe("dir1").Keepalived
					if st.VRRP["VI_1"] != "MASTER" || !slices.Contains(st.MissingVIPs["VI_1"], vip+"/24") || a.hasVIP("dir2", vip) {
						t.Fatalf("after the removal: dir1 %+v, dir2 holds the VIP %v; want dir1 MASTER missing %s/24, dir2 without it",
							st, a.hasVIP("dir2", vip), vip)
					}
					from = a.configures()
				},
				Config: withStatus,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("missing_vips"),
						knownvalue.MapExact(map[string]knownvalue.Check{"VI_1": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(vip + "/24")})})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
						plancheck.ExpectResourceAction("lvs_director.dir2", plancheck.ResourceActionNoop),
					},
				},
				Check: func(*terraform.State) error {
					if !a.hasVIP("dir1", vip) || a.hasVIP("dir2", vip) {
						return fmt.Errorf("after the apply VIP %s: on dir1 %v, on dir2 %v; want dir1 only", vip, a.hasVIP("dir1", vip), a.hasVIP("dir2", vip))
					}
					st := a.observe("dir1").Keepalived
					if st.VRRP["VI_1"] != "MASTER" || len(st.MissingVIPs) != 0 {
						return fmt.Errorf("after the apply dir1 keepalived %+v, want VI_1 MASTER missing nothing", st)
					}
					if now := a.keepalivedPID("dir1"); now != pid {
						return fmt.Errorf("dir1 keepalived pid %s -> %s: restarted", pid, now)
					}
					if n := a.stats("dir1", from).Reloads["keepalived"]; n != 0 {
						return fmt.Errorf("dir1 keepalived reloaded %d times for a missing VIP; want none (a reload fails it over)", n)
					}
					return nil
				},
			},
			{
				Config: withStatus,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_director_status.dir1", tfjsonpath.New("missing_vips"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
	if t.Failed() {
		out, _ := a.Exec(t.Context(), "dir1", "ip", "-o", "addr", "show", "dev", "eth0")
		t.Logf("dir1 eth0:\n%s", out)
	}
}
