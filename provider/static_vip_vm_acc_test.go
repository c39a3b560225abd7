//go:build linux

package provider

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// TestAccStaticVIP_vm proves a single director without VRRP, on one
// director VM (real IPVS) on the bridge of a namespace lab with web
// servers rs1, rs2, rs3 and a client, once per engine (the VM is shared):
//
//   - the director's VIP is a static_address on eth1: a client reaches rs1
//     through it by DR (rs1's side set up by its host block); removed by
//     hand, it shows in the plan and the apply puts it back; destroy takes
//     it away;
//   - netlink: rs3 is set up by the script of data.lvs_real_server_config
//     (run on rs3 by hand, as cloud-init would), then added as a real
//     server without a host block: the client reaches rs3 through the VIP;
//     after a reboot of the VM the agent's boot restore has put the VIP
//     (and the netlink services) back before any apply: the plan is empty;
//   - keepalived: the sorry server rs2 gets its side (VIP on lo, ARP
//     sysctls) from sorry_server.host; when rs1's check fails, keepalived
//     puts rs2 in and the client reaches rs2 through the VIP; destroy
//     removes rs2's side.
func TestAccStaticVIP_vm(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	lab := netns.Start(t, netns.Config{Name: "lvsx3", Subnet: netip.MustParsePrefix("10.133.0.0/24"), Hosts: []string{"rs1", "rs2", "rs3", "client"}})
	v := vm.Start(t, vm.Config{Name: "x3d1", Bridge: lab.Bridge, BridgeAddr: netip.MustParsePrefix("10.133.0.90/24")})
	d := &vmDirector{t: t, vm: v, provider: &lvsProvider{version: "acctest", agentBins: bins}}
	var err error
	if d.host, d.port, err = net.SplitHostPort(v.SSHAddr); err != nil {
		t.Fatal(err)
	}
	const vip = "10.133.0.100"
	// linkAddr is a second static address, held at scope link: in a
	// subnet of its own (the kernel gives a secondary address in the VIP's
	// subnet the VIP's scope).
	const linkAddr = "192.168.133.1"
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exec := func(host string, args ...string) string {
		t.Helper()
		out, err := lab.Exec(ctx, host, args...)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		return string(out)
	}
	for _, h := range []string{"rs1", "rs2", "rs3"} {
		web := filepath.Join(lab.Hosts[h].Dir, "www")
		if err := os.MkdirAll(web, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("served by "+h+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		httpd, err := lab.Command(ctx, h, "busybox", "httpd", "-f", "-p", "80", "-h", web)
		if err != nil {
			t.Fatal(err)
		}
		if err := httpd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = httpd.Process.Kill(); _ = httpd.Wait() })
	}
	addr := func(h string) string { return lab.Hosts[h].Addr.String() }

	// vipOnDirector checks the static VIP on the VM's eth1.
	vipOnDirector := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := d.run("ip -o addr show dev eth1")
			if got := strings.Contains(out, vip+"/24"); got != want {
				return fmt.Errorf("static VIP %s/24 on the director's eth1: %v, want %v:\n%s", vip, got, want, out)
			}
			return nil
		}
	}
	// linkScoped checks linkAddr on eth1 at scope link, or gone.
	linkScoped := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := d.run("ip -o -4 addr show dev eth1")
			var line string
			for l := range strings.SplitSeq(out, "\n") {
				if strings.Contains(l, linkAddr+"/24") {
					line = l
				}
			}
			if got := line != "" && strings.Contains(line, "scope link"); got != want || (!want && line != "") {
				return fmt.Errorf("%s/24 at scope link on the director's eth1: %v, want %v:\n%s", linkAddr, got, want, out)
			}
			return nil
		}
	}
	// reaches curls the VIP until every one of the hosts has answered.
	reaches := func(hosts ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			seen := map[string]bool{}
			var last string
			for range 30 {
				out, err := lab.Exec(ctx, "client", "curl", "-sS", "--max-time", "3", "http://"+vip+"/")
				last = fmt.Sprintf("%s %v", out, err)
				for _, h := range hosts {
					if err == nil && strings.Contains(string(out), "served by "+h) {
						seen[h] = true
					}
				}
				if len(seen) == len(hosts) {
					t.Logf("client -> %s (DR, static VIP) -> %s", vip, strings.Join(hosts, ", "))
					return nil
				}
				time.Sleep(500 * time.Millisecond)
			}
			return fmt.Errorf("through the VIP, answers from %v of %v; last: %s\ndirector:\n%s\n%s", seen, hosts, last,
				d.run("ipvsadm -Ln"), d.run("ip -o addr show dev eth1"))
		}
	}
	sideOn := func(host string, want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := exec(host, "ip", "-o", "addr", "show", "dev", "lo")
			arp := strings.TrimSpace(exec(host, "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore"))
			if got := strings.Contains(out, vip+"/32"); got != want || (want && arp != "1") {
				return fmt.Errorf("%s: VIP on lo %v (want %v), arp_ignore %s:\n%s", host, got, want, arp, out)
			}
			return nil
		}
	}
	provider := fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %[1]q
  known_hosts_files = [%[2]q]
  connect_timeout   = "20s"
  command_timeout   = "3m"
}
`, lab.ClientKeyPath, lab.KnownHostsPath)
	director := func(engine string) string {
		return fmt.Sprintf(`
