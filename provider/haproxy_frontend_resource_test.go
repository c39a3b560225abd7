//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fullFrontend sets every attribute of lvs_haproxy_frontend once.
func fullFrontend() haproxyFrontendResourceModel {
	return haproxyFrontendResourceModel{
		Name:    str("web"),
		Mode:    str("http"),
		Maxconn: num(2000),
		Options: []types.String{str("option forwardfor")},
		Binds: []haproxyBindModel{
			{Address: ip("10.0.0.10"), Port: num(80), Options: types.StringNull()},
			{Address: ip("10.0.0.10"), Port: num(443), Options: str("ssl crt /etc/haproxy/site.pem")},
		},
		ACLs: []haproxyACLModel{{Name: str("is_admin"), Criterion: str("path_beg /admin")}},
		haproxyTimeoutsModel: haproxyTimeoutsModel{
			TimeoutClient: num(30000), TimeoutHTTPRequest: num(5000),
		},
		Backend: &frontendBackend{
			Balance:    str("hdr"),
			BalanceArg: str("Host"),
			Options:    []types.String{str("http-reuse safe")},
			Servers: []haproxyServerModel{{
				Name: str("a"), Address: str("192.168.1.10"), Port: num(8080), Weight: num(0), Check: flag(true),
				Inter: num(2000), Fall: num(3), Rise: num(2), Backup: flag(true), Maxconn: num(100), Options: str("send-proxy"),
			}},
			HTTPCheck: &haproxyHTTPCheckModel{Method: str("GET"), Path: str("/healthz"), Host: str("web"), ExpectStatus: str("200")},
			haproxyTimeoutsModel: haproxyTimeoutsModel{
				TimeoutServer: num(30000), TimeoutConnect: num(1000), TimeoutCheck: num(500),
			},
		},
	}
}

func TestFrontendToWire(t *testing.T) {
	m := fullFrontend()
	got := m.toWire()
	want := wire.HAProxyFrontend{
		Frontend: model.HAProxyFrontend{
			Name: "web", Mode: "http", Maxconn: 2000, DefaultBackend: "web",
			Binds: []model.HAProxyBind{
				{Address: addr("10.0.0.10"), Port: 80},
				{Address: addr("10.0.0.10"), Port: 443, Options: "ssl crt /etc/haproxy/site.pem"},
			},
			ACLs:     []model.HAProxyACL{{Name: "is_admin", Criterion: "path_beg /admin"}},
			Timeouts: model.HAProxyTimeouts{Client: 30000, HTTPRequest: 5000},
			Options:  []string{"option forwardfor"},
		},
		Backend: model.HAProxyBackend{
			Name: "web", Mode: "http", Balance: "hdr", BalanceArg: "Host",
			Servers: []model.HAProxyServer{{
				Name: "a", Address: addr("192.168.1.10"), Port: 8080, Weight: ptr(0), Check: true,
				Inter: 2000, Fall: 3, Rise: 2, Backup: true, Maxconn: 100, Options: "send-proxy",
			}},
			HTTPCheck: &model.HAProxyHTTPCheck{Method: "GET", Path: "/healthz", Host: "web", ExpectStatus: "200"},
			Timeouts:  model.HAProxyTimeouts{Server: 30000, Connect: 1000, Check: 500},
			Options:   []string{"http-reuse safe"},
		},
	}
	if d := cmp.Diff(want, got, equal); d != "" {
		t.Fatalf("toWire (-want +got):\n%s", d)
	}
	obj := m.object()
	if obj.Key != (wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}) || obj.HAProxyFrontend == nil {
		t.Fatalf("object key %v", obj.Key)
	}
}

