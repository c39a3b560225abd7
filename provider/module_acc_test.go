//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// TestAccModuleHACluster applies examples/scenarios/lvs-dr-ha (the
// ha-cluster module, as a user's root module calls it) to two director
// VMs with a real IPVS kernel on the bridge of a namespace lab whose rs1
// and rs2 serve HTTP: keepalived holds the VIP on the MASTER, IPVS sends
// the client's requests to both real servers by DR (the module set up
// their VIP on lo and ARP sysctls), the module's outputs report one MASTER
// and no split brain, and the plan after the apply is empty. Then the
// MASTER's keepalived is killed: the BACKUP takes the VIP over and the
// traffic keeps flowing; the next plan shows the dead keepalived and the
// apply restarts it, and dir1 takes the VIP back; destroy leaves neither
// director with the VIP or an IPVS service.
func TestAccModuleHACluster(t *testing.T) {
	// Its own lab and VMs: runs beside the other parallel lab tests (make
	// test runs the acceptance tests with -parallel 3).
	t.Parallel()
	a := startAccLabOn(t, netns.Config{Name: "lvsmod", Subnet: netip.MustParsePrefix("10.127.0.0/24"), Hosts: []string{"rs1", "rs2", "client"}})
	vip := a.vip(100)
	d1 := vm.Start(t, vm.Config{Name: "modd1", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(21) + "/24")})
	d2 := vm.Start(t, vm.Config{Name: "modd2", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(22) + "/24")})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	pub, err := ssh.ParsePrivateKey(a.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*vm.VM{d1, d2} {
		// The provider reaches every host with the lab's one key.
		if _, err := d.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(pub.PublicKey())))); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"rs1", "rs2"} {
		serveAll(t, a, h)
	}

	// The scenario is applied from a copy of examples/ (its module source
	// is relative), with the lab's addresses as its variables.
	examples := filepath.Join(t.TempDir(), "examples")
	if err := os.CopyFS(examples, os.DirFS(filepath.Join("..", "examples"))); err != nil {
		t.Fatal(err)
	}
	vars, err := json.Marshal(map[string]any{
		"ssh_private_key_path": a.ClientKeyPath,
		"known_hosts_files":    []string{a.KnownHostsPath, d1.KnownHosts, d2.KnownHosts},
		"interface":            "eth1",
		"directors":            []string{d1.BridgeAddr.String(), d2.BridgeAddr.String()},
		"vip":                  vip,
		"web_servers":          map[string]string{"rs1": a.addr("rs1"), "rs2": a.addr("rs2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	scenario := filepath.Join(examples, "scenarios", "lvs-dr-ha")
	if err := os.WriteFile(filepath.Join(scenario, "terraform.tfvars.json"), vars, 0o644); err != nil {
		t.Fatal(err)
	}

	// throughVIP asks the VIP from the client until both real servers
	// have answered.
	throughVIP := func() error {
		seen := map[string]bool{}
		var last string
		for i := 0; i < 40 && len(seen) < 2; i++ {
			out, err := a.Exec(ctx, "client", "curl", "-sS", "--max-time", "3", "http://"+vip+"/")
			if err == nil {
				seen[strings.TrimSpace(string(out))] = true
			} else {
				last = fmt.Sprintf("%s %v", out, err)
				time.Sleep(500 * time.Millisecond)
			}
		}
		if !seen["rs1"] || !seen["rs2"] {
			return fmt.Errorf("through the VIP %s the client reached %v, want rs1 and rs2 (last error: %s)", vip, seen, last)
		}
		return nil
	}
	vipOn := func(d *vm.VM) bool {
		res, err := d.Run(ctx, "ip -o addr show dev eth1", nil)
		return err == nil && strings.Contains(res.Stdout, vip+"/24")
	}

	// The module is applied by the terraform CLI itself, as a user runs
	// it (terraform-plugin-testing's state checks do not support modules):
	// the provider is the binary built from this tree, with the agent.
	if _, err := agentbin.Binary(runtime.GOARCH); err != nil {
		t.Fatalf("the provider binary needs the agent embedded: %v (run `make agent`)", err)
	}
	tf := &tfCLI{t: t, ctx: ctx, dir: scenario, rc: providerCLIConfig(t)}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			tf.run("destroy", "-auto-approve")
		}
	})
	// dev_overrides serve the provider without init; get installs the module.
	tf.run("get")
	tf.run("apply", "-auto-approve")
	if got := tf.output("split_brain"); got != "false" {
		t.Errorf("output split_brain = %s, want false", got)
	}
	if got, want := tf.output("masters"), fmt.Sprintf("[%q]", d1.BridgeAddr.String()); got != want {
		t.Errorf("output masters = %s, want %s (dir1, the higher priority)", got, want)
	}
	if !vipOn(d1) || vipOn(d2) {
		t.Fatalf("the VIP must be on dir1 (MASTER) only: dir1 %v, dir2 %v", vipOn(d1), vipOn(d2))
	}
	if err := throughVIP(); err != nil {
		t.Fatal(err)
	}
	tf.planEmpty()

	// The MASTER fails: the BACKUP takes over within about three advert
	// intervals and the service goes on.
	killed := time.Now()
	if _, err := d1.Run(ctx, "kill $(cat /run/keepalived.pid)", nil); err != nil {
		t.Fatalf("kill keepalived on dir1: %v", err)
	}
	if err := waitFor(30*time.Second, func() error {
		if !vipOn(d2) {
			return fmt.Errorf("dir2 does not hold the VIP")
		}
		return nil
	}); err != nil {
		t.Fatalf("failover: %v", err)
	}
	tookOver := time.Since(killed)
	if err := throughVIP(); err != nil {
		t.Fatalf("after failover: %v", err)
	}
	t.Logf("failover: dir2 held the VIP %v after dir1's keepalived was killed; traffic flowed again after %v",
		tookOver.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	// The dead keepalived is drift: the plan shows it, the apply restarts
	// it, and dir1 (the higher priority) takes the VIP back.
	if code := tf.plan(); code != 2 {
		t.Fatalf("plan after keepalived died on dir1: exit %d, want 2 (changes)", code)
	}
	tf.run("apply", "-auto-approve")
	if err := waitFor(30*time.Second, func() error {
		if !vipOn(d1) || vipOn(d2) {
			return fmt.Errorf("the VIP must be back on dir1 only: dir1 %v, dir2 %v", vipOn(d1), vipOn(d2))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := throughVIP(); err != nil {
		t.Fatal(err)
	}
	tf.planEmpty()

	tf.run("destroy", "-auto-approve")
	destroyed = true
	for _, d := range []*vm.VM{d1, d2} {
		if vipOn(d) {
			t.Errorf("%s still holds the VIP after destroy", d.Name)
		}
		if res, err := d.Run(ctx, "ipvsadm-save -n", nil); err != nil || strings.TrimSpace(res.Stdout) != "" {
			t.Errorf("%s: IPVS table after destroy: %v %v", d.Name, res, err)
		}
	}
}

// tfCLI runs the terraform CLI in dir with the provider built from this
// tree, failing the test on error.
type tfCLI struct {
	t   *testing.T
	ctx context.Context
	dir string
	rc  string
	// destroy, when set, destroys what the configuration applied and
	// marks it done for the test's cleanup.
	destroy func()
}

func (c *tfCLI) command(args ...string) *exec.Cmd {
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		tf = "terraform"
	}
	cmd := exec.CommandContext(c.ctx, tf, append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+c.rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	return cmd
}

func (c *tfCLI) run(args ...string) {
	c.t.Helper()
	start := time.Now()
	out, err := c.command(args...).CombinedOutput()
	c.t.Logf("terraform %s (%v):\n%s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), tail(string(out), 40))
	if err != nil {
		c.t.Fatalf("terraform %s: %v", strings.Join(args, " "), err)
	}
}

// plan is terraform plan -detailed-exitcode: 0 empty, 2 changes.
func (c *tfCLI) plan() int {
	c.t.Helper()
	out, err := c.command("plan", "-detailed-exitcode").CombinedOutput()
	c.t.Logf("terraform plan:\n%s", tail(string(out), 60))
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return 2
	}
	c.t.Fatalf("terraform plan: %v", err)
	return 1
}

// planEmpty fails the test unless the plan changes no resource. Outputs
// may change: the module's status outputs come from data sources read at
// the moment (a MASTER still taking its VIP back during the apply's read).
func (c *tfCLI) planEmpty() {
	c.t.Helper()
	c.run("plan", "-out=check.tfplan")
	out, err := c.command("show", "-json", "check.tfplan").Output()
	if err != nil {
		c.t.Fatalf("terraform show -json: %v", err)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		c.t.Fatalf("terraform show -json: %v", err)
	}
	for _, rc := range plan.ResourceChanges {
		if len(rc.Change.Actions) != 1 || rc.Change.Actions[0] != "no-op" {
			c.t.Errorf("the plan after a successful apply changes %s: %v", rc.Address, rc.Change.Actions)
		}
	}
	if c.t.Failed() {
		c.t.FailNow()
	}
}

// output is an output's JSON value.
func (c *tfCLI) output(name string) string {
	c.t.Helper()
	out, err := c.command("output", "-json", name).Output()
	if err != nil {
		c.t.Fatalf("terraform output %s: %v", name, err)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		c.t.Fatalf("terraform output %s: %v: %s", name, err, out)
	}
	compact, _ := json.Marshal(v)
	return string(compact)
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// serveAll starts busybox httpd on host answering on every address (a DR
// real server receives the VIP as destination), with the host's name as
// its page, until the test ends.
func serveAll(t *testing.T, a *accLab, host string) {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox (for the real servers' httpd) is not installed: %v", err)
	}
	dir := filepath.Join(netns.TempDir(t), host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(host+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, err := a.Command(context.Background(), host, busybox, "httpd", "-f", "-p", "80", "-h", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start httpd: %v", host, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://%s/", a.addr(host))
	if err := waitFor(10*time.Second, func() error { _, err := httpGet(url); return err }); err != nil {
		t.Fatalf("%s: httpd does not answer: %v", host, err)
	}
}
