//go:build linux

package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// need skips t loudly without the tool, or fails it under $CI.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set but %s is not installed", tool)
			}
			t.Skipf("SKIPPED, NOT TESTED: %s is not installed (install it and rerun; CI fails here)", tool)
		}
	}
}

// startLab brings up a lab of its own name and subnet, so that these tests
// never wait for (or race with) other packages' labs.
func startLab(t *testing.T, cfg netns.Config) *netns.Lab {
	t.Helper()
	cfg.Name = "lvsagent"
	cfg.Subnet = netip.MustParsePrefix("10.93.0.0/24")
	return netns.Start(t, cfg)
}

// buildAgent builds the lvs-agent binary the way a release does, where lab
// hosts can run it (they have their own /tmp, so not in t.TempDir).
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(netns.TempDir(t), "lvs-agent")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=labtest", "-o", bin, "github.com/lvsops/terraform-provider-lvs/internal/agent/cmd/lvs-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build lvs-agent: %v\n%s", err, out)
	}
	return bin
}

// labAgent runs the agent binary on one lab host with a request on stdin.
type labAgent struct {
	t    *testing.T
	lab  *netns.Lab
	host string
	bin  string
}

func (la *labAgent) do(req wire.Request) (*wire.Response, int) {
	la.t.Helper()
	var stdout, stderr bytes.Buffer
	err := la.run(req, &stdout, &stderr)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			la.t.Fatalf("running the agent: %v", err)
		}
		code = ee.ExitCode()
	}
	var resp wire.Response
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		la.t.Fatalf("agent exit %d, response %q: %v (stderr %s)", code, stdout.String(), err, stderr.String())
	}
	if resp.Error != nil && resp.Error.Code != code {
		la.t.Errorf("exit code %d but the response says %d", code, resp.Error.Code)
	}
	return &resp, code
}

// run runs the agent with req on stdin and env added to its environment.
func (la *labAgent) run(req wire.Request, stdout, stderr *bytes.Buffer, env ...string) error {
	la.t.Helper()
	req.Version = wire.Version
	body, err := json.Marshal(req)
	if err != nil {
		la.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := la.lab.Command(ctx, la.host, la.bin)
	if err != nil {
		la.t.Fatal(err)
	}
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(body), stdout, stderr
	return cmd.Run()
}

func (la *labAgent) exec(args ...string) string {
	la.t.Helper()
	out, err := la.lab.Exec(context.Background(), la.host, args...)
	if err != nil {
		la.t.Fatal(err)
	}
	return string(out)
}

func labDirector(iface string, priority int) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &model.Director{
		Interface: iface, RouterID: "dir1",
		Instances: []model.VRRPInstance{{
			Name: "VI_1", State: "MASTER", VirtualRouterID: 77, Priority: priority, AdvertInt: 1,
			Authentication: &model.VRRPAuth{Type: "PASS", Password: "labpass"},
			VirtualIPs:     []model.VirtualIP{{Prefix: netip.MustParsePrefix("10.93.0.100/24")}},
		}},
	}}
}

