//go:build linux

package provider

import (
	"fmt"
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

	"github.com/lvsops/terraform-provider-lvs/render"
)

// handBuiltHAProxy is an haproxy host as an operator set it up by hand:
// two frontends, each with its backend on app1, tab-indented, times with
// units, a global directive the model has no field for.
const handBuiltHAProxy = `global
	log /dev/log	local0
	stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners
	stats timeout 30s

defaults
	mode	http
	timeout connect 5s
	timeout client  30s
	timeout server  30s

frontend web
	bind :8080
	default_backend app

backend app
	balance roundrobin
	server app1 %[1]s:8000 check inter 1s

frontend admin
	bind :8081
	default_backend admin_app

backend admin_app
	server app1 %[1]s:8000
`

// TestAccHAProxy_adoptHandBuilt imports a host whose haproxy.cfg and
// running haproxy were set up by hand (lvs_haproxy and one of its two
// frontends), then applies: the provider takes the file over under load
// with one reload of the same master, no failed request, and keeps
// serving the frontend that was not imported.
func TestAccHAProxy_adoptHandBuilt(t *testing.T) {
	a := startAccLab(t, "lb1", "app1")
	a.serveHTTP("app1")
	lb := a.Hosts["lb1"]
	conf := lb.Path("/etc/haproxy/haproxy.cfg")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(handBuiltHAProxy, a.addr("app1"))), 0o644); err != nil {
		t.Fatal(err)
	}
	a.exec("lb1", "mkdir", "-p", "/run/haproxy")
	a.exec("lb1", "haproxy", "-W", "-D", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid")
	web := fmt.Sprintf("http://%s:8080/", a.addr("lb1"))
	admin := fmt.Sprintf("http://%s:8081/", a.addr("lb1"))
	if err := waitFor(10*time.Second, func() error { _, err := httpGet(web); return err }); err != nil {
		t.Fatalf("the hand-started haproxy does not answer: %v", err)
	}
	config := a.providerConfig() + fmt.Sprintf(`
resource "lvs_haproxy" "lb" {
  ssh {
    host = %[1]q
  }
  global {
    stats_socket = "/run/haproxy/admin.sock"
    options      = ["stats timeout 30s"]
    log {
      address  = "/dev/log"
      facility = "local0"
    }
  }
  defaults {
    mode            = "http"
    timeout_connect = 5000
    timeout_client  = 30000
    timeout_server  = 30000
  }
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = %[1]q
  }
  name = "web"
  bind {
    port = 8080
  }
  backend {
    name    = "app"
    balance = "roundrobin"
    server {
      name    = "app1"
      address = %[2]q
      port    = 8000
      check   = true
      inter   = 1000
    }
  }
}
`, a.addr("lb1"), a.addr("app1"))
	var master string
	var traffic *load

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       "lvs_haproxy.lb",
				ImportState:        true,
				ImportStateId:      a.addr("lb1"),
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					st := importedWith(s, "id", "root@"+a.addr("lb1")+":22")
					if st == nil || st.Attributes["defaults.mode"] != "http" || st.Attributes["global.options.0"] != "stats timeout 30s" ||
						st.Attributes["haproxy_in_sync"] != "false" {
						return fmt.Errorf("imported settings: %v", s)
					}
					return nil
				},
			},
			{
				Config:             config,
				ResourceName:       "lvs_haproxy_frontend.web",
				ImportState:        true,
				ImportStateId:      "web@" + a.addr("lb1"),
				ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					st := importedWith(s, "name", "web")
					if st == nil || st.Attributes["backend.name"] != "app" || st.Attributes["backend.server.0.address"] != a.addr("app1") ||
						st.Attributes["haproxy_in_sync"] != "false" {
						return fmt.Errorf("imported frontend: %v", s)
					}
					return nil
				},
			},
			// The apply takes the file over while requests flow.
			{
				PreConfig: func() {
					master = a.haproxyPID()
					traffic = startLoad(web)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy.lb", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_haproxy.lb", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					time.Sleep(500 * time.Millisecond) // requests after the reload too
					ok, fail, first := traffic.finish()
					t.Logf("requests during the adoption: %d answered, %d failed", ok, fail)
					if fail > 0 {
						return fmt.Errorf("%d of %d requests failed while the file was taken over; first: %w", fail, ok+fail, first)
					}
					if now := a.haproxyPID(); now != master {
						return fmt.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", master, now)
					}
					b, err := os.ReadFile(conf)
					if err != nil || !strings.HasPrefix(string(b), render.ManagedMarker) {
						return fmt.Errorf("haproxy.cfg is not ours after the apply (%w):\n%s", err, b)
					}
					if !strings.Contains(string(b), "frontend admin") {
						return fmt.Errorf("the frontend that was not imported is gone from haproxy.cfg:\n%s", b)
					}
					if body, err := httpGet(admin); err != nil || body != "app1" {
						return fmt.Errorf("the frontend that was not imported no longer answers: %q, %w", body, err)
					}
					return nil
				},
			},
		},
	})
}

// importedWith is the imported instance whose attribute key is value.
func importedWith(states []*terraform.InstanceState, key, value string) *terraform.InstanceState {
	for _, s := range states {
		if s.Attributes[key] == value {
			return s
		}
	}
	return nil
}
