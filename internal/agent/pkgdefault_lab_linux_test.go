//go:build linux

package agent_test

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/lvsops/terraform-provider-lvs/internal/agent"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestLabHAProxyReplacesThePackageDefault runs the real agent on a lab host
// whose /etc/haproxy holds the haproxy.cfg the machine's haproxy package
// installed, with the machine's real dpkg database: the first apply
// replaces it (nobody wrote it), keeps it aside byte for byte and says
// so; a copy edited by hand is refused and left as it was; once the last
// haproxy object goes, the package's file is back in place.
func TestLabHAProxyReplacesThePackageDefault(t *testing.T) {
	need(t, "haproxy", "go")
	shipped, err := os.ReadFile(agent.HAProxyConf)
	if err != nil {
		t.Fatalf("the machine has no %s: internal/lab/deps.sh installs the haproxy package: %v", agent.HAProxyConf, err)
	}
	bin := buildAgent(t)
	l := netns.Start(t, netns.Config{Name: "lvspk", Subnet: netip.MustParsePrefix("10.146.0.0/24"), Hosts: []string{"hap1"}})
	la := &labAgent{t: t, lab: l, host: "hap1", bin: bin}
	sh := func(script string) string { return la.exec("sh", "-c", script) }
	if sum, listed := strings.Fields(sh("md5sum "+agent.HAProxyConf)), sh("grep -F ' "+agent.HAProxyConf+" ' /var/lib/dpkg/status || true"); !strings.Contains(listed, sum[0]) {
		msg := "the machine's " + agent.HAProxyConf + " is not the haproxy package's as dpkg recorded it (md5 " + sum[0] + ", dpkg: " + strings.TrimSpace(listed) + "): nothing to prove it on"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED LOUDLY: " + msg)
	}
	objs := []wire.Object{
		{Key: wire.Key{Kind: wire.KindHAProxySettings, ID: "haproxy"}, HAProxySettings: &wire.HAProxySettings{
			Defaults: model.HAProxyDefaults{Mode: "tcp", Timeouts: model.HAProxyTimeouts{Connect: 5000, Client: 50000, Server: 50000}},
		}},
		{Key: wire.Key{Kind: wire.KindHAProxyFrontend, ID: "web"}, HAProxyFrontend: &wire.HAProxyFrontend{
			Frontend: model.HAProxyFrontend{Name: "web", Binds: []model.HAProxyBind{{Port: 8080}}, DefaultBackend: "web_servers"},
			Backend: model.HAProxyBackend{Name: "web_servers", Servers: []model.HAProxyServer{
				{Name: "web1", Address: netip.MustParseAddr("10.146.0.21"), Port: 80},
			}},
		}},
	}

	// Edited by hand: refused, untouched, haproxy not started.
	sh("cp " + agent.HAProxyConf + " /tmp/shipped.cfg && printf '# tuned by hand\\n' >> " + agent.HAProxyConf)
	edited := readHostFile(t, l, "hap1", agent.HAProxyConf)
	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: objs})
	if code != wire.ExitForeign {
		t.Fatalf("apply over an edited package haproxy.cfg: exit %d, error %+v; want refused", code, resp.Error)
	}
	if now := readHostFile(t, l, "hap1", agent.HAProxyConf); string(now) != string(edited) {
		t.Error("the refused apply changed the edited haproxy.cfg")
	}

	// As the package shipped it: replaced, kept aside, said.
	sh("cp /tmp/shipped.cfg " + agent.HAProxyConf)
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: objs})
	if code != wire.ExitOK {
		t.Fatalf("apply over the package's haproxy.cfg: exit %d: %v", code, resp.Error)
	}
	if now := readHostFile(t, l, "hap1", agent.HAProxyConf); !strings.Contains(string(now), "frontend web") {
		t.Fatalf("haproxy.cfg is not the rendered one:\n%s", now)
	}
	kept := strings.Fields(sh("ls " + agent.HAProxyConf + ".lvs-foreign-*"))
	if len(kept) != 1 {
		t.Fatalf("kept aside: %v, want one file", kept)
	}
	if b := readHostFile(t, l, "hap1", kept[0]); string(b) != string(shipped) {
		t.Errorf("%s is not the package's haproxy.cfg", kept[0])
	}
	warned := strings.Join(resp.Warnings, "\n")
	if !strings.Contains(warned, "haproxy package's default") || !strings.Contains(warned, kept[0]) {
		t.Errorf("warnings %q do not say that the package's default was kept, and where", warned)
	}
	t.Logf("the agent said: %s", warned)
	if !strings.Contains(la.exec("ss", "-ltn"), ":8080") {
		t.Error("haproxy does not listen on :8080 after the apply")
	}

	// The last haproxy object goes: haproxy stops and the package's
	// haproxy.cfg is back in place, byte for byte, as dpkg expects it.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Delete: []wire.Key{objs[0].Key, objs[1].Key}})
	if code != wire.ExitOK {
		t.Fatalf("removing the haproxy objects: exit %d: %v", code, resp.Error)
	}
	if now := readHostFile(t, l, "hap1", agent.HAProxyConf); string(now) != string(shipped) {
		t.Errorf("haproxy.cfg after the removal is not the package's:\n%s", now)
	}
	if left := strings.TrimSpace(sh("ls " + agent.HAProxyConf + ".lvs-foreign-* 2>/dev/null || true")); left != "" {
		t.Errorf("kept copies left after the default went back: %s", left)
	}
	if strings.Contains(la.exec("ss", "-ltn"), ":8080") {
		t.Error("haproxy still listens on :8080 after its last object went")
	}
	t.Logf("the agent said: %s", strings.Join(resp.Warnings, "\n"))
}
