package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestNetnsUploadOnceThenReuse: the first run installs the agent on each of
// three hosts (concurrently, as the provider does); a second run (a new
// pool and Deployer: the next Terraform run) finds every copy in place and
// uploads nothing, and the installed files are not rewritten.
func TestNetnsUploadOnceThenReuse(t *testing.T) {
	e := startEnv(t, 1, []string{"dir1", "dir2", "rs1"})
	ensureAll := func(r *run) (uploads int, paths map[string]string) {
		t.Helper()
		var mu sync.Mutex
		var wg sync.WaitGroup
		paths = map[string]string{}
		for _, name := range e.lab.Order {
			wg.Go(func() {
				path, uploaded, err := r.d.Ensure(callCtx(t), r.hosts[name])
				if err != nil {
					t.Errorf("%s: Ensure: %v", name, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				paths[name] = path
				if uploaded {
					uploads++
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return uploads, paths
	}
	stat := func(host, path string) os.FileInfo {
		fi, err := os.Stat(e.lab.Hosts[host].Path(path))
		if err != nil {
			t.Fatalf("%s: the agent is not where Ensure says: %v", host, err)
		}
		return fi
	}

	began := time.Now()
	uploads, paths := ensureAll(e.run)
	t.Logf("first run: %d uploads in %v", uploads, time.Since(began).Round(time.Millisecond))
	if uploads != 3 {
		t.Fatalf("first run uploaded to %d hosts, want 3", uploads)
	}
	before := map[string]os.FileInfo{}
	for _, name := range e.lab.Order {
		before[name] = stat(name, paths[name])
		if obs := e.run.observe(name); obs.Hostname != name {
			t.Errorf("%s: the agent reports hostname %q", name, obs.Hostname)
		}
	}

	second := e.newRun()
	began = time.Now()
	uploads, paths2 := ensureAll(second)
	t.Logf("second run: %d uploads in %v", uploads, time.Since(began).Round(time.Millisecond))
	if uploads != 0 {
		t.Errorf("second run uploaded to %d hosts, want 0", uploads)
	}
	for _, name := range e.lab.Order {
		if paths2[name] != paths[name] {
			t.Errorf("%s: second run's agent at %s, first run's at %s", name, paths2[name], paths[name])
		}
		if fi := stat(name, paths2[name]); !os.SameFile(fi, before[name]) || !fi.ModTime().Equal(before[name].ModTime()) {
			t.Errorf("%s: the installed agent was rewritten by the second run", name)
		}
		resp, err := second.call(name, &wire.Request{Verb: wire.VerbVersion})
		if err != nil || resp.AgentVersion != e.agent.version {
			t.Errorf("%s: second run's version call = %+v, %v; want %q", name, resp, err, e.agent.version)
		}
	}
}

// realServerHost is the DR real-server side for one VIP.
func realServerHost(vip netip.Addr) wire.Object {
	return wire.Object{
		Key:            wire.Key{Kind: wire.KindRealServerHost, ID: "tcp/" + vip.String() + ":80"},
		RealServerHost: &model.RealServerHost{Method: "dr", VIPs: []netip.Addr{vip}},
	}
}

// drSysctls are the sysctls the DR real-server side manages, and their
// values.
var drSysctls = map[string]string{
	"net.ipv4.conf.all.arp_ignore":   "1",
	"net.ipv4.conf.all.arp_announce": "2",
	"net.ipv4.conf.lo.arp_ignore":    "1",
	"net.ipv4.conf.lo.arp_announce":  "2",
}

// TestNetnsRealServerSysctlsAndVIPsPerHost: the DR real-server side on two hosts
// with different VIPs; each host sets and reports its own sysctls and
// addresses, never the other's; a delete restores each host's previous
// values (different on the two hosts).
func TestNetnsRealServerSysctlsAndVIPsPerHost(t *testing.T) {
	e := startEnv(t, 2, []string{"rs1", "rs2"})
	vips := map[string]netip.Addr{"rs1": e.vip(100), "rs2": e.vip(101)}
	lo := func(host string) netip.Prefix { return netip.PrefixFrom(vips[host], 32) }
	kernel := func(host string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for k := range drSysctls {
			out[k] = strings.TrimSpace(e.exec(host, "sysctl", "-n", k))
		}
		return out
	}
	// rs2 starts from a value set by hand, so that the two hosts' previous
	// values differ.
	e.exec("rs2", "sysctl", "-w", "net.ipv4.conf.all.arp_announce=1")
	prev := map[string]map[string]string{"rs1": kernel("rs1"), "rs2": kernel("rs2")}
	if prev["rs2"]["net.ipv4.conf.all.arp_announce"] != "1" || prev["rs1"]["net.ipv4.conf.all.arp_announce"] == "1" {
		t.Fatalf("previous values: rs1 %v, rs2 %v", prev["rs1"], prev["rs2"])
	}
	// checkHost checks what host runs and reports: DR set up for its own
	// VIP (applied) or nothing of ours (not applied).
	checkHost := func(host string, applied bool) {
		t.Helper()
		obs := e.run.observe(host)
		other := "rs2"
		if host == "rs2" {
			other = "rs1"
		}
		if e.hasAddr(host, "lo", lo(other)) {
			t.Errorf("%s has %s's VIP %s on lo", host, other, lo(other))
		}
		if slices.ContainsFunc(obs.Addresses, func(a model.HostAddress) bool { return a.Prefix.Addr() == vips[other] }) {
			t.Errorf("%s reports %s's VIP: %v", host, other, obs.Addresses)
		}
		if !applied {
			if e.hasAddr(host, "lo", lo(host)) || len(obs.Addresses) > 0 || len(obs.Sysctls) > 0 || len(obs.Objects) > 0 {
				t.Errorf("%s without objects: lo %q, reported %v %v %v", host, e.addrs(host, "lo"), obs.Objects, obs.Addresses, obs.Sysctls)
			}
			if got := kernel(host); !mapsEqual(got, prev[host]) {
				t.Errorf("%s: sysctls %v, want its previous values %v", host, got, prev[host])
			}
			if _, err := os.Stat(e.lab.Hosts[host].Path(agent.SysctlFragment)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s left behind (%v)", host, agent.SysctlFragment, err)
			}
			return
		}
		if !e.hasAddr(host, "lo", lo(host)) {
			t.Errorf("%s: lo lacks its VIP %s: %s", host, lo(host), e.addrs(host, "lo"))
		}
		// Observe reports every address on the devices the objects manage
		// (lo here, with its loopback addresses), so that a hand-added one
		// shows as drift.
		if !slices.Contains(obs.Addresses, model.HostAddress{Prefix: lo(host), Device: "lo", Scope: "global"}) {
			t.Errorf("%s reports addresses %v, without its VIP %s on lo", host, obs.Addresses, lo(host))
		}
		if !mapsEqual(obs.Sysctls, drSysctls) {
			t.Errorf("%s reports sysctls %v, want %v", host, obs.Sysctls, drSysctls)
		}
		if got := kernel(host); !mapsEqual(got, drSysctls) {
			t.Errorf("%s: kernel sysctls %v, want %v", host, got, drSysctls)
		}
		frag := string(e.file(host, agent.SysctlFragment))
		for k, v := range drSysctls {
			if !strings.Contains(frag, k+" = "+v) {
				t.Errorf("%s: %s lacks %s = %s:\n%s", host, agent.SysctlFragment, k, v, frag)
			}
		}
	}

	e.run.apply("rs1", []wire.Object{realServerHost(vips["rs1"])})
	checkHost("rs1", true)
	checkHost("rs2", false)

	e.run.apply("rs2", []wire.Object{realServerHost(vips["rs2"])})
	checkHost("rs1", true)
	checkHost("rs2", true)

	e.run.apply("rs1", nil, realServerHost(vips["rs1"]).Key)
	checkHost("rs1", false)
	checkHost("rs2", true)

	e.run.apply("rs2", nil, realServerHost(vips["rs2"]).Key)
	checkHost("rs2", false)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// director is a director with one VRRPv3 instance holding vip on eth0, or
// on iface when given. Adverts every second: a failover on a stop does not
// wait for them (the stopping master sends priority 0), and shorter ones
// flap when a loaded machine starves keepalived.
func director(host, state string, priority int, vip netip.Prefix, iface string) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &model.Director{
		Interface: netns.HostInterface, RouterID: host,
		Instances: []model.VRRPInstance{{
			Name: "VI_1", State: state, Interface: iface, VirtualRouterID: 94, Priority: priority,
			Version: 3, AdvertInt: 1,
			VirtualIPs: []model.VirtualIP{{Prefix: vip}},
		}},
	}}
}

// vrrp is the state keepalived reports for VI_1 on host ("" when not
// running).
func (r *run) vrrp(host string) string {
	r.t.Helper()
	obs := r.observe(host)
	if obs.Keepalived == nil {
		return ""
	}
	return obs.Keepalived.VRRP["VI_1"]
}

// TestNetnsVRRPFailoverThroughAgent: two directors applied through the agent,
// MASTER (120) and BACKUP (100) as keepalived itself reports; the MASTER's
// keepalived is stopped, the VIP moves, and the agent reports the new
// states; applying again on the first director starts keepalived again,
// which preempts back.
func TestNetnsVRRPFailoverThroughAgent(t *testing.T) {
	e := startEnv(t, 3, []string{"dir1", "dir2"}, "keepalived")
	vip := netip.PrefixFrom(e.vip(100), e.lab.Subnet.Bits())
	dirs := map[string]wire.Object{
		"dir1": director("dir1", "MASTER", 120, vip, ""),
		"dir2": director("dir2", "BACKUP", 100, vip, ""),
	}
	logOnFailure(t, e, "dir1", "dir2")
	for _, h := range []string{"dir1", "dir2"} {
		resp := e.run.apply(h, []wire.Object{dirs[h]})
		if resp.Applied.Reloads["keepalived"] != 1 || !resp.Observed.Keepalived.Running {
			t.Fatalf("%s: apply started nothing: %+v, keepalived %+v", h, resp.Applied, resp.Observed.Keepalived)
		}
	}
	took := waitFor(t, 15*time.Second, "dir1 MASTER and dir2 BACKUP", func() bool {
		return e.run.vrrp("dir1") == "MASTER" && e.run.vrrp("dir2") == "BACKUP"
	})
	t.Logf("dir1 MASTER, dir2 BACKUP after %v", took.Round(time.Millisecond))
	if !e.hasAddr("dir1", "eth0", vip) || e.hasAddr("dir2", "eth0", vip) {
		t.Fatalf("VIP %s: dir1 %q, dir2 %q; want it on dir1 only", vip, e.addrs("dir1", "eth0"), e.addrs("dir2", "eth0"))
	}

	// dir1's keepalived stops (SIGTERM, as a crash handler or an operator
	// would): dir2 takes the VIP over, by VRRP alone (its keepalived is not
	// restarted).
	backupPid := e.pidOf("dir2", agent.KeepalivedPid)
	e.exec("dir1", "sh", "-c", "kill $(cat "+agent.KeepalivedPid+")")
	took = waitFor(t, 10*time.Second, "the VIP on dir2", func() bool { return e.hasAddr("dir2", "eth0", vip) })
	t.Logf("VIP on dir2 %v after dir1's keepalived was stopped", took.Round(time.Millisecond))
	waitFor(t, 10*time.Second, "dir2 reported MASTER", func() bool { return e.run.vrrp("dir2") == "MASTER" })
	waitFor(t, 10*time.Second, "dir1's keepalived gone", func() bool {
		_, err := e.lab.Exec(callCtx(t), "dir1", "test", "-e", agent.KeepalivedPid)
		return err != nil
	})
	if now := e.pidOf("dir2", agent.KeepalivedPid); now != backupPid {
		t.Errorf("dir2's keepalived pid %s -> %s: restarted", backupPid, now)
	}
	obs := e.run.observe("dir1")
	if k := obs.Keepalived; k == nil || k.Running || len(k.VRRP) > 0 || !k.ConfigOurs || !k.ConfigMatches {
		t.Errorf("dir1 after its keepalived stopped reports %+v; want not running, its config ours and matching", k)
	}
	if e.hasAddr("dir1", "eth0", vip) {
		t.Error("dir1 still holds the VIP")
	}

	// The next apply on dir1 (nothing changed in the object) starts
	// keepalived again, and priority 120 takes the VIP back.
	resp := e.run.apply("dir1", []wire.Object{dirs["dir1"]})
	if resp.Applied.Reloads["keepalived"] != 1 || !resp.Observed.Keepalived.Running || len(resp.Applied.Changed) != 0 {
		t.Errorf("apply on dir1 after the stop: %+v, keepalived %+v; want it started, no object changed", resp.Applied, resp.Observed.Keepalived)
	}
	took = waitFor(t, 15*time.Second, "dir1 MASTER again and dir2 BACKUP", func() bool {
		return e.run.vrrp("dir1") == "MASTER" && e.run.vrrp("dir2") == "BACKUP"
	})
	t.Logf("dir1 preempted back after %v", took.Round(time.Millisecond))
	waitFor(t, 5*time.Second, "the VIP on dir1 only", func() bool {
		return e.hasAddr("dir1", "eth0", vip) && !e.hasAddr("dir2", "eth0", vip)
	})
}

// logOnFailure logs the hosts' daemon configs and processes when t fails.
func logOnFailure(t *testing.T, e *env, hosts ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, h := range hosts {
			out, _ := e.lab.Exec(context.Background(), h, "sh", "-c",
				"for f in /etc/keepalived/keepalived.conf /etc/haproxy/haproxy.cfg; do [ -e $f ] && { echo \"== $f\"; cat $f; }; done; ps -eo pid,args | grep -E '[k]eepalived|[h]aproxy'; ip -o addr")
			t.Logf("host %s:\n%s", h, out)
		}
	})
}

// haproxySettings are an haproxy host's global and defaults: HTTP, with a
// retry on another server when a connection fails.
func haproxySettings() wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
		Defaults: model.HAProxyDefaults{
			Mode: "http", Retries: 3, Redispatch: true,
			Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 30000, Server: 30000},
		},
	}}
}

