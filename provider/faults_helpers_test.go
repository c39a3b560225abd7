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
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/agentbin"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
)

// faultLab is the lab of TestAccFaults: a namespace lab whose rs1 and rs2
// serve HTTP (their name as the page) and whose client asks the VIP, and
// one director VM (a real IPVS kernel) on its bridge, reached at its bridge
// address with the lab's key. Each working directory of the test is a
// terraform root module of its own, applied by the terraform CLI with the
// provider built from this tree.
type faultLab struct {
	*accLab
	vm  *vm.VM
	ctx context.Context
	rc  string
}

func startFaultLab(t *testing.T) *faultLab {
	t.Helper()
	a := startAccLabOn(t, netns.Config{Name: "lvsy2", Subnet: netip.MustParsePrefix("10.142.0.0/24"), Hosts: []string{"rs1", "rs2", "client"}})
	if _, err := agentbin.Binary(runtime.GOARCH); err != nil {
		t.Fatalf("the provider binary needs the agent embedded: %v (run `make agent`)", err)
	}
	rc := providerCLIConfig(t)
	d := vm.Start(t, vm.Config{Name: "y2d1", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(21) + "/24")})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	pub, err := ssh.ParsePrivateKey(a.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(pub.PublicKey())))); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"rs1", "rs2"} {
		serveAll(t, a, h)
	}
	return &faultLab{accLab: a, vm: d, ctx: ctx, rc: rc}
}

// director is the director VM's address, as the configurations name it.
func (f *faultLab) director() string { return f.vm.BridgeAddr.String() }

// workdir is a new terraform working directory holding body after the
// provider block (which has no other settings than the lab's), and a
// tfCLI for it.
func (f *faultLab) workdir(t *testing.T, name, body string) *tfCLI {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tf := &tfCLI{t: t, ctx: f.ctx, dir: dir, rc: f.rc}
	f.write(tf, body)
	return tf
}

// write replaces the working directory's configuration.
func (f *faultLab) write(tf *tfCLI, body string) {
	tf.t.Helper()
	head := fmt.Sprintf(`
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
  known_hosts_files = [%q, %q]
  connect_timeout   = "10s"
  command_timeout   = "3m"
}
`, f.ClientKeyPath, f.KnownHostsPath, f.vm.KnownHosts)
	if err := os.WriteFile(filepath.Join(tf.dir, "main.tf"), []byte(head+body), 0o644); err != nil {
		tf.t.Fatal(err)
	}
}

// directorConfig is the director on the VM: engine, the VIP .100 as a
// static address on eth1 (no VRRP: one director).
func (f *faultLab) directorConfig(engine string) string {
	return fmt.Sprintf(`
resource "lvs_director" "d1" {
  engine    = %q
  interface = "eth1"
  static_address {
    address = "%s/24"
  }
  ssh {
    host = %q
  }
}
`, engine, f.vip(100), f.director())
}

// service is a DR virtual server on the VIP .100 at port, on directors
// (an HCL expression), with a real server per entry of weights (host ->
// weight; its host block sets up the host's side).
func (f *faultLab) service(name, directors string, port int, weights map[string]int) string {
	s := fmt.Sprintf(`
resource "lvs_virtual_server" %[1]q {
  directors         = %[2]s
  address           = %[3]q
  port              = %[4]d
  scheduler         = "wrr"
  forwarding_method = "dr"
}
`, name, directors, f.vip(100), port)
	for _, h := range slices.Sorted(func(yield func(string) bool) {
		for h := range weights {
			if !yield(h) {
				return
			}
		}
	}) {
		s += fmt.Sprintf(`
resource "lvs_real_server" "%[1]s_%[2]s" {
  virtual_server_id = lvs_virtual_server.%[1]s.id
  address           = %[3]q
  weight            = %[4]d
  host {
    host = %[3]q
  }
}
`, name, h, f.addr(h), weights[h])
	}
	return s
}

