//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// The managed sysctl of the director tests: per network namespace, so each
// lab host has its own, and off by default.
const (
	accSysctlKey  = "net.ipv4.ip_nonlocal_bind"
	accSysctlPath = "/proc/sys/net/ipv4/ip_nonlocal_bind"
)

// directorPair is two directors in VRRP: dir1 MASTER (priority 120), dir2
// BACKUP (priority p2), sharing one VIP, each with instances instances.
func directorPair(a *accLab, p2, instances int) string {
	var b strings.Builder
	b.WriteString(a.providerConfig())
	for i, d := range []struct {
		name, state string
		prio        int
	}{{"dir1", "MASTER", 120}, {"dir2", "BACKUP", p2}} {
		fmt.Fprintf(&b, `
resource "lvs_director" %[1]q {
  ssh {
    host = %[2]q
  }
  interface = "eth0"
  router_id = %[1]q
`, d.name, a.addr(d.name))
		for n := 0; n < instances; n++ {
			fmt.Fprintf(&b, `
  vrrp_instance {
    name              = "VI_%[1]d"
    state             = %[2]q
    virtual_router_id = %[3]d
    priority          = %[4]d
    advert_int        = 1
    virtual_ipaddress {
      address = "%[5]s/24"
    }
  }
`, n+1, d.state, 51+n, d.prio, a.vip(100+n))
		}
		fmt.Fprintf(&b, `
  sysctl {
    key    = %q
    value  = "1"
    reason = "VIPs may be bound before this director holds them"
  }
}
`, accSysctlKey)
		_ = i
	}
	return b.String()
}

