//go:build linux

package provider

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// Bounded-load checks: each case changes the cluster with the real
// terraform while about loadRate requests per second go through a VIP,
// each on a fresh connection, and asserts that not one request failed
// (refused, reset, unanswered within loadTimeout, or answered by something
// else than a real server), then that the next plan is empty.
//
// The cluster: two director VMs with a real IPVS kernel (x2d1, priority
// 150, MASTER; x2d2, priority 100) on the bridge of a namespace lab whose
// rs1, rs2 and rs3 serve HTTP (busybox httpd, answering their name) and
// whose hap runs haproxy in front of rs1 and rs2. The VRRP instance is
// VRRPv3 with adverts every second, and keepalived's lvs_sync_daemon on
// the same interface, so the BACKUP holds the MASTER's IPVS connections;
// the failover case switches to the fast profile (adverts every 0.2 s)
// first. Services (direct routing, the real servers' side set
// up by their host blocks): web at .100 (rs1, rs2, rs3 at times), hap at
// .101 (the haproxy tier), and other and extra at .102 and .103 that come
// and go. The load runs from the test process (the lab bridge's own
// address) to the VIP.

// loadRate is the bounded load, in requests per second.
const loadRate = 30

// loadLab is the lab name and subnet of this test (no other test uses them).
const loadLab = "lvsx2"

var loadSubnet = netip.MustParsePrefix("10.132.0.0/24")

// loadSpec is the cluster's configuration at one moment.
type loadSpec struct {
	engine      string         // both directors' engine
	scheduler   string         // web's scheduler
	web         map[string]int // web's real servers: host -> weight
	other       bool           // the service "other" (.102: rs1, rs2)
	extra       bool           // the service "extra" (.103: rs1)
	hapWeight   int            // haproxy's weight of its server rs2
	garpRefresh int            // the VRRP instance's garp_master_refresh (0: unset)
	fast        bool           // the fast VRRP profile: adverts every 0.2 s (else 1 s)
}

func baseLoadSpec() loadSpec {
	return loadSpec{engine: "keepalived", scheduler: "wrr", web: map[string]int{"rs1": 1, "rs2": 1}, hapWeight: 10}
}

// loadCluster is the running lab, directors and terraform working dir.
type loadCluster struct {
	t      *testing.T
	ctx    context.Context
	a      *accLab
	d      [2]*vm.VM
	tf     *tfCLI
	hosts  map[string]string // lab host -> address
	vipWeb string
	vipHap string
	broken bool // a terraform command failed: the state is not what the cases expect
}

// terraform runs a terraform command as test t, failing it on error (and
// marking the cluster broken for the cases after it).
func (c *loadCluster) terraform(t *testing.T, args ...string) {
	t.Helper()
	c.tf.t = t
	c.broken = true
	c.tf.run(args...)
	c.broken = false
}

func (c *loadCluster) vip(n int) string { return c.a.vip(n) }

