//go:build linux

package provider

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
)

// The invariant of the reconcile issue, for every managed resource the
// provider registers and both director engines: after any successful apply
// the next plan is empty; after any failed apply the next single apply
// (the fault removed) converges, and the plan after it is empty.
//
// terraform-plugin-testing plans again after every step that applies and
// fails the step on a non-empty plan, so each successful step below
// asserts the first half; each fault step is an apply that must fail
// (ExpectError), and the step after it, with the same configuration and
// the fault gone, is the one apply that must converge.
//
// The faults are real refusals of the hosts, no mocks: a directory or a
// file the agent must replace made immutable (chattr +i on the namespace
// hosts: the kernel answers EPERM to every write, rename and unlink in
// it) or read-only (a read-only bind mount on the VM, which has no
// chattr: EROFS, or EBUSY for a rename over the file), so the apply
// fails at that step after the steps before it ran, and the agent's undo
// and journal have to leave a state the next apply repairs. The faults
// hit the middle of multi-host applies: a real server with its own host
// fails on the host while its director dropped the destination (destroy),
// and one of several resources applied to a director fails while the
// others' changes stay.
//
// One director VM (a real IPVS kernel) serves both engines in turn: the
// keepalived phase, an in-place switch to netlink, the netlink phase. The
// real servers' and haproxy's hosts are namespace hosts.

// invariantResources are the resource types this test covers; the test
// fails when the provider registers one it does not name, so a new
// resource gets its invariant test.
var invariantResources = []string{
	"lvs_director", "lvs_virtual_server", "lvs_real_server",
	"lvs_haproxy", "lvs_haproxy_backend", "lvs_haproxy_frontend", "lvs_haproxy_certificate",
}

// refused is how the provider reports a write the host refused: EPERM
// (an immutable file or directory), EROFS (a read-only bind mount of a
// directory) or EBUSY (a rename over a file that is a mount point). The
// diagnostic wraps its lines.
var refused = regexp.MustCompile(`(?i)operation\s+not\s+permitted|read-only\s+file\s+system|device\s+or\s+resource\s+busy`)

// directorSpec is one configuration of the director side.
type directorSpec struct {
	engine    string
	priority  int
	scheduler string
	weight    int
	rs2       bool // a second real server, with its own host
}

// invLab is the lab of the invariant test: namespace hosts rs1, rs2, hap
// and the director VM on their bridge.
type invLab struct {
	a   *accLab
	d   *vm.VM
	ctx context.Context
}

func (l *invLab) factories(p *lvsProvider) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){"lvs": providerserver.NewProtocol6WithError(p)}
}

func (l *invLab) providerBlock() string {
	return fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %q
  known_hosts_files = [%q, %q]
  connect_timeout   = "10s"
  command_timeout   = "3m"
}
`, l.a.ClientKeyPath, l.a.KnownHostsPath, l.d.KnownHosts)
}

// directorConfig is a director with a VRRP instance holding the VIP, a DR
// virtual server on it, a real server without host and, with s.rs2, one
// whose host gets its DR side (VIP on lo, ARP sysctls).
func (l *invLab) directorConfig(s directorSpec) string {
	vip, dir := l.a.vip(100), l.d.BridgeAddr.String()
	cfg := l.providerBlock() + fmt.Sprintf(`
resource "lvs_director" "d1" {
  engine    = %[1]q
  interface = "eth1"
  router_id = "y4d1"
  ssh {
    host = %[2]q
  }
  vrrp_instance {
    name              = "VI_Y4"
    state             = "MASTER"
    virtual_router_id = 44
    priority          = %[3]d
    advert_int        = 1
    virtual_ipaddress {
      address = "%[4]s/24"
    }
  }
  sysctl {
    key    = "net.ipv4.vs.expire_nodest_conn"
    value  = "1"
    reason = "connections to a removed real server end at once"
  }
}

resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = %[4]q
  port              = 80
  scheduler         = %[5]q
  forwarding_method = "dr"
}

resource "lvs_real_server" "rs1" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = %[6]q
  weight            = %[7]d
}
`, s.engine, dir, s.priority, vip, s.scheduler, l.a.addr("rs1"), s.weight)
	if s.rs2 {
		cfg += fmt.Sprintf(`
