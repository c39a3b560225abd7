//go:build linux

package provider

import (
	"fmt"
	"net/http"
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
)

// The content-switching lab: its own name and subnet, apart from the
// shared provider lab.
const (
	routingLabName   = "lvsp1"
	routingLabSubnet = "10.125.0.0/24"
)

// routingConfig is lb1 with two shared backends, static (app1) and
// dynamic (app2, plus the extra servers), used by two frontends: web on
// :8080 (static for /img, Host img.*, and the extra rules; dynamic else)
// and api on :8081 (dynamic for /api; static else).
func routingConfig(a *accLab, webRules string, dynamicApps ...string) string {
	var servers strings.Builder
	for _, app := range append([]string{"app2"}, dynamicApps...) {
		fmt.Fprintf(&servers, `
  server {
    name    = %q
    address = %q
    port    = 8000
    check   = true
    inter   = 500
    rise    = 1
  }
`, app, a.addr(app))
	}
	return a.providerConfig() + fmt.Sprintf(`
locals {
  lb = %[1]q
}

resource "lvs_haproxy" "lb" {
  ssh {
    host = local.lb
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}

resource "lvs_haproxy_backend" "static" {
  ssh {
    host = local.lb
  }
  name    = "static"
  balance = "roundrobin"
  server {
    name    = "app1"
    address = %[2]q
    port    = 8000
    check   = true
    inter   = 500
    rise    = 1
  }
}

resource "lvs_haproxy_backend" "dynamic" {
  ssh {
    host = local.lb
  }
  name    = "dynamic"
  balance = "random"
%[3]s
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = local.lb
  }
  name = "web"
  mode = "http"
  bind {
    address = local.lb
    port    = 8080
  }
  acl {
    name      = "is_img"
    criterion = "path_beg /img"
  }
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "is_img"
  }
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "{ hdr_beg(host) -i img }"
  }
%[4]s
  default_backend = lvs_haproxy_backend.dynamic.name
}

resource "lvs_haproxy_frontend" "api" {
  ssh {
    host = local.lb
  }
  name = "api"
  mode = "http"
  bind {
    address = local.lb
    port    = 8081
  }
  use_backend {
    backend   = lvs_haproxy_backend.dynamic.name
    condition = "{ path_beg /api }"
  }
  default_backend = lvs_haproxy_backend.static.name
}
`, a.addr("lb1"), a.addr("app1"), servers.String(), webRules)
}

// httpGetHost is httpGet with a Host header.
func httpGetHost(url, host string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s (Host %s): %s: %s", url, host, resp.Status, b.String())
	}
	return strings.TrimSpace(b.String()), nil
}

// route is one request and the backends' servers that may answer it.
type route struct {
	path, host string
	want       []string
}

// checkRoutes sends each request until every server it may reach has
// answered it, and fails on any answer from another.
func checkRoutes(a *accLab, routes []route) error {
	for _, r := range routes {
		url := fmt.Sprintf("http://%s%s", a.addr("lb1"), r.path)
		seen := map[string]bool{}
		err := waitFor(15*time.Second, func() error {
			body, err := httpGetHost(url, r.host)
			if err != nil {
				return err
			}
			ok := false
			for _, w := range r.want {
				ok = ok || body == w
			}
			if !ok {
				return fmt.Errorf("GET %s (Host %q) answered by %q, want one of %v", url, r.host, body, r.want)
			}
			seen[body] = true
			if len(seen) < len(r.want) {
				return fmt.Errorf("GET %s (Host %q): answers so far from %v, want all of %v", url, r.host, seen, r.want)
			}
			return nil
		})
		if err != nil {
			b, _ := os.ReadFile(a.Hosts["lb1"].Path("/etc/haproxy/haproxy.cfg"))
			return fmt.Errorf("%w\nhaproxy.cfg:\n%s", err, b)
		}
	}
	return nil
}

// TestAccHAProxyBackend_contentSwitching: two backends shared by two
// frontends with use_backend rules on lb1, traffic proving each rule routes
// to its backend; import of a backend by NAME@HOST; then a rule change and
// a server add in one apply under load: a hitless reload (same master, no
// failed request), and an empty plan after each apply.
func TestAccHAProxyBackend_contentSwitching(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabAt(t, routingLabName, routingLabSubnet, "lb1", "app1", "app2", "app3")
	for _, app := range []string{"app1", "app2", "app3"} {
		// Every path the rules route answers with the host's name.
		a.serveHTTP(app, "img", "css", "api")
	}
	conf := a.Hosts["lb1"].Path("/etc/haproxy/haproxy.cfg")
	if _, err := os.Stat(conf); err == nil {
		// The lab seeds Debian's haproxy.cfg, which is not ours: set aside.
		if err := os.Rename(conf, conf+".debian"); err != nil {
			t.Fatal(err)
		}
	}
	before := routingConfig(a, "")
	after := routingConfig(a, `
  use_backend {
    backend   = lvs_haproxy_backend.static.name
    condition = "{ path_beg /css }"
  }
`, "app3")
	var masterPID string
	var traffic *load
	loadURL := fmt.Sprintf("http://%s:8080/", a.addr("lb1"))
	start := time.Now()

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: before,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_haproxy_backend.static", tfjsonpath.New("id"),
						knownvalue.StringExact("static@root@"+a.addr("lb1")+":22")),
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("default_backend"), knownvalue.StringExact("dynamic")),
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					t.Logf("create: %s", time.Since(start).Round(time.Millisecond))
					return checkRoutes(a, []route{
						{":8080/", "", []string{"app2"}},
						{":8080/img/", "", []string{"app1"}},
						{":8080/", "img.example.com", []string{"app1"}},
						{":8080/css/", "", []string{"app2"}},
						{":8081/", "", []string{"app1"}},
						{":8081/api/", "", []string{"app2"}},
					})
				},
			},
			{
				ResourceName:      "lvs_haproxy_backend.static",
				ImportState:       true,
				ImportStateId:     "static@" + a.addr("lb1"),
				ImportStateVerify: true,
			},
			{
				ResourceName:      "lvs_haproxy_frontend.web",
				ImportState:       true,
				ImportStateId:     "web@" + a.addr("lb1"),
				ImportStateVerify: true,
			},
			// A rule added to web and a server added to dynamic, while
			// requests flow: one hitless reload, no failed request.
			{
				PreConfig: func() {
					masterPID = a.haproxyPID()
					traffic = startLoad(loadURL)
					start = time.Now()
				},
				Config: after,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_haproxy_backend.dynamic", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_haproxy_backend.static", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.api", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					t.Logf("rule change and server add: %s", time.Since(start).Round(time.Millisecond))
					err := checkRoutes(a, []route{
						{":8080/css/", "", []string{"app1"}},
						{":8080/", "", []string{"app2", "app3"}},
						{":8080/img/", "", []string{"app1"}},
						{":8081/api/", "", []string{"app2", "app3"}},
					})
					ok, fail, first := traffic.finish()
					t.Logf("requests during the change: %d answered, %d failed", ok, fail)
					switch {
					case err != nil:
						return err
					case ok == 0:
						return fmt.Errorf("no request was answered during the change")
					case fail > 0:
						return fmt.Errorf("%d of %d requests failed during the reload; first: %w", fail, ok+fail, first)
					case a.haproxyPID() != masterPID:
						return fmt.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", masterPID, a.haproxyPID())
					}
					return nil
				},
			},
		},
	})
}