// hcl renders spec as the root module.
func (c *loadCluster) hcl(s loadSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
terraform {
  required_providers {
    lvs = {
      source = "lvsops/lvs"
    }
  }
}

provider "lvs" {
  user              = "root"
  private_key_path  = %q
  known_hosts_files = [%q, %q, %q]
  connect_timeout   = "90s"
  command_timeout   = "5m"
}
`, c.a.ClientKeyPath, c.a.KnownHostsPath, c.d[0].KnownHosts, c.d[1].KnownHosts)
	advert := "1"
	if s.fast {
		advert = "0.2"
	}
	garp := ""
	if s.garpRefresh != 0 {
		garp = fmt.Sprintf("\n    garp_master_refresh = %d", s.garpRefresh)
	}
	for i, d := range c.d {
		state, prio := "MASTER", 150
		if i == 1 {
			state, prio = "BACKUP", 100
		}
		fmt.Fprintf(&b, `
resource "lvs_director" "d%[1]d" {
  ssh {
    host = %[2]q
  }
  interface = "eth1"
  engine    = %[3]q
  global_defs {
    lvs_sync_daemon {
      interface     = "eth1"
      vrrp_instance = "VI_1"
    }
  }
  vrrp_instance {
    name              = "VI_1"
    state             = %[4]q
    virtual_router_id = 132
    priority          = %[5]d
    version           = 3
    advert_int        = %[6]s%[7]s
`, i+1, d.BridgeAddr.String(), s.engine, state, prio, advert, garp)
		for n := 100; n <= 103; n++ {
			fmt.Fprintf(&b, "    virtual_ipaddress {\n      address = \"%s/24\"\n    }\n", c.vip(n))
		}
		b.WriteString("  }\n}\n")
	}
	service := func(name string, n int, sched string, servers map[string]int) {
		fmt.Fprintf(&b, `
resource "lvs_virtual_server" %[1]q {
  directors         = [lvs_director.d1.id, lvs_director.d2.id]
  address           = %[2]q
  port              = 80
  scheduler         = %[3]q
  forwarding_method = "dr"
}
`, name, c.vip(n), sched)
		hosts := make([]string, 0, len(servers))
		for h := range servers {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			fmt.Fprintf(&b, `
resource "lvs_real_server" "%[1]s_%[2]s" {
  virtual_server_id = lvs_virtual_server.%[1]s.id
  address           = %[3]q
  weight            = %[4]d
  drain_on_destroy  = true
  drain_timeout     = "10s"
  host {
    host = %[3]q
  }
}
`, name, h, c.hosts[h], servers[h])
		}
	}
	service("web", 100, s.scheduler, s.web)
	service("hap", 101, "wrr", map[string]int{"hap": 1})
	if s.other {
		service("other", 102, "rr", map[string]int{"rs1": 1, "rs2": 1})
	}
	if s.extra {
		service("extra", 103, "rr", map[string]int{"rs1": 1})
	}
	fmt.Fprintf(&b, `
resource "lvs_haproxy" "hap" {
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

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = %[1]q
  }
  name = "web"
  mode = "http"
  bind {
    port = 80
  }
  backend {
    balance = "roundrobin"
    server {
      name    = "rs1"
      address = %[2]q
      port    = 80
      weight  = 10
    }
    server {
      name    = "rs2"
      address = %[3]q
      port    = 80
      weight  = %[4]d
    }
  }
  depends_on = [lvs_haproxy.hap]
}
`, c.hosts["hap"], c.hosts["rs1"], c.hosts["rs2"], s.hapWeight)
	return b.String()
}

// write makes spec the root module.
func (c *loadCluster) write(s loadSpec) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.tf.dir, "main.tf"), []byte(c.hcl(s)), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// run runs a command on a director VM.
func (c *loadCluster) run(i int, cmd string) string {
	c.t.Helper()
	res, err := c.d[i].Run(c.ctx, cmd, nil)
	if err != nil {
		c.t.Fatalf("%s: %s: %v", c.d[i].Name, cmd, err)
	}
	return res.Stdout
}

// rules is a director's ipvsadm-save -n, the lines of one service.
func (c *loadCluster) rules(i int, vip string) string {
	var lines []string
	for _, l := range strings.Split(c.run(i, "ipvsadm-save -n"), "\n") {
		if strings.Contains(l, " "+vip+":80") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return strings.Join(lines, "\n")
}

// holdsVIP reports whether director i holds vip on eth1.
func (c *loadCluster) holdsVIP(i int, vip string) bool {
	res, err := c.d[i].Run(c.ctx, "ip -o -4 addr show dev eth1", nil)
	return err == nil && strings.Contains(res.Stdout, " "+vip+"/24")
}

// underLoad runs change while loadRate requests per second go to vip,
// from a second before it until two seconds after it. until, when set, is
// polled after the change (up to 30 s) and must hold before the load
// stops (for example: a new server answered). check asserts the result.
func (c *loadCluster) underLoad(t *testing.T, vip string, change func(), until func(*pacedLoad) error) *pacedLoad {
	t.Helper()
	l := startPacedLoad("http://"+vip+"/", loadRate, func(body string) bool {
		return body == "rs1" || body == "rs2" || body == "rs3"
	})
	defer l.finish()
	go c.watchVIP(l, vip)
	waitCtx(c.ctx, time.Second)
	change()
	if until != nil {
		if err := waitFor(30*time.Second, func() error { return until(l) }); err != nil {
			t.Errorf("after the change: %v", err)
		}
	}
	waitCtx(c.ctx, 2*time.Second)
	l.finish()
	t.Logf("load through %s: %s; VIP held by %s", vip, l.summary(), l.holders())
	return l
}

// watchVIP records, until l finishes, which directors hold vip each time
// that changes.
func (c *loadCluster) watchVIP(l *pacedLoad, vip string) {
	last := ""
	for {
		select {
		case <-l.stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
		var on []string
		for i, d := range c.d {
			if c.holdsVIP(i, vip) {
				on = append(on, d.Name)
			}
		}
		if now := strings.Join(on, "+"); now != last {
			l.mu.Lock()
			l.vipLog = append(l.vipLog, time.Now().Format("15:04:05.0")+" "+cmpOr(now, "none"))
			if len(l.vipLog) > 1 {
				l.moves = append(l.moves, time.Now())
			}
			l.mu.Unlock()
			last = now
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// check fails t unless every request of l was answered.
func (c *loadCluster) check(t *testing.T, l *pacedLoad) {
	t.Helper()
	if n := l.failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed, want 0; first failures:\n  %s", n, l.sent.Load(), strings.Join(l.errors(), "\n  "))
		t.Logf("VIP holders during the load: %s", l.holders())
		for _, d := range c.d {
			res, err := d.Run(c.ctx, "ipvsadm -Ln; ipvsadm -Lnc | head -20; "+
				"grep . /proc/sys/net/ipv4/vs/expire_nodest_conn /proc/sys/net/ipv4/vs/conn_reuse_mode /proc/sys/net/ipv4/ip_forward; "+
				"ip -o -4 addr show dev eth1; true", nil)
			t.Logf("%s after the case (%v):\n%s", d.Name, err, res.Stdout)
		}
	}
	if l.ok.Load() < 2*loadRate {
		t.Errorf("only %d requests answered: the load did not run", l.ok.Load())
	}
}

// checkFailover is check for a load across VRRP failovers. A VIP that
// moves may reset the few connections that opened through the old holder
// in the last moments before the move and send their request to the new
// one: the new holder lacks their IPVS entries, because the kernel's
// connection sync (lvs_sync_daemon) sends an entry only at its third
// packet and holds a partial batch up to two seconds (IPVS_SYNC_FLUSH_TIME),
// and the old holder's pending batch is dropped when its sync daemon stops.
// No configuration closes that window. And a keepalived that stops (the
// failover's SIGTERM) deletes its IPVS services in its checker process
// while its VRRP process still holds the VIP: a SYN arriving in between is
// refused by the director's own stack. So each move (any change of the
// VIP's holders, to none and back included) may cost at most perMove
// resets or refusals, each within two seconds of it; any other failure
// (a timeout, a wrong answer, a failure away from a move) fails t.
func (c *loadCluster) checkFailover(t *testing.T, l *pacedLoad, perMove int, mustMove bool) {
	t.Helper()
	l.mu.Lock()
	failures, moves := slices.Clone(l.failures), slices.Clone(l.moves)
	l.mu.Unlock()
	if len(moves) == 0 && mustMove {
		t.Errorf("the VIP was never seen moving: %s", l.holders())
	}
	byMove := make([]int, len(moves))
	var bad []string
	for _, f := range failures {
		i := slices.IndexFunc(moves, func(m time.Time) bool { return f.at.Sub(m).Abs() <= 2*time.Second })
		windowed := strings.Contains(f.err, "connection reset by peer") || strings.Contains(f.err, "connection refused")
		if i < 0 || !windowed {
			bad = append(bad, f.at.Format("15:04:05.000")+": "+f.err)
			continue
		}
		byMove[i]++
	}
	for i, n := range byMove {
		if n > perMove {
			t.Errorf("the VIP move at %s reset %d connections, want at most %d", moves[i].Format("15:04:05.0"), n, perMove)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d requests failed other than by a reset at a VIP move:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
	if n := l.failed.Load() - int64(len(bad)); n > 0 {
		t.Logf("%d resets at VIP moves (resets or refusals allowed at a move, see checkFailover): %v; VIP holders: %s", n, byMove, l.holders())
	}
	if l.ok.Load() < 2*loadRate {
		t.Errorf("only %d requests answered: the load did not run", l.ok.Load())
	}
}

// apply writes spec and applies it under load on vip, then checks that
// the plan is empty and that no request failed.
func (c *loadCluster) apply(t *testing.T, s loadSpec, vip string, until func(*pacedLoad) error) *pacedLoad {
	t.Helper()
	c.tf.t = t
	c.write(s)
	l := c.underLoad(t, vip, func() { c.terraform(t, "apply", "-auto-approve") }, until)
	c.broken = true
	c.tf.planEmpty()
	c.broken = false
	c.check(t, l)
	return l
}

// keepalivedPids are the pids keepalived's pid file names on each
// director, in order.
func (c *loadCluster) keepalivedPids() []string {
	var out []string
	for i := range c.d {
		out = append(out, strings.TrimSpace(c.run(i, "cat /run/keepalived.pid")))
	}
	return out
}

// startLoadCluster boots the lab and the two director VMs.
func startLoadCluster(t *testing.T) *loadCluster {
	a := startAccLabOn(t, netns.Config{Name: loadLab, Subnet: loadSubnet, Hosts: []string{"rs1", "rs2", "rs3", "hap"}})
	if _, err := agentbin.Binary(runtime.GOARCH); err != nil {
		t.Fatalf("the provider binary needs the agent embedded: %v (run `make agent`)", err)
	}
	c := &loadCluster{t: t, a: a, hosts: map[string]string{}}
	for _, h := range []string{"rs1", "rs2", "rs3", "hap"} {
		c.hosts[h] = a.addr(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	t.Cleanup(cancel)
	c.ctx = ctx
	start := time.Now()
	// One after the other: two TCG boots at once take as long each as
	// both in a row, at twice the CPU.
	c.d[0] = vm.Start(t, vm.Config{Name: "x2d1", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(21) + "/24")})
	c.d[1] = vm.Start(t, vm.Config{Name: "x2d2", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(22) + "/24")})
	t.Logf("director VMs up after %v", time.Since(start).Round(100*time.Millisecond))
	pub, err := ssh.ParsePrivateKey(a.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.d {
		// The provider reaches every host with the lab's one key.
		if _, err := d.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(pub.PublicKey())))); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"rs1", "rs2", "rs3"} {
		serveAll(t, a, h)
	}
	// The lab seeds hap's /etc/haproxy from the machine's: Debian's
	// haproxy.cfg is not ours, move it out of the way.
	if conf := a.Hosts["hap"].Path("/etc/haproxy/haproxy.cfg"); fileExists(conf) {
		if err := os.Rename(conf, conf+".debian"); err != nil {
			t.Fatal(err)
		}
	}
	c.vipWeb, c.vipHap = a.vip(100), a.vip(101)
	c.tf = &tfCLI{t: t, ctx: ctx, dir: t.TempDir(), rc: providerCLIConfig(t)}
	t.Cleanup(func() {
		c.tf.t = t
		c.tf.run("destroy", "-auto-approve")
	})
	return c
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestAccLoad_vm: every change below, applied by terraform to the running
// cluster, loses no request of a bounded load through the VIP (the VRRP
// failover is checked by checkFailover), and leaves an empty plan. One cluster (two VMs, booted once) serves all the cases,
// in order; each case starts from the state the previous one left.
func TestAccLoad_vm(t *testing.T) {
	c := startLoadCluster(t)
	began := time.Now()
	defer func() { t.Logf("load cases took %v", time.Since(began).Round(time.Second)) }()
	s := baseLoadSpec()

	// The cluster is created without load, then both VIPs answer.
	c.write(s)
	c.tf.run("apply", "-auto-approve")
	c.tf.planEmpty()
	if !c.holdsVIP(0, c.vipWeb) || c.holdsVIP(1, c.vipWeb) {
		t.Fatalf("the VIP must be on x2d1 (MASTER) only: x2d1 %v, x2d2 %v", c.holdsVIP(0, c.vipWeb), c.holdsVIP(1, c.vipWeb))
	}
	for i := range c.d {
		// The director's IPVS default (model.DirectorSysctls): without it a
		// new connection on the reused client port of one to a removed
		// real server is dropped until that entry expires.
		if got := strings.TrimSpace(c.run(i, "cat /proc/sys/net/ipv4/vs/expire_nodest_conn")); got != "1" {
			t.Errorf("%s: net.ipv4.vs.expire_nodest_conn = %s, want the director default 1", c.d[i].Name, got)
		}
	}
	for _, vip := range []string{c.vipWeb, c.vipHap} {
		if err := waitFor(30*time.Second, func() error { _, err := httpGet("http://" + vip + "/"); return err }); err != nil {
			t.Fatalf("no answer through %s after create: %v\n%s", vip, err, c.run(0, "ipvsadm -Ln"))
		}
	}

	// A case that lost requests leaves the cluster as its apply made it,
	// so the next cases still run; one whose apply failed ends the test.
	step := func(name string, fn func(t *testing.T)) {
		t.Run(name, fn)
		if c.broken {
			t.FailNow()
		}
	}
	rules := func(t *testing.T, vip string, want ...string) {
		t.Helper()
		for i := range c.d {
			got := c.rules(i, vip)
			for _, w := range want {
				if !strings.Contains(got+"\n", w+"\n") {
					t.Errorf("%s: IPVS rules of %s lack %q:\n%s", c.d[i].Name, vip, w, got)
				}
			}
		}
	}
	rs := func(h string) string { return c.hosts[h] + ":80" }

	// An engine switch is a keepalived reload on each director (never a
	// restart: the agent starts keepalived without -P, see
	// agent.keepalived), so the VRRP instances and the VIP stay where
	// they are: the keepalived pids are the same after it, the VIP never
	// moves, and no request fails. Switching to netlink, keepalived's
	// checker deletes the services it programmed and the agent programs
	// them again at once; the guard (agent.schedulerChanges) drops the
	// SYNs of that moment, so the clients retry instead of being refused.
	engineSwitch := func(t *testing.T, engine string) {
		pids := c.keepalivedPids()
		s.engine = engine
		l := c.apply(t, s, c.vipWeb, nil)
		l.mu.Lock()
		moves := len(l.moves)
		l.mu.Unlock()
		if moves != 0 {
			t.Errorf("the VIP moved %d times during the switch to %s: %s", moves, engine, l.holders())
		}
		if now := c.keepalivedPids(); !slices.Equal(now, pids) {
			t.Errorf("keepalived pids %v before the switch to %s, %v after: it was restarted, not reloaded", pids, engine, now)
		}
		rules(t, c.vipWeb, "-A -t "+c.vipWeb+":80 -s wrr", "-a -t "+c.vipWeb+":80 -r "+rs("rs2")+" -g -w 1")
	}
	step("engine_keepalived_to_netlink", func(t *testing.T) { engineSwitch(t, "netlink") })
	step("engine_netlink_to_keepalived", func(t *testing.T) { engineSwitch(t, "keepalived") })
	step("weight_change", func(t *testing.T) {
		s.web = map[string]int{"rs1": 1, "rs2": 3}
		c.apply(t, s, c.vipWeb, nil)
		rules(t, c.vipWeb, "-a -t "+c.vipWeb+":80 -r "+rs("rs2")+" -g -w 3")
	})
	step("real_server_add", func(t *testing.T) {
		s.web = map[string]int{"rs1": 1, "rs2": 3, "rs3": 2}
		c.apply(t, s, c.vipWeb, func(l *pacedLoad) error {
			if l.seen("rs3") == 0 {
				return fmt.Errorf("rs3 has not answered through the VIP")
			}
			return nil
		})
		rules(t, c.vipWeb, "-a -t "+c.vipWeb+":80 -r "+rs("rs3")+" -g -w 2")
	})
	step("real_server_remove_drain", func(t *testing.T) {
		s.web = map[string]int{"rs1": 1, "rs2": 3}
		c.apply(t, s, c.vipWeb, nil)
		for i := range c.d {
			if got := c.rules(i, c.vipWeb); strings.Contains(got, rs("rs3")) {
				t.Errorf("%s: rs3 still in the table:\n%s", c.d[i].Name, got)
			}
		}
	})
	step("scheduler_change", func(t *testing.T) {
		s.scheduler = "wlc"
		c.apply(t, s, c.vipWeb, nil)
		rules(t, c.vipWeb, "-A -t "+c.vipWeb+":80 -s wlc")
	})
	step("service_add", func(t *testing.T) {
		s.other = true
		c.apply(t, s, c.vipWeb, nil)
		rules(t, c.vip(102), "-A -t "+c.vip(102)+":80 -s rr")
	})
	step("scheduler_change_with_new_service", func(t *testing.T) {
		// The case: a scheduler change in the same run as a new
		// service on the same directors.
		s.scheduler, s.extra = "wrr", true
		c.apply(t, s, c.vipWeb, nil)
		rules(t, c.vipWeb, "-A -t "+c.vipWeb+":80 -s wrr")
		rules(t, c.vip(103), "-A -t "+c.vip(103)+":80 -s rr")
	})
	step("service_remove", func(t *testing.T) {
		s.other, s.extra = false, false
		c.apply(t, s, c.vipWeb, nil)
		for i := range c.d {
			if got := c.rules(i, c.vip(102)) + c.rules(i, c.vip(103)); got != "" {
				t.Errorf("%s: removed services still in the table:\n%s", c.d[i].Name, got)
			}
		}
	})
	step("haproxy_reload", func(t *testing.T) {
		s.hapWeight = 30
		c.apply(t, s, c.vipHap, nil)
	})
	step("keepalived_reload", func(t *testing.T) {
		s.garpRefresh = 60
		c.apply(t, s, c.vipWeb, nil)
		if cfg := c.run(0, "cat /etc/keepalived/keepalived.conf"); !strings.Contains(cfg, "garp_master_refresh 60") {
			t.Errorf("keepalived.conf lacks the change:\n%s", cfg)
		}
	})
	step("vrrp_failover", func(t *testing.T) {
		c.tf.t = t
		// The fast profile is applied first, without load: on this
		// machine's TCG VMs a keepalived reload under 0.2 s adverts can
		// stall the MASTER long enough for the BACKUP to take over.
		s.fast = true
		c.write(s)
		c.terraform(t, "apply", "-auto-approve")
		c.broken = true
		c.tf.planEmpty()
		c.broken = false
		// The MASTER's keepalived stops (SIGTERM: it sends a last advert of
		// priority 0, and removes its VIPs and services).
		down := c.underLoad(t, c.vipWeb, func() {
			c.run(0, "kill $(cat /run/keepalived.pid)")
		}, func(*pacedLoad) error {
			if !c.holdsVIP(1, c.vipWeb) || c.holdsVIP(0, c.vipWeb) {
				return fmt.Errorf("the VIP must have moved to x2d2: x2d1 %v, x2d2 %v", c.holdsVIP(0, c.vipWeb), c.holdsVIP(1, c.vipWeb))
			}
			return nil
		})
		// The stopped keepalived is drift: the apply starts it again, and
		// x2d1 (the higher priority) takes the VIP back, under load too.
		if code := c.tf.plan(); code != 2 {
			t.Fatalf("plan after keepalived stopped on x2d1: exit %d, want 2 (changes)", code)
		}
		back := c.underLoad(t, c.vipWeb, func() { c.terraform(t, "apply", "-auto-approve") }, func(*pacedLoad) error {
			if !c.holdsVIP(0, c.vipWeb) || c.holdsVIP(1, c.vipWeb) {
				return fmt.Errorf("the VIP must be back on x2d1: x2d1 %v, x2d2 %v", c.holdsVIP(0, c.vipWeb), c.holdsVIP(1, c.vipWeb))
			}
			return nil
		})
		c.broken = true
		c.tf.planEmpty()
		c.broken = false
		c.checkFailover(t, down, 2, true)
		c.checkFailover(t, back, 2, true)
		s.fast = false
		c.write(s)
		c.terraform(t, "apply", "-auto-approve")
	})
}