// TestFrontendFromWire proves that a frontend read back from the host
// (import, or a change another run made) maps to the value that stores
// the same object again, and that a value equal to what is stored is kept
// as written.
func TestFrontendFromWire(t *testing.T) {
	full := fullFrontend()
	stored := full.toWire()

	var imported haproxyFrontendResourceModel
	imported.setFromWire(&stored)
	if d := cmp.Diff(stored, imported.toWire(), equal); d != "" {
		t.Fatalf("round trip (-stored +imported):\n%s", d)
	}
	if !imported.Binds[0].Options.IsNull() || !imported.Backend.Servers[0].Weight.Equal(num(0)) {
		t.Fatalf("unset bind options must be null and weight 0 kept: %+v", imported.Binds[0])
	}

	// An explicit false that maps to the stored object is kept.
	written := fullFrontend()
	written.Backend.Servers[0].Backup = flag(false)
	storedFalse := written.toWire()
	written.setFromWire(&storedFalse)
	if !written.Backend.Servers[0].Backup.Equal(flag(false)) {
		t.Fatalf("backup = false became %v", written.Backend.Servers[0].Backup)
	}

	// A stored object that differs replaces the value.
	changed := fullFrontend()
	storedChanged := stored
	storedChanged.Backend.Servers = append([]model.HAProxyServer(nil), stored.Backend.Servers...)
	storedChanged.Backend.Servers[0].Port = 9090
	changed.setFromWire(&storedChanged)
	if !changed.Backend.Servers[0].Port.Equal(num(9090)) {
		t.Fatalf("stored port 9090 not read back: %v", changed.Backend.Servers[0].Port)
	}

	// A hand-built frontend (imported): its backend has a name of its own
	// and the mode only on the backend. Both are kept.
	handBuilt := wire.HAProxyFrontend{
		Frontend: model.HAProxyFrontend{Name: "www", DefaultBackend: "app", Binds: []model.HAProxyBind{{Port: 80}}},
		Backend:  model.HAProxyBackend{Name: "app", Mode: "http", Servers: []model.HAProxyServer{{Name: "a", Address: addr("10.0.0.1"), Port: 80}}},
	}
	var adopted haproxyFrontendResourceModel
	adopted.setFromWire(&handBuilt)
	if adopted.Backend == nil || !adopted.Backend.Name.Equal(str("app")) || !adopted.Mode.Equal(str("http")) {
		t.Fatalf("hand-built frontend read as backend %+v, mode %v", adopted.Backend, adopted.Mode)
	}
	again := adopted.toWire()
	if again.Frontend.DefaultBackend != "app" || again.Backend.Name != "app" || again.Backend.Mode != "http" || again.Frontend.Mode != "http" {
		t.Fatalf("hand-built frontend stored back as %+v", again)
	}

	// No backend settings at all read back as no backend block.
	bare := haproxyFrontendResourceModel{Name: str("tcp1"), Binds: []haproxyBindModel{{Address: ip("10.0.0.1"), Port: num(22)}}}
	storedBare := bare.toWire()
	var readBare haproxyFrontendResourceModel
	readBare.setFromWire(&storedBare)
	if readBare.Backend != nil {
		t.Fatalf("empty backend read back as %+v", readBare.Backend)
	}
}

// TestFrontendStatsOnly: a frontend that serves haproxy's statistics page
// and names no backend gets none (an own backend would have no servers and
// never be reached), validates at plan with its mode inherited from the
// host's defaults, and round-trips as imported from a hand-built
// haproxy.cfg; in tcp mode it is refused, and a frontend without stats
// lines keeps the own backend of earlier releases.
func TestFrontendStatsOnly(t *testing.T) {
	m := haproxyFrontendResourceModel{
		Name: str("stats"), Binds: []haproxyBindModel{{Address: ip("0.0.0.0"), Port: num(8181)}},
		Options: []types.String{str("stats uri /"), str("stats show-modules")},
	}
	fe := m.toWire()
	if fe.OwnsBackend() || fe.Frontend.DefaultBackend != "" {
		t.Fatalf("stats frontend stored with a backend: %+v", fe)
	}
	if err := m.validate(); err != nil {
		t.Fatalf("stats frontend refused at plan: %v", err)
	}
	imported := wire.HAProxyFrontend{Frontend: model.HAProxyFrontend{
		Name: "stats", Binds: []model.HAProxyBind{{Port: 8181}}, Options: []string{"stats uri /", "stats show-modules"},
	}}
	var read haproxyFrontendResourceModel
	read.setFromWire(&imported)
	if read.Backend != nil || !read.DefaultBackend.IsNull() {
		t.Fatalf("read back backend %+v default %v", read.Backend, read.DefaultBackend)
	}
	if d := cmp.Diff(imported, read.toWire(), equal); d != "" {
		t.Fatalf("round trip (-imported +read):\n%s", d)
	}

	tcp := m
	tcp.Mode = str("tcp")
	errs := model.AsErrors(tcp.validate())
	if len(errs) != 1 || errs[0].Path.String() != "default_backend" || !strings.Contains(errs[0].Msg, "haproxy ignores them in tcp mode") {
		t.Fatalf("tcp stats frontend: %v", errs)
	}
	plain := m
	plain.Options = []types.String{str("option forwardfor")}
	if w := plain.toWire(); !w.OwnsBackend() || w.Frontend.DefaultBackend != "stats" {
		t.Fatalf("a frontend without stats lines lost its own backend: %+v", w)
	}
	// With a backend block or use_backend rules, the own backend stays.
	routed := m
	routed.ACLs = []haproxyACLModel{{Name: str("is_api"), Criterion: str("path_beg /api")}}
	routed.UseBackends = []haproxyUseBackendModel{{Backend: str("api"), Cond: types.StringNull(), Condition: str("is_api")}}
	if w := routed.toWire(); !w.OwnsBackend() {
		t.Fatalf("a stats frontend with use_backend rules lost its own backend: %+v", w)
	}
}

