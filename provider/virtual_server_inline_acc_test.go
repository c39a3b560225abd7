//go:build linux

package provider

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

// inlineConfig is a DR service with inline real servers of the given
// weights (0: unset) at 192.168.1.50, .51, ...
func inlineConfig(weights ...int) string {
	var b strings.Builder
	b.WriteString(`
resource "lvs_virtual_server" "inline" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.50"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
`)
	for i, w := range weights {
		fmt.Fprintf(&b, "\n  real_server {\n    address = \"192.168.1.%d\"\n", 50+i)
		if w != 0 {
			fmt.Fprintf(&b, "    weight  = %d\n", w)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// bigInlineConfig is a second service with n inline real servers.
func bigInlineConfig(n int) string {
	return fmt.Sprintf(`
resource "lvs_virtual_server" "big" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.51"
  port              = 80
  forwarding_method = "dr"

  dynamic "real_server" {
    for_each = range(%d)
    content {
      address = "192.168.2.${real_server.value + 10}"
    }
  }
}
`, n)
}

// inlineRules are the ipvsadm-save lines of inlineConfig's service.
func inlineRules(weights ...int) []string {
	out := []string{"-A -t 10.0.0.50:80 -s wrr"}
	for i, w := range weights {
		if w < 0 {
			continue
		}
		out = append(out, fmt.Sprintf("-a -t 10.0.0.50:80 -r 192.168.1.%d:80 -g -w %d", 50+i, max(w, 1)))
	}
	return out
}

// costMeter counts what the provider's clients spent on the director
// since the last mark: every Terraform command configures a new client
// (and fleet), so a step's apply is the sum over the clients built since.
type costMeter struct {
	mu      sync.Mutex
	clients []*client
	mark    int
	cfg     transport.Config
}

func (m *costMeter) configured(c *client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients = append(m.clients, c)
}

func (m *costMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mark = len(m.clients)
}

func (m *costMeter) since() fleet.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := fleet.Stats{Reloads: map[string]int{}}
	for _, c := range m.clients[m.mark:] {
		s := c.fleet.Stats(m.cfg)
		sum.AgentCalls += s.AgentCalls
		sum.Observes += s.Observes
		sum.Applies += s.Applies
		sum.Writes += s.Writes
		for k, v := range s.Reloads {
			sum.Reloads[k] += v
		}
	}
	return sum
}

// expectCost checks the applies (and keepalived reloads, when reloads >= 0)
// spent on the director since the meter's mark, and logs what was spent.
func (m *costMeter) expectCost(t *testing.T, what string, applies, reloads int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		s := m.since()
		t.Logf("%s: per director %d agent calls, %d observes, %d applies, %d writes, reloads %v",
			what, s.AgentCalls, s.Observes, s.Applies, s.Writes, s.Reloads)
		if s.Applies != applies {
			return fmt.Errorf("%s: %d agent applies on the director, want %d", what, s.Applies, applies)
		}
		if reloads >= 0 && s.Reloads["keepalived"] != reloads {
			return fmt.Errorf("%s: %d keepalived reloads, want %d", what, s.Reloads["keepalived"], reloads)
		}
		return nil
	}
}

// onlyChanged checks that the director's table differs from before in
// exactly the lines from -> to (nil before: taken by snapshot).
func (d *vmDirector) onlyChanged(before *[]string, from, to string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		after := d.ipvsRules()
		var gone, added []string
		for _, l := range *before {
			if !slices.Contains(after, l) {
				gone = append(gone, l)
			}
		}
		for _, l := range after {
			if !slices.Contains(*before, l) {
				added = append(added, l)
			}
		}
		if !slices.Equal(gone, []string{from}) || !slices.Equal(added, []string{to}) {
			return fmt.Errorf("table changed by removing %q and adding %q; want only %q -> %q", gone, added, from, to)
		}
		return nil
	}
}

// TestAccVirtualServer_inlineRealServers runs a service with inline real
// servers on one VM director, under the keepalived engine and then the
// netlink engine: create (one agent apply), a weight change that changes
// only that destination (one apply; one keepalived reload), drift by hand
// planned back and repaired, a block removed, an import that fills the
// blocks, and a service of 50 inline servers created in one apply. Every
// step ends with an empty plan (the testing framework checks it).
func TestAccVirtualServer_inlineRealServers(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	d := startVMDirector(t, "lvsc2-inline")
	port, _ := strconv.Atoi(d.port)
	meter := &costMeter{cfg: transport.Config{User: "root", Host: d.host, Port: port}}
	d.provider.configured = meter.configured
	for _, engine := range []string{"keepalived", "netlink"} {
		t.Run(engine, func(t *testing.T) {
			start := time.Now()
			defer func() { t.Logf("%s: terraform steps took %v", engine, time.Since(start).Round(time.Second)) }()
			testInlineRealServers(t, d, meter, engine)
		})
	}
	t.Run("host side", func(t *testing.T) {
		start := time.Now()
		defer func() { t.Logf("host side: terraform steps took %v", time.Since(start).Round(time.Second)) }()
		testInlineHostSide(t, d)
	})
}