// frontend is a frontend on addr:port with its backend of servers; opts
// are extra frontend lines.
func frontend(name string, addr netip.Addr, port int, servers []model.HAProxyServer, opts ...string) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: name}, HAProxyFrontend: &wire.HAProxyFrontend{
		Frontend: model.HAProxyFrontend{
			Name: name, Binds: []model.HAProxyBind{{Address: addr, Port: port}},
			DefaultBackend: name + "_servers", Options: opts,
		},
		Backend: model.HAProxyBackend{Name: name + "_servers", Balance: "roundrobin", Servers: servers},
	}}
}

// answering is a frontend that answers every request itself with body, a
// single word (no backend server needed).
func answering(name string, addr netip.Addr, port int, body string) wire.Object {
	return frontend(name, addr, port, nil, "http-request return status 200 content-type text/plain string "+body)
}

// get fetches url on a fresh connection and returns the body.
func get(url string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// httpServerPy is a threaded HTTP server answering every GET with argv[3].
// (http.server's own server looks its address up in DNS when it binds,
// which hangs where DNS is unreachable, as in the lab.)
const httpServerPy = `
import http.server, socketserver, sys
body = sys.argv[3].encode()
class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
`

// httpServer starts an HTTP server on host at addr:port answering name
// (python3, in the host's namespaces), and waits until it answers.
func httpServer(t *testing.T, e *env, host string, addr netip.Addr, port int, name string) {
	t.Helper()
	cmd, err := e.lab.Command(context.Background(), host, "python3", "-c", httpServerPy, addr.String(), fmt.Sprint(port), name)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start %s: %v", host, name, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	url := fmt.Sprintf("http://%s:%d/", addr, port)
	var last error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		body, err := get(url)
		if err == nil && body == name {
			return
		}
		last = err
		select {
		case <-done:
			t.Fatalf("%s: %s exited: %v\n%s", host, name, waitErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not answering at %s after 10s: %v, %q", host, name, url, last, body)
		}
	}
}

// load sends requests to url from workers concurrent clients, each on a
// fresh connection, until stop is closed, and counts the answers by body
// and the failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	bodies     map[string]int
	errs       []error
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startLoad(url string, workers int) *load {
	l := &load{bodies: map[string]int{}, stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				body, err := get(url)
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err)
					}
				} else {
					l.ok.Add(1)
					l.bodies[body]++
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *load) seen(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bodies[body]
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// TestNetnsHAProxyHitlessReloadUnderLoad: haproxy on dir1 in front of HTTP
// servers on rs1 and rs2; while a bounded load runs through it, two applies
// change the backend (a weight, then a new server): two reloads of the same
// master, the new config served, not one request failed.
func TestNetnsHAProxyHitlessReloadUnderLoad(t *testing.T) {
	e := startEnv(t, 4, []string{"dir1", "rs1", "rs2"}, "haproxy", "python3")
	e.removeForeignHAProxyCfg("dir1")
	logOnFailure(t, e, "dir1")
	rs1, rs2, dir1 := e.lab.Hosts["rs1"].Addr, e.lab.Hosts["rs2"].Addr, e.lab.Hosts["dir1"].Addr
	httpServer(t, e, "rs1", rs1, 8000, "rs1-a")
	httpServer(t, e, "rs2", rs2, 8000, "rs2-a")
	httpServer(t, e, "rs1", rs1, 8001, "rs1-b")
	weight := func(w int) *int { return &w }
	servers := []model.HAProxyServer{
		{Name: "web1", Address: rs1, Port: 8000, Weight: weight(10)},
		{Name: "web2", Address: rs2, Port: 8000, Weight: weight(10)},
	}
	url := fmt.Sprintf("http://%s:8080/", dir1)

	resp := e.run.apply("dir1", []wire.Object{haproxySettings(), frontend("web", dir1, 8080, servers)})
	if st := resp.Observed.HAProxy; st == nil || !st.Running || !st.ConfigMatches {
		t.Fatalf("haproxy after the first apply: %+v", st)
	}
	master := e.pidOf("dir1", agent.HAProxyPid)
	seen := map[string]bool{}
	waitFor(t, 10*time.Second, "both servers answering through haproxy", func() bool {
		body, err := get(url)
		seen[body] = err == nil
		return seen["rs1-a"] && seen["rs2-a"]
	})

	ld := startLoad(url, 4)
	began := time.Now()
	stopped := false
	defer func() {
		if !stopped {
			ld.finish()
		}
	}()
	time.Sleep(500 * time.Millisecond) // load before the first reload

	servers[1].Weight = weight(30)
	reload1 := e.run.apply("dir1", []wire.Object{frontend("web", dir1, 8080, servers)})
	servers = append(servers, model.HAProxyServer{Name: "web3", Address: rs1, Port: 8001, Weight: weight(10)})
	reload2 := e.run.apply("dir1", []wire.Object{frontend("web", dir1, 8080, servers)})
	// The new server answers: the new config is served, under load.
	waitFor(t, 10*time.Second, "web3 (rs1-b) answering through haproxy", func() bool { return ld.seen("rs1-b") > 0 })
	time.Sleep(500 * time.Millisecond) // and load after the last reload
	ld.finish()
	stopped = true
	elapsed := time.Since(began)

	t.Logf("load: %d requests in %v (%d failed) across two reloads; answers by server: %v",
		ld.ok.Load()+ld.failed.Load(), elapsed.Round(time.Millisecond), ld.failed.Load(), ld.bodies)
	if n := ld.failed.Load(); n != 0 {
		t.Errorf("%d requests failed during the reloads, want 0; first errors: %v", n, ld.errs)
	}
	if ld.ok.Load() < 20 {
		t.Errorf("only %d requests succeeded: the load did not run", ld.ok.Load())
	}
	for i, r := range []*wire.Response{reload1, reload2} {
		if r.Applied.Reloads["haproxy"] != 1 || !slices.Contains(r.Applied.Files, agent.HAProxyConf) {
			t.Errorf("apply %d: %+v; want one haproxy reload and %s written", i+1, r.Applied, agent.HAProxyConf)
		}
	}
	if now := e.pidOf("dir1", agent.HAProxyPid); now != master {
		t.Errorf("haproxy master pid %s -> %s: restarted, not reloaded", master, now)
	}
	cfg := string(e.file("dir1", agent.HAProxyConf))
	if !strings.Contains(cfg, "web3") || !strings.Contains(cfg, "weight 30") {
		t.Errorf("installed haproxy.cfg lacks the changes:\n%s", cfg)
	}
	st := e.run.observe("dir1").HAProxy
	if !st.Running || !st.ConfigOurs || !st.ConfigMatches {
		t.Errorf("haproxy observed as %+v", st)
	}
	for _, s := range []string{"web_servers/web1", "web_servers/web2", "web_servers/web3"} {
		if _, ok := st.Servers[s]; !ok {
			t.Errorf("observe does not report server %s: %v", s, st.Servers)
		}
	}
}

// TestNetnsBadConfigLeavesRunningConfig: a keepalived.conf that keepalived -t
// refuses and an haproxy.cfg that haproxy -c refuses are each reported as
// the agent's error naming the step, with the tool's own words; the
// installed files stay byte for byte, the daemons keep running them (the
// VIP held, the frontend serving), and the stored objects are unchanged.
func TestNetnsBadConfigLeavesRunningConfig(t *testing.T) {
	e := startEnv(t, 5, []string{"dir1"}, "keepalived", "haproxy")
	e.removeForeignHAProxyCfg("dir1")
	logOnFailure(t, e, "dir1")
	dir1 := e.lab.Hosts["dir1"].Addr
	vip := netip.PrefixFrom(e.vip(100), e.lab.Subnet.Bits())
	url := fmt.Sprintf("http://%s:8080/", dir1)
	good := []wire.Object{director("dir1", "MASTER", 120, vip, ""), haproxySettings(), answering("web", dir1, 8080, "v1")}
	e.run.apply("dir1", good)
	waitFor(t, 10*time.Second, "dir1 MASTER with the VIP", func() bool {
		return e.run.vrrp("dir1") == "MASTER" && e.hasAddr("dir1", "eth0", vip)
	})
	if body, err := get(url); err != nil || body != "v1" {
		t.Fatalf("frontend: %q, %v", body, err)
	}
	kaConf, hapConf := e.file("dir1", agent.KeepalivedConf), e.file("dir1", agent.HAProxyConf)
	kaPid, hapPid := e.pidOf("dir1", agent.KeepalivedPid), e.pidOf("dir1", agent.HAProxyPid)

	// unchanged checks that the refused apply changed nothing on dir1.
	unchanged := func(t *testing.T) {
		t.Helper()
		if now := e.file("dir1", agent.KeepalivedConf); string(now) != string(kaConf) {
			t.Errorf("keepalived.conf changed:\n%s", now)
		}
		if now := e.file("dir1", agent.HAProxyConf); string(now) != string(hapConf) {
			t.Errorf("haproxy.cfg changed:\n%s", now)
		}
		if k, h := e.pidOf("dir1", agent.KeepalivedPid), e.pidOf("dir1", agent.HAProxyPid); k != kaPid || h != hapPid {
			t.Errorf("daemons restarted: keepalived %s -> %s, haproxy %s -> %s", kaPid, k, hapPid, h)
		}
		obs := e.run.observe("dir1")
		if k := obs.Keepalived; !k.Running || !k.ConfigMatches || k.VRRP["VI_1"] != "MASTER" {
			t.Errorf("keepalived observed as %+v; want running the stored config, MASTER", k)
		}
		if h := obs.HAProxy; !h.Running || !h.ConfigMatches {
			t.Errorf("haproxy observed as %+v; want running the stored config", h)
		}
		if len(obs.Objects) != len(good) {
			t.Errorf("stored objects %v, want the %d of the last good apply", obs.Objects, len(good))
		}
		for _, o := range obs.Objects {
			if o.Kind == wire.KindDirector && o.Director.Instances[0].Interface != "" {
				t.Errorf("stored director has interface %q: the refused one", o.Director.Instances[0].Interface)
			}
			if o.Kind == wire.KindHAProxyFrontend && len(o.HAProxyFrontend.Frontend.Options) != 1 {
				t.Errorf("stored frontend has options %q: the refused ones", o.HAProxyFrontend.Frontend.Options)
			}
		}
		if !e.hasAddr("dir1", "eth0", vip) {
			t.Error("the VIP is gone")
		}
		if body, err := get(url); err != nil || body != "v1" {
			t.Errorf("frontend after the refused apply: %q, %v", body, err)
		}
	}

	t.Run("keepalived -t", func(t *testing.T) {
		// A VRRP interface the host lacks: a valid name to the model,
		// refused by keepalived -t.
		_, err := e.run.call("dir1", &wire.Request{Verb: wire.VerbApply, Put: []wire.Object{director("dir1", "MASTER", 120, vip, "eth9")}})
		ce, we := agentError(t, err)
		t.Logf("the provider gets: %v", err)
		if ce.ExitCode != wire.ExitFailed || we.Step != "test keepalived config" || !strings.Contains(we.Detail, "eth9") {
			t.Errorf("exit %d, step %q, detail %q; want exit %d at \"test keepalived config\" with keepalived's complaint about eth9",
				ce.ExitCode, we.Step, we.Detail, wire.ExitFailed)
		}
		if msg := err.Error(); !strings.Contains(msg, e.run.hosts["dir1"].String()) || !strings.Contains(msg, "test keepalived config") || !strings.Contains(msg, "eth9") {
			t.Errorf("error %q does not name host, step and the tool's words", msg)
		}
		unchanged(t)
	})

	t.Run("haproxy -c", func(t *testing.T) {
		// A frontend line haproxy does not know: the model takes extra
		// lines as they are, haproxy -c refuses it with an ALERT.
		bad := answering("web", dir1, 8080, "v2")
		bad.HAProxyFrontend.Frontend.Options = append(bad.HAProxyFrontend.Frontend.Options, "bogus-directive on")
		_, err := e.run.call("dir1", &wire.Request{Verb: wire.VerbApply, Put: []wire.Object{bad}})
		ce, we := agentError(t, err)
		t.Logf("the provider gets: %v", err)
		if ce.ExitCode != wire.ExitFailed || we.Step != "test haproxy config" || !strings.Contains(we.Detail, "ALERT") || !strings.Contains(we.Detail, "bogus-directive") {
			t.Errorf("exit %d, step %q, detail %q; want exit %d at \"test haproxy config\" with haproxy's ALERT about bogus-directive",
				ce.ExitCode, we.Step, we.Detail, wire.ExitFailed)
		}
		if msg := err.Error(); !strings.Contains(msg, e.run.hosts["dir1"].String()) || !strings.Contains(msg, "test haproxy config") || !strings.Contains(msg, "bogus-directive") {
			t.Errorf("error %q does not name host, step and the tool's words", msg)
		}
		unchanged(t)
	})
}

// TestNetnsHostLockSerialisesRuns: two Terraform runs (two pools, two
// Deployers) apply to one host at the same moment, each its own haproxy
// frontend. Both succeed; the host lock makes one wait for the other, so
// the second sees the first's frontend and the host ends with both.
func TestNetnsHostLockSerialisesRuns(t *testing.T) {
	e := startEnv(t, 6, []string{"hap1"}, "haproxy")
	e.removeForeignHAProxyCfg("hap1")
	logOnFailure(t, e, "hap1")
	addr := e.lab.Hosts["hap1"].Addr
	runs := []*run{e.run, e.newRun()}
	objs := [][]wire.Object{
		{haproxySettings(), answering("a", addr, 8081, "frontend-a")},
		{haproxySettings(), answering("b", addr, 8082, "frontend-b")},
	}
	// The agent is in place for both runs first, so that the race is
	// between the applies alone.
	for _, r := range runs {
		if _, _, err := r.d.Ensure(callCtx(t), r.hosts["hap1"]); err != nil {
			t.Fatal(err)
		}
	}

	resps := make([]*wire.Response, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			<-start
			resps[i], errs[i] = r.call("hap1", &wire.Request{Verb: wire.VerbApply, Put: objs[i]})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}

	// Serialised: exactly one apply saw the other's frontend stored.
	keysOf := func(r *wire.Response) []string {
		var ks []string
		for _, o := range r.Observed.Objects {
			ks = append(ks, o.Key.String())
		}
		return ks
	}
	all := []string{"haproxy_frontend a", "haproxy_frontend b", "haproxy_settings haproxy"}
	first, second := resps[0], resps[1]
	if len(first.Observed.Objects) > len(second.Observed.Objects) {
		first, second = second, first
	}
	if got := keysOf(second); !slices.Equal(got, all) {
		t.Errorf("the later apply stored %v, want %v", got, all)
	}
	if got := keysOf(first); len(got) != 2 {
		t.Errorf("the earlier apply stored %v, want its own frontend and the settings", got)
	}
	for i, r := range resps {
		if r.Applied.Reloads["haproxy"] != 1 {
			t.Errorf("run %d: haproxy reloads %v, want 1", i+1, r.Applied.Reloads)
		}
	}

	// A third look, from either run: both objects, both served.
	obs := runs[1].observe("hap1")
	if len(obs.Objects) != 3 || !obs.HAProxy.Running || !obs.HAProxy.ConfigMatches {
		t.Errorf("hap1 stores %d objects, haproxy %+v", len(obs.Objects), obs.HAProxy)
	}
	for _, f := range []struct {
		port int
		body string
	}{{8081, "frontend-a"}, {8082, "frontend-b"}} {
		if body, err := get(fmt.Sprintf("http://%s:%d/", addr, f.port)); err != nil || body != f.body {
			t.Errorf("port %d: %q, %v; want %q", f.port, body, err, f.body)
		}
	}
}
