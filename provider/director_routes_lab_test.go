//go:build linux

package provider

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
)

// TestAccDirector_staticRouteRemovedByHand: the static route and rule
// keepalived installed, deleted by hand (ip route del, ip rule del), which
// keepalived does not repair while it runs, make the plan non-empty (the
// route and the rule to be added back); the apply restores them (proto
// keepalived) without restarting keepalived, and the plan is empty again.
func TestAccDirector_staticRouteRemovedByHand(t *testing.T) {
	a := startAccLabOn(t, netns.Config{Name: "lvsz1", Subnet: netip.MustParsePrefix("10.151.0.0/24"), Hosts: []string{"dir1"}})
	gw := a.Gateway.String()
	config := a.providerConfig() + fmt.Sprintf(`
resource "lvs_director" "dir1" {
  ssh {
    host = %[1]q
  }
  interface = "eth0"
  router_id = "dir1"
  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    virtual_router_id = 79
    priority          = 100
    advert_int        = 1
    virtual_ipaddress {
      address = "%[2]s/24"
    }
  }
  static_route {
    to     = "10.151.9.0/24"
    via    = %[3]q
    device = "eth0"
    table  = 100
  }
  static_route {
    to   = "10.151.8.0/24"
    type = "blackhole"
  }
  static_rule {
    from     = "10.151.0.0/24"
    table    = 100
    priority = 1000
  }
}
`, a.addr("dir1"), a.vip(100), gw)
	routeLine := "10.151.9.0/24 via " + gw + " dev eth0 proto keepalived"
	ruleLine := "1000:\tfrom 10.151.0.0/24 lookup 100 proto keepalived"
	installed := func() error {
		if out := a.exec("dir1", "ip", "route", "show", "table", "100"); !strings.Contains(out, routeLine) {
			return fmt.Errorf("ip route show table 100 lacks %q:\n%s", routeLine, out)
		}
		if out := a.exec("dir1", "ip", "rule", "show"); !strings.Contains(out, ruleLine) {
			return fmt.Errorf("ip rule show lacks %q:\n%s", ruleLine, out)
		}
		if out := a.exec("dir1", "ip", "route", "show", "10.151.8.0/24"); !strings.Contains(out, "blackhole 10.151.8.0/24 proto keepalived") {
			return fmt.Errorf("ip route show 10.151.8.0/24:\n%s", out)
		}
		return nil
	}
	var pid string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  func(*terraform.State) error { return waitFor(20*time.Second, installed) },
			},
			{
				// Deleted by hand: keepalived leaves them gone.
				PreConfig: func() {
					pid = a.keepalivedPID("dir1")
					a.exec("dir1", "ip", "route", "del", "10.151.9.0/24", "table", "100")
					a.exec("dir1", "ip", "rule", "del", "priority", "1000")
					if installed() == nil {
						t.Fatal("the route and rule are still there after ip route del and ip rule del")
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("static_route").AtSliceIndex(0).AtMapKey("to"), knownvalue.StringExact("10.151.9.0/24")),
						plancheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("static_rule").AtSliceIndex(0).AtMapKey("priority"), knownvalue.Int64Exact(1000)),
					},
				},
				Check: func(*terraform.State) error {
					if err := installed(); err != nil {
						return fmt.Errorf("after the apply: %w", err)
					}
					if now := a.keepalivedPID("dir1"); now != pid {
						return fmt.Errorf("keepalived pid %s -> %s: restarted to restore a route", pid, now)
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
