//go:build linux

package provider

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// TestAccFwmark_vm proves a fwmark service end to end on a director VM (a
// real IPVS kernel with nf_tables, and no nft or iptables binary) on the
// bridge of a namespace lab: the fwmark_match block marks tcp 80 and 8080
// to the VIP with mark 7, IPVS sends the marked packets by DR to rs1, which
// serves HTTP on both ports. Under both engines (one VM, one subtest each):
//
//   - traffic from client through the VIP on both ports, counted by the
//     agent's nftables rules;
//   - netlink: a rule deleted by hand (nfthand, a small netlink tool
//     uploaded to the VM) breaks port 8080, shows in the plan as an update
//     and the apply puts it back; keepalived: the whole table deleted by
//     hand likewise;
//   - netlink: a reboot, after which the agent's boot restore brings the
//     marks (and the IPVS service) back: the plan is empty and traffic flows;
//   - destroy removes the table.
func TestAccFwmark_vm(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	hand := buildNfthand(t)
	lab := netns.Start(t, netns.Config{Name: "lvsx4", Subnet: netip.MustParsePrefix("10.134.0.0/24"), Hosts: []string{"rs1", "client"}})
	start := time.Now()
	v := vm.Start(t, vm.Config{Name: "x4d1", Bridge: lab.Bridge, BridgeAddr: netip.MustParsePrefix("10.134.0.90/24")})
	t.Logf("VM director up after %v", time.Since(start).Round(100*time.Millisecond))
	d := &vmDirector{t: t, vm: v, provider: &lvsProvider{version: "acctest", agentBins: bins}}
	var err error
	if d.host, d.port, err = net.SplitHostPort(v.SSHAddr); err != nil {
		t.Fatal(err)
	}
	const vip = "10.134.0.100"
	// The VIP a VRRP instance (or a static address) would hold.
	addVIP := func() { d.run("ip addr add " + vip + "/32 dev eth1 2>/dev/null || true") }
	addVIP()
	nfthand := func(args string) string {
		d.t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := v.Run(ctx, "test -x /tmp/nfthand", nil); err != nil {
			if err := v.Upload(ctx, "/tmp/nfthand", hand, 0o755); err != nil {
				d.t.Fatal(err)
			}
		}
		return d.run("/tmp/nfthand " + args)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	web := filepath.Join(lab.Hosts["rs1"].Dir, "www")
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("served by rs1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"80", "8080"} {
		httpd, err := lab.Command(ctx, "rs1", "busybox", "httpd", "-f", "-p", port, "-h", web)
		if err != nil {
			t.Fatal(err)
		}
		if err := httpd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = httpd.Process.Kill(); _ = httpd.Wait() })
	}
	get := func(port string) (string, error) {
		out, err := lab.Exec(ctx, "client", "curl", "-sS", "--max-time", "3", "http://"+vip+":"+port+"/")
		return string(out), err
	}
	through := func(ports ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, port := range ports {
				var last string
				ok := false
				for range 15 {
					out, err := get(port)
					if err == nil && strings.Contains(out, "served by rs1") {
						ok = true
						break
					}
					last = fmt.Sprintf("%s %v", out, err)
					time.Sleep(time.Second)
				}
				if !ok {
					return fmt.Errorf("no answer from rs1 through %s:%s: %s\ndirector:\n%s\n%s", vip, port, last,
						d.run("ipvsadm -Ln --stats"), nfthand("list"))
				}
			}
			d.t.Logf("client -> %s:{%s} (mark 7, DR) -> rs1; the marks:\n%s", vip, strings.Join(ports, ","), nfthand("list"))
			return nil
		}
	}
	notThrough := func(port string) {
		d.t.Helper()
		if out, err := get(port); err == nil && strings.Contains(out, "served by rs1") {
			d.t.Fatalf("port %s still reaches rs1 without its mark: the marks are not what routes it", port)
		}
	}
	marked := func(want int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := nfthand("list")
			if n := strings.Count(out, " mark 7 packets "); n != want || strings.Contains(out, "foreign") {
				return fmt.Errorf("the agent's table holds %d mark rules, want %d:\n%s", n, want, out)
			}
			return nil
		}
	}
	noTable := func(*terraform.State) error {
		if out := strings.TrimSpace(nfthand("list")); out != "no table" {
			return fmt.Errorf("the table stays after destroy:\n%s", out)
		}
		return nil
	}

	rs1 := lab.Hosts["rs1"].Addr.String()
	body := fmt.Sprintf(`
resource "lvs_virtual_server" "fw" {
  directors         = [lvs_director.d1.id]
  fwmark            = 7
  scheduler         = "rr"
  forwarding_method = "dr"
  fwmark_match {
    protocol     = "tcp"
    destinations = [%[1]q]
    ports        = [80, 8080]
  }
}

resource "lvs_real_server" "rs1" {
  virtual_server_id = lvs_virtual_server.fw.id
  address           = %[2]q
  tcp_check {
    connect_port = 80
  }
  host {
    host              = %[2]q
    vips              = [%[1]q]
    private_key_path  = %[3]q
    known_hosts_files = [%[4]q]
  }
}
`, vip, rs1, lab.ClientKeyPath, lab.KnownHostsPath)
	const vs = "lvs_virtual_server.fw"

	for _, engine := range []string{"netlink", "keepalived"} {
		t.Run(engine, func(t *testing.T) {
			d.t = t
			config := d.configEngine(engine, body)
			// netlink: a rule deleted by hand, then a reboot; keepalived:
			// the whole table deleted by hand (each step costs about a
			// minute of CI here, so the two drifts are split between them).
			steps := []resource.TestStep{
				{Config: config, Check: resource.ComposeTestCheckFunc(through("80", "8080"), marked(2))},
			}
			drift := func() {
				nfthand("delete-port 8080")
				notThrough("8080")
			}
			if engine == "keepalived" {
				drift = func() { nfthand("delete-table") }
			}
			steps = append(steps, resource.TestStep{
				PreConfig: drift,
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(through("80", "8080"), marked(2)),
			})
			if engine == "netlink" {
				steps = append(steps, resource.TestStep{
					PreConfig: func() {
						rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Minute)
						defer rcancel()
						rebootAt := time.Now()
						if err := v.Reboot(rctx); err != nil {
							t.Fatal(err)
						}
						t.Logf("rebooted in %v; restore log: %s", time.Since(rebootAt).Round(100*time.Millisecond),
							d.run("cat /run/lvs-agent-restore.json 2>&1 | head -c 300"))
						addVIP()
					},
					Config: config,
					ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
						plancheck.ExpectEmptyPlan(),
					}},
					Check: resource.ComposeTestCheckFunc(through("80", "8080"), marked(2)),
				})
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: d.factories(),
				CheckDestroy:             noTable,
				Steps:                    steps,
			})
		})
	}
}

// buildNfthand builds the hand-edit tool for the VM's architecture.
func buildNfthand(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "nfthand")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "../internal/nftmark/nfthand")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building nfthand: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
