//go:build linux

package provider

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// hostState is a digest of every file of a lab host's /etc/haproxy,
// /etc/keepalived and agent state (store, journal), but the lock and the
// call counters, which every agent run touches.
func hostState(t *testing.T, a *accLab, host string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for _, dir := range []string{"/etc/haproxy", "/etc/keepalived", "/var/lib/lvs-agent"} {
		root := a.Hosts[host].Path(dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil // a directory the host does not have yet
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if rel == "lock" || rel == "stats.json" || strings.HasPrefix(rel, "bin") || strings.Contains(rel, "lvs-agent-") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Join(dir, rel)] = sha256.Sum256(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameHostState(a, b map[string][32]byte) error {
	var diffs []string
	for p, h := range a {
		if g, ok := b[p]; !ok {
			diffs = append(diffs, p+" removed")
		} else if g != h {
			diffs = append(diffs, p+" changed")
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, p+" added")
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the refused apply changed the host: %s", strings.Join(diffs, ", "))
	}
	return nil
}

// storeFile is the path of an object's document in a lab host's store
// (the agent's file naming: every byte but [A-Za-z0-9._-] escaped).
func storeFile(a *accLab, host string, k wire.Key) string {
	var b strings.Builder
	for i := 0; i < len(k.ID); i++ {
		c := k.ID[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return a.Hosts[host].Path("/var/lib/lvs-agent/objects/" + string(k.Kind) + "/" + b.String() + ".json")
}

// TestAccConflicts_netns: resources that claim what another resource
// holds on a host are refused at apply, before the host changes, with an
// error naming both resources and the host: a second lvs_haproxy_frontend
// of one name, a frontend binding another's address:port, a second
// lvs_haproxy_backend of one name, an lvs_virtual_server over a stored
// service of the same VIP:port with other settings, and an
// lvs_real_server over a stored one of the same address:port. The
// services live only in the store (the namespace lab has no IPVS): the
// agent judges before it touches anything, so the store is all it needs.
// And a create of what the host already stores with the same content
// (an apply cut off after the agent stored it, before Terraform recorded
// it) converges, with an empty plan after it.
func TestAccConflicts_netns(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabAt(t, "lvsx1", "10.131.0.0/24", "lb1", "app1")
	lb := a.Hosts["lb1"]
	conf := lb.Path("/etc/haproxy/haproxy.cfg")
	if err := os.Remove(conf); err != nil && !os.IsNotExist(err) {
		t.Fatal(err) // the machine's own haproxy.cfg, seeded by the lab
	}
	host := a.addr("lb1")
	hostID := "root@" + host + ":22"
	frontend := func(res, name string, port int, backend string) string {
		return fmt.Sprintf(`
resource "lvs_haproxy_frontend" %[1]q {
  ssh {
    host = %[2]q
  }
  name = %[3]q
  mode = "http"
  bind {
    address = %[2]q
    port    = %[4]d
  }
  backend {
    name = %[5]q
    server {
      name    = "app1"
      address = %[6]q
      port    = 8000
    }
  }
}
`, res, host, name, port, backend, a.addr("app1"))
	}
	backend := func(res, name string, port int) string {
		return fmt.Sprintf(`
resource "lvs_haproxy_backend" %[1]q {
  ssh {
    host = %[2]q
  }
  name = %[3]q
  server {
    name    = "app1"
    address = %[4]q
    port    = %[5]d
  }
}
`, res, host, name, a.addr("app1"), port)
	}
	base := a.providerConfig() + fmt.Sprintf(`
resource "lvs_haproxy" "lb" {
  ssh {
    host = %q
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}
`, host) + frontend("web", "web", 8080, "web_servers") + backend("shared", "shared", 8000)

	vip := a.vip(100)
	svc := "tcp/" + vip + ":80"
	dest := a.addr("app1") + ":80"
	seeded := []wire.Object{
		{Key: wire.VirtualServerKey(svc), Owner: "lvs_virtual_server " + svc + "@dir9",
			VirtualServer: &model.VirtualServer{Address: netip.MustParseAddr(vip), Port: 80, Protocol: "tcp", Scheduler: "rr", ForwardingMethod: "nat"}},
		{Key: wire.RealServerKey(svc, dest), Owner: "lvs_real_server " + svc + "/" + dest + "@dir9",
			RealServer: &model.RealServer{Address: netip.MustParseAddr(a.addr("app1")), Port: 80, Weight: new(int)}},
	}
	seed := func() {
		for _, o := range seeded {
			data, err := wire.MarshalStored(o)
			if err != nil {
				t.Fatal(err)
			}
			p := storeFile(a, "lb1", o.Key)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	unseed := func() {
		for _, o := range seeded {
			if err := os.Remove(storeFile(a, "lb1", o.Key)); err != nil {
				t.Fatal(err)
			}
		}
	}
	virtualServer := fmt.Sprintf(`
resource "lvs_virtual_server" "dup" {
  directors         = [%q]
  address           = %q
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "nat"
}
`, host, vip)
	realServer := fmt.Sprintf(`
resource "lvs_real_server" "dup" {
  virtual_server_id = %q
  address           = %q
  port              = 80
  weight            = 5
}
`, svc+"@"+host, a.addr("app1"))

	var before map[string][32]byte
	snap := func() { before = hostState(t, a, "lb1") }
	unchanged := func() {
		if err := sameHostState(before, hostState(t, a, "lb1")); err != nil {
			t.Fatal(err)
		}
	}
	// conflict expects the error to name the host, the step, the resource
	// holding the object and that nothing changed (Terraform itself names
	// the resource being created: "with lvs_haproxy_frontend.web2").
	conflict := func(other string) *regexp.Regexp {
		words := func(text string) string { return phrase(text).String() }
		return regexp.MustCompile(`(?s)` + words("Host: "+hostID) + `.*` + words("Step: check conflicts") + `.*` +
			words("already holds this on host "+hostID+": "+other) + `.*` + words("Nothing on the host was changed"))
	}
	var late []byte
	lateFile := storeFile(a, "lb1", wire.HAProxyFrontendKey("late"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: base},
			// A second frontend named web.
			{
				PreConfig:   snap,
				Config:      base + frontend("web2", "web", 8081, "web2_servers"),
				ExpectError: conflict("lvs_haproxy_frontend web@" + hostID),
			},
			// A frontend binding web's address:port.
			{
				PreConfig:   func() { unchanged(); snap() },
				Config:      base + frontend("api", "api", 8080, "api_servers"),
				ExpectError: conflict("lvs_haproxy_frontend web@" + hostID),
			},
			// A second backend named shared, and a frontend whose own
			// backend is named shared.
			{
				PreConfig:   func() { unchanged(); snap() },
				Config:      base + backend("shared2", "shared", 8001),
				ExpectError: conflict("lvs_haproxy_backend shared@" + hostID),
			},
			{
				PreConfig:   func() { unchanged(); snap() },
				Config:      base + frontend("api", "api", 8082, "shared"),
				ExpectError: conflict("lvs_haproxy_backend shared@" + hostID),
			},
			// A virtual server and a real server over stored ones.
			{
				PreConfig:   func() { unchanged(); seed(); snap() },
				Config:      base + virtualServer,
				ExpectError: conflict(seeded[0].Owner),
			},
			{
				PreConfig:   func() { unchanged(); snap() },
				Config:      base + realServer,
				ExpectError: conflict(seeded[1].Owner),
			},
			// Nothing left behind: the refused resources are not in the state.
			{
				PreConfig:        func() { unchanged(); unseed() },
				Config:           base,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// A frontend created, then destroyed; its stored document put
			// back as an apply that stored it and was cut off before
			// Terraform recorded the resource would leave it: creating it
			// again converges, and the plan after is empty.
			{Config: base + frontend("late", "late", 8090, "late_servers")},
			{
				PreConfig: func() {
					var err error
					if late, err = os.ReadFile(lateFile); err != nil {
						t.Fatal(err)
					}
				},
				Config: base,
			},
			{
				PreConfig: func() {
					if err := os.WriteFile(lateFile, late, 0o600); err != nil {
						t.Fatal(err)
					}
				},
				Config: base + frontend("late", "late", 8090, "late_servers"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("lvs_haproxy_frontend.late", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
