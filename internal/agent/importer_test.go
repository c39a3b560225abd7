package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/haproxycfg"
	"github.com/lvsops/terraform-provider-lvs/internal/ipvs"
	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// handKeepalived is a director's keepalived.conf as an operator writes it.
const handKeepalived = `! hand-built director, keepalived.conf(5) style
global_defs {
   router_id lb1
   notification_email { ops@example.com }
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.168.0.10/24
    }
}

virtual_server 192.168.0.10 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    protocol TCP

    real_server 192.168.0.21 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
            retry 2
        }
    }
    real_server 192.168.0.22 80 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
        }
    }
}
`

// handHAProxy is an haproxy host's haproxy.cfg as an operator writes it.
const handHAProxy = `global
	log /dev/log	local0
	chroot /var/lib/haproxy
	stats socket /run/haproxy/admin.sock mode 660 level admin
	user haproxy
	group haproxy
	daemon

defaults
	log	global
	mode	http
	option	httplog
	timeout connect 5s
	timeout client  50s
	timeout server  50s

frontend web
	bind 192.168.0.10:8080
	option forwardfor
	default_backend web_servers

backend web_servers
	balance roundrobin
	option httpchk GET /health
	server web1 10.0.0.21:80 check inter 2s
	server web2 10.0.0.22:80 check inter 2s
`

func writeFile(t *testing.T, root, path, data string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runningDaemons plays keepalived and haproxy started by hand on the
// hand-written files, as the operator left them.
func runningDaemons(t *testing.T, f *fakeHost) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.start(KeepalivedPid, "keepalived", []string{"-D", "-f", "/etc/keepalived/keepalived.conf"}); err != nil {
		t.Fatal(err)
	}
	if err := f.start(HAProxyPid, "haproxy", []string{"-W", "-D", "-f", "/etc/haproxy/haproxy.cfg"}); err != nil {
		t.Fatal(err)
	}
}