resource "lvs_director" "d1" {
  engine = %[1]q
  interface = "eth1"
  static_address {
    address = "%[2]s/24"
  }
  static_address {
    address = "%[7]s/24"
    scope   = "link"
  }
  ssh {
    host              = %[3]q
    port              = %[4]s
    private_key_path  = %[5]q
    known_hosts_files = [%[6]q]
  }
}
`, engine, vip, d.host, d.port, v.KeyFile, v.KnownHosts, linkAddr)
	}
	dirSSH := fmt.Sprintf(`
  ssh {
    private_key_path  = %q
    known_hosts_files = [%q]
  }`, v.KeyFile, v.KnownHosts)
	realServer := func(name, host, check string, withHost bool) string {
		hostBlock := ""
		if withHost {
			hostBlock = fmt.Sprintf("\n  host {\n    host = %q\n  }", addr(host))
		}
		return fmt.Sprintf(`
resource "lvs_real_server" %q {
  virtual_server_id = lvs_virtual_server.web.id
  address           = %q%s%s
%s}
`, name, addr(host), dirSSH, hostBlock, check)
	}
	removeVIPByHand := func() { d.run("ip addr del " + vip + "/24 dev eth1") }
	driftStep := func(config string) resource.TestStep {
		return resource.TestStep{
			PreConfig: removeVIPByHand,
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("lvs_director.d1", plancheck.ResourceActionUpdate),
			}},
			Check: resource.ComposeTestCheckFunc(vipOnDirector(true), reaches("rs1")),
		}
	}

	t.Run("netlink", func(t *testing.T) {
		d.t = t
		vs := fmt.Sprintf(`
resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = %q
  port              = 80
  scheduler         = "rr"
  forwarding_method = "dr"%s
}

