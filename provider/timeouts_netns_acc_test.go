//go:build linux

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// pauseAgent makes every agent run on the lab's hosts pause (5 s) before
// the named apply step, through the agent's test hook
// (LVS_AGENT_TEST_PAUSE_AT): the lab's authorized_keys gets a forced
// command that sets it and runs the command the client asked for
// (SSH_ORIGINAL_COMMAND, exec'd, so the process group the transport
// kills on a timeout stays the command's). set("") removes it again.
func pauseAgent(t *testing.T, a *accLab) (set func(step string)) {
	t.Helper()
	path := filepath.Join(filepath.Dir(a.ClientKeyPath), "authorized_keys")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set = func(step string) {
		t.Helper()
		keys := orig
		if step != "" {
			keys = fmt.Appendf(nil, `command="LVS_AGENT_TEST_PAUSE_AT=%s; export LVS_AGENT_TEST_PAUSE_AT; exec sh -c \"$SSH_ORIGINAL_COMMAND\"" %s`, step, orig)
		}
		if err := os.WriteFile(path, keys, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { set("") })
	return set
}

// TestAccTimeouts_netns runs a create and a delete whose timeouts (2 s)
// run out while the agent is under way (paused 5 s before its haproxy
// step, its journal written): each fails with an error naming the host,
// the step and the timeout; the agent call is stopped, leaving the apply
// interrupted on the host; a normal apply then converges (the agent
// completes what was interrupted) and the next plan is empty. Import
// keeps working: the timeouts block is null after an import.
func TestAccTimeouts_netns(t *testing.T) {
	a := startAccLabAt(t, "lvsx6", "10.136.0.0/24", "x6d1")
	pause := pauseAgent(t, a)
	h := a.Hosts["x6d1"]
	// The lab seeds /etc/haproxy from the machine's: not ours, out of the way.
	for _, f := range []string{"/etc/haproxy/haproxy.cfg"} {
		if err := os.Remove(h.Path(f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	conf := h.Path("/etc/haproxy/haproxy.cfg")
	id := "root@" + a.addr("x6d1") + ":22"
	// A paused step runs with other provider settings: a new SSH
	// connection, whose login reads the forced command (sessions on the
	// connection kept from the step before would not).
	paused := func(config string) string {
		return strings.Replace(config, `connect_timeout   = "5s"`, `connect_timeout   = "6s"`, 1)
	}
	settings := a.providerConfig() + fmt.Sprintf(`
resource "lvs_haproxy" "lb" {
  ssh {
    host = %[1]q
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}
`, a.addr("x6d1"))
	frontend := func(timeouts string) string {
		return settings + fmt.Sprintf(`
resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = %[1]q
  }
  name = "web"
  mode = "http"
  bind {
    address = %[1]q
    port    = 8080
  }
  backend {
    balance = "roundrobin"
    server {
      name    = "app"
      address = "127.0.0.1"
      port    = 8000
    }
  }
  timeouts {
%[2]s
  }
}
`, a.addr("x6d1"), timeouts)
	}
	ranOut := func(op string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)` + phrase("Host: "+id).String() + `.*Step:\s+(agent\s+apply|run\s+agent).*` +
			phrase(fmt.Sprintf("The %s timeout (2s) ran out", op)).String())
	}
	// consistent checks the host after an operation whose timeout ran
	// out: either the agent was stopped part-way and says so (its journal
	// lets the next apply complete the change), or the change is wholly
	// there or wholly absent: the store and haproxy.cfg agree on the
	// frontend.
	consistent := func() {
		t.Helper()
		o := a.observe("x6d1")
		stored := false
		for _, obj := range o.Objects {
			stored = stored || obj.Key.Kind == wire.KindHAProxyFrontend
		}
		b, err := os.ReadFile(conf)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		running := strings.Contains(string(b), "frontend web")
		t.Logf("x6d1 after the timeout: interrupted %q, frontend stored %v, in haproxy.cfg %v", o.Interrupted, stored, running)
		if o.Interrupted == "" && stored != running {
			t.Fatalf("x6d1 is half-changed: frontend stored %v but in haproxy.cfg %v, and no interrupted apply reported", stored, running)
		}
	}
	finished := func(*terraform.State) error {
		if o := a.observe("x6d1"); o.Interrupted != "" {
			return fmt.Errorf("x6d1 still reports an interrupted apply after a successful one: %s", o.Interrupted)
		}
		return nil
	}
	served := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			b, err := os.ReadFile(conf)
			if err != nil {
				return err
			}
			if has := strings.Contains(string(b), "frontend web"); has != want {
				return fmt.Errorf("x6d1 haproxy.cfg has frontend web: %v, want %v:\n%s", has, want, b)
			}
			return nil
		}
	}
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			// The agent installed, haproxy running its settings.
			{Config: settings},
			// The create's 2 s run out in the agent's pause: the agent call
			// is stopped part-way, nothing goes into the state.
			{
				PreConfig:   func() { pause(agent.StepHAProxy) },
				Config:      paused(frontend(`create = "2s"`)),
				ExpectError: ranOut("create"),
			},
			// Without the pause the apply converges: the agent completes the
			// interrupted apply first. The next plan is empty.
			{
				PreConfig:        func() { pause(""); consistent() },
				Config:           frontend(`delete = "2s"`),
				Check:            resource.ComposeTestCheckFunc(served(true), finished),
				ConfigPlanChecks: empty,
			},
			// Import: the timeouts block is null in the imported state; the
			// settings, configured without one, import to the state as it is.
			{
				ResourceName:            "lvs_haproxy_frontend.web",
				ImportState:             true,
				ImportStateId:           "web@" + a.addr("x6d1"),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					for _, s := range states {
						for k := range s.Attributes {
							if strings.HasPrefix(k, "timeouts.") && k != "timeouts.%" {
								return fmt.Errorf("imported %s has %s = %q, want no timeouts", s.ID, k, s.Attributes[k])
							}
						}
					}
					return nil
				},
			},
			{ResourceName: "lvs_haproxy.lb", ImportState: true, ImportStateId: a.addr("x6d1"), ImportStateVerify: true},
			// The delete's 2 s (saved in the state by the last apply) run out
			// in the pause: the frontend stays in the state.
			{
				PreConfig:   func() { pause(agent.StepHAProxy) },
				Config:      paused(settings),
				ExpectError: ranOut("delete"),
			},
			// Then the delete converges, and the next plan is empty.
			{
				PreConfig:        func() { pause(""); consistent() },
				Config:           settings,
				Check:            resource.ComposeTestCheckFunc(served(false), finished),
				ConfigPlanChecks: empty,
			},
		},
	})
}