func parseKA(t *testing.T, text string) *model.KeepalivedConfig {
	t.Helper()
	cfg, _, err := keepalivedconf.Parse(strings.NewReader(text), "keepalived.conf")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func parseHA(t *testing.T, text string) *model.HAProxyConfig {
	t.Helper()
	cfg, _, err := haproxycfg.Parse(strings.NewReader(text), "haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestImportAndAdoptHandBuiltFiles: a director and haproxy host built by
// hand are imported, and the imported objects applied with adopt take the
// files over: the new files are ours, say the same to keepalived and
// haproxy as the hand-written ones, and the running daemons are reloaded
// (keepalived SIGHUP, haproxy SIGUSR2), never stopped or restarted.
func TestImportAndAdoptHandBuiltFiles(t *testing.T) {
	f, a := newFakeHost(t)
	writeFile(t, f.root, KeepalivedConf, handKeepalived)
	writeFile(t, f.root, HAProxyConf, handHAProxy)
	runningDaemons(t, f)

	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	var keys []string
	for _, o := range resp.Imported {
		keys = append(keys, o.Key.String())
	}
	want := []string{
		"director director",
		"virtual_server tcp/192.168.0.10:80",
		"real_server tcp/192.168.0.10:80/192.168.0.21:80",
		"real_server tcp/192.168.0.10:80/192.168.0.22:80",
		"haproxy_settings haproxy",
		"haproxy_frontend web",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("imported %q\nwant %q", keys, want)
	}
	// notification_email is carried on the director, not left out.
	if len(resp.Warnings) != 0 {
		t.Errorf("warnings %q", resp.Warnings)
	}
	if d := resp.Imported[0].Director; d == nil || !slices.Equal(d.Globals.NotificationEmail, []string{"ops@example.com"}) {
		t.Errorf("director %+v does not carry notification_email", resp.Imported[0].Director)
	}
	if calls, signals := f.take(); len(calls) != 0 || len(signals) != 0 {
		t.Errorf("import ran %q and sent %q; it must change nothing", calls, signals)
	}
	if f.read(KeepalivedConf) != handKeepalived || f.read(HAProxyConf) != handHAProxy {
		t.Fatal("import changed a file")
	}

	// Without adopting, the hand-written files are refused, and stay.
	if resp, code := apply(t, a, resp.Imported); code != wire.ExitForeign {
		t.Fatalf("apply without adopt: exit %d (%v), want ExitForeign", code, resp.Error)
	}
	f.take()

	var adopt []wire.Key
	for _, o := range resp.Imported {
		adopt = append(adopt, o.Key)
	}
	applied, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: resp.Imported, Adopt: adopt, LockTimeoutSeconds: 1})
	if code != wire.ExitOK {
		t.Fatalf("adopt: exit %d: %v", code, applied.Error)
	}
	ka, ha := f.read(KeepalivedConf), f.read(HAProxyConf)
	if !strings.HasPrefix(ka, render.ManagedMarker) || !strings.HasPrefix(ha, render.ManagedMarker) {
		t.Fatalf("adopted files are not ours:\n%s\n%s", ka, ha)
	}
	if !keepalivedconf.Equivalent(parseKA(t, handKeepalived), parseKA(t, ka)) {
		t.Errorf("adopted keepalived.conf says something else than the hand-written one:\n%s", ka)
	}
	if !haproxycfg.Equivalent(parseHA(t, handHAProxy), parseHA(t, ha)) {
		t.Errorf("adopted haproxy.cfg says something else than the hand-written one:\n%s", ha)
	}
	calls, signals := f.take()
	for _, c := range calls {
		if strings.HasPrefix(c, "keepalived -D") || strings.HasPrefix(c, "haproxy -W") {
			t.Errorf("a daemon was started again (%s); adopting must reload it", c)
		}
	}
	if !slices.Contains(signals, "keepalived hangup") || !slices.Contains(signals, "haproxy user defined signal 2") {
		t.Errorf("signals %q, want a keepalived reload (SIGHUP) and an haproxy reload (SIGUSR2)", signals)
	}
	for _, s := range signals {
		if strings.Contains(s, "terminated") {
			t.Errorf("a daemon was stopped: %q", signals)
		}
	}
	obs := applied.Observed
	if !obs.Keepalived.ConfigOurs || !obs.Keepalived.ConfigMatches || !obs.HAProxy.ConfigOurs || !obs.HAProxy.ConfigMatches {
		t.Errorf("observed keepalived %+v haproxy %+v", obs.Keepalived, obs.HAProxy)
	}

	// The real tools accept the hand-written files and the adopted ones.
	t.Run("real tools", func(t *testing.T) {
		checkWithTool(t, "keepalived", handKeepalived, "-t", "-f")
		checkWithTool(t, "keepalived", ka, "-t", "-f")
		checkWithTool(t, "haproxy", handHAProxy, "-c", "-f")
		checkWithTool(t, "haproxy", ha, "-c", "-f")
	})

	// Once adopted, nothing is foreign any more: a second import finds nothing.
	again, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitUnsupported || len(again.Imported) != 0 {
		t.Errorf("second import: exit %d, %d objects (want nothing found, and no IPVS on this fake host)", code, len(again.Imported))
	}
}

// TestImportWarnsWhatObjectsCannotCarry: listen sections and a virtual
// server group no service serves do not fit the objects; the import says
// what it did with each. A group a service serves travels with that
// service's object. Routing rules and backends shared by several frontends
// fit (backends of their own, haproxy_backend) and are imported as they are.
func TestImportWarnsWhatObjectsCannotCarry(t *testing.T) {
	f, a := newFakeHost(t)
	writeFile(t, f.root, KeepalivedConf, `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.0.10/24
    }
}
virtual_server_group G {
    192.168.0.10 443
    192.168.0.11-12 443
}
virtual_server_group H {
    192.168.0.20 443
}
virtual_server group G {
    lvs_method DR
    real_server 192.168.0.21 443 {
        weight 1
    }
}
`)
	writeFile(t, f.root, HAProxyConf, `global
    maxconn 100
defaults
    mode http
frontend a
    bind :80
    acl is_api path_beg /api
    use_backend api if is_api
    default_backend web
frontend b
    bind :81
    use_backend api if { path_beg /v2 }
    default_backend web
backend web
    server w1 10.0.0.1:80
backend api
    server a1 10.0.0.2:80
listen stats
    bind :8404
    stats enable
`)
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	joined := strings.Join(resp.Warnings, "\n")
	for _, w := range []string{
		"virtual_server_group H is not imported: no imported virtual_server serves it",
		"listen stats is imported as a frontend and a backend of that name",
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning says %q:\n%s", w, joined)
		}
	}
	var fronts []string
	var group *wire.Object
	for i, o := range resp.Imported {
		if o.ID == "group/G/tcp" {
			group = &resp.Imported[i]
		}
		switch o.Kind {
		case wire.KindHAProxyFrontend:
			fronts = append(fronts, o.ID+"->"+o.HAProxyFrontend.Backend.Name)
		case wire.KindHAProxyBackend:
			fronts = append(fronts, "backend "+o.ID)
		}
	}
	if strings.Contains(joined, "use_backend") || strings.Contains(joined, "copy") {
		t.Errorf("a routing rule or a shared backend was changed:\n%s", joined)
	}
	if want := []string{"a->", "b->", "stats->stats", "backend web", "backend api"}; !slices.Equal(fronts, want) {
		t.Errorf("frontends %q, want %q", fronts, want)
	}
	if group == nil || group.VirtualServerGroup == nil || group.VirtualServerGroup.Name != "G" ||
		len(group.VirtualServerGroup.Members) != 2 || group.VirtualServerGroup.Members[1].RangeEnd != 12 {
		t.Errorf("the group service's object %+v, want it carrying group G with its two members", group)
	}
	// The objects apply as they are (adopting the files).
	var adopt []wire.Key
	for _, o := range resp.Imported {
		adopt = append(adopt, o.Key)
	}
	applied, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: resp.Imported, Adopt: adopt, LockTimeoutSeconds: 1})
	if code != wire.ExitOK {
		t.Fatalf("adopt: exit %d: %v", code, applied.Error)
	}
}