// TestLabKeepalived drives the real agent binary and the real keepalived
// in a lab host (its own network namespace, /etc/keepalived and /run).
func TestLabKeepalived(t *testing.T) {
	need(t, "keepalived", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := l.Exec(context.Background(), "dir1", "sh", "-c", "cat /etc/keepalived/keepalived.conf; ps -ef | grep [k]eepalived")
			t.Logf("dir1:\n%s", out)
		}
	})

	// A director with one VRRP instance: keepalived starts (VRRP only,
	// the kernel has no IPVS) and takes the VIP.
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{labDirector("eth0", 100)}})
	if code != wire.ExitOK {
		t.Fatalf("apply director: exit %d: %v", code, resp.Error)
	}
	if resp.AgentVersion != "labtest" || resp.Applied.Reloads["keepalived"] != 1 {
		t.Errorf("agent %q, reloads %v", resp.AgentVersion, resp.Applied.Reloads)
	}
	waitFor(t, 15*time.Second, "VIP 10.93.0.100 on dir1's eth0", func() bool {
		return strings.Contains(la.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100/24")
	})
	conf, err := os.ReadFile(l.Hosts["dir1"].Path(agent.KeepalivedConf))
	if err != nil || !strings.HasPrefix(string(conf), render.ManagedMarker) {
		t.Fatalf("dir1's keepalived.conf (%v):\n%s", err, conf)
	}
	var st *wire.DaemonState
	waitFor(t, 10*time.Second, "observe says VI_1 is MASTER", func() bool {
		obs, code := la.do(wire.Request{Verb: wire.VerbObserve})
		st = obs.Observed.Keepalived
		return code == wire.ExitOK && st.VRRP["VI_1"] == "MASTER"
	})
	if !st.Running || !st.ConfigOurs || !st.ConfigMatches {
		t.Errorf("observed keepalived %+v", st)
	}
	pid := strings.TrimSpace(la.exec("cat", "/run/keepalived.pid"))

	// Unchanged: no reload.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{labDirector("eth0", 100)}})
	if code != wire.ExitOK || resp.Applied.Reloads["keepalived"] != 0 {
		t.Errorf("unchanged apply: exit %d, reloads %v, error %v", code, resp.Applied, resp.Error)
	}

	// A VRRP interface the host lacks: the model accepts the name,
	// keepalived -t refuses it (exit 5). Nothing is installed, the
	// running keepalived keeps its config.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{labDirector("eth9", 100)}})
	if code != wire.ExitFailed || resp.Error.Step != "test keepalived config" || !strings.Contains(resp.Error.Detail, "eth9") {
		t.Fatalf("apply with a missing interface: exit %d, error %+v", code, resp.Error)
	}
	t.Logf("keepalived -t said:\n%s", resp.Error.Detail)
	if now, _ := os.ReadFile(l.Hosts["dir1"].Path(agent.KeepalivedConf)); string(now) != string(conf) {
		t.Error("a config keepalived -t refused was installed")
	}

	// A virtual server with a real server: keepalived reloads and starts
	// its checker, which needs IPVS; on a kernel without it the checker
	// exits, and keepalived with it. The agent must not take the reload
	// for done before that: it puts the previous config back and
	// keepalived runs VRRP again, with the VIP.
	vs := &model.VirtualServer{Address: netip.MustParseAddr("10.93.0.100"), Port: 80, ForwardingMethod: "dr"}
	rs := &model.RealServer{Address: netip.MustParseAddr("10.93.0.21"), TCPCheck: &model.TCPCheck{}}
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{
		{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: vs},
		{Key: wire.Key{Kind: wire.KindRealServer, ID: vs.Key() + "/10.93.0.21:80"}, RealServer: rs},
	}})
	if code == wire.ExitOK {
		if !resp.Observed.IPVSAvailable {
			t.Fatalf("the apply of a virtual server succeeded on a kernel without IPVS; keepalived: %+v", resp.Observed.Keepalived)
		}
		t.Logf("keepalived with virtual servers stayed up on this kernel (it has IPVS)")
	} else {
		if code != wire.ExitFailed || !strings.Contains(resp.Error.Step, "keepalived") {
			t.Fatalf("apply with a virtual server: exit %d, error %+v", code, resp.Error)
		}
		t.Logf("keepalived with virtual servers on a kernel without IPVS: %v", resp.Error)
		if now, _ := os.ReadFile(l.Hosts["dir1"].Path(agent.KeepalivedConf)); string(now) != string(conf) {
			t.Error("the previous keepalived.conf was not restored")
		}
		obs, _ := la.do(wire.Request{Verb: wire.VerbObserve})
		if st := obs.Observed.Keepalived; !st.Running || !st.ConfigMatches {
			t.Errorf("after the restore keepalived is %+v, want running the stored config", st)
		}
		if n := len(obs.Observed.Objects); n != 1 {
			t.Errorf("%d objects stored after a failed apply, want the director only", n)
		}
		waitFor(t, 15*time.Second, "VIP back on eth0", func() bool {
			return strings.Contains(la.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100/24")
		})
		if newPid := strings.TrimSpace(la.exec("cat", "/run/keepalived.pid")); newPid == pid {
			t.Errorf("keepalived pid %s unchanged: it was not restarted", pid)
		}
	}

	// Deleting the director stops keepalived and releases the VIP.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Delete: []wire.Key{{Kind: wire.KindDirector, ID: "director"}}})
	if code != wire.ExitOK {
		t.Fatalf("delete director: exit %d: %v", code, resp.Error)
	}
	waitFor(t, 10*time.Second, "VIP gone from eth0", func() bool {
		return !strings.Contains(la.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100")
	})
}

// TestLabHAProxy starts the real haproxy master-worker through the agent,
// reloads it hitlessly on a change, and keeps it running when a new
// config fails haproxy -c.
func TestLabHAProxy(t *testing.T) {
	need(t, "haproxy", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"hap1"}})
	la := &labAgent{t: t, lab: l, host: "hap1", bin: bin}

	objs := func(port int, extra ...string) []wire.Object {
		return []wire.Object{
			{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
				Defaults: model.HAProxyDefaults{Mode: "tcp", Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
			}},
			{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{
				Frontend: model.HAProxyFrontend{Name: "web", Binds: []model.HAProxyBind{{Port: 8080}}, DefaultBackend: "web_servers", Options: extra},
				Backend: model.HAProxyBackend{Name: "web_servers", Servers: []model.HAProxyServer{
					{Name: "web1", Address: netip.MustParseAddr("10.93.0.21"), Port: port},
				}},
			}},
		}
	}
	// The host's private /etc/haproxy is seeded from the machine's, whose
	// haproxy.cfg is Debian's: tuned by hand it is someone's work, not
	// ours, so refused, and left alone (untouched, it would be replaced:
	// TestLabHAProxyReplacesThePackageDefault).
	if _, err := os.Stat(l.Hosts["hap1"].Path(agent.HAProxyConf)); err == nil {
		la.exec("sh", "-c", "printf '# tuned by hand\\n' >> "+agent.HAProxyConf)
		debian := readHostFile(t, l, "hap1", agent.HAProxyConf)
		resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: objs(80)})
		if code != wire.ExitForeign || !strings.Contains(resp.Error.Message, "import") {
			t.Fatalf("apply over a foreign haproxy.cfg: exit %d, error %+v", code, resp.Error)
		}
		if now := readHostFile(t, l, "hap1", agent.HAProxyConf); string(now) != string(debian) {
			t.Error("the foreign haproxy.cfg was changed")
		}
		la.exec("rm", agent.HAProxyConf)
	}
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: objs(80)})
	if code != wire.ExitOK {
		t.Fatalf("apply haproxy: exit %d: %v", code, resp.Error)
	}
	st := resp.Observed.HAProxy
	if !st.Running || !st.ConfigOurs || !st.ConfigMatches || st.Servers["web_servers/web1"] == "" {
		t.Errorf("observed haproxy %+v", st)
	}
	master := strings.TrimSpace(la.exec("cat", "/run/haproxy.pid"))
	if !strings.Contains(la.exec("ss", "-ltn"), ":8080") {
		t.Error("nothing listens on :8080")
	}

	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: objs(81)})
	if code != wire.ExitOK || resp.Applied.Reloads["haproxy"] != 1 {
		t.Fatalf("reload haproxy: exit %d, %+v, %v", code, resp.Applied, resp.Error)
	}
	if now := strings.TrimSpace(la.exec("cat", "/run/haproxy.pid")); now != master {
		t.Errorf("master pid %s -> %s: haproxy was restarted, not reloaded", master, now)
	}
	if !strings.Contains(string(readHostFile(t, l, "hap1", agent.HAProxyConf)), "10.93.0.21:81") {
		t.Error("the new haproxy.cfg was not installed")
	}

	// A directive haproxy does not know: the model takes frontend options
	// as whole lines, haproxy -c refuses it with an ALERT.
	before := readHostFile(t, l, "hap1", agent.HAProxyConf)
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: objs(82, "bogus-directive on")})
	if code != wire.ExitFailed || resp.Error.Step != "test haproxy config" || !strings.Contains(resp.Error.Detail, "ALERT") {
		t.Fatalf("apply with a bad directive: exit %d, error %+v", code, resp.Error)
	}
	t.Logf("haproxy -c said:\n%s", resp.Error.Detail)
	if now := readHostFile(t, l, "hap1", agent.HAProxyConf); string(now) != string(before) {
		t.Error("a config haproxy -c refused was installed")
	}
	obs, _ := la.do(wire.Request{Verb: wire.VerbObserve})
	if st := obs.Observed.HAProxy; !st.Running || !st.ConfigMatches {
		t.Errorf("after the refused apply haproxy is %+v", st)
	}
}