data "lvs_real_server_config" "rs3" {
  forwarding_method = "dr"
  vips              = [%q]
}
`, vip, dirSSH, vip)
		base := provider + director("netlink") + vs + realServer("rs1", "rs1", "", true)
		withRS3 := base + realServer("rs3", "rs3", "", false)
		runScript := func(s *terraform.State) error {
			script := s.RootModule().Resources["data.lvs_real_server_config.rs3"].Primary.Attributes["script"]
			if !strings.Contains(script, "ip addr replace "+vip+"/32 dev lo") {
				return fmt.Errorf("the data source's script does not put the VIP on lo:\n%s", script)
			}
			for range 2 { // idempotent: the second run changes nothing and succeeds
				if out, err := lab.Exec(ctx, "rs3", "sh", "-c", script); err != nil {
					return fmt.Errorf("running the data source's script on rs3: %w\n%s", err, out)
				}
			}
			return sideOn("rs3", true)(s)
		}
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: d.factories(),
			CheckDestroy:             resource.ComposeTestCheckFunc(vipOnDirector(false), linkScoped(false)),
			Steps: []resource.TestStep{
				{
					Config: base,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("lvs_director.d1", tfjsonpath.New("static_address").AtSliceIndex(0).AtMapKey("address"), knownvalue.StringExact(vip+"/24")),
					},
					Check: resource.ComposeTestCheckFunc(vipOnDirector(true), linkScoped(true), reaches("rs1"), runScript),
				},
				driftStep(base),
				{
					// The scoped address put back by hand at the default
					// scope: the plan shows the scope, the apply restores it.
					PreConfig: func() {
						d.run("ip addr del " + linkAddr + "/24 dev eth1 && ip addr add " + linkAddr + "/24 dev eth1")
					},
					Config: base,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.d1", plancheck.ResourceActionUpdate),
					}},
					Check: resource.ComposeTestCheckFunc(linkScoped(true), vipOnDirector(true), reaches("rs1")),
				},
				{
					Config: withRS3,
					Check:  reaches("rs1", "rs3"),
				},
				{
					// A reboot takes the VIP and the netlink services out of
					// the kernel; the agent's boot restore puts them back
					// before anyone applies: the plan is empty.
					PreConfig: func() {
						rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
						defer cancel()
						if err := v.Reboot(rctx); err != nil {
							t.Fatal(err)
						}
						t.Logf("reboot to SSH took %v", v.BootTime.Round(100*time.Millisecond))
						if err := waitFor(30*time.Second, func() error { return vipOnDirector(true)(nil) }); err != nil {
							t.Errorf("after the reboot, before any apply: %v\nrestore: %s", err, d.run("cat /run/lvs-agent-restore.json 2>/dev/null; systemctl status lvs-agent-restore 2>/dev/null | tail -5; true"))
						}
					},
					Config: withRS3,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectEmptyPlan(),
					}},
					Check: reaches("rs1", "rs3"),
				},
			},
		})
	})

	t.Run("keepalived", func(t *testing.T) {
		d.t = t
		vs := fmt.Sprintf(`
resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = %q
  port              = 80
  scheduler         = "rr"
  forwarding_method = "dr"
  delay_loop        = 1%s
  sorry_server {
    address = %q
    host {
      host = %q
    }
  }
}
`, vip, dirSSH, addr("rs2"), addr("rs2"))
		check := func(port int) string {
			return fmt.Sprintf("  tcp_check {\n    connect_port       = %d\n    connect_timeout    = 1\n    retry              = 1\n    delay_before_retry = 1\n  }\n", port)
		}
		healthy := provider + director("keepalived") + vs + realServer("rs1", "rs1", check(80), true)
		failing := provider + director("keepalived") + vs + realServer("rs1", "rs1", check(81), true)
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: d.factories(),
			CheckDestroy:             resource.ComposeTestCheckFunc(vipOnDirector(false), sideOn("rs2", false)),
			Steps: []resource.TestStep{
				{
					Config: healthy,
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("lvs_virtual_server.web", tfjsonpath.New("sorry_server").AtMapKey("host_in_sync"), knownvalue.Bool(true)),
					},
					Check: resource.ComposeTestCheckFunc(vipOnDirector(true), sideOn("rs2", true), reaches("rs1")),
				},
				driftStep(healthy),
				{
					// rs1's check fails: keepalived takes it out and puts the
					// sorry server in; rs2 answers through the VIP.
					Config: failing,
					Check:  reaches("rs2"),
				},
			},
		})
	})
}
