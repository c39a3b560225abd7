//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/haproxycfg"
	"github.com/lvsops/terraform-provider-lvs/internal/keepalivedconf"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/render"
)

// adoptScenario is the adoption guide's scenario: the import blocks, and
// under hand-built/ the files of the cluster as an operator built it, with
// documentation addresses (adoptDocAddrs) that the test replaces by the
// lab's.
const adoptScenario = "adopt-hand-built"

// TestAccAdoptByGeneratedConfig adopts a cluster built entirely by hand —
// a director VM with its own keepalived.conf (VRRP and an IPVS DR service)
// and haproxy.cfg, and two real servers whose VIP on lo and ARP sysctls
// were set with ip and sysctl — the way the adoption guide tells an
// operator to: import blocks only, `terraform plan
// -generate-config-out=generated.tf` writes the HCL, which validates;
// the apply that takes everything over changes nothing that runs (the
// IPVS table, the VIPs, the real servers' addresses and sysctls, the
// keepalived and haproxy processes and what their files say) and loses
// no request through the VIP or haproxy while it runs; the plan after it
// is empty. The configuration and the hand-built files are those of
// examples/scenarios/adopt-hand-built, which the adoption guide shows.
func TestAccAdoptByGeneratedConfig(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabOn(t, netns.Config{Name: "lvsx7", Subnet: netip.MustParsePrefix("10.137.0.0/24"), Hosts: []string{"rs1", "rs2", "client"}})
	vip, rs1, rs2 := a.vip(100), a.addr("rs1"), a.addr("rs2")
	d := vm.Start(t, vm.Config{Name: "x7d1", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(21) + "/24")})
	dir := d.BridgeAddr.String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	run := func(cmd string) string {
		t.Helper()
		res, err := d.Run(ctx, cmd, nil)
		if err != nil {
			t.Fatalf("on the director: %s: %v", cmd, err)
		}
		return res.Stdout
	}
	pub, err := ssh.ParsePrivateKey(a.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(pub.PublicKey())))); err != nil {
		t.Fatal(err)
	}

	// The scenario, with the lab's addresses for the documentation's.
	examples := filepath.Join(t.TempDir(), "examples")
	if err := os.CopyFS(examples, os.DirFS(filepath.Join("..", "examples"))); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(examples, "scenarios", adoptScenario)
	lab := strings.NewReplacer("192.0.2.100", vip, "192.0.2.21", dir, "192.0.2.11", rs1, "192.0.2.12", rs2)
	handFile := func(name string) string {
		b, err := os.ReadFile(filepath.Join(work, "hand-built", name))
		if err != nil {
			t.Fatal(err)
		}
		return lab.Replace(string(b))
	}
	hand, handHAProxy := handFile("keepalived.conf"), handFile("haproxy.cfg")
	if _, err := d.Run(ctx, "mkdir -p /etc/keepalived /etc/haproxy && cat > /etc/keepalived/keepalived.conf", strings.NewReader(hand)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(ctx, "cat > /etc/haproxy/haproxy.cfg", strings.NewReader(handHAProxy)); err != nil {
		t.Fatal(err)
	}
	run("keepalived -D -f /etc/keepalived/keepalived.conf -p /run/keepalived.pid")
	run("haproxy -W -D -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid")
	for _, h := range []string{"rs1", "rs2"} {
		a.exec(h, "sh", "-c", handFile("real-server.sh"))
		serveAll(t, a, h)
	}
	table := []string{"-A -t " + vip + ":80 -s wrr", "-a -t " + vip + ":80 -r " + rs1 + ":80 -g -w 2",
		"-a -t " + vip + ":80 -r " + rs2 + ":80 -g -w 1"}
	if err := waitFor(60*time.Second, func() error {
		save := run("ipvsadm-save -n")
		for _, w := range table {
			if !strings.Contains(save, w) {
				return fmt.Errorf("the hand-started keepalived's table lacks %q:\n%s", w, save)
			}
		}
		if !strings.Contains(run("ip -o addr show dev eth1"), " "+vip+"/24") {
			return fmt.Errorf("the director does not hold the VIP %s", vip)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	urls := []string{"http://" + vip + "/", "http://" + dir + ":8080/", "http://" + dir + ":8081/", "http://" + dir + ":8082/"}
	for _, u := range urls {
		if err := a.reaches(ctx, u, "rs1", "rs2"); err != nil {
			t.Fatalf("the hand-built cluster: %v", err)
		}
	}

	// What runs, to compare after the adoption.
	snapshot := func() map[string]string {
		s := map[string]string{
			"ipvs":           sortedLines(run("ipvsadm-save -n")),
			"director addrs": sortedLines(run("ip -o -4 addr show dev eth1 | awk '{print $4}'")),
			"keepalived pid": strings.TrimSpace(run("cat /run/keepalived.pid")),
			"haproxy pid":    strings.TrimSpace(run("cat /run/haproxy.pid")),
		}
		for _, h := range []string{"rs1", "rs2"} {
			s[h+" lo"] = sortedLines(a.exec(h, "sh", "-c", "ip -o addr show dev lo | awk '{print $4}'"))
			s[h+" sysctls"] = a.exec(h, "sysctl", "net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.all.arp_announce",
				"net.ipv4.conf.lo.arp_ignore", "net.ipv4.conf.lo.arp_announce")
		}
		return s
	}
	before := snapshot()

	// The operator's configuration: the provider and an import block per
	// object; Terraform writes the resources.
	vars, err := json.Marshal(map[string]any{
		"ssh_private_key_path": a.ClientKeyPath,
		"known_hosts_files":    []string{a.KnownHostsPath, d.KnownHosts},
		"director":             dir,
		"vip":                  vip,
		"web_servers":          map[string]string{"rs1": rs1, "rs2": rs2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "terraform.tfvars.json"), vars, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := agentbin.Binary(runtime.GOARCH); err != nil {
		t.Fatalf("the provider binary needs the agent embedded: %v (run `make agent`)", err)
	}
	tf := &tfCLI{t: t, ctx: ctx, dir: work, rc: providerCLIConfig(t)}
	tf.run("plan", "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(work, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated.tf:\n%s", generated)
	tf.run("validate")
	// Generated HCL names the director by its id, not by reference: the
	// file is what an operator commits (and may then edit into references).
	// What the kernel alone cannot show comes from the hand-built files:
	// the real servers' own hosts, the health checks and their defaults.
	for _, want := range []string{`resource "lvs_director" "dir1"`, `resource "lvs_real_server" "rs1"`,
		`host +=\s+"` + regexp.QuoteMeta(rs1) + `"`, `delay_loop +=\s+3\n`, `tcp_check\s+\{[^}]*connect_timeout +=\s+3\n`,
		`resource "lvs_haproxy_frontend" "web"`, `resource "lvs_haproxy_backend" "app"`} {
		if !regexp.MustCompile(want).Match(generated) {
			t.Errorf("generated.tf lacks %s", want)
		}
	}

	// The adoption, under traffic.
	load := a.loadThrough(ctx, "client", urls...)
	tf.run("apply", "-auto-approve")
	time.Sleep(2 * time.Second) // requests after the reloads
	sent, failed, first := load.finish()
	t.Logf("during the adoption: %d requests, %d failed", sent, failed)
	if failed > 0 || sent < 20 {
		t.Errorf("%d of %d requests failed during the adoption (first: %s), want 0 of at least 20", failed, sent, first)
	}
	after := snapshot()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("the adoption changed %s:\nbefore:\n%s\nafter:\n%s", k, v, after[k])
		}
	}
	conf := run("cat /etc/keepalived/keepalived.conf")
	if !strings.HasPrefix(conf, render.ManagedMarker) {
		t.Errorf("keepalived.conf is not ours after the adoption:\n%s", conf)
	}
	was, _, err := keepalivedconf.Parse(strings.NewReader(hand), "hand")
	if err != nil {
		t.Fatal(err)
	}
	now, _, err := keepalivedconf.Parse(strings.NewReader(conf), "installed")
	if err != nil {
		t.Fatal(err)
	}
	if !keepalivedconf.Equivalent(was, now) {
		t.Errorf("the installed keepalived.conf says something else than the hand-written one:\n%s", conf)
	}
	cfg := run("cat /etc/haproxy/haproxy.cfg")
	hwas, _, err := haproxycfg.Parse(strings.NewReader(handHAProxy), "hand")
	if err != nil {
		t.Fatal(err)
	}
	hnow, _, err := haproxycfg.Parse(strings.NewReader(cfg), "installed")
	if err != nil {
		t.Fatalf("%v:\n%s", err, cfg)
	}
	if !haproxycfg.Equivalent(hwas, hnow) {
		t.Errorf("the installed haproxy.cfg says something else than the hand-written one:\n%s", cfg)
	}
	for _, u := range urls {
		if err := a.reaches(ctx, u, "rs1", "rs2"); err != nil {
			t.Errorf("after the adoption: %v", err)
		}
	}
	tf.planEmpty()
}

// sortedLines is s's non-empty lines, sorted, one per line.
func sortedLines(s string) string {
	var lines []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// reaches asks url from the client until every host of want has
// answered (each serves its name), and no other did.
func (a *accLab) reaches(ctx context.Context, url string, want ...string) error {
	return a.reachesWith(ctx, url, nil, want...)
}

// reachesWith is reaches with extra curl arguments.
func (a *accLab) reachesWith(ctx context.Context, url string, curlArgs []string, want ...string) error {
	seen := map[string]bool{}
	var last string
	all := func() bool {
		for _, w := range want {
			if !seen[w] {
				return false
			}
		}
		return true
	}
	for i := 0; i < 40 && !all(); i++ {
		// -f: an HTTP error (haproxy's 503 before its first checks pass)
		// is a failed try, not a page.
		args := append([]string{"curl", "-fsS", "--max-time", "3"}, curlArgs...)
		out, err := a.Exec(ctx, "client", append(args, url)...)
		if err == nil {
			seen[strings.TrimSpace(string(out))] = true
		} else {
			last = fmt.Sprintf("%s %v", out, err)
			time.Sleep(300 * time.Millisecond)
		}
	}
	if !all() {
		return fmt.Errorf("%s reached %v, want %v (last error: %s)", url, seen, want, last)
	}
	for got := range seen {
		if !slices.Contains(want, got) {
			return fmt.Errorf("%s reached %v, want only %v", url, seen, want)
		}
	}
	return nil
}

// requestLoad asks its URLs in turn from a host until finished, counting
// the requests that fail.
type requestLoad struct {
	stop         chan struct{}
	wg           sync.WaitGroup
	sent, failed atomic.Int64
	first        atomic.Value // string: the first failure
}

func (a *accLab) loadThrough(ctx context.Context, host string, urls ...string) *requestLoad {
	l := &requestLoad{stop: make(chan struct{})}
	l.wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			u := urls[i%len(urls)]
			out, err := a.Exec(ctx, host, "curl", "-sS", "--max-time", "5", u)
			l.sent.Add(1)
			if err != nil {
				l.failed.Add(1)
				l.first.CompareAndSwap(nil, fmt.Sprintf("%s: %s %v", u, out, err))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return l
}

func (l *requestLoad) finish() (sent, failed int64, first any) {
	close(l.stop)
	l.wg.Wait()
	return l.sent.Load(), l.failed.Load(), l.first.Load()
}
