package agent

import (
	"cmp"
	"context"

	"errors"
	"fmt"
	kipvs "github.com/cloudflare/ipvs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/hostaddr"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs/ipvstest"
	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/sysctl"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// fakeHost is a recording fake of a host's commands and processes: it
// plays keepalived and haproxy (test, start, signals) and fails the test
// on any command it does not know.
type fakeHost struct {
	t    *testing.T
	root string

	mu       sync.Mutex
	calls    []string
	nextPid  int
	procs    map[int][]string // alive pid -> cmdline
	signals  []string
	testFail map[string]string // daemon -> stderr of a failing config test
	// testExit is the exit status of a failing config test (default 1).
	testExit map[string]int
	addrs    *fakeAddrs
	// dieOnSignal makes the daemon exit on the next reload signal
	// (keepalived with virtual servers on a kernel without IPVS).
	dieOnSignal map[string]bool
	// dieOnStart makes the next start of the daemon exit before any poll
	// sees it (its pid file gone with it), once.
	dieOnStart map[string]bool
	// vrrpDump, when set, is keepalived's JSON dump; else VI_1 is MASTER.
	vrrpDump string
	// checker, when set, is the IPVS table keepalived's checker process
	// programs (playChecker); kaLoaded is the config it loaded last.
	checker  *ipvstest.Fake
	kaLoaded *model.KeepalivedConfig
}

func newFakeHost(t *testing.T) (*fakeHost, *Agent) {
	t.Helper()
	root := t.TempDir()
	f := &fakeHost{t: t, root: root, nextPid: 100, procs: map[int][]string{}, testFail: map[string]string{}, testExit: map[string]int{}, dieOnSignal: map[string]bool{}, dieOnStart: map[string]bool{}}
	for key, v := range map[string]string{
		"net.ipv4.conf.all.send_redirects":     "1",
		"net.ipv4.conf.default.send_redirects": "1",
		"net.ipv4.conf.eth0.send_redirects":    "1",
		"net.ipv4.ip_forward":                  "0",
		"net.ipv4.ip_nonlocal_bind":            "0",
		"net.ipv4.conf.all.arp_ignore":         "0",
		"net.ipv4.conf.all.arp_announce":       "0",
		"net.ipv4.conf.lo.arp_ignore":          "0",
		"net.ipv4.conf.lo.arp_announce":        "0",
		"net.ipv4.conf.all.rp_filter":          "2",
		"kernel.hostname":                      "dir1",
		"kernel.osrelease":                     "6.1.0-test",
	} {
		if err := writeSysctlFile(root, key, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(os.MkdirAll(filepath.Join(root, "run"), 0o755), os.MkdirAll(filepath.Join(root, "tmp"), 0o1777)); err != nil {
		t.Fatal(err)
	}
	f.addrs = &fakeAddrs{devs: map[string][]netip.Prefix{
		"lo":   {netip.MustParsePrefix("127.0.0.1/8")},
		"eth0": {netip.MustParsePrefix("192.168.0.21/24")},
	}, gw: netip.MustParseAddr("192.168.0.1")}
	a := &Agent{Root: root, Version: "test", Run: f, Procs: f, Sysctl: sysctl.New(root),
		Addrs: func() (Addresses, error) { return f.addrs, nil }}
	return f, a
}

// writeSysctlFile makes the sysctl key exist under root/proc/sys with value.
func writeSysctlFile(root, key, value string) error {
	rel, err := sysctl.KeyPath(key)
	if err != nil {
		return err
	}
	p := filepath.Join(root, "proc/sys", rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(value+"\n"), 0o644)
}

// exitStatus is a command's non-zero exit, as *exec.ExitError reports it.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

func (f *fakeHost) Run(_ context.Context, name string, args ...string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, strings.ReplaceAll(cmd, f.root, ""))
	switch {
	case name == "keepalived" && len(args) == 3 && args[0] == "-t":
		return f.test("keepalived", args[2])
	case name == "haproxy" && len(args) == 3 && args[0] == "-c":
		return f.test("haproxy", args[2])
	case name == "modprobe" && len(args) == 1 && args[0] == "ipip":
		// As the kernel: the module creates tunl0, down, and with it the
		// device's sysctls (which do not exist before).
		if _, ok := f.addrs.devs["tunl0"]; !ok {
			f.addrs.devs["tunl0"] = []netip.Prefix{}
			if err := writeSysctlFile(f.root, "net.ipv4.conf.tunl0.rp_filter", "1"); err != nil {
				return "", "", err
			}
		}
		return "", "", nil
	case name == "keepalived" && len(args) == 1 && args[0] == "--signum=JSON":
		return "36\n", "", nil
	case name == "keepalived" && f.dieOnStart[name]:
		f.dieOnStart[name] = false
		return "", "", nil
	case name == "keepalived":
		if err := f.start(KeepalivedPid, name, args); err != nil {
			return "", "", err
		}
		f.holdVIPs()
		if !slices.Contains(args, "-P") {
			f.playChecker(true)
		}
		return "", "", nil
	case name == "haproxy" && len(args) > 0 && args[0] == "-W":
		return "", "", f.start(HAProxyPid, name, args)
	}
	f.t.Errorf("unexpected command: %s", cmd)
	return "", "", fmt.Errorf("unexpected command %q", cmd)
}

func (f *fakeHost) test(daemon, path string) (string, string, error) {
	if _, err := os.Stat(path); err != nil {
		f.t.Errorf("%s tests %s, which does not exist", daemon, path)
	}
	if msg, ok := f.testFail[daemon]; ok {
		code := f.testExit[daemon]
		if code == 0 {
			code = 1
		}
		return "", msg, exitStatus(code)
	}
	return "", "", nil
}

func (f *fakeHost) start(pidFile, name string, args []string) error {
	pid := f.nextPid
	f.nextPid++
	f.procs[pid] = append([]string{name}, args...)
	return os.WriteFile(filepath.Join(f.root, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

func (f *fakeHost) Alive(pid int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.procs[pid]
	return ok
}

func (f *fakeHost) Signal(pid int, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd, ok := f.procs[pid]
	if !ok {
		return syscall.ESRCH
	}
	f.signals = append(f.signals, fmt.Sprintf("%s %v", cmd[0], sig))
	switch {
	case sig == syscall.SIGTERM:
		delete(f.procs, pid)
		if cmd[0] == "keepalived" {
			f.stopChecker()
		}
	case f.dieOnSignal[cmd[0]]:
		delete(f.procs, pid)
		f.dieOnSignal[cmd[0]] = false
	case cmd[0] == "keepalived" && sig == syscall.SIGHUP:
		f.holdVIPs()
		if !slices.Contains(cmd, "-P") {
			f.playChecker(false)
		}
	case sig == 36:
		dump := `[{"data":{"iname":"VI_1","state":2}}]`
		if f.vrrpDump != "" {
			dump = f.vrrpDump
		}
		return os.WriteFile(filepath.Join(f.root, keepalivedJSON), []byte(dump), 0o600)
	}
	return nil
}

func (f *fakeHost) Cmdline(pid int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd, ok := f.procs[pid]
	if !ok {
		return nil, syscall.ESRCH
	}
	return cmd, nil
}

// holdVIPs plays keepalived MASTER of every instance (the JSON dump says
// so): its VIPs go on their devices when it starts or reloads.
func (f *fakeHost) holdVIPs() {
	conf, err := os.ReadFile(filepath.Join(f.root, KeepalivedConf))
	if err != nil {
		return
	}
	in := false
	for _, line := range strings.Split(string(conf), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "virtual_ipaddress" && fields[1] == "{":
			in = true
		case len(fields) == 1 && fields[0] == "}":
			in = false
		case in && len(fields) >= 3 && fields[1] == "dev":
			if p, err := netip.ParsePrefix(fields[0]); err == nil {
				_, _ = f.addrs.Ensure(fields[2], p)
			}
		}
	}
}

// take returns and forgets the commands and signals recorded so far.
func (f *fakeHost) take() (calls, signals []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls, signals = f.calls, f.signals
	f.calls, f.signals = nil, nil
	return calls, signals
}

func (f *fakeHost) read(p string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, p))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fakeHost) sysctl(key string) string {
	f.t.Helper()
	v, err := sysctl.New(f.root).Get(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// apply runs one apply request and returns the response and exit code.
func apply(t *testing.T, a *Agent, put []wire.Object, del ...wire.Key) (*wire.Response, int) {
	t.Helper()
	resp, code := a.Handle(context.Background(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: put, Delete: del, LockTimeoutSeconds: 1})
	return resp, code
}

func mustApply(t *testing.T, a *Agent, put []wire.Object, del ...wire.Key) *wire.Response {
	t.Helper()
	resp, code := apply(t, a, put, del...)
	if code != wire.ExitOK {
		t.Fatalf("apply: exit %d: %v", code, resp.Error)
	}
	return resp
}

func directorObj(priority int) wire.Object {
	return wire.Object{Key: wire.Key{Kind: wire.KindDirector, ID: "director"}, Director: &model.Director{
		Interface: "eth0", RouterID: "dir1",
		Instances: []model.VRRPInstance{{
			Name: "VI_1", State: "MASTER", VirtualRouterID: 51, Priority: priority, AdvertInt: 1,
			Authentication: &model.VRRPAuth{Type: "PASS", Password: "s3cret"},
			VirtualIPs:     []model.VirtualIP{{Prefix: netip.MustParsePrefix("192.168.0.10/24")}},
		}},
	}}
}

func vsObj() wire.Object {
	vs := &model.VirtualServer{Address: netip.MustParseAddr("192.168.0.10"), Port: 80, ForwardingMethod: "dr"}
	return wire.Object{Key: wire.Key{Kind: wire.KindVirtualServer, ID: vs.Key()}, VirtualServer: vs}
}

func rsObj(addr string) wire.Object {
	rs := &model.RealServer{Address: netip.MustParseAddr(addr), TCPCheck: &model.TCPCheck{}}
	return wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: "tcp/192.168.0.10:80/" + addr + ":80"}, RealServer: rs}
}

func haproxyObjs(serverPort int) []wire.Object {
	return []wire.Object{
		{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
			Defaults: model.HAProxyDefaults{Mode: "tcp", Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
		}},
		{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{
			Frontend: model.HAProxyFrontend{Name: "web", Binds: []model.HAProxyBind{{Port: 8080}}, DefaultBackend: "web_servers"},
			Backend: model.HAProxyBackend{Name: "web_servers", Servers: []model.HAProxyServer{
				{Name: "web1", Address: netip.MustParseAddr("10.0.0.21"), Port: serverPort, Check: true},
			}},
		}},
	}
}

// fakeAddrs is an in-memory host's devices, addresses and default route.
type fakeAddrs struct {
	devs map[string][]netip.Prefix
	// scopes are the IPv4 addresses' scopes other than "global".
	scopes map[netip.Prefix]string
	up     []string
	gw     netip.Addr
}

func (f *fakeAddrs) List(dev string) ([]netip.Prefix, error) {
	list, ok := f.devs[dev]
	if !ok {
		return nil, fmt.Errorf("%s: %w", dev, hostaddr.ErrNoDevice)
	}
	return list, nil
}

func (f *fakeAddrs) Ensure(dev string, p netip.Prefix) (bool, error) {
	list, err := f.List(dev)
	if err != nil || slices.Contains(list, p) {
		return false, err
	}
	f.devs[dev] = append(list, p)
	return true, nil
}

func (f *fakeAddrs) Scopes(dev string) (map[netip.Prefix]string, error) {
	list, err := f.List(dev)
	if err != nil {
		return nil, err
	}
	out := map[netip.Prefix]string{}
	for _, p := range list {
		if p.Addr().Is4() {
			out[p] = cmp.Or(f.scopes[p], "global")
		}
	}
	return out, nil
}

func (f *fakeAddrs) EnsureScope(dev string, p netip.Prefix, scope string) (bool, error) {
	list, err := f.List(dev)
	if err != nil {
		return false, err
	}
	cur := cmp.Or(f.scopes[p], "global")
	if slices.Contains(list, p) && (scope == "" || cur == scope || !p.Addr().Is4()) {
		return false, nil
	}
	if !slices.Contains(list, p) {
		f.devs[dev] = append(list, p)
	}
	if f.scopes == nil {
		f.scopes = map[netip.Prefix]string{}
	}
	f.scopes[p] = scope
	if scope == "global" || scope == "" {
		delete(f.scopes, p)
	}
	return true, nil
}

func (f *fakeAddrs) Remove(dev string, p netip.Prefix) (bool, error) {
	list, err := f.List(dev)
	if err != nil || !slices.Contains(list, p) {
		return false, err
	}
	delete(f.scopes, p)
	f.devs[dev] = slices.DeleteFunc(list, func(q netip.Prefix) bool { return q == p })
	return true, nil
}

func (f *fakeAddrs) Up(dev string) (bool, error) {
	if _, err := f.List(dev); err != nil {
		return false, err
	}
	if slices.Contains(f.up, dev) {
		return false, nil
	}
	f.up = append(f.up, dev)
	return true, nil
}

func (f *fakeAddrs) DefaultGateway(bool) (netip.Addr, error) { return f.gw, nil }

func (f *fakeAddrs) SetDefaultGateway(gw netip.Addr) (bool, error) {
	changed := f.gw != gw
	f.gw = gw
	return changed, nil
}

func (f *fakeAddrs) Close() error { return nil }

// fakeService is one kernel service keepalived programs, with its
// destinations.
type fakeService struct {
	svc    kipvs.Service
	dests  []kipvs.Destination
	member bool // a member service of a group
}

// checkerServices are the kernel services keepalived programs for c.
func checkerServices(c *model.KeepalivedConfig) map[string]fakeService {
	out := map[string]fakeService{}
	if c == nil || !c.OwnsIPVS() {
		return out
	}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if len(vs.RealServers) == 0 {
			continue
		}
		members := []model.VirtualServer{*vs}
		if vs.Group != "" {
			members = groupServices(c, vs)
		}
		for j := range members {
			m := &members[j]
			svc, err := ipvs.ServiceOf(m)
			if err != nil {
				continue
			}
			fs := fakeService{svc: svc, member: vs.Group != ""}
			for k := range m.RealServers {
				fs.dests = append(fs.dests, ipvs.DestinationOf(m, &m.RealServers[k]))
			}
			out[ipvs.ServiceKey(svc)] = fs
		}
	}
	return out
}

// playChecker does to f.checker what keepalived 2.2's checker process
// does when it loads the installed keepalived.conf (check_daemon.c
// start_check): afresh, it adds every service with its destinations; on a
// reload (clear_diff_services, init_services) it removes the plain
// services the last config had and this one lacks (a group's lost members
// keep their services, without destinations), and in a kept service
// removes the destinations gone and adds the new ones. A kept service or
// destination removed by hand is not put back. The caller holds f.mu.
func (f *fakeHost) playChecker(fresh bool) {
	if f.checker == nil {
		return
	}
	data, err := os.ReadFile(filepath.Join(f.root, KeepalivedConf))
	if err != nil {
		f.t.Errorf("fake keepalived: %v", err)
		return
	}
	cfg, _, err := keepalivedconf.Parse(strings.NewReader(string(data)), KeepalivedConf)
	if err != nil {
		f.t.Errorf("fake keepalived: parsing the installed config: %v", err)
		return
	}
	now := checkerServices(cfg)
	before := checkerServices(f.kaLoaded)
	if fresh {
		before = map[string]fakeService{}
	}
	f.kaLoaded = cfg
	for k, old := range before {
		if _, kept := now[k]; kept {
			continue
		}
		if old.member {
			f.checker.Unseed(old.svc, old.dests...)
		} else {
			f.checker.Unseed(old.svc)
		}
	}
	for k, fs := range now {
		old, kept := before[k]
		if !kept {
			f.checker.SeedMissing(fs.svc, fs.dests...)
			continue
		}
		if !f.checker.Has(fs.svc) {
			continue
		}
		had := map[string]bool{}
		for _, d := range old.dests {
			had[ipvs.DestinationKey(d)] = true
		}
		want := map[string]bool{}
		var added []kipvs.Destination
		for _, d := range fs.dests {
			want[ipvs.DestinationKey(d)] = true
			if !had[ipvs.DestinationKey(d)] {
				added = append(added, d)
			}
		}
		var gone []kipvs.Destination
		for _, d := range old.dests {
			if !want[ipvs.DestinationKey(d)] {
				gone = append(gone, d)
			}
		}
		if len(gone) > 0 {
			f.checker.Unseed(fs.svc, gone...)
		}
		if len(added) > 0 {
			f.checker.SeedMissing(fs.svc, added...)
		}
	}
}

// stopChecker removes what keepalived's checker programmed, as keepalived
// does when it stops. The caller holds f.mu.
func (f *fakeHost) stopChecker() {
	if f.checker == nil {
		return
	}
	for _, fs := range checkerServices(f.kaLoaded) {
		f.checker.Unseed(fs.svc)
	}
	f.kaLoaded = nil
}
