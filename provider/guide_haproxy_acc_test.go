//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
)

// TestAccGuideHAProxyScenarios applies the haproxy guides' scenarios with
// the terraform CLI to one namespace lab, so the guides cannot drift from
// what works:
//
//   - examples/scenarios/haproxy-l4-l7 on edge: the Host rule sends
//     static.example.com to web2 only, everything else to web1 only, and the
//     tcp frontend reaches both;
//   - examples/scenarios/haproxy-ha-pair on lb1 and lb2: the VIP on lb1
//     only, traffic to both web servers; lb1's haproxy killed, its tracking
//     script moves the VIP to lb2 and the traffic goes on; the plan shows
//     the dead haproxy, the apply restarts it and lb1 takes the VIP back.
//
// Each plan after an apply is empty, and destroy leaves no VIP.
func TestAccGuideHAProxyScenarios(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabOn(t, netns.Config{Name: "lvsx8", Subnet: netip.MustParsePrefix("10.138.0.0/24"),
		Hosts: []string{"lb1", "lb2", "edge", "web1", "web2", "client"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	for _, h := range []string{"web1", "web2"} {
		serveAll(t, a, h)
	}
	for _, h := range []string{"lb1", "lb2", "edge"} {
		// The lab seeds Debian's haproxy.cfg, which is not ours: set aside,
		// as the guides tell an operator to.
		conf := a.Hosts[h].Path("/etc/haproxy/haproxy.cfg")
		if _, err := os.Stat(conf); err == nil {
			if err := os.Rename(conf, conf+".debian"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := agentbin.Binary(runtime.GOARCH); err != nil {
		t.Fatalf("the provider binary needs the agent embedded: %v (run `make agent`)", err)
	}
	examples := filepath.Join(t.TempDir(), "examples")
	if err := os.CopyFS(examples, os.DirFS(filepath.Join("..", "examples"))); err != nil {
		t.Fatal(err)
	}
	webServers := map[string]string{"web1": a.addr("web1"), "web2": a.addr("web2")}
	scenario := func(t *testing.T, name string, vars map[string]any) *tfCLI {
		t.Helper()
		vars["ssh_private_key_path"] = a.ClientKeyPath
		vars["known_hosts_files"] = []string{a.KnownHostsPath}
		b, err := json.Marshal(vars)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(examples, "scenarios", name)
		if err := os.WriteFile(filepath.Join(dir, "terraform.tfvars.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		tf := &tfCLI{t: t, ctx: ctx, dir: dir, rc: providerCLIConfig(t)}
		destroyed := false
		t.Cleanup(func() {
			if !destroyed {
				tf.run("destroy", "-auto-approve")
			}
		})
		tf.destroy = func() { tf.run("destroy", "-auto-approve"); destroyed = true }
		return tf
	}

	t.Run("l4_l7", func(t *testing.T) {
		edge := a.addr("edge")
		tf := scenario(t, "haproxy-l4-l7", map[string]any{"edge": edge, "web_servers": webServers})
		tf.run("apply", "-auto-approve")
		for _, c := range []struct {
			url  string
			args []string
			want []string
		}{
			{"http://" + edge + "/", nil, []string{"web1"}},
			{"http://" + edge + "/", []string{"-H", "Host: static.example.com"}, []string{"web2"}},
			{"http://" + edge + ":5000/", nil, []string{"web1", "web2"}},
		} {
			if err := a.reachesWith(ctx, c.url, c.args, c.want...); err != nil {
				t.Errorf("%v: %v", c.args, err)
			}
		}
		tf.planEmpty()
		tf.destroy()
	})

	t.Run("ha_pair", func(t *testing.T) {
		vip := a.vip(100)
		tf := scenario(t, "haproxy-ha-pair", map[string]any{
			"load_balancers": []string{a.addr("lb1"), a.addr("lb2")}, "vip": vip, "web_servers": webServers})
		vipOnlyOn := func(h string) error {
			other := map[string]string{"lb1": "lb2", "lb2": "lb1"}[h]
			if !a.hasVIP(h, vip) || a.hasVIP(other, vip) {
				return fmt.Errorf("the VIP %s: on %s %v, on %s %v; want on %s only", vip, h, a.hasVIP(h, vip), other, a.hasVIP(other, vip), h)
			}
			return nil
		}
		tf.run("apply", "-auto-approve")
		if err := waitFor(20*time.Second, func() error { return vipOnlyOn("lb1") }); err != nil {
			t.Fatal(err)
		}
		url := "http://" + vip + "/"
		if err := a.reaches(ctx, url, "web1", "web2"); err != nil {
			t.Fatal(err)
		}
		tf.planEmpty()

		// lb1's haproxy dies: two failed checks later lb1's priority is 90,
		// lb2 (100) takes the VIP, and its haproxy, bound already, serves.
		load := a.loadThrough(ctx, "client", url)
		killed := time.Now()
		a.exec("lb1", "sh", "-c", "kill $(cat /run/haproxy.pid)")
		if err := waitFor(30*time.Second, func() error { return vipOnlyOn("lb2") }); err != nil {
			t.Fatalf("failover: %v", err)
		}
		moved := time.Since(killed)
		if err := a.reaches(ctx, url, "web1", "web2"); err != nil {
			t.Fatalf("after the failover: %v", err)
		}
		sent, failed, first := load.finish()
		t.Logf("haproxy killed on lb1: the VIP on lb2 after %v; %d of %d requests failed meanwhile (first: %v)",
			moved.Round(100*time.Millisecond), failed, sent, first)

		// The dead haproxy is drift: the apply starts it again, the check
		// succeeds, and lb1 (preferred) takes the VIP back.
		if code := tf.plan(); code != 2 {
			t.Fatalf("plan after haproxy died on lb1: exit %d, want 2 (changes)", code)
		}
		tf.run("apply", "-auto-approve")
		if err := waitFor(30*time.Second, func() error { return vipOnlyOn("lb1") }); err != nil {
			t.Fatal(err)
		}
		if err := a.reaches(ctx, url, "web1", "web2"); err != nil {
			t.Fatal(err)
		}
		tf.planEmpty()
		tf.destroy()
		for _, h := range []string{"lb1", "lb2"} {
			if a.hasVIP(h, vip) {
				t.Errorf("%s still holds the VIP after destroy", h)
			}
		}
	})
}