// TestImportRefusesWhatWouldChangeTraffic: a keyword whose absence would
// change what the director does stops the import, naming file:line, and
// nothing is imported.
func TestImportRefusesWhatWouldChangeTraffic(t *testing.T) {
	f, a := newFakeHost(t)
	writeFile(t, f.root, KeepalivedConf, "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress_excluded {\n    10.0.0.5\n  }\n}\n")
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitFailed || len(resp.Imported) != 0 {
		t.Fatalf("exit %d, %d objects; want ExitFailed and nothing", code, len(resp.Imported))
	}
	if want := KeepalivedConf + ":3: virtual_ipaddress_excluded"; !strings.Contains(resp.Error.Message, want) || resp.Error.Step != "import keepalived.conf" {
		t.Errorf("error %+v, want step import keepalived.conf and %q", resp.Error, want)
	}
	writeFile(t, f.root, KeepalivedConf, render.ManagedMarker+"\n")
	writeFile(t, f.root, HAProxyConf, "backend b\n  server s1 app_1.example.com:80\n")
	resp, code = a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitFailed || !strings.Contains(resp.Error.Message, HAProxyConf+":2: server") {
		t.Errorf("exit %d, error %+v", code, resp.Error)
	}
}

// checkWithTool runs the real tool on a config (keepalived -t, haproxy -c);
// skips loudly without it, fails under $CI.
func checkWithTool(t *testing.T, tool, conf string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is not installed", tool)
		}
		t.Skipf("SKIPPED, NOT TESTED: %s is not installed (install it and rerun; CI fails here)", tool)
	}
	file := filepath.Join(t.TempDir(), "conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, append(args, file)...).CombinedOutput()
	if err != nil {
		t.Errorf("%s %s refused:\n%s\n--- config ---\n%s", tool, strings.Join(args, " "), out, conf)
	}
}

