//go:build linux

package agent_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestLabHAProxyKeepsAFileAtItsSocketPath runs the real agent and the real
// haproxy on a lab host (its own network namespace, /run and
// /etc/haproxy). First it shows the danger is real: haproxy -c accepts a
// stats socket over a regular file and haproxy, started, replaces that
// file with its socket. Then a regular file at the admin socket's path
// makes the agent's apply refuse: the file stays byte for byte, haproxy is
// not started. Last, with haproxy running, a file put at the path refuses
// the next apply and haproxy keeps serving the previous config.
func TestLabHAProxyKeepsAFileAtItsSocketPath(t *testing.T) {
	need(t, "haproxy", "go")
	bin := buildAgent(t)
	l := netns.Start(t, netns.Config{Name: "lvsh1", Subnet: netip.MustParsePrefix("10.101.0.0/24"), Hosts: []string{"hap1"}})
	la := &labAgent{t: t, lab: l, host: "hap1", bin: bin}
	sh := func(script string) string { return la.exec("sh", "-c", script) }
	kind := func(p string) string { return strings.TrimSpace(sh("stat -c %F " + p + " 2>/dev/null || echo absent")) }
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := l.Exec(context.Background(), "hap1", "sh", "-c", "ls -la /run /run/haproxy; cat /etc/haproxy/haproxy.cfg; ps -ef | grep [h]aproxy")
			t.Logf("hap1:\n%s", out)
		}
	})

	// The danger: haproxy itself replaces a regular file at its socket path.
	sh(`mkdir -p /run/haproxy /tmp/h1 && printf 'victim\n' > /run/haproxy/victim && cat > /tmp/h1/haproxy.cfg <<'EOF'
global
    stats socket /run/haproxy/victim mode 600 level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:18080
    default_backend b
backend b
    server s 127.0.0.1:18081
EOF
haproxy -c -f /tmp/h1/haproxy.cfg`)
	sh("haproxy -D -f /tmp/h1/haproxy.cfg -p /tmp/h1/haproxy.pid </dev/null >/dev/null 2>&1")
	if got := kind("/run/haproxy/victim"); got != "socket" {
		t.Errorf("haproxy left the regular file at its socket path (%s); the agent's check guards against nothing real", got)
	}
	sh("kill $(cat /tmp/h1/haproxy.pid); rm -f /run/haproxy/victim")

	objs := func(port int) []wire.Object {
		return []wire.Object{
			{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
				Defaults: model.HAProxyDefaults{Mode: "tcp", Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
			}},
			{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{
				Frontend: model.HAProxyFrontend{Name: "web", Binds: []model.HAProxyBind{{Port: 8080}}, DefaultBackend: "web_servers"},
				Backend: model.HAProxyBackend{Name: "web_servers", Servers: []model.HAProxyServer{
					{Name: "web1", Address: netip.MustParseAddr("10.101.0.21"), Port: port},
				}},
			}},
		}
	}
	// The host's /etc/haproxy is seeded with Debian's haproxy.cfg, which is
	// not ours; this test is about the socket, so it starts without it.
	sh("rm -f " + agent.HAProxyConf)

	// A regular file at the admin socket's path: refused, kept, nothing runs.
	const precious = "root:x:0:0:root:/root:/bin/bash\n"
	sh("printf '" + precious + "' > " + model.DefaultStatsSocket)
	before := sh("sha256sum " + model.DefaultStatsSocket)
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: objs(80)})
	if code != wire.ExitForeign || resp.Error.Step != "check haproxy paths" ||
		!strings.Contains(resp.Error.Message, model.DefaultStatsSocket+": a regular file of 32 bytes is there, not a socket") {
		t.Fatalf("apply over a regular file at the socket path: exit %d, error %+v", code, resp.Error)
	}
	t.Logf("the agent said: %s: %s", resp.Error.Step, resp.Error.Message)
	if after := sh("sha256sum " + model.DefaultStatsSocket); after != before || kind(model.DefaultStatsSocket) != "regular file" {
		t.Errorf("the file at the socket path changed: %s -> %s (%s)", before, after, kind(model.DefaultStatsSocket))
	}
	if got := kind(agent.HAProxyConf); got != "absent" {
		t.Errorf("haproxy.cfg is %s after the refused apply, want absent", got)
	}
	if got := kind(agent.HAProxyPid); got != "absent" {
		t.Errorf("haproxy was started by the refused apply (pid file %s)", got)
	}

	// The path is free: haproxy starts and makes its socket there.
	sh("rm " + model.DefaultStatsSocket)
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: objs(80)})
	if code != wire.ExitOK {
		t.Fatalf("apply haproxy: exit %d: %v", code, resp.Error)
	}
	if got := kind(model.DefaultStatsSocket); got != "socket" {
		t.Fatalf("the admin socket is %s, want socket", got)
	}
	master := strings.TrimSpace(sh("cat " + agent.HAProxyPid))
	cfg := readHostFile(t, l, "hap1", agent.HAProxyConf)

	// A file put where the running haproxy's socket was: the next apply is
	// refused, and haproxy keeps serving the config it runs.
	sh("rm " + model.DefaultStatsSocket + " && printf '" + precious + "' > " + model.DefaultStatsSocket)
	before = sh("sha256sum " + model.DefaultStatsSocket)
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: objs(81)})
	if code != wire.ExitForeign || resp.Error.Step != "check haproxy paths" {
		t.Fatalf("apply with a file at the running haproxy's socket path: exit %d, error %+v", code, resp.Error)
	}
	if after := sh("sha256sum " + model.DefaultStatsSocket); after != before {
		t.Errorf("the file at the socket path changed: %s -> %s", before, after)
	}
	if now := readHostFile(t, l, "hap1", agent.HAProxyConf); string(now) != string(cfg) {
		t.Error("haproxy.cfg changed although the apply was refused")
	}
	if now := strings.TrimSpace(sh("cat " + agent.HAProxyPid)); now != master {
		t.Errorf("master pid %s -> %s: the refused apply touched haproxy", master, now)
	}
	if !strings.Contains(sh("kill -0 "+master+" 2>/dev/null && echo alive || echo gone"), "alive") {
		t.Error("haproxy no longer runs after the refused apply")
	}
	if !strings.Contains(la.exec("ss", "-ltn"), ":8080") {
		t.Error("nothing listens on :8080 after the refused apply")
	}
}
