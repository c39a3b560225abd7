//go:build linux

package agent_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// TestLabStaticRoutesRestored: the real keepalived installs a director's
// static route and rule (proto keepalived); deleted by hand (ip route del,
// ip rule del), which keepalived does not repair, the agent's observation
// shows them missing, and the next apply of the unchanged director puts
// them back without reloading or restarting keepalived; keepalived still
// removes them when the director goes (it stops).
func TestLabStaticRoutesRestored(t *testing.T) {
	need(t, "keepalived", "go", "ip")
	bin := buildAgent(t)
	l := netns.Start(t, netns.Config{Name: "lvsz1", Subnet: netip.MustParsePrefix("10.151.0.0/24"), Hosts: []string{"dir1"}})
	la := &labAgent{t: t, lab: l, host: "dir1", bin: bin}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := l.Exec(context.Background(), "dir1", "sh", "-c", "cat /etc/keepalived/keepalived.conf; ip route show table all | grep -v local; ip rule show")
			t.Logf("dir1:\n%s", out)
		}
	})
	d := &model.Director{
		Interface: "eth0", RouterID: "dir1",
		Instances: []model.VRRPInstance{{
			Name: "VI_1", State: "MASTER", VirtualRouterID: 78, Priority: 100, AdvertInt: 1,
			VirtualIPs: []model.VirtualIP{{Prefix: netip.MustParsePrefix("10.151.0.100/24")}},
		}},
		StaticRoutes: []model.Route{
			{To: netip.MustParsePrefix("10.151.9.0/24"), Via: l.Gateway, Device: "eth0", Table: 100},
			{To: netip.MustParsePrefix("10.151.8.0/24"), Type: "blackhole"},
		},
		StaticRules: []model.Rule{{From: netip.MustParsePrefix("10.151.0.0/24"), Table: 100, Priority: 1000}},
	}
	dir := wire.Object{Key: wire.DirectorKey, Director: d}
	routeLine := "10.151.9.0/24 via " + l.Gateway.String() + " dev eth0 proto keepalived"
	ruleLine := "1000:\tfrom 10.151.0.0/24 lookup 100 proto keepalived"
	observe := func() *wire.Observed {
		t.Helper()
		resp, code := la.do(wire.Request{Verb: wire.VerbObserve})
		if code != wire.ExitOK {
			t.Fatalf("observe: exit %d: %v", code, resp.Error)
		}
		if err := resp.Observed.Err(); err != nil {
			t.Fatalf("observe: %v", err)
		}
		return resp.Observed
	}

	resp, code := la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{dir}})
	if code != wire.ExitOK {
		t.Fatalf("apply director: exit %d: %v", code, resp.Error)
	}
	waitFor(t, 15*time.Second, "keepalived's static route and rule on dir1", func() bool {
		return strings.Contains(la.exec("ip", "route", "show", "table", "100"), routeLine) &&
			strings.Contains(la.exec("ip", "rule", "show"), ruleLine)
	})
	obs := observe()
	if m, r := model.MissingRoutes(d.StaticRoutes, obs.Routes), model.MissingRules(d.StaticRules, obs.Rules); len(m)+len(r) > 0 {
		t.Fatalf("as keepalived installed them, observed missing routes %+v, rules %+v (observed %+v, %+v)", m, r, obs.Routes, obs.Rules)
	}
	if len(obs.Routes) != 2 || len(obs.Rules) != 1 {
		t.Errorf("observed routes %+v, rules %+v; want exactly the two static routes' and the rule's places", obs.Routes, obs.Rules)
	}
	pid := strings.TrimSpace(la.exec("cat", "/run/keepalived.pid"))

	// Deleted by hand: keepalived leaves them gone.
	la.exec("ip", "route", "del", "10.151.9.0/24", "table", "100")
	la.exec("ip", "rule", "del", "priority", "1000")
	time.Sleep(2 * time.Second)
	obs = observe()
	m, r := model.MissingRoutes(d.StaticRoutes, obs.Routes), model.MissingRules(d.StaticRules, obs.Rules)
	if len(m) != 1 || m[0].To != d.StaticRoutes[0].To || len(r) != 1 {
		t.Fatalf("after the deletion observed missing routes %+v, rules %+v; want the route of table 100 and the rule", m, r)
	}

	// The unchanged director's apply restores them, keepalived untouched.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{dir}})
	if code != wire.ExitOK {
		t.Fatalf("apply director again: exit %d: %v", code, resp.Error)
	}
	if n := resp.Applied.Reloads["keepalived"]; n != 0 {
		t.Errorf("keepalived reloaded %d times to restore a route", n)
	}
	if now := strings.TrimSpace(la.exec("cat", "/run/keepalived.pid")); now != pid {
		t.Errorf("keepalived pid %s -> %s: restarted", pid, now)
	}
	if out := la.exec("ip", "route", "show", "table", "100"); !strings.Contains(out, routeLine) {
		t.Errorf("after the apply, ip route show table 100:\n%s", out)
	}
	if out := la.exec("ip", "rule", "show"); !strings.Contains(out, ruleLine) {
		t.Errorf("after the apply, ip rule show:\n%s", out)
	}
	if m, r := model.MissingRoutes(d.StaticRoutes, resp.Observed.Routes), model.MissingRules(d.StaticRules, resp.Observed.Rules); len(m)+len(r) > 0 {
		t.Errorf("after the apply observed missing routes %+v, rules %+v", m, r)
	}

	// Deleted by hand again, and the director changed (another static
	// route): keepalived reloads, which puts an unchanged route back but
	// not a rule; after the apply both are there, and the new route.
	la.exec("ip", "route", "del", "10.151.9.0/24", "table", "100")
	la.exec("ip", "rule", "del", "priority", "1000")
	changed := *d
	changed.StaticRoutes = append(slices.Clone(d.StaticRoutes), model.Route{To: netip.MustParsePrefix("10.151.7.0/24"), Type: "unreachable"})
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Put: []wire.Object{{Key: wire.DirectorKey, Director: &changed}}})
	if code != wire.ExitOK {
		t.Fatalf("apply the changed director: exit %d: %v", code, resp.Error)
	}
	if n := resp.Applied.Reloads["keepalived"]; n != 1 {
		t.Errorf("keepalived reloaded %d times for a changed config, want 1", n)
	}
	if m, r := model.MissingRoutes(changed.StaticRoutes, resp.Observed.Routes), model.MissingRules(changed.StaticRules, resp.Observed.Rules); len(m)+len(r) > 0 {
		t.Errorf("after the reload observed missing routes %+v, rules %+v", m, r)
	}
	if out := la.exec("ip", "rule", "show"); !strings.Contains(out, ruleLine) {
		t.Errorf("after the reload, ip rule show:\n%s", out)
	}
	t.Logf("after the reload:\n%s", la.exec("ip", "route", "show", "table", "all", "proto", "keepalived"))

	// The director goes: keepalived stops and removes them, the agent's
	// re-added ones too.
	resp, code = la.do(wire.Request{Verb: wire.VerbApply, Delete: []wire.Key{wire.DirectorKey}})
	if code != wire.ExitOK {
		t.Fatalf("delete director: exit %d: %v", code, resp.Error)
	}
	waitFor(t, 15*time.Second, "the static routes and rule gone with keepalived", func() bool {
		all := la.exec("ip", "route", "show", "table", "all")
		return !strings.Contains(all, "10.151.9.0/24") && !strings.Contains(all, "10.151.8.0/24") && !strings.Contains(all, "10.151.7.0/24") &&
			!strings.Contains(la.exec("ip", "rule", "show"), "lookup 100")
	})
}