// TestFrontendValidatePaths proves that the model's rules land on the
// resource's own attribute paths.
func TestFrontendValidatePaths(t *testing.T) {
	m := fullFrontend()
	m.Name = str("bad name")
	m.Binds = nil
	m.Backend.Servers[0].Port = num(70000)
	m.Backend.haproxyTimeoutsModel.TimeoutServer = num(-1)
	errs := model.AsErrors(m.validate())
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Path.String())
	}
	for _, want := range []string{"name", "bind", "backend.server[0].port", "backend.timeout_server"} {
		found := false
		for _, p := range paths {
			found = found || p == want
		}
		if !found {
			t.Errorf("no error at %s; errors at %v", want, paths)
		}
	}
	for _, p := range paths {
		if p == "backend.name" || p == "frontend" || p == "backend" {
			t.Errorf("error at %s, which the resource does not have", p)
		}
	}
	// A backend with a name of its own reports its name errors there.
	named := fullFrontend()
	named.Backend.Name = str("bad name")
	if errs := model.AsErrors(named.validate()); len(errs) == 0 || errs[0].Path.String() != "backend.name" {
		t.Errorf("backend name error at %v, want backend.name", errs)
	}
	ok := fullFrontend()
	if err := ok.validate(); err != nil {
		t.Fatalf("full frontend: %v", err)
	}
}

func TestFrontendSchemaValid(t *testing.T) {
	for _, r := range []fwresource.Resource{NewHAProxyFrontendResource(), NewHAProxyResource(), NewHAProxyBackendResource()} {
		var resp fwresource.SchemaResponse
		r.Schema(context.Background(), fwresource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("schema: %v", resp.Diagnostics)
		}
		if d := resp.Schema.ValidateImplementation(context.Background()); d.HasError() {
			t.Fatalf("schema: %v", d)
		}
	}
}

// TestHAProxyFrontendResource_planTimeRules runs terraform: broken rules
// are refused at plan time, at the attribute, before any host is reached.
func TestHAProxyFrontendResource_planTimeRules(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: `
resource "lvs_haproxy_frontend" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name = "web"
  bind {
    port = 80
  }
  backend {
    server {
      name    = "a"
      address = "192.0.2.10"
      port    = 80
      inter   = 2000
    }
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`backend.server[0].check: inter, fall and rise tune the health check`),
		}, {
			Config: `
resource "lvs_haproxy" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  global {
    nbthread = 65
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`global.nbthread`),
		}, {
			Config: `
resource "lvs_haproxy_frontend" "bad" {
  ssh {
    host = "192.0.2.1"
  }
  name = "web"
  mode = "udp"
  bind {
    port = 80
  }
}`,
			PlanOnly:    true,
			ExpectError: phrase(`Attribute mode value must be one of`),
		}},
	})
}

