//go:build linux

package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccConverge_vm reproduces two convergence failures of the reconcile
// issue on one VM director (a real IPVS kernel whose modules load on
// demand), one after the other, sharing the VM:
//
//   - tun_without_ipip: a TUN real server whose host has not loaded ipip
//     yet. This machine's kernel has no ipip (CONFIG_NET_IPIP is not set,
//     `modprobe ipip` finds no module), so the netns lab cannot arrange it;
//     the fresh VM has ipip as a module that nothing loaded. The first
//     apply used to fail at "apply sysctls: reading
//     net.ipv4.conf.tunl0.rp_filter: no such sysctl" (the sysctls ran
//     before the address step that loads the module).
//   - drain_all_keepalived: destroying every real server of a service, all
//     with drain_on_destroy, on a keepalived director. The drain set every
//     weight to 0 and `keepalived -t` exited 5 on its warning "quorum 1 ...
//     exceeds total weight of real servers 0", so the agent refused the
//     config and the destroy failed.
//
// The VM is the director and, for the TUN case, the real server's host as
// well (both reached at its SSH address).
func TestAccConverge_vm(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	d := startVMDirector(t, "acch4conv")
	start := time.Now()
	defer func() { t.Logf("terraform steps took %v", time.Since(start).Round(time.Second)) }()

	t.Run("tun_without_ipip", func(t *testing.T) {
		d.t = t
		// The reproduction needs a host without the tunnel: fail loudly
		// rather than pass without proving anything.
		if out := d.run("test -e /proc/sys/net/ipv4/conf/tunl0 && echo loaded || echo absent"); strings.TrimSpace(out) != "absent" {
			t.Fatalf("tunl0 exists on the fresh VM (%q): ipip is loaded already, the test proves nothing", out)
		}
		config := d.config(fmt.Sprintf(`
resource "lvs_virtual_server" "tun" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.40"
  port              = 80
  scheduler         = "rr"
  forwarding_method = "tun"
}

resource "lvs_real_server" "tun1" {
  virtual_server_id = lvs_virtual_server.tun.id
  address           = "192.168.1.40"
  weight            = 2
  host {
    host = %q
    port = %s
  }
}
`, d.host, d.port))
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: d.factories(),
			CheckDestroy: func(*terraform.State) error {
				if out := d.run("ip -o addr show dev tunl0"); strings.Contains(out, "10.0.0.40") {
					return fmt.Errorf("the VIP is still on tunl0 after destroy:\n%s", out)
				}
				return nil
			},
			Steps: []resource.TestStep{
				{
					// The first apply on a host without ipip converges.
					Config: config,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("lvs_real_server.tun1", tfjsonpath.New("host_in_sync"), knownvalue.Bool(true)),
					},
					Check: resource.ComposeTestCheckFunc(
						d.expectRules("-A -t 10.0.0.40:80 -s rr", "-a -t 10.0.0.40:80 -r 192.168.1.40:80 -i -w 2 --tun-type ipip"),
						func(*terraform.State) error {
							if got := strings.TrimSpace(d.run("cat /proc/sys/net/ipv4/conf/tunl0/rp_filter")); got != "0" {
								return fmt.Errorf("net.ipv4.conf.tunl0.rp_filter = %s, want 0", got)
							}
							if out := d.run("ip -o addr show dev tunl0"); !strings.Contains(out, "10.0.0.40/32") {
								return fmt.Errorf("no VIP on tunl0:\n%s", out)
							}
							return nil
						},
					),
				},
				{
					Config:           config,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				},
			},
		})
	})

	t.Run("drain_all_keepalived", func(t *testing.T) {
		d.t = t
		const vs = `
resource "lvs_virtual_server" "drained" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.50"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
}
`
		const servers = `
resource "lvs_real_server" "a" {
  virtual_server_id = lvs_virtual_server.drained.id
  address           = "192.168.1.50"
  weight            = 3
  drain_on_destroy  = true
  drain_timeout     = "5s"
}

resource "lvs_real_server" "b" {
  virtual_server_id = lvs_virtual_server.drained.id
  address           = "192.168.1.51"
  weight            = 4
  drain_on_destroy  = true
  drain_timeout     = "5s"
}
`
		withServers := d.configEngine("keepalived", vs+servers)
		// The service is destroyed with its servers, as by `terraform
		// destroy` (a keepalived-engine service left without real servers
		// reads as gone: another issue, see the report of this branch).
		without := d.configEngine("keepalived", "")
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
					Config: withServers,
					Check: d.expectRules("-A -t 10.0.0.50:80 -s wrr",
						"-a -t 10.0.0.50:80 -r 192.168.1.50:80 -g -w 3", "-a -t 10.0.0.50:80 -r 192.168.1.51:80 -g -w 4"),
				},
				{
					// Destroying the service drains both real servers to weight 0
					// first: a service whose every server is at weight 0 is a valid
					// config.
					Config: without,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_real_server.a", plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction("lvs_real_server.b", plancheck.ResourceActionDestroy),
						plancheck.ExpectResourceAction("lvs_virtual_server.drained", plancheck.ResourceActionDestroy),
					}},
					Check: func(*terraform.State) error {
						if rules := d.ipvsRules(); len(rules) != 0 {
							return fmt.Errorf("IPVS table after the drained destroy: %q, want empty", rules)
						}
						return nil
					},
				},
				{
					Config:           without,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				},
			},
		})
	})
}