// waitFor polls cond every 200ms until it holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hasVIP reports whether a host holds the VIP on eth0.
func (a *accLab) hasVIP(host, vip string) bool {
	out, err := a.Exec(context.Background(), host, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
	return err == nil && strings.Contains(string(out), " "+vip+"/")
}

// keepalivedPID is the pid in the host's keepalived pid file, or "".
func (a *accLab) keepalivedPID(host string) string {
	h, _ := a.Host(host)
	out, err := a.Exec(context.Background(), host, "cat", "/run/keepalived.pid")
	if err != nil || h == nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestAccDirector_vrrpPairLifecycle(t *testing.T) {
	a := startAccLab(t, "dir1", "dir2")
	vip := a.vip(100)
	before := map[string]string{}
	for _, h := range []string{"dir1", "dir2"} {
		before[h] = strings.TrimSpace(a.exec(h, "cat", accSysctlPath))
	}
	dir1, dir2 := a.Hosts["dir1"], a.Hosts["dir2"]

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy: func(*terraform.State) error {
			var errs []error
			for _, h := range []string{"dir1", "dir2"} {
				host := a.Hosts[h]
				for what, p := range map[string]string{
					"keepalived.conf":     "/etc/keepalived/keepalived.conf",
					"the director object": "/var/lib/lvs-agent/objects/director/director.json",
				} {
					if _, err := os.Stat(host.Path(p)); err == nil {
						errs = append(errs, fmt.Errorf("%s: %s (%s) still there after destroy", h, what, p))
					} else if !os.IsNotExist(err) {
						errs = append(errs, fmt.Errorf("%s: %w", h, err))
					}
				}
				if v := strings.TrimSpace(a.exec(h, "cat", accSysctlPath)); v != before[h] {
					errs = append(errs, fmt.Errorf("%s: %s = %s after destroy, was %s", h, accSysctlKey, v, before[h]))
				}
				if pid := a.keepalivedPID(h); pid != "" {
					if processRuns(pid) {
						errs = append(errs, fmt.Errorf("%s: keepalived (pid %s) still runs after destroy", h, pid))
					}
				}
				if a.hasVIP(h, vip) {
					errs = append(errs, fmt.Errorf("%s: still holds the VIP %s", h, vip))
				}
			}
			return errors.Join(errs...)
		},
		Steps: []resource.TestStep{
			// Create: both directors, dir1 takes the VIP.
			{
				Config: directorPair(a, 100, 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("id"),
						knownvalue.StringExact("root@"+a.addr("dir1")+":22")),
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("agent_version"),
						knownvalue.NotNull()),
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("derived_sysctls_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_director.dir1", tfjsonpath.New("ipvs_available"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue("lvs_director.dir2",
						tfjsonpath.New("vrrp_instance").AtSliceIndex(0).AtMapKey("priority"), knownvalue.Int64Exact(100)),
					statecheck.ExpectKnownValue("lvs_director.dir2",
						tfjsonpath.New("sysctl").AtSliceIndex(0).AtMapKey("value"), knownvalue.StringExact("1")),
				},
				Check: func(*terraform.State) error {
					for _, h := range []string{"dir1", "dir2"} {
						if v := strings.TrimSpace(a.exec(h, "cat", accSysctlPath)); v != "1" {
							return fmt.Errorf("%s: %s = %s, want 1", h, accSysctlKey, v)
						}
					}
					return waitFor(15*time.Second, func() error {
						if !a.hasVIP("dir1", vip) || a.hasVIP("dir2", vip) {
							return fmt.Errorf("VIP %s: on dir1 %v, on dir2 %v; want dir1 (MASTER) only",
								vip, a.hasVIP("dir1", vip), a.hasVIP("dir2", vip))
						}
						return nil
					})
				},
			},
			// Import by host: the stored director comes back as written.
			{
				ResourceName:      "lvs_director.dir1",
				ImportState:       true,
				ImportStateId:     a.addr("dir1"),
				ImportStateVerify: true,
			},
			// Update in place (priority), then nothing left to do.
			{
				Config: directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir2", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					conf, err := os.ReadFile(dir2.Path("/etc/keepalived/keepalived.conf"))
					if err != nil {
						return err
					}
					if !strings.Contains(string(conf), "priority 110") {
						return fmt.Errorf("dir2 keepalived.conf does not say priority 110:\n%s", conf)
					}
					return nil
				},
			},
			// Drift: keepalived stopped by hand on dir2 -> planned update, apply restarts it.
			{
				PreConfig: func() {
					pid := a.keepalivedPID("dir2")
					if pid == "" {
						t.Fatal("dir2: keepalived has no pid file")
					}
					a.exec("dir2", "kill", pid)
					if err := waitFor(10*time.Second, func() error {
						if processRuns(pid) {
							return errors.New("keepalived still runs")
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir2", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("lvs_director.dir2", tfjsonpath.New("keepalived_in_sync"), knownvalue.Bool(true)),
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionNoop),
					},
				},
				Check: func(*terraform.State) error {
					pid := a.keepalivedPID("dir2")
					if pid == "" {
						return errors.New("dir2: keepalived was not restarted (no pid file)")
					}
					if !processRuns(pid) {
						return fmt.Errorf("dir2: keepalived was not restarted (pid %s is not running)", pid)
					}
					return nil
				},
			},
			// Drift: keepalived.conf edited by hand (our marker kept) -> planned update, apply reinstalls it.
			{
				PreConfig: func() {
					p := dir2.Path("/etc/keepalived/keepalived.conf")
					conf, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					edited := strings.Replace(string(conf), "priority 110", "priority 130", 1)
					if edited == string(conf) {
						t.Fatalf("dir2 keepalived.conf has no priority 110:\n%s", conf)
					}
					if err := os.WriteFile(p, []byte(edited), 0o600); err != nil {
						t.Fatal(err)
					}
				},
				Config: directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir2", plancheck.ResourceActionUpdate),
					},
				},
				Check: func(*terraform.State) error {
					conf, err := os.ReadFile(dir2.Path("/etc/keepalived/keepalived.conf"))
					if err != nil {
						return err
					}
					if strings.Contains(string(conf), "priority 130") || !strings.Contains(string(conf), "priority 110") {
						return fmt.Errorf("dir2 keepalived.conf was not repaired:\n%s", conf)
					}
					return nil
				},
			},
			// Drift: the managed sysctl reset by hand on dir1 -> a diff on its sysctl block; apply sets it again.
			{
				PreConfig: func() { a.exec("dir1", "sysctl", "-q", "-w", accSysctlKey+"=0") },
				Config:    directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_director.dir2", plancheck.ResourceActionNoop),
					},
				},
				Check: func(*terraform.State) error {
					if v := strings.TrimSpace(a.exec("dir1", "cat", accSysctlPath)); v != "1" {
						return fmt.Errorf("dir1: %s = %s after apply, want 1", accSysctlKey, v)
					}
					return nil
				},
			},
			// An unreachable host is an error, never a removal from the state.
			{
				PreConfig:   func() { a.exec("dir2", "ip", "link", "set", "eth0", "down") },
				Config:      directorPair(a, 110, 1),
				PlanOnly:    true,
				ExpectError: phrase("Unable to Read Director"),
			},
			{
				PreConfig: func() {
					a.exec("dir2", "ip", "link", "set", "eth0", "up")
					a.exec("dir2", "ip", "route", "replace", "default", "via", a.Gateway.String())
				},
				Config: directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			// The director object deleted on the host -> planned re-creation.
			{
				PreConfig: func() {
					if err := os.Remove(dir1.Path("/var/lib/lvs-agent/objects/director/director.json")); err != nil {
						t.Fatal(err)
					}
				},
				Config: directorPair(a, 110, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_director.dir1", plancheck.ResourceActionCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// The cost of a create grows with hosts, not with what a host carries:
// creating two directors costs each host one apply, and the same number
// of agent calls whether each director has one VRRP instance or four.
func TestAccDirector_costPerHost(t *testing.T) {
	a := startAccLab(t, "dir1", "dir2")
	calls := map[int]map[string]int{}
	for _, n := range []int{1, 4} {
		var from int
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: a.factories(),
			Steps: []resource.TestStep{{
				PreConfig: func() { from = a.configures() },
				Config:    directorPair(a, 100, n),
				Check: func(*terraform.State) error {
					calls[n] = map[string]int{}
					var errs []error
					for _, h := range []string{"dir1", "dir2"} {
						s := a.stats(h, from)
						t.Logf("%d instance(s): %s: %d agent calls, %d applies, %d observes for %d reads, reloads %v",
							n, h, s.AgentCalls, s.Applies, s.Observes, s.Reads, s.Reloads)
						calls[n][h] = s.AgentCalls
						if s.Applies != 1 {
							errs = append(errs, fmt.Errorf("%s: %d applies for one create, want 1", h, s.Applies))
						}
						if s.Reloads["keepalived"] > 1 {
							errs = append(errs, fmt.Errorf("%s: keepalived reloaded %d times, want at most 1", h, s.Reloads["keepalived"]))
						}
						if s.AgentCalls > 2 {
							errs = append(errs, fmt.Errorf("%s: %d agent calls for one create, want at most 2", h, s.AgentCalls))
						}
					}
					return errors.Join(errs...)
				},
			}},
		})
	}
	for _, h := range []string{"dir1", "dir2"} {
		if calls[1][h] != calls[4][h] {
			t.Errorf("%s: %d agent calls with 1 instance, %d with 4: the cost depends on what the director carries",
				h, calls[1][h], calls[4][h])
		}
	}
}

// Bad input is refused at plan time, at its attribute, before any host is
// touched (no lab needed: the host does not exist).
func TestAccDirector_validation(t *testing.T) {
	const head = `
resource "lvs_director" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  interface = "eth0"
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: head + `
  vrrp_instance {
    name              = "VI_1"
    virtual_router_id = 300
    priority          = 100
  }
}`,
				PlanOnly:    true,
				ExpectError: phrase("Attribute vrrp_instance[0].virtual_router_id value must be between 1 and 255, got: 300"),
			},
			{
				Config: head + `
  vrrp_instance {
    name              = "VI_1"
    state             = "MASTER"
    nopreempt         = true
    virtual_router_id = 51
    priority          = 100
  }
}`,
				PlanOnly:    true,
				ExpectError: phrase("vrrp_instance[0].nopreempt"),
			},
			{
				Config: `
