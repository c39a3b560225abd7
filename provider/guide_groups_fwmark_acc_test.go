//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// guideGroupsFwmark is TestAccGuideLVSScenarios' subtest of
// examples/scenarios/lvs-groups-fwmark, on its lab (director VM d, web1
// and web2 serving port 80): each web server serves port 443 too (plain
// HTTP: TCP is all IPVS and the check see), and
//
//   - every VIP and port of the group reaches both web servers, each a
//     kernel service of its own with both real servers;
//   - the fwmark service marks both ports of the shop VIP (the agent's
//     nftables rules count the packets) and, being persistent, sends every
//     connection of the client on either port to the one web server;
//   - web2's 443 stopping takes it out of every member of the group (one
//     health check for all of them), not out of the fwmark service, the
//     plan stays empty, and it comes back in all of them;
//   - destroy leaves no IPVS service (scenario's destroy), no nftables
//     table and no VIP on the web servers' lo.
func guideGroupsFwmark(t *testing.T, ctx context.Context, a *accLab, d *vm.VM,
	scenario func(*testing.T, string, map[string]any) *tfCLI, run func(*testing.T, string) string,
) {
	start := time.Now()
	defer func() { t.Logf("groups_fwmark took %v", time.Since(start).Round(time.Second)) }()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox (for the web servers' httpd) is not installed: %v", err)
	}
	https := map[string]*exec.Cmd{}
	serve443 := func(h string) {
		t.Helper()
		dir := filepath.Join(netns.TempDir(t), h)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(h+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd, err := a.Command(context.Background(), h, busybox, "httpd", "-f", "-p", "443", "-h", dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: start httpd on 443: %v", h, err)
		}
		https[h] = cmd
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	for _, h := range []string{"web1", "web2"} {
		serve443(h)
	}
	nfthand := uploadNfthand(t, ctx, d)

	webVIPs := []string{a.vip(130), a.vip(131)}
	shop := a.vip(140)
	tf := scenario(t, "lvs-groups-fwmark", map[string]any{"web_vips": webVIPs, "shop_vip": shop,
		"web_servers": map[string]string{"web1": a.addr("web1"), "web2": a.addr("web2")}})
	tf.run("apply", "-auto-approve")
	if err := waitFor(30*time.Second, func() error {
		held := run(t, "ip -o addr show dev eth1")
		for _, v := range append([]string{shop}, webVIPs...) {
			if !strings.Contains(held, " "+v+"/") {
				return fmt.Errorf("the director does not hold the VIP %s:\n%s", v, held)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, v := range append([]string{shop}, webVIPs...) {
		a.exec("client", "ip", "neigh", "flush", "to", v)
	}

	// The group: one kernel service per member, each with both web servers.
	for _, v := range webVIPs {
		for _, port := range []string{"80", "443"} {
			if err := a.reaches(ctx, "http://"+v+":"+port+"/", "web1", "web2"); err != nil {
				t.Error(err)
			}
		}
	}
	inGroup := func(want ...string) error {
		save := run(t, "ipvsadm-save -n")
		for _, v := range webVIPs {
			for _, port := range []string{"80", "443"} {
				svc := "-a -t " + v + ":" + port + " -r "
				for _, h := range []string{"web1", "web2"} {
					has := regexp.MustCompile(regexp.QuoteMeta(svc+a.addr(h)+":") + `\d+ -g`).MatchString(save)
					if has != slices.Contains(want, h) {
						return fmt.Errorf("%s:%s has %s: %v, want it in %v:\n%s", v, port, h, has, want, save)
					}
				}
			}
		}
		return nil
	}
	if err := inGroup("web1", "web2"); err != nil {
		t.Error(err)
	}

	// The fwmark service: both ports of the shop VIP, marked 1, one
	// persistent service: whichever web server the first connection got
	// answers every later one, on either port (round robin alone would
	// alternate).
	var first string
	for i := range 8 {
		port := []string{"80", "443"}[i%2]
		url := "http://" + shop + ":" + port + "/"
		var got string
		if err := waitFor(15*time.Second, func() error {
			out, err := a.Exec(ctx, "client", "curl", "-fsS", "--max-time", "3", url)
			if err != nil {
				return fmt.Errorf("%s: %s %w", url, out, err)
			}
			got = strings.TrimSpace(string(out))
			return nil
		}); err != nil {
			t.Fatalf("%v\n%s\n%s", err, run(t, "ipvsadm -Ln"), nfthand("list"))
		}
		if first == "" {
			first = got
		}
		if got != first {
			t.Errorf("connection %d to %s was answered by %s, the first by %s: not persistent across the marked ports", i, url, got, first)
		}
	}
	marks := nfthand("list")
	for _, port := range []string{"80", "443"} {
		m := regexp.MustCompile(`daddr ` + regexp.QuoteMeta(shop) + `/32 tcp dport ` + port + ` mark 1 packets (\d+)`).FindStringSubmatch(marks)
		if m == nil {
			t.Errorf("the agent's table has no rule marking %s:%s with 1:\n%s", shop, port, marks)
		} else if n, _ := strconv.Atoi(m[1]); n == 0 {
			t.Errorf("the rule marking %s:%s counted no packet:\n%s", shop, port, marks)
		}
	}
	// The persistence template: client address, port 0, to the mark
	// (ipvsadm shows fwmark 1 as the address 0.0.0.1), and the web server.
	conns := run(t, "ipvsadm -Lnc")
	if !regexp.MustCompile(`(?m)^IP\s+\S+\s+\S+\s+` + regexp.QuoteMeta(a.addr("client")) + `:0\s+0\.0\.0\.1:0\s+` +
		regexp.QuoteMeta(a.addr(first)) + `:0\s`).MatchString(conns) {
		t.Errorf("no persistence template of the client for fwmark 1 to %s in ipvsadm -Lnc:\n%s", first, conns)
	}
	t.Logf("keepalived.conf:\n%s", run(t, "cat /etc/keepalived/keepalived.conf"))
	t.Logf("ipvsadm -Ln:\n%s", run(t, "ipvsadm -Ln"))
	t.Logf("ipvsadm -Lnc:\n%s", conns)
	t.Logf("the agent's nftables rules (nfthand list):\n%s", marks)
	t.Logf("web1's lo: %s", a.exec("web1", "ip", "-o", "addr", "show", "dev", "lo"))

	// One check for the whole group: web2's 443 stops, and web2 leaves
	// every member (its port 80 ones too), but not the fwmark service,
	// whose check connects to 80. Status, not drift: the plan is empty.
	_ = https["web2"].Process.Kill()
	_ = https["web2"].Wait()
	downAt := time.Now()
	if err := waitFor(30*time.Second, func() error { return inGroup("web1") }); err != nil {
		t.Fatal(err)
	}
	t.Logf("web2 left all %d services of the group %v after its 443 stopped", 2*len(webVIPs), time.Since(downAt).Round(100*time.Millisecond))
	if save := run(t, "ipvsadm-save -n"); !regexp.MustCompile(`-a -f 1 -r ` + regexp.QuoteMeta(a.addr("web2"))).MatchString(save) {
		t.Errorf("web2 left the fwmark service too, whose check is on port 80:\n%s", save)
	}
	for _, v := range webVIPs {
		if err := a.reaches(ctx, "http://"+v+":80/", "web1"); err != nil {
			t.Error(err)
		}
	}
	tf.planEmpty()
	serve443("web2")
	upAt := time.Now()
	if err := waitFor(30*time.Second, func() error { return inGroup("web1", "web2") }); err != nil {
		t.Fatal(err)
	}
	t.Logf("web2 back in every member %v after its 443 started", time.Since(upAt).Round(100*time.Millisecond))
	tf.planEmpty()

	tf.destroy()
	if out := strings.TrimSpace(nfthand("list")); out != "no table" {
		t.Errorf("the agent's nftables table stays after destroy:\n%s", out)
	}
	for _, h := range []string{"web1", "web2"} {
		out := a.exec(h, "ip", "-o", "addr", "show", "dev", "lo")
		for _, v := range append([]string{shop}, webVIPs...) {
			if strings.Contains(out, " "+v+"/") {
				t.Errorf("%s still has the VIP %s on lo after destroy:\n%s", h, v, out)
			}
		}
	}
}

// uploadNfthand puts the nftables hand tool (see buildNfthand) on the VM
// and returns a runner of its commands.
func uploadNfthand(t *testing.T, ctx context.Context, d *vm.VM) func(args string) string {
	t.Helper()
	if err := d.Upload(ctx, "/tmp/nfthand", buildNfthand(t), 0o755); err != nil {
		t.Fatal(err)
	}
	return func(args string) string {
		t.Helper()
		res, err := d.Run(ctx, "/tmp/nfthand "+args, nil)
		if err != nil {
			t.Fatalf("on the director: nfthand %s: %v", args, err)
		}
		return res.Stdout
	}
}
