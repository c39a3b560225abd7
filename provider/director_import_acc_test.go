//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// handBuiltDirector is a VRRP-only director as an operator set it up by
// hand: two instances with unicast adverts to a peer (%[2]s, a director
// this lab does not start, so dir1 stays MASTER), a notification_email in
// global_defs (which the import carries into the director's global_defs). %[1]s is dir1's address, %[3]s and %[4]s
// the VIPs.
const handBuiltDirector = `! hand-built director
global_defs {
    router_id dir1
    notification_email { ops@example.com }
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 61
    priority 150
    advert_int 1
    unicast_src_ip %[1]s
    unicast_peer {
        %[2]s
    }
    authentication {
        auth_type PASS
        auth_pass handpass
    }
    virtual_ipaddress {
        %[3]s/24
    }
}

vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 62
    priority 150
    advert_int 1
    unicast_src_ip %[1]s
    unicast_peer {
        %[2]s
    }
    virtual_ipaddress {
        %[4]s/24 dev eth0
    }
}
`

// vipWatch polls `ip addr` in a host's namespace until stopped and counts
// the samples that lack one of the VIPs.
type vipWatch struct {
	stop             chan struct{}
	wg               sync.WaitGroup
	samples, missing atomic.Int64
	firstMissing     atomic.Value // string: the VIP missing first
}