resource "lvs_director" "bad" {
  interface = "eth0"
}`,
				PlanOnly:    true,
				ExpectError: phrase("Must set a configuration value for the ssh.host attribute"),
			},
		},
	})
}

func TestParseHostImportID(t *testing.T) {
	for id, want := range map[string][3]string{
		"10.0.0.2":           {"", "10.0.0.2", "0"},
		"root@10.0.0.2":      {"root", "10.0.0.2", "0"},
		"ops@dir1:2222":      {"ops", "dir1", "2222"},
		"dir1.example.com":   {"", "dir1.example.com", "0"},
		"fd00::2":            {"", "fd00::2", "0"},
		"root@[fd00::2]:22":  {"root", "fd00::2", "22"},
		"[fd00::2]":          {"", "fd00::2", "0"},
		"root@10.0.0.2:22":   {"root", "10.0.0.2", "22"},
		"me@jump@10.0.0.2:2": {"me@jump", "10.0.0.2", "2"},
	} {
		user, host, port, err := parseHostImportID(id)
		if err != nil || user != want[0] || host != want[1] || fmt.Sprint(port) != want[2] {
			t.Errorf("parseHostImportID(%q) = %q, %q, %d, %v; want %v", id, user, host, port, err, want)
		}
	}
	for _, bad := range []string{"", "@host", "root@", "host:0", "host:x", "[fd00::2", "[fd00::2]x", "a:b:c", "a b"} {
		if _, _, _, err := parseHostImportID(bad); err == nil {
			t.Errorf("parseHostImportID(%q): want an error", bad)
		}
	}
}

// A derived sysctl (DR: no ICMP redirects) reset by hand is drift on
// derived_sysctls_in_sync; the director's own sysctls are left out, and a
// value the agent could not read is not drift.
func TestDerivedSysctlsInSync(t *testing.T) {
	dir := &model.Director{Interface: "eth0", Sysctls: []model.Sysctl{{Key: "net.core.somaxconn", Value: "4096"}}}
	vs := &model.VirtualServer{Address: netip.MustParseAddr("10.0.0.100"), Port: 80, ForwardingMethod: "dr"}
	rs := &model.RealServer{Address: netip.MustParseAddr("10.0.0.21"), Port: 80}
	obs := &wire.Observed{
		Objects: []wire.Object{
			{Key: directorKey, Director: dir},
			{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: vs},
			{Key: wire.Key{Kind: wire.KindRealServer, ID: vs.Key() + "/" + rs.Key(vs)}, RealServer: rs},
		},
		Sysctls: map[string]string{
			"net.ipv4.conf.all.send_redirects":     "0",
			"net.ipv4.conf.default.send_redirects": "0",
			"net.ipv4.conf.eth0.send_redirects":    "0",
			"net.core.somaxconn":                   "128", // the director's own: its block shows it
		},
	}
	if !derivedSysctlsInSync(obs, dir) {
		t.Error("all derived sysctls have their values: want in sync")
	}
	obs.Sysctls["net.ipv4.conf.eth0.send_redirects"] = "1"
	if derivedSysctlsInSync(obs, dir) {
		t.Error("send_redirects reset on eth0: want out of sync")
	}
	delete(obs.Sysctls, "net.ipv4.conf.eth0.send_redirects")
	if !derivedSysctlsInSync(obs, dir) {
		t.Error("a value the agent could not read is not drift")
	}
	// Without the real server, DR needs nothing.
	obs.Objects = obs.Objects[:2]
	obs.Sysctls["net.ipv4.conf.all.send_redirects"] = "1"
	if !derivedSysctlsInSync(obs, dir) {
		t.Error("a virtual server without real servers derives no sysctls")
	}
}