func readHostFile(t *testing.T, l *netns.Lab, host, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(l.Hosts[host].Path(p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// TestLabRealServerDR sets up the real-server side of DR on a lab host:
// the VIP on lo and the ARP sysctls, in the host's own network namespace,
// and takes exactly them away again.
func TestLabRealServerDR(t *testing.T) {
	need(t, "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"rs1"}})
	la := &labAgent{t: t, lab: l, host: "rs1", bin: bin}
	key := wire.Key{Kind: wire.KindRealServerHost, ID: "tcp/10.93.0.100:80"}
	h := &model.RealServerHost{Method: "dr", VIPs: []netip.Addr{netip.MustParseAddr("10.93.0.100")}}
	before := la.exec("sysctl", "-n", "net.ipv4.conf.all.arp_ignore")

	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{{Key: key, RealServerHost: h}}})
	if code != wire.ExitOK {
		t.Fatalf("apply: exit %d: %v", code, resp.Error)
	}
	if lo := la.exec("ip", "-o", "addr", "show", "dev", "lo"); !strings.Contains(lo, "10.93.0.100/32") {
		t.Errorf("lo:\n%s", lo)
	}
	if got := strings.TrimSpace(la.exec("sysctl", "-n", "net.ipv4.conf.all.arp_ignore")); got != "1" {
		t.Errorf("arp_ignore = %s in the host's namespace, want 1", got)
	}
	if frag := readHostFile(t, l, "rs1", agent.SysctlFragment); !strings.Contains(string(frag), "net.ipv4.conf.all.arp_ignore = 1") {
		t.Errorf("sysctl fragment:\n%s", frag)
	}
	if !slices.Contains(resp.Observed.Addresses, model.HostAddress{Prefix: netip.MustParsePrefix("10.93.0.100/32"), Device: "lo", Scope: "global"}) {
		t.Errorf("observed addresses %v", resp.Observed.Addresses)
	}

	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Delete: []wire.Key{key}})
	if code != wire.ExitOK {
		t.Fatalf("delete: exit %d: %v", code, resp.Error)
	}
	lo := la.exec("ip", "-o", "addr", "show", "dev", "lo")
	if strings.Contains(lo, "10.93.0.100") || !strings.Contains(lo, "127.0.0.1/8") {
		t.Errorf("lo after delete:\n%s", lo)
	}
	if got := la.exec("sysctl", "-n", "net.ipv4.conf.all.arp_ignore"); got != before {
		t.Errorf("arp_ignore = %q after delete, want the original %q", got, before)
	}
}