// try runs a terraform command and returns its output and error, for
// commands expected to fail.
func (c *tfCLI) try(args ...string) (string, error) {
	c.t.Helper()
	start := time.Now()
	out, err := c.command(args...).CombinedOutput()
	c.t.Logf("terraform %s (%v, %v):\n%s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), err, tail(string(out), 60))
	return string(out), err
}

// stateList is `terraform state list`, sorted (none before the first
// apply).
func (c *tfCLI) stateList() []string {
	c.t.Helper()
	if _, err := os.Stat(filepath.Join(c.dir, "terraform.tfstate")); os.IsNotExist(err) {
		return nil
	}
	cmd := c.command("state", "list")
	cmd.Args = []string{cmd.Args[0], "state", "list"} // takes no -no-color
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("terraform state list: %v", err)
	}
	return slices.Sorted(strings.FieldsSeq(string(out)))
}

// noChanges fails the test unless `terraform plan` plans no change (the
// configurations of these tests have no outputs).
func (c *tfCLI) noChanges() {
	c.t.Helper()
	if code := c.plan(); code != 0 {
		c.t.Fatalf("the plan after a successful apply is not empty (exit %d)", code)
	}
}

// attr is an attribute of a resource in the state (terraform show -json).
func (c *tfCLI) attr(address, name string) any {
	c.t.Helper()
	out, err := c.command("show", "-json").Output()
	if err != nil {
		c.t.Fatalf("terraform show -json: %v", err)
	}
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		c.t.Fatalf("terraform show -json: %v", err)
	}
	for _, r := range st.Values.RootModule.Resources {
		if r.Address == address {
			return r.Values[name]
		}
	}
	c.t.Fatalf("no %s in the state", address)
	return nil
}

// vmRun runs a shell command on the director VM.
func (f *faultLab) vmRun(t *testing.T, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	res, err := f.vm.Run(ctx, cmd, nil)
	if err != nil {
		t.Fatalf("on the director: %s: %v", cmd, err)
	}
	return res.Stdout
}

// hostState is what the test's configurations set up on the hosts,
// normalised: the director's IPVS table (sorted), keepalived.conf, its
// IPv4 addresses, its sysctl.d files and the agent's stored objects (names
// and contents); each real server's addresses on lo and ARP sysctls.
func (f *faultLab) hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "== director\n%s", f.vmRun(t, `
echo '-- ipvsadm-save -n'; ipvsadm-save -n | sort
echo '-- keepalived.conf'; cat /etc/keepalived/keepalived.conf 2>/dev/null
echo '-- addresses'; ip -o -4 addr show | awk '{print $2, $4}' | sort
echo '-- sysctl.d'; for f in /etc/sysctl.d/*; do [ -f "$f" ] && echo "$f" && cat "$f"; done
echo '-- store'; cd /var/lib/lvs-agent && find . -path ./bin -prune -o -type f ! -name lock ! -name stats.json -print | sort | while read -r f; do echo "$f $(sha256sum <"$f" | cut -c1-16)"; done
`))
	for _, h := range []string{"rs1", "rs2"} {
		fmt.Fprintf(&b, "== %s\n%s", h, f.exec(h, "sh", "-c", `
ip -o -4 addr show dev lo | awk '{print $4}' | sort
for k in arp_ignore arp_announce; do echo "$k $(cat /proc/sys/net/ipv4/conf/all/$k)"; done
`))
	}
	return b.String()
}

// link takes a lab host off the network (its bridge port down: frames to
// it are lost, as to a host that is down) or puts it back.
func (f *faultLab) link(t *testing.T, host string, up bool) {
	t.Helper()
	var veth string
	links, _ := filepath.Glob("/sys/class/net/*/ifalias")
	for _, l := range links {
		dev := filepath.Base(filepath.Dir(l))
		alias, _ := os.ReadFile(l)
		master, _ := os.Readlink(filepath.Join(filepath.Dir(l), "master"))
		if strings.TrimSpace(string(alias)) == host && filepath.Base(master) == f.Bridge {
			veth = dev
		}
	}
	if veth == "" {
		t.Fatalf("no bridge port of %s on %s", host, f.Bridge)
	}
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "link", "set", "dev", veth, state).CombinedOutput(); err != nil {
		t.Fatalf("ip link set dev %s %s: %v: %s", veth, state, err, out)
	}
}

// exitErr reports whether err is a terraform command's non-zero exit (a
// failed plan or apply), not a failure to run it.
func exitErr(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit)
}