func (a *accLab) watchVIPs(host string, vips ...string) *vipWatch {
	w := &vipWatch{stop: make(chan struct{})}
	w.wg.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			out, err := a.Exec(context.Background(), host, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
			if err == nil {
				w.samples.Add(1)
				for _, v := range vips {
					if !strings.Contains(string(out), " "+v+"/") {
						w.missing.Add(1)
						w.firstMissing.CompareAndSwap(nil, v)
						break
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return w
}

func (w *vipWatch) finish() (samples, missing int64) {
	close(w.stop)
	w.wg.Wait()
	return w.samples.Load(), w.missing.Load()
}

// TestAccDirector_adoptHandBuilt imports a director whose keepalived.conf
// and running keepalived were set up by hand, then applies the matching
// configuration: the plan shows only the takeover (keepalived_in_sync),
// the apply reloads the same keepalived with the rendered file, and
// neither VIP leaves the MASTER at any moment; then nothing is left to do,
// the file is ours and a second import verifies.
func TestAccDirector_adoptHandBuilt(t *testing.T) {
	a := startAccLab(t, "dir1")
	vip1, vip2, peer := a.vip(110), a.vip(111), a.vip(12)
	hand := fmt.Sprintf(handBuiltDirector, a.addr("dir1"), peer, vip1, vip2)
	conf := a.Hosts["dir1"].Path("/etc/keepalived/keepalived.conf")
	if err := os.WriteFile(conf, []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	a.exec("dir1", "keepalived", "-D", "-P", "-f", "/etc/keepalived/keepalived.conf", "-p", "/run/keepalived.pid")
	if err := waitFor(15*time.Second, func() error {
		if !a.hasVIP("dir1", vip1) || !a.hasVIP("dir1", vip2) {
			return fmt.Errorf("dir1 does not hold %s and %s", vip1, vip2)
		}
		return nil
	}); err != nil {
		t.Fatalf("the hand-started keepalived: %v", err)
	}
	config := a.providerConfig() + fmt.Sprintf(`
resource "lvs_director" "dir1" {
  ssh {
    host = %[1]q
  }
  router_id = "dir1"

  # Carried over from the hand-written global_defs, as the import reads it.
  global_defs {
    notification_email = ["ops@example.com"]
  }

  vrrp_instance {
    name              = "VI_1"
    interface         = "eth0"
    state             = "MASTER"
    virtual_router_id = 61
    priority          = 150
    advert_int        = 1
    unicast_src_ip    = %[1]q
    unicast_peers     = [%[2]q]
    authentication {
      type     = "PASS"
      password = "handpass"
    }
    virtual_ipaddress {
      address = "%[3]s/24"
    }
  }

  vrrp_instance {
    name              = "VI_2"
    interface         = "eth0"
    state             = "MASTER"
    virtual_router_id = 62
    priority          = 150
    advert_int        = 1
    unicast_src_ip    = %[1]q
    unicast_peers     = [%[2]q]
    virtual_ipaddress {
      address = "%[4]s/24"
      dev     = "eth0"
    }
  }
}
`, a.addr("dir1"), peer, vip1, vip2)
	var pid string
	var watch *vipWatch

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			// Import: the director comes from the hand-written file.
			{
				Config:             config,
				ResourceName:       "lvs_director.dir1",
				ImportState:        true,
				ImportStateId:      a.addr("dir1"),
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					st := importedWith(s, "id", "root@"+a.addr("dir1")+":22")
					if st == nil {
						return fmt.Errorf("no imported director: %v", s)
					}
					want := map[string]string{
						"router_id":                                   "dir1",
						"keepalived_in_sync":                          "false",
						"vrrp_instance.#":                             "2",
						"vrrp_instance.0.name":                        "VI_1",
						"vrrp_instance.0.unicast_peers.0":             peer,
						"vrrp_instance.0.authentication.password":     "handpass",
						"vrrp_instance.0.virtual_ipaddress.0.address": vip1 + "/24",
						"vrrp_instance.1.virtual_ipaddress.0.dev":     "eth0",
					}
					for k, v := range want {
						if st.Attributes[k] != v {
							return fmt.Errorf("imported %s = %q, want %q (all: %v)", k, st.Attributes[k], v, st.Attributes)
						}
					}
					return nil
				},
			},
			// The apply takes the file over: a reload, the VIPs stay.
			{
				PreConfig: func() {
					pid = a.keepalivedPID("dir1")
					watch = a.watchVIPs("dir1", vip1, vip2)
					time.Sleep(300 * time.Millisecond) // samples from before the apply
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					time.Sleep(3 * time.Second) // a few adverts after the reload
					samples, missing := watch.finish()
					t.Logf("VIPs watched %d times during the adoption, missing %d", samples, missing)
					if missing > 0 || samples < 10 {
						return fmt.Errorf("a VIP (first %v) was missing in %d of %d samples during the adoption, want 0 of at least 10",
							watch.firstMissing.Load(), missing, samples)
					}
					if now := a.keepalivedPID("dir1"); now != pid || !processRuns(now) {
						return fmt.Errorf("keepalived pid %s -> %s: restarted, not reloaded", pid, now)
					}
					b, err := os.ReadFile(conf)
					if err != nil || !strings.HasPrefix(string(b), render.ManagedMarker) {
						return fmt.Errorf("keepalived.conf is not ours after the apply (%w):\n%s", err, b)
					}
					before, _, err := keepalivedconf.Parse(strings.NewReader(hand), "hand")
					if err != nil {
						return err
					}
					after, _, err := keepalivedconf.Parse(strings.NewReader(string(b)), "installed")
					if err != nil {
						return err
					}
					if !keepalivedconf.Equivalent(before, after) {
						return fmt.Errorf("the installed keepalived.conf says something else than the hand-written one:\n%s", b)
					}
					return nil
				},
			},
			// A second import reads the director the host now stores.
			{
				Config:            config,
				ResourceName:      "lvs_director.dir1",
				ImportState:       true,
				ImportStateId:     a.addr("dir1"),
				ImportStateVerify: true,
			},
		},
	})
}

// handBuiltKeepalivedService is a keepalived-engine director set up by
// hand on the VM: a DR service with two real servers (no health checks,
// so both stay in the table).
const handBuiltKeepalivedService = `! hand-built director
virtual_server 10.0.0.40 80 {
    delay_loop 5
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.40 80 {
        weight 3
    }
    real_server 192.168.1.41 80 {
        weight 2
    }
}
virtual_server_group web2 {
    10.0.0.50 80
    10.0.0.51 80
}
virtual_server group web2 {
    delay_loop 5
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.50 80 {
        weight 1
    }
}
`

// TestAccDirector_adoptHandBuiltService imports a VM director whose
// keepalived.conf, written and started by hand, programs an IPVS service,
// and one lvs_virtual_server of it with one of its two lvs_real_servers,
// and a group service (virtual_server_group) with its lvs_virtual_server; the apply takes the file over with the
// service in it: the service and both its real servers (one not in
// Terraform) never leave the kernel's table, keepalived is reloaded, not
// restarted, and the plan is empty after.
func TestAccDirector_adoptHandBuiltService(t *testing.T) {
	d := startVMDirector(t, "accadopt")
	dirID := "root@" + d.host + ":" + d.port
	d.run("systemctl stop keepalived 2>/dev/null; mkdir -p /etc/keepalived && cat > /etc/keepalived/keepalived.conf <<'EOF'\n" +
		handBuiltKeepalivedService + "EOF\nkeepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid")
	want := []string{"-A -t 10.0.0.40:80 -s wrr", "-a -t 10.0.0.40:80 -r 192.168.1.40:80 -g -w 3",
		"-a -t 10.0.0.40:80 -r 192.168.1.41:80 -g -w 2",
		"-A -t 10.0.0.50:80 -s rr", "-a -t 10.0.0.50:80 -r 192.168.1.50:80 -g -w 1",
		"-A -t 10.0.0.51:80 -s rr", "-a -t 10.0.0.51:80 -r 192.168.1.50:80 -g -w 1"}
	for _, w := range want {
		d.waitFor("ipvsadm-save -n", w)()
	}
	t.Logf("table of the hand-started keepalived:\n%s", d.run("ipvsadm-save -n"))
	config := d.configEngine("keepalived", `
resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.40"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
  delay_loop        = 5
}

resource "lvs_virtual_server" "grp" {
  directors         = [lvs_director.d1.id]
  scheduler         = "rr"
  forwarding_method = "dr"
  delay_loop        = 5
  group {
    name = "web2"
    member {
      address = "10.0.0.50"
      port    = 80
    }
    member {
      address = "10.0.0.51"
      port    = 80
    }
  }
}

resource "lvs_real_server" "rs40" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.40"
  weight            = 3
}
`)
	var pid string
	var stop chan struct{}
	var done chan struct{}
	var samples, missing int
	var firstBad string
	watch := func() {
		stop, done = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				res, err := d.vm.Run(ctx, "ipvsadm-save -n", nil)
				cancel()
				if err != nil {
					continue
				}
				samples++
				for _, w := range want {
					if !strings.Contains(res.Stdout, w) {
						missing++
						if firstBad == "" {
							firstBad = res.Stdout
						}
						break
					}
				}
			}
		}()
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       "lvs_director.d1",
				ImportState:        true,
				ImportStateId:      dirID,
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					st := importedWith(s, "id", dirID)
					if st == nil || st.Attributes["keepalived_in_sync"] != "false" {
						return fmt.Errorf("imported director: %v", s)
					}
					return nil
				},
			},
			{
				Config:             config,
				ResourceName:       "lvs_virtual_server.web",
				ImportState:        true,
				ImportStateId:      "tcp/10.0.0.40:80@" + dirID,
				ImportStatePersist: true,
			},
			// A group service, which only the file can describe.
			{
				Config:             config,
				ResourceName:       "lvs_virtual_server.grp",
				ImportState:        true,
				ImportStateId:      "group/web2/tcp@" + dirID,
				ImportStatePersist: true,
			},
			// One of its real servers too: its first apply waits for the
			// director's adoption, which stores its virtual server.
			{
				Config:             config,
				ResourceName:       "lvs_real_server.rs40",
				ImportState:        true,
				ImportStateId:      "tcp/10.0.0.40:80/192.168.1.40:80@" + dirID,
				ImportStatePersist: true,
			},
			{
				PreConfig: func() {
					pid = strings.TrimSpace(d.run("cat /run/keepalived.pid"))
					watch()
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.d1", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_virtual_server.web", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_virtual_server.grp", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					time.Sleep(2 * time.Second)
					close(stop)
					<-done
					t.Logf("IPVS table read %d times during the adoption, incomplete %d", samples, missing)
					if missing > 0 || samples < 3 {
						return fmt.Errorf("the service was incomplete in %d of %d reads of the table during the adoption, "+
							"want 0 of at least 3; first:\n%s", missing, samples, firstBad)
					}
					if now := strings.TrimSpace(d.run("cat /run/keepalived.pid")); now != pid {
						return fmt.Errorf("keepalived pid %s -> %s: restarted, not reloaded", pid, now)
					}
					if conf := d.run("cat /etc/keepalived/keepalived.conf"); !strings.HasPrefix(conf, render.ManagedMarker) ||
						!strings.Contains(conf, "192.168.1.41") {
						return fmt.Errorf("keepalived.conf after the adoption is not ours or lacks the real server not in Terraform:\n%s", conf)
					}
					return d.expectRules(want...)(nil)
				},
			},
			{ResourceName: "lvs_director.d1", ImportState: true, ImportStateId: d.host + ":" + d.port, ImportStateVerify: true},
			{ResourceName: "lvs_virtual_server.web", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_virtual_server.grp", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_real_server.rs40", ImportState: true, ImportStateVerify: true},
		},
	})
}