// TestLabVRRPFailoverByReload runs two directors through the agent: the
// higher priority is MASTER, the other BACKUP, as keepalived itself says
// in observe; lowering the MASTER's priority (an apply, one reload) moves
// the VIP to the other director.
func TestLabVRRPFailoverByReload(t *testing.T) {
	need(t, "keepalived", "go")
	bin := buildAgent(t)
	l := startLab(t, netns.Config{Hosts: []string{"dir1", "dir2"}})
	dir1 := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	dir2 := &labAgent{t: t, lab: l, host: "dir2", bin: bin}
	for _, d := range []struct {
		la   *labAgent
		prio int
	}{{dir1, 100}, {dir2, 50}} {
		if resp, code := d.la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{labDirector("eth0", d.prio)}}); code != wire.ExitOK {
			t.Fatalf("%s: apply: exit %d: %v", d.la.host, code, resp.Error)
		}
	}
	states := func() (string, string) {
		s1, _ := dir1.do(wire.Request{Verb: wire.VerbObserve})
		s2, _ := dir2.do(wire.Request{Verb: wire.VerbObserve})
		return s1.Observed.Keepalived.VRRP["VI_1"], s2.Observed.Keepalived.VRRP["VI_1"]
	}
	var s1, s2 string
	waitFor(t, 20*time.Second, "dir1 MASTER, dir2 BACKUP", func() bool {
		s1, s2 = states()
		return s1 == "MASTER" && s2 == "BACKUP"
	})
	if !strings.Contains(dir1.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100/24") {
		t.Error("dir1 is MASTER but lacks the VIP")
	}

	resp, code := dir1.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{labDirector("eth0", 10)}})
	if code != wire.ExitOK || resp.Applied.Reloads["keepalived"] != 1 {
		t.Fatalf("lowering dir1's priority: exit %d, %+v, %v", code, resp.Applied, resp.Error)
	}
	waitFor(t, 20*time.Second, "dir2 MASTER, dir1 BACKUP after the reload", func() bool {
		s1, s2 = states()
		return s1 == "BACKUP" && s2 == "MASTER"
	})
	if !strings.Contains(dir2.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100/24") {
		t.Error("dir2 is MASTER but lacks the VIP")
	}
	if strings.Contains(dir1.exec("ip", "-o", "addr", "show", "dev", "eth0"), "10.93.0.100/24") {
		t.Error("dir1 still holds the VIP as BACKUP")
	}
}