// TestImportVRRPOnlyKeepalivedWithIPVSBuiltByHand: keepalived runs VRRP
// only and the IPVS table was built with ipvsadm. The imported director
// gets the netlink engine, so that after the adoption the agent owns the
// services without a single netlink write, and keepalived keeps running
// VRRP only (reloaded, not restarted).
func TestImportVRRPOnlyKeepalivedWithIPVSBuiltByHand(t *testing.T) {
	f, a, table := netlinkHost(t)
	const conf = "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    192.168.0.10/24\n  }\n}\n"
	writeFile(t, f.root, KeepalivedConf, conf)
	f.mu.Lock()
	if err := f.start(KeepalivedPid, "keepalived", []string{"-D", "-P", "-f", "/etc/keepalived/keepalived.conf"}); err != nil {
		t.Fatal(err)
	}
	f.mu.Unlock()
	vs := vsObj().VirtualServer
	svc, err := ipvs.ServiceOf(vs)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc, ipvs.DestinationOf(vs, rsObj("192.168.0.21").RealServer))

	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	var keys []string
	for _, o := range resp.Imported {
		keys = append(keys, o.Key.String())
	}
	want := []string{"director director", "virtual_server tcp/192.168.0.10:80", "real_server tcp/192.168.0.10:80/192.168.0.21:80"}
	if !slices.Equal(keys, want) {
		t.Fatalf("imported %q, want %q", keys, want)
	}
	if e := resp.Imported[0].Director.Engine; e != "netlink" {
		t.Errorf("director engine %q, want netlink (the agent takes over the hand-built IPVS services)", e)
	}
	var adopt []wire.Key
	for _, o := range resp.Imported {
		adopt = append(adopt, o.Key)
	}
	f.take()
	applied, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbApply, Put: resp.Imported, Adopt: adopt, LockTimeoutSeconds: 1})
	if code != wire.ExitOK {
		t.Fatalf("adopt: exit %d: %v", code, applied.Error)
	}
	if n := len(table.WriteCalls()); n != 0 {
		t.Errorf("adopting made %d netlink writes: %v", n, table.WriteCalls())
	}
	if got := applied.Observed.IPVS; len(got) != 1 || !got[0].Ours {
		t.Errorf("observed IPVS after adoption: %+v", got)
	}
	ka := f.read(KeepalivedConf)
	if !strings.HasPrefix(ka, render.ManagedMarker) || !keepalivedconf.Equivalent(parseKA(t, conf), parseKA(t, ka)) {
		t.Errorf("adopted keepalived.conf:\n%s", ka)
	}
	_, signals := f.take()
	if !slices.Contains(signals, "keepalived hangup") || slices.ContainsFunc(signals, func(s string) bool { return strings.Contains(s, "terminated") }) {
		t.Errorf("signals %q, want a reload of the VRRP-only keepalived and no stop", signals)
	}
}

// TestImportKeepalivedOwnedIPVS: the services keepalived.conf declares
// come from the file (the table holds them because keepalived programmed
// them); a service only the table has stays foreign, and a warning says so.
func TestImportKeepalivedOwnedIPVS(t *testing.T) {
	f, a, table := netlinkHost(t)
	writeFile(t, f.root, KeepalivedConf, handKeepalived)
	vs := vsObj().VirtualServer
	vs.ForwardingMethod = "dr"
	svc, err := ipvs.ServiceOf(vs)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc, ipvs.DestinationOf(vs, rsObj("192.168.0.21").RealServer))
	other := &model.VirtualServer{Address: vs.Address, Port: 443}
	svc2, err := ipvs.ServiceOf(other)
	if err != nil {
		t.Fatal(err)
	}
	table.Seed(svc2)

	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitOK {
		t.Fatalf("import: exit %d: %v", code, resp.Error)
	}
	var keys []string
	for _, o := range resp.Imported {
		keys = append(keys, o.Key.String())
	}
	want := []string{
		"director director",
		"virtual_server tcp/192.168.0.10:80",
		"real_server tcp/192.168.0.10:80/192.168.0.21:80",
		"real_server tcp/192.168.0.10:80/192.168.0.22:80",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("imported %q\nwant %q", keys, want)
	}
	if e := resp.Imported[0].Director.Engine; e != "" {
		t.Errorf("director engine %q, want keepalived's (empty)", e)
	}
	if !slices.ContainsFunc(resp.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "IPVS service tcp/192.168.0.10:443 is not in "+KeepalivedConf)
	}) {
		t.Errorf("no warning about the service only the table has: %q", resp.Warnings)
	}
}

// TestImportSkipsFilesThatServeNothing: Debian's stock haproxy.cfg (global
// and defaults only) is not imported: adopting it would only start an
// haproxy serving nothing.
func TestImportSkipsFilesThatServeNothing(t *testing.T) {
	f, a := newFakeHost(t)
	writeFile(t, f.root, HAProxyConf, "global\n\tlog /dev/log local0\n\tdaemon\ndefaults\n\tmode http\n\terrorfile 400 /etc/haproxy/errors/400.http\n")
	writeFile(t, f.root, KeepalivedConf, "global_defs {\n  router_id x\n}\n")
	resp, code := a.Handle(t.Context(), &wire.Request{Version: wire.Version, Verb: wire.VerbImport})
	if code != wire.ExitUnsupported || len(resp.Imported) != 0 {
		t.Errorf("exit %d, imported %d objects; want nothing found (and no IPVS on this fake host)", code, len(resp.Imported))
	}
}