resource "lvs_real_server" "rs2" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = %[1]q
  host {
    host = %[1]q
  }
}
`, l.a.addr("rs2"))
	}
	return cfg
}

// onVM runs a command on the director VM.
func (l *invLab) onVM(t *testing.T, cmd string) string {
	t.Helper()
	res, err := l.d.Run(l.ctx, cmd, nil)
	if err != nil {
		t.Fatalf("on the director: %s: %v", cmd, err)
	}
	return res.Stdout
}

// immutable sets (or clears) the immutable flag of path, a host path.
// Clearing the flag of a path that is gone (the destroy at the end
// removed it) is nothing to do.
func immutable(t *testing.T, on bool, path string) {
	t.Helper()
	flag := "-i"
	if on {
		flag = "+i"
	} else if _, err := os.Lstat(path); os.IsNotExist(err) {
		return
	}
	if out, err := exec.Command("chattr", flag, path).CombinedOutput(); err != nil {
		t.Fatalf("chattr %s %s: %v: %s", flag, path, err, out)
	}
}

// vmReadOnly makes path on the director VM read-only (or writable again):
// the VM has no chattr, so path becomes a read-only bind mount of itself.
// A directory is created first when dir is set. Undoing it twice (the
// recovering step, then the test's cleanup) is harmless.
func (l *invLab) vmReadOnly(t *testing.T, on, dir bool, path string) {
	t.Helper()
	cmd := fmt.Sprintf("while grep -q ' %[1]s ' /proc/mounts; do umount %[1]s || exit 1; done", path)
	if on {
		cmd = fmt.Sprintf("mount --bind %[1]s %[1]s && mount -o remount,bind,ro %[1]s", path)
		if dir {
			cmd = fmt.Sprintf("mkdir -p %s && %s", path, cmd)
		}
	}
	t.Logf("on the director: %s", cmd)
	l.onVM(t, cmd)
}

// fault is a PreConfig that sets a fault, registering its removal at the
// end of the test too (a failed test must not leave a file the lab's
// teardown cannot remove).
func fault(t *testing.T, set func(on bool)) func() {
	return func() {
		set(true)
		t.Cleanup(func() { set(false) })
	}
}

func TestAccInvariant_vm(t *testing.T) {
	t.Parallel()
	start := time.Now()
	t.Cleanup(func() { t.Logf("the invariant test took %v", time.Since(start).Round(time.Second)) })

	// Every resource the provider registers is covered here.
	p := &lvsProvider{}
	var registered []string
	for _, f := range p.Resources(context.Background()) {
		r := f()
		var resp fwresource.MetadataResponse
		r.Metadata(context.Background(), fwresource.MetadataRequest{ProviderTypeName: "lvs"}, &resp)
		registered = append(registered, resp.TypeName)
	}
	for _, name := range registered {
		if !slices.Contains(invariantResources, name) {
			t.Errorf("the provider registers %s, which TestAccInvariant_vm does not cover: add it", name)
		}
	}

	a := startAccLabOn(t, netns.Config{Name: "lvsy4", Subnet: netip.MustParsePrefix("10.144.0.0/24"), Hosts: []string{"rs1", "rs2", "hap"}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	l := &invLab{a: a, ctx: ctx}
	// The lab seeds Debian's haproxy.cfg, which is not ours: set aside.
	if conf := a.Hosts["hap"].Path("/etc/haproxy/haproxy.cfg"); func() bool { _, err := os.Stat(conf); return err == nil }() {
		if err := os.Rename(conf, conf+".debian"); err != nil {
			t.Fatal(err)
		}
	}

	// haproxy's hosts need no IPVS: their resources run while the VM
	// boots.
	t.Run("haproxy", func(t *testing.T) {
		t.Parallel()
		l.haproxy(t, &lvsProvider{version: "acctest", agentBins: a.provider.agentBins})
	})
	t.Run("directors", func(t *testing.T) {
		t.Parallel()
		booted := time.Now()
		l.d = vm.Start(t, vm.Config{Name: "y4d1", Bridge: a.Bridge, BridgeAddr: netip.MustParsePrefix(a.vip(21) + "/24")})
		t.Logf("director VM up after %v", time.Since(booted).Round(time.Second))
		pub, err := ssh.ParsePrivateKey(a.ClientKeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.d.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(pub.PublicKey())))); err != nil {
			t.Fatal(err)
		}
		l.directors(t, a.provider)
	})
}

// directors runs the director side: lvs_director, lvs_virtual_server and
// lvs_real_server under both engines.
func (l *invLab) directors(t *testing.T, p *lvsProvider) {
	const vmObjects = "/var/lib/lvs-agent/objects"
	rs2Objects := l.a.Hosts["rs2"].Path("/var/lib/lvs-agent/objects")
	ka := directorSpec{engine: "keepalived", priority: 100, scheduler: "wrr", weight: 1}
	ka2 := ka
	ka2.priority, ka2.scheduler, ka2.weight = 110, "wlc", 2
	ka3 := ka2
	ka3.scheduler, ka3.weight = "rr", 3
	ka4 := ka3
	ka4.rs2 = true
	nl := ka4
	nl.engine = "netlink"
	nl2 := nl
	nl2.priority, nl2.scheduler, nl2.weight = 120, "sh", 4
	nl3 := nl2
	nl3.priority, nl3.scheduler = 130, "lc"
	nl4 := nl3
	nl4.rs2 = false

	emptyAfter := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	step := func(s directorSpec) resource.TestStep {
		return resource.TestStep{Config: l.directorConfig(s), ConfigPlanChecks: emptyAfter}
	}
	failing := func(s directorSpec, set func(on bool)) resource.TestStep {
		return resource.TestStep{Config: l.directorConfig(s), PreConfig: fault(t, set), ExpectError: refused}
	}
	// rs2Lo is rs2's loopback addresses.
	rs2Lo := func() string {
		out, err := l.a.Exec(l.ctx, "rs2", "ip", "-o", "-4", "addr", "show", "dev", "lo")
		if err != nil {
			t.Fatalf("rs2: ip addr: %v", err)
		}
		return string(out)
	}
	// recovering removes the fault and applies once more; left, when
	// set, first checks what the failed apply left (that the fault hit
	// where it was meant to).
	recovering := func(s directorSpec, set func(on bool), left ...func() error) resource.TestStep {
		st := step(s)
		st.PreConfig = func() {
			t.Logf("after the failed apply: the director's IPVS table:\n%s\nrs2's lo:\n%s", l.onVM(t, "ipvsadm-save -n"), rs2Lo())
			for _, f := range left {
				if err := f(); err != nil {
					t.Error(err)
				}
			}
			set(false)
		}
		return st
	}
	// The faults.
	vmStoreOf := func(kind string) func(on bool) {
		return func(on bool) { l.vmReadOnly(t, on, true, vmObjects+"/"+kind) }
	}
	vmKeepalivedConf := func(on bool) { l.vmReadOnly(t, on, false, "/etc/keepalived/keepalived.conf") }
	// rs2's store of its host side (VIP on lo, ARP sysctls).
	rs2Store := func(on bool) {
		dir := filepath.Join(rs2Objects, "real_server_host")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		immutable(t, on, dir)
	}
	ipvs := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			save := l.onVM(t, "ipvsadm-save -n")
			for _, w := range want {
				if !strings.Contains(save, w) {
					return fmt.Errorf("the director's IPVS table lacks %q:\n%s", w, save)
				}
			}
			return nil
		}
	}
	vip, rs1, rs2 := l.a.vip(100), l.a.addr("rs1"), l.a.addr("rs2")
	started := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: l.factories(p),
		CheckDestroy: func(*terraform.State) error {
			if out := strings.TrimSpace(l.onVM(t, "ipvsadm-save -n")); out != "" {
				return fmt.Errorf("the director's IPVS table after destroy:\n%s", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			// keepalived: create, change every resource in place.
			step(ka),
			step(ka2),
			// The store of the real servers refuses the write: the apply
			// of the virtual server's and real server's change fails after
			// keepalived was reloaded with it, and is undone.
			failing(ka3, vmStoreOf("real_server")),
			withCheck(recovering(ka3, vmStoreOf("real_server")), ipvs("-A -t "+vip+":80 -s rr", "-a -t "+vip+":80 -r "+rs1+":80 -g -w 3")),
			// A real server created while its own host refuses to store
			// its side: the create fails as a whole (the director's
			// destination is not left behind either).
			failing(ka4, rs2Store),
			withCheck(recovering(ka4, rs2Store), ipvs("-a -t "+vip+":80 -r "+rs2+":80 -g -w 1")),
			// The engine switches in place.
			step(nl),
			step(nl2),
			// keepalived.conf (VRRP only under netlink) cannot be
			// replaced: the director's and the service's change fail.
			failing(nl3, vmKeepalivedConf),
			withCheck(recovering(nl3, vmKeepalivedConf), ipvs("-A -t "+vip+":80 -s lc")),
			// The netlink service's store refuses the write, after IPVS
			// was programmed.
			failing(nl2, vmStoreOf("virtual_server")),
			recovering(nl2, vmStoreOf("virtual_server")),
			// A real server destroyed while its own host refuses to
			// remove what it stored: the director dropped the destination,
			// rs2 keeps its DR side (the apply failed in the middle).
			failing(nl4, rs2Store),
			recovering(nl4, rs2Store, func() error {
				if save := l.onVM(t, "ipvsadm-save -n"); strings.Contains(save, " -r "+rs2+":80 ") {
					return fmt.Errorf("the failed destroy left rs2's destination on the director:\n%s", save)
				}
				if lo := rs2Lo(); !strings.Contains(lo, " "+vip+"/32 ") {
					return fmt.Errorf("the failed destroy removed the VIP from rs2's lo (the fault did not hit rs2's side):\n%s", lo)
				}
				return nil
			}),
		},
	})
	t.Logf("director steps took %v", time.Since(started).Round(time.Second))
}

// haproxySpec is one configuration of the haproxy host.
type haproxySpec struct {
	maxconn     int
	balance     string
	timeout     int
	certVersion int
}

// haproxy runs the haproxy side: lvs_haproxy, lvs_haproxy_backend,
// lvs_haproxy_frontend and lvs_haproxy_certificate on one namespace host.
func (l *invLab) haproxy(t *testing.T, p *lvsProvider) {
	hap := l.a.addr("hap")
	ca := newTestCA(t)
	certs := map[int][2]string{}
	for v := 1; v <= 3; v++ {
		c, k := ca.leaf(t, int64(2000+v))
		certs[v] = [2]string{c, k}
	}
	config := func(s haproxySpec) string {
		return fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %[1]q
  known_hosts_files = [%[2]q]
  connect_timeout   = "10s"
  command_timeout   = "2m"
}

resource "lvs_haproxy" "h" {
  ssh {
    host = %[3]q
  }
  global {
    maxconn = %[4]d
  }
  defaults {
    mode            = "http"
    timeout_connect = 2000
    timeout_client  = 20000
    timeout_server  = 20000
  }
}

resource "lvs_haproxy_certificate" "www" {
  ssh {
    host = %[3]q
  }
  name            = "www"
  certificate_pem = <<-EOT
%[7]s  EOT
  private_key_pem_wo = <<-EOT
%[8]s  EOT
  private_key_pem_wo_version = %[9]d
}

resource "lvs_haproxy_backend" "app" {
  ssh {
    host = %[3]q
  }
  name    = "app"
  mode    = "http"
  balance = %[5]q
  server {
    name    = "rs1"
    address = %[10]q
    port    = 80
  }
}

resource "lvs_haproxy_frontend" "web" {
  ssh {
    host = %[3]q
  }
  name           = "web"
  mode           = "http"
  timeout_client = %[6]d
  bind {
    address     = %[3]q
    port        = 8443
    certificate = lvs_haproxy_certificate.www.name
  }
  default_backend = lvs_haproxy_backend.app.name
}
`, l.a.ClientKeyPath, l.a.KnownHostsPath, hap, s.maxconn, s.balance, s.timeout,
			certs[s.certVersion][0], certs[s.certVersion][1], s.certVersion, l.a.addr("rs1"))
	}
	s1 := haproxySpec{maxconn: 1000, balance: "roundrobin", timeout: 10000, certVersion: 1}
	s2 := haproxySpec{maxconn: 2000, balance: "leastconn", timeout: 11000, certVersion: 2}
	s3 := s2
	s3.maxconn, s3.balance, s3.timeout = 3000, "first", 12000
	s4 := s3
	s4.certVersion = 3
	s5 := s4
	s5.balance = "source"

	emptyAfter := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	step := func(s haproxySpec) resource.TestStep {
		return resource.TestStep{Config: config(s), ConfigPlanChecks: emptyAfter}
	}
	failing := func(s haproxySpec, set func(on bool)) resource.TestStep {
		return resource.TestStep{Config: config(s), PreConfig: fault(t, set), ExpectError: refused}
	}
	recovering := func(s haproxySpec, set func(on bool)) resource.TestStep {
		st := step(s)
		st.PreConfig = func() { set(false) }
		return st
	}
	path := func(p string) string { return l.a.Hosts["hap"].Path(p) }
	cfgFile := func(on bool) { immutable(t, on, path("/etc/haproxy/haproxy.cfg")) }
	certDir := func(on bool) { immutable(t, on, path(model.HAProxyCertDir)) }
	store := func(kind string) func(on bool) {
		return func(on bool) {
			dir := path("/var/lib/lvs-agent/objects/" + kind)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			immutable(t, on, dir)
		}
	}
	started := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: l.factories(p),
		Steps: []resource.TestStep{
			step(s1),
			step(s2),
			// haproxy.cfg cannot be replaced: settings, backend and
			// frontend changes fail.
			failing(s3, cfgFile),
			recovering(s3, cfgFile),
			// The certificate directory refuses the new certificate.
			failing(s4, certDir),
			recovering(s4, certDir),
			// The backends' store refuses the write, after haproxy was
			// reloaded with the change.
			failing(s5, store("haproxy_backend")),
			recovering(s5, store("haproxy_backend")),
		},
	})
	t.Logf("haproxy steps took %v", time.Since(started).Round(time.Second))
}

// withCheck is st with its Check set.
func withCheck(st resource.TestStep, check resource.TestCheckFunc) resource.TestStep {
	st.Check = check
	return st
}