// serveHTTP starts busybox httpd on port 8000 of a lab host, answering
// with the host's name (its index page, and that of each of dirs: /img/
// for "img"), until the test ends.
func (a *accLab) serveHTTP(host string, dirs ...string) *exec.Cmd {
	const port = 8000
	a.t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		if os.Getenv("CI") != "" {
			a.t.Fatalf("busybox (for the backends' httpd) is not installed: %v", err)
		}
		a.t.Skipf("SKIPPED: busybox (for the backends' httpd) is not installed: %v", err)
	}
	dir := filepath.Join(netns.TempDir(a.t), host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		a.t.Fatal(err)
	}
	for _, d := range append([]string{""}, dirs...) {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			a.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "index.html"), []byte(host+"\n"), 0o644); err != nil {
			a.t.Fatal(err)
		}
	}
	cmd, err := a.Command(context.Background(), host, busybox, "httpd", "-f", "-p", fmt.Sprintf("%s:%d", a.addr(host), port), "-h", dir)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("%s: start httpd: %v", host, err)
	}
	a.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://%s:%d/", a.addr(host), port)
	if err := waitFor(10*time.Second, func() error { _, err := httpGet(url); return err }); err != nil {
		a.t.Fatalf("%s: httpd does not answer: %v", host, err)
	}
	return cmd
}

// httpGet fetches url on a fresh connection and returns the body.
func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return strings.TrimSpace(string(body)), nil
}

// observe asks a host's agent for a fresh observation, through the
// provider's latest client.
func (a *accLab) observe(host string) *wire.Observed {
	a.t.Helper()
	a.mu.Lock()
	c := a.clients[len(a.clients)-1]
	a.mu.Unlock()
	cfg, diags := c.hostConfig(connectionModel{Host: types.StringValue(a.addr(host))})
	if diags.HasError() {
		a.t.Fatalf("host config: %v", diags)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obs, err := c.fleet.ObserveFresh(ctx, cfg)
	if err != nil {
		a.t.Fatalf("observe %s: %v", host, err)
	}
	return obs
}

// haproxyPID is the pid of the haproxy master on lb1, the haproxy host of
// these tests, or "".
func (a *accLab) haproxyPID() string {
	out, err := a.Exec(context.Background(), "lb1", "cat", "/run/haproxy.pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// processRuns reports whether the process runs (the lab shares the
// machine's pid space): a zombie, which nothing in the lab reaps, is gone.
func processRuns(pid string) bool {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// load sends requests one after the other on fresh connections until
// stopped, and counts the failures.
type load struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail int
	firstErr error
}

func startLoad(url string) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			if _, err := httpGet(url); err != nil {
				l.fail++
				if l.firstErr == nil {
					l.firstErr = err
				}
			} else {
				l.ok++
			}
		}
	}()
	return l
}

func (l *load) finish() (ok, fail int, firstErr error) {
	close(l.stop)
	<-l.done
	return l.ok, l.fail, l.firstErr
}

// haproxyConfig is an haproxy host lb1 with its settings and one frontend
// "web" on :8080 whose backend holds the given app hosts (port 8000,
// HTTP-checked), plus extra configuration.
func haproxyConfig(a *accLab, apps []string, extra string) string {
	var servers strings.Builder
	for _, app := range apps {
		fmt.Fprintf(&servers, `
    server {
      name    = %q
      address = %q
      port    = 8000
      check   = true
      inter   = 500
      fall    = 2
      rise    = 1
    }
`, app, a.addr(app))
	}
	return a.providerConfig() + fmt.Sprintf(`
resource "lvs_haproxy" "lb" {
  ssh {
    host = %[1]q
  }
  global {
    maxconn  = 2000
    nbthread = 2
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}

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
  options = ["option forwardfor"]
  backend {
    balance = "roundrobin"
    http_check {
      method        = "GET"
      path          = "/"
      expect_status = "200"
    }
%[2]s
  }
}
%[3]s`, a.addr("lb1"), servers.String(), extra)
}