// testInlineHostSide puts the real-server side of an inline DR server on
// its host (the director VM itself stands in for it: the side is the VIP
// on lo and the ARP sysctls, which need no second machine), plans a VIP
// removed by hand back through host_in_sync, and removes the side with
// the block.
func testInlineHostSide(t *testing.T, d *vmDirector) {
	const vs = "lvs_virtual_server.inline"
	withHost := fmt.Sprintf(`
resource "lvs_virtual_server" "inline" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.50"
  port              = 80
  forwarding_method = "dr"

  real_server {
    address = "192.168.1.50"
    host {
      host = %q
      port = %s
    }
  }
  real_server {
    address = "192.168.1.51"
  }
}
`, d.host, d.port)
	vipOnLo := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := d.run("ip -o addr show dev lo")
			if got := strings.Contains(out, "10.0.0.50/32"); got != want {
				return fmt.Errorf("VIP 10.0.0.50 on the host's lo: %v, want %v:\n%s", got, want, out)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy: resource.ComposeTestCheckFunc(vipOnLo(false), func(*terraform.State) error {
			if rules := d.ipvsRules(); len(rules) != 0 {
				return fmt.Errorf("IPVS table after destroy: %q, want empty", rules)
			}
			return nil
		}),
		Steps: []resource.TestStep{
			{
				Config: d.config(withHost),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(0).AtMapKey("host_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(1).AtMapKey("host_in_sync"), knownvalue.Null()),
				},
				Check: vipOnLo(true),
			},
			{
				PreConfig: d.runStep("ip addr del 10.0.0.50/32 dev lo"),
				Config:    d.config(withHost),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(0).AtMapKey("host_in_sync"), knownvalue.Bool(true)),
				}},
				Check: vipOnLo(true),
			},
			{
				Config: d.config(inlineConfig(0, 0)),
				Check:  resource.ComposeTestCheckFunc(vipOnLo(false), d.expectRules(inlineRules(0, 0)...)),
			},
		},
	})
}

func testInlineRealServers(t *testing.T, d *vmDirector, meter *costMeter, engine string) {
	const vs = "lvs_virtual_server.inline"
	cfg := func(body string) string { return d.configEngine(engine, body) }
	reloads := -1 // netlink: keepalived is not involved
	if engine == "keepalived" {
		reloads = 1
	}
	var before []string
	snapshot := func() { meter.reset(); before = d.ipvsRules() }
	vsID := "tcp/10.0.0.50:80@root@" + net.JoinHostPort(d.host, d.port)
	steps := []resource.TestStep{
		{
			Config: cfg(inlineConfig(0, 2, 3)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(vs, tfjsonpath.New("id"), knownvalue.StringExact(vsID)),
				statecheck.ExpectKnownValue(vs, tfjsonpath.New("real_server"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(0).AtMapKey("weight"), knownvalue.Null()),
				statecheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(2).AtMapKey("weight"), knownvalue.Int64Exact(3)),
			},
			Check: d.expectRules(inlineRules(0, 2, 3)...),
		},
		{
			// One weight: one apply, that destination alone changes.
			PreConfig: snapshot,
			Config:    cfg(inlineConfig(0, 5, 3)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
			}},
			Check: resource.ComposeTestCheckFunc(
				d.onlyChanged(&before, "-a -t 10.0.0.50:80 -r 192.168.1.51:80 -g -w 2", "-a -t 10.0.0.50:80 -r 192.168.1.51:80 -g -w 5"),
				meter.expectCost(t, engine+": weight change", 1, reloads),
			),
		},
		{
			// A weight set by hand is drift: planned back and repaired.
			PreConfig: d.runStep("ipvsadm -e -t 10.0.0.50:80 -r 192.168.1.50:80 -g -w 9"),
			Config:    cfg(inlineConfig(0, 5, 3)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(vs, tfjsonpath.New("real_server").AtSliceIndex(0).AtMapKey("weight"), knownvalue.Null()),
			}},
			Check: d.expectRules(inlineRules(0, 5, 3)...),
		},
	}
	if engine == "netlink" {
		// A destination removed by hand from a netlink director is planned
		// back (on keepalived that is a server down by its health check).
		steps = append(steps, resource.TestStep{
			PreConfig: d.runStep("ipvsadm -d -t 10.0.0.50:80 -r 192.168.1.52:80"),
			Config:    cfg(inlineConfig(0, 5, 3)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
			}},
			Check: d.expectRules(inlineRules(0, 5, 3)...),
		})
	}
	steps = append(steps,
		resource.TestStep{
			// A block removed: its destination alone goes.
			PreConfig: snapshot,
			Config:    cfg(inlineConfig(0, 5)),
			Check: resource.ComposeTestCheckFunc(
				d.expectRules(inlineRules(0, 5)...),
				meter.expectCost(t, engine+": one block removed", 1, reloads),
			),
		},
		resource.TestStep{ResourceName: vs, ImportState: true, ImportStateVerify: true},
		resource.TestStep{
			Config:           cfg(inlineConfig(0, 5)),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		resource.TestStep{
			// 50 inline real servers: one agent apply (and one reload).
			PreConfig: snapshot,
			Config:    cfg(inlineConfig(0, 5) + bigInlineConfig(50)),
			Check: resource.ComposeTestCheckFunc(
				meter.expectCost(t, engine+": a service of 50 inline real servers", 1, reloads),
				func(*terraform.State) error {
					n := 0
					for _, l := range d.ipvsRules() {
						if strings.HasPrefix(l, "-a -t 10.0.0.51:80 ") {
							n++
						}
					}
					if n != 50 {
						return fmt.Errorf("%d destinations of 10.0.0.51:80 in the table, want 50", n)
					}
					return nil
				},
			),
		},
	)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy: func(*terraform.State) error {
			if rules := d.ipvsRules(); len(rules) != 0 {
				return fmt.Errorf("IPVS table after destroy: %q, want empty", rules)
			}
			return nil
		},
		Steps: steps,
	})
}
