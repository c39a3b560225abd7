//go:build linux

package provider

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// startAccLabAt is startAccLab with a lab name and subnet of the caller's
// own, so that its lab runs beside the others.
func startAccLabAt(t *testing.T, name, subnet string, hosts ...string) *accLab {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	l := netns.Start(t, netns.Config{Name: name, Subnet: netip.MustParsePrefix(subnet), Hosts: hosts})
	a := &accLab{Lab: l, t: t}
	a.provider = &lvsProvider{version: "acctest", agentBins: bins}
	a.provider.configured = func(c *client) {
		a.mu.Lock()
		a.clients = append(a.clients, c)
		a.mu.Unlock()
	}
	return a
}

// handReplaced is a keepalived.conf written by hand: no managed marker.
const handReplaced = `! replaced by hand during an incident
global_defs {
  router_id handmade
}
`

// TestAccDirector_handReplacedConfig reproduces a convergence failure of
// the reconcile issue on a director with real keepalived: its
// keepalived.conf was replaced by hand (the first-line marker is gone)
// while the host stores our director object. The plan showed the drift,
// but the apply refused ("lvs-agent never overwrites a config it did not
// write") until someone moved the file by hand. Now the apply repairs the
// file and keeps the hand-written one aside, 0600; and a host that stores
// no director still refuses a foreign file (adopting it is an import).
func TestAccDirector_handReplacedConfig(t *testing.T) {
	a := startAccLabAt(t, "lvsh4", "10.104.0.0/24", "dir1", "dir2")
	director := func(name string, vip string) string {
		return fmt.Sprintf(`
resource "lvs_director" %[1]q {
  ssh {
    host = %[2]q
  }
  interface = "eth0"
  router_id = %[1]q

  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    virtual_router_id = 71
    priority          = 150
    advert_int        = 1
    virtual_ipaddress {
      address = "%[3]s/24"
    }
  }
}
`, name, a.addr(name), vip)
	}
	vip1, vip2 := a.vip(100), a.vip(101)
	one := a.providerConfig() + director("dir1", vip1)
	both := one + director("dir2", vip2)
	conf := func(host string) string { return a.Hosts[host].Path("/etc/keepalived/keepalived.conf") }
	backups := func(host string) []string {
		m, err := filepath.Glob(conf(host) + ".lvs-foreign-*")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	replace := func(host string) func() {
		return func() {
			if err := os.WriteFile(conf(host), []byte(handReplaced), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ours := func(host string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			b, err := os.ReadFile(conf(host))
			if err != nil {
				return err
			}
			if !strings.HasPrefix(string(b), render.ManagedMarker) {
				return fmt.Errorf("%s's keepalived.conf is not ours:\n%s", host, b)
			}
			return nil
		}
	}
	holds := func(host, vip string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			return waitFor(15*time.Second, func() error {
				if !a.hasVIP(host, vip) {
					return fmt.Errorf("%s does not hold %s", host, vip)
				}
				return nil
			})
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: one,
				Check:  resource.ComposeTestCheckFunc(ours("dir1"), holds("dir1", vip1)),
			},
			{
				// Replaced by hand: the plan shows it, and the apply repairs it,
				// keeping the hand-written file aside.
				PreConfig: replace("dir1"),
				Config:    one,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
				}},
				Check: resource.ComposeTestCheckFunc(ours("dir1"), holds("dir1", vip1), func(*terraform.State) error {
					b := backups("dir1")
					if len(b) != 1 {
						return fmt.Errorf("backups of the hand-written file: %q, want one", b)
					}
					fi, err := os.Stat(b[0])
					if err != nil {
						return err
					}
					if fi.Mode().Perm() != 0o600 {
						return fmt.Errorf("%s has mode %v, want 0600", b[0], fi.Mode().Perm())
					}
					data, err := os.ReadFile(b[0])
					if err != nil {
						return err
					}
					if string(data) != handReplaced {
						return fmt.Errorf("%s holds %q, want the hand-written file", b[0], data)
					}
					return nil
				}),
			},
			{
				Config:           one,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// A host that stores no director: its hand-written file is not ours
				// to replace, and stays as it is.
				PreConfig:   replace("dir2"),
				Config:      both,
				ExpectError: phrase("lvs-agent never overwrites a config it did not write"),
			},
			{
				// The operator moves it away, as the error says: the next apply
				// converges.
				PreConfig: func() {
					b, err := os.ReadFile(conf("dir2"))
					if err != nil {
						t.Fatal(err)
					}
					if string(b) != handReplaced {
						t.Fatalf("the refused apply changed dir2's hand-written file:\n%s", b)
					}
					if b := backups("dir2"); len(b) != 0 {
						t.Fatalf("the refused apply left backups on dir2: %q", b)
					}
					if err := os.Rename(conf("dir2"), conf("dir2")+".moved"); err != nil {
						t.Fatal(err)
					}
				},
				Config: both,
				Check:  resource.ComposeTestCheckFunc(ours("dir2"), holds("dir2", vip2)),
			},
			{
				Config:           both,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