// TestAccHAProxyFrontend_lifecycle runs an haproxy frontend on lb1 over
// two backends served from their own hosts: create (refused first over
// Debian's haproxy.cfg tuned by hand, which stays as it was), traffic through it,
// import, a server added in place under load with a hitless reload, drift
// (haproxy.cfg edited, haproxy stopped, the stored object deleted) planned
// and repaired, a failing backend that is status and not drift, and a
// destroy that leaves the foreign files in /etc/haproxy.
func TestAccHAProxyFrontend_lifecycle(t *testing.T) {
	a := startAccLab(t, "lb1", "app1", "app2")
	a.serveHTTP("app1")
	app2 := a.serveHTTP("app2")
	lb := a.Hosts["lb1"]
	conf := lb.Path("/etc/haproxy/haproxy.cfg")
	aside := lb.Path("/etc/haproxy/haproxy.cfg.debian")
	url := fmt.Sprintf("http://%s:8080/", a.addr("lb1"))
	one, two := haproxyConfig(a, []string{"app1"}, ""), haproxyConfig(a, []string{"app1", "app2"}, "")
	// The lab seeds /etc/haproxy from the machine's: Debian's haproxy.cfg,
	// which the agent would replace as the package's untouched default
	// (TestLabHAProxyReplacesThePackageDefault). Tuned by hand, it is
	// someone's work: foreign.
	debian, err := os.ReadFile(conf)
	if err != nil {
		debian = []byte("global\n    maxconn 10\n")
	}
	debian = append(debian, "# tuned by hand\n"...)
	if err := os.WriteFile(conf, debian, 0o644); err != nil {
		t.Fatal(err)
	}
	var masterPID string
	var traffic *load

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy: func(*terraform.State) error {
			var errs []error
			if b, err := os.ReadFile(conf); !os.IsNotExist(err) {
				errs = append(errs, fmt.Errorf("lb1: haproxy.cfg still there after destroy (%w):\n%s", err, b))
			}
			if b, err := os.ReadFile(aside); err != nil || string(b) != string(debian) {
				errs = append(errs, fmt.Errorf("lb1: the foreign haproxy.cfg.debian was changed or removed (%w)", err))
			}
			if pid := a.haproxyPID(); pid != "" && processRuns(pid) {
				errs = append(errs, fmt.Errorf("lb1: haproxy (pid %s) still runs after destroy", pid))
			}
			return errors.Join(errs...)
		},
		Steps: []resource.TestStep{
			// Debian's haproxy.cfg tuned by hand is not ours: refused, and left as it was.
			{
				Config:      one,
				ExpectError: phrase("was not written by lvs-agent"),
			},
			// Moved aside (it stays in /etc/haproxy, foreign), create works.
			{
				PreConfig: func() {
					if b, err := os.ReadFile(conf); err != nil || string(b) != string(debian) {
						t.Fatalf("the refused apply changed the foreign haproxy.cfg (%v)", err)
					}
					if err := os.Rename(conf, aside); err != nil {
						t.Fatal(err)
					}
				},
				Config: one,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("id"),
						knownvalue.StringExact("web@root@"+a.addr("lb1")+":22")),
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_haproxy_frontend.web",
						tfjsonpath.New("backend").AtMapKey("server").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("app1")),
					statecheck.ExpectKnownValue("lvs_haproxy.lb", tfjsonpath.New("id"), knownvalue.StringExact("root@"+a.addr("lb1")+":22")),
					statecheck.ExpectKnownValue("lvs_haproxy.lb", tfjsonpath.New("global").AtMapKey("nbthread"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					b, err := os.ReadFile(conf)
					if err != nil || !strings.Contains(string(b), "nbthread 2") || !strings.Contains(string(b), "frontend web") {
						return fmt.Errorf("lb1 haproxy.cfg (%w):\n%s", err, b)
					}
					err = waitFor(10*time.Second, func() error {
						body, err := httpGet(url)
						if err == nil && body != "app1" {
							err = fmt.Errorf("answer %q, want app1", body)
						}
						return err
					})
					if err != nil {
						return fmt.Errorf("%w\nhaproxy: %+v\nhaproxy.cfg:\n%s", err, a.observe("lb1").HAProxy, b)
					}
					return nil
				},
			},
			// Import by NAME@HOST and by HOST: the stored objects come back as written.
			{
				ResourceName:      "lvs_haproxy_frontend.web",
				ImportState:       true,
				ImportStateId:     "web@" + a.addr("lb1"),
				ImportStateVerify: true,
			},
			{
				ResourceName:      "lvs_haproxy.lb",
				ImportState:       true,
				ImportStateId:     a.addr("lb1"),
				ImportStateVerify: true,
			},
			// A server added in place while requests flow: one hitless
			// reload (same master), no failed request, then nothing to do.
			{
				PreConfig: func() {
					masterPID = a.haproxyPID()
					traffic = startLoad(url)
				},
				Config: two,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("lvs_haproxy.lb", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					seen := map[string]bool{}
					err := waitFor(10*time.Second, func() error {
						body, err := httpGet(url)
						if err != nil {
							return err
						}
						seen[body] = true
						if !seen["app1"] || !seen["app2"] {
							return fmt.Errorf("answers so far from %v; want app1 and app2", seen)
						}
						return nil
					})
					ok, fail, first := traffic.finish()
					t.Logf("requests during the update: %d answered, %d failed", ok, fail)
					switch {
					case err != nil:
						return err
					case fail > 0:
						return fmt.Errorf("%d of %d requests failed during the reload; first: %w", fail, ok+fail, first)
					case a.haproxyPID() != masterPID:
						return fmt.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", masterPID, a.haproxyPID())
					}
					return nil
				},
			},
			// Drift: haproxy.cfg edited by hand -> planned; apply puts ours back.
			{
				PreConfig: func() {
					f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
					if err == nil {
						_, err = f.WriteString("# edited by hand\n")
						f.Close()
					}
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:             two,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: two,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("lvs_haproxy_frontend.web", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if b, _ := os.ReadFile(conf); strings.Contains(string(b), "edited by hand") {
						return fmt.Errorf("the hand edit is still in haproxy.cfg:\n%s", b)
					}
					return nil
				},
			},
			// Drift: haproxy stopped -> planned; apply starts it again.
			{
				PreConfig: func() {
					pid := a.haproxyPID()
					if pid == "" {
						t.Fatal("lb1: haproxy has no pid file")
					}
					a.exec("lb1", "kill", pid)
					if err := waitFor(10*time.Second, func() error {
						if processRuns(pid) {
							return errors.New("haproxy still runs")
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             two,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: two,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					return waitFor(10*time.Second, func() error { _, err := httpGet(url); return err })
				},
			},
			// A backend failing its health check is status, not drift: the
			// plan stays empty and the status data source says DOWN.
			{
				PreConfig: func() {
					_ = app2.Process.Kill()
					_, _ = app2.Process.Wait()
					if err := waitFor(20*time.Second, func() error {
						if st := a.observe("lb1").HAProxy; st == nil || st.Servers["web/app2"] != "DOWN" {
							return fmt.Errorf("haproxy says web/app2 is %v", st)
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: haproxyConfig(a, []string{"app1", "app2"}, fmt.Sprintf(`
data "lvs_director_status" "lb" {
  ssh {
    host = %q
  }
}
`, a.addr("lb1"))),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.lvs_director_status.lb", tfjsonpath.New("haproxy_servers").AtMapKey("web/app2"),
						knownvalue.StringExact("DOWN")),
					statecheck.ExpectKnownValue("data.lvs_director_status.lb", tfjsonpath.New("haproxy_servers").AtMapKey("web/app1"),
						knownvalue.StringExact("UP")),
					statecheck.ExpectKnownValue("data.lvs_director_status.lb", tfjsonpath.New("haproxy_in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.lvs_director_status.lb", tfjsonpath.New("objects"),
						knownvalue.ListExact([]knownvalue.Check{
							knownvalue.StringExact("haproxy_frontend web"), knownvalue.StringExact("haproxy_settings haproxy"),
						})),
				},
			},
			// The stored frontend deleted on the host: planned for creation.
			{
				PreConfig: func() {
					if err := os.Remove(lb.Path("/var/lib/lvs-agent/objects/haproxy_frontend/web.json")); err != nil {
						t.Fatal(err)
					}
				},
				Config: two,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("lvs_haproxy_frontend.web", plancheck.ResourceActionCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}
