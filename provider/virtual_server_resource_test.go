//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"golang.org/x/crypto/ssh"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

// vmDirector is one VM with a real IPVS kernel and a provider configured
// to reach it (root, the VM's key and known_hosts), for the acceptance
// tests of virtual and real servers: the host kernel has no IPVS.
type vmDirector struct {
	t        *testing.T
	vm       *vm.VM
	host     string
	port     string
	provider *lvsProvider
}

// startVMDirector skips unless TF_ACC is set, then boots a VM (skipping
// loudly, or failing under $CI, when the VM lab cannot run here).
func startVMDirector(t *testing.T, name string) *vmDirector {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	start := time.Now()
	v := vm.Start(t, vm.Config{Name: name})
	t.Logf("VM director %s up after %v", name, time.Since(start).Round(100*time.Millisecond))
	host, port, err := net.SplitHostPort(v.SSHAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &vmDirector{t: t, vm: v, host: host, port: port, provider: &lvsProvider{version: "acctest", agentBins: bins}}
}

func (d *vmDirector) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){"lvs": providerserver.NewProtocol6WithError(d.provider)}
}

// config is the provider block and a netlink director on the VM, then body.
func (d *vmDirector) config(body string) string { return d.configEngine("netlink", body) }

// configEngine is the provider block and a director of engine on the VM,
// then body.
func (d *vmDirector) configEngine(engine, body string) string {
	return fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %q
  known_hosts_files = [%q]
  connect_timeout   = "20s"
  command_timeout   = "3m"
}

resource "lvs_director" "d1" {
  engine = %q
  ssh {
    host = %q
    port = %s
  }
}
`, d.vm.KeyFile, d.vm.KnownHosts, engine, d.host, d.port) + body
}

// run runs a command on the VM, failing the test on error.
func (d *vmDirector) run(cmd string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := d.vm.Run(ctx, cmd, nil)
	if err != nil {
		d.t.Fatalf("%s: %v", cmd, err)
	}
	return res.Stdout
}

// runStep is run as a terraform-plugin-testing PreConfig or check.
func (d *vmDirector) runStep(cmd string) func() {
	return func() { d.t.Logf("on the director: %s", cmd); d.run(cmd) }
}

// expectRules checks that `ipvsadm-save -n` holds exactly these lines, in
// any order. (ipvsadm-save leaves out thresholds; the read-back after
// every step, which compares them, shows them.)
func (d *vmDirector) expectRules(want ...string) resource.TestCheckFunc {
	want = slices.Sorted(slices.Values(want))
	return func(*terraform.State) error {
		got := slices.Sorted(slices.Values(d.ipvsRules()))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("ipvsadm-save -n on the director:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	}
}

func (d *vmDirector) ipvsRules() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(d.run("ipvsadm-save -n")), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

const (
	foreignService = "-A -t 10.9.9.9:80 -s rr"
	foreignDest    = "-a -t 10.9.9.9:80 -r 10.9.9.20:80 -g -w 1"
)

// webConfig is a DR virtual server with two real servers.
func webConfig(scheduler string, weight1 int) string {
	return fmt.Sprintf(`
resource "lvs_virtual_server" "web" {
  directors           = [lvs_director.d1.id]
  address             = "10.0.0.10"
  port                = 80
  scheduler           = %q
  forwarding_method   = "dr"
  persistence_timeout = 300
}

resource "lvs_real_server" "web1" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.10"
  weight            = %d
  upper_threshold   = 100
}

resource "lvs_real_server" "web2" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.11"
  drain_on_destroy  = true
  drain_timeout     = "10s"
}
`, scheduler, weight1)
}

// handConfig declares a service built by hand, to be imported and adopted.
const handConfig = `
resource "lvs_virtual_server" "hand" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.20"
  port              = 80
  scheduler         = "rr"
  forwarding_method = "dr"
}

resource "lvs_real_server" "hand1" {
  virtual_server_id = lvs_virtual_server.hand.id
  address           = "192.168.1.20"
}
`

// markConfig is a firewall-mark service with one NAT real server.
const markConfig = `
resource "lvs_virtual_server" "mark" {
  directors           = [lvs_director.d1.id]
  fwmark              = 7
  scheduler           = "sh"
  persistence_timeout = 60
}

resource "lvs_real_server" "mark1" {
  virtual_server_id = lvs_virtual_server.mark.id
  address           = "192.168.1.40"
}
`

// expectRulesContain checks that `ipvsadm-save -n` holds these lines
// among others.
func (d *vmDirector) expectRulesContain(want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got := d.ipvsRules()
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Errorf("ipvsadm-save -n on the director has no %q:\n%s", w, strings.Join(got, "\n"))
			}
		}
		return nil
	}
}

// TestAccVirtualServer_netlink proves the virtual and real server
// resources against a real IPVS kernel with the netlink engine: create
// with state and kernel checks, import verify, update in place (weight,
// scheduler) with an empty plan after, drift by hand (ipvsadm -e -w 0, and
// ipvsadm -D) planned and repaired, plan-time refusals with their
// attribute paths, a hand-built service imported and taken over without
// losing a destination, and a destroy that removes what the provider owns
// (the adopted service too) and leaves the foreign service alone.
func TestAccVirtualServer_netlink(t *testing.T) {
	d := startVMDirector(t, "accvs")
	d.run("ipvsadm -A -t 10.9.9.9:80 -s rr && ipvsadm -a -t 10.9.9.9:80 -r 10.9.9.20:80 -g -w 1")
	start := time.Now()
	defer func() { t.Logf("terraform steps took %v", time.Since(start).Round(time.Second)) }()

	const vs, rs1, rs2 = "lvs_virtual_server.web", "lvs_real_server.web1", "lvs_real_server.web2"
	dirID := "root@" + d.host + ":" + d.port
	vsID := "tcp/10.0.0.10:80@" + dirID
	service := "-A -t 10.0.0.10:80 -s %s -p 300"
	dest1 := "-a -t 10.0.0.10:80 -r 192.168.1.10:80 -g -w %d"
	dest2 := "-a -t 10.0.0.10:80 -r 192.168.1.11:80 -g -w 1"
	rules := func(sched string, w1 int) resource.TestCheckFunc {
		return d.expectRules(foreignService, foreignDest, fmt.Sprintf(service, sched), fmt.Sprintf(dest1, w1), dest2)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy:             d.expectRules(foreignService, foreignDest),
		Steps: []resource.TestStep{
			{
				Config: d.config(webConfig("wrr", 2)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vs, tfjsonpath.New("id"), knownvalue.StringExact(vsID)),
					statecheck.ExpectKnownValue(vs, tfjsonpath.New("scheduler"), knownvalue.StringExact("wrr")),
					statecheck.ExpectKnownValue(vs, tfjsonpath.New("protocol"), knownvalue.Null()),
					statecheck.ExpectKnownValue(rs1, tfjsonpath.New("id"), knownvalue.StringExact("tcp/10.0.0.10:80/192.168.1.10:80@"+dirID)),
					statecheck.ExpectKnownValue(rs1, tfjsonpath.New("weight"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(rs2, tfjsonpath.New("weight"), knownvalue.Null()),
					statecheck.ExpectKnownValue(rs2, tfjsonpath.New("host_in_sync"), knownvalue.Null()),
				},
				Check: rules("wrr", 2),
			},
			{ResourceName: vs, ImportState: true, ImportStateVerify: true},
			{ResourceName: rs1, ImportState: true, ImportStateVerify: true},
			{
				ResourceName: rs2, ImportState: true, ImportStateVerify: true,
				// Destroy-time settings are not on the host.
				ImportStateVerifyIgnore: []string{"drain_on_destroy", "drain_timeout"},
			},
			{
				// Tunables change in place: one service edit and one destination edit.
				Config: d.config(webConfig("rr", 3)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(rs1, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(rs2, plancheck.ResourceActionNoop),
				}},
				Check: rules("rr", 3),
			},
			{
				Config:            d.config(webConfig("rr", 3)),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(rs1, tfjsonpath.New("weight"), knownvalue.Int64Exact(3))},
			},
			{
				// A weight set by hand is drift: planned back ...
				PreConfig: d.runStep("ipvsadm -e -t 10.0.0.10:80 -r 192.168.1.10:80 -g -w 0 -x 100"),
				Config:    d.config(webConfig("rr", 3)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(rs1, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionNoop),
				}},
				// ... and repaired by the apply.
				Check: rules("rr", 3),
			},
			{
				// So is a scheduler changed by hand.
				PreConfig: d.runStep("ipvsadm -E -t 10.0.0.10:80 -s wlc -p 300"),
				Config:    d.config(webConfig("rr", 3)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
				}},
				Check: rules("rr", 3),
			},
			{
				// A service deleted by hand, which the director still stores,
				// is planned to be put back in place (the service stays in the
				// state: a destroy then still removes what the director
				// stores); its real servers, gone from the kernel, are planned
				// for creation.
				PreConfig: d.runStep("ipvsadm -D -t 10.0.0.10:80"),
				Config:    d.config(webConfig("rr", 3)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(rs1, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(rs2, plancheck.ResourceActionCreate),
				}},
				Check: rules("rr", 3),
			},
			{
				// A service built by hand is imported ...
				PreConfig: d.runStep("ipvsadm -A -t 10.0.0.20:80 -s rr && ipvsadm -a -t 10.0.0.20:80 -r 192.168.1.20:80 -g -w 1 && " +
					"ipvsadm -a -t 10.0.0.20:80 -r 192.168.1.21:80 -g -w 1"),
				Config:        d.config(webConfig("rr", 3) + handConfig),
				ResourceName:  "lvs_virtual_server.hand",
				ImportState:   true,
				ImportStateId: "tcp/10.0.0.20:80@" + dirID,
				// It is kept in the state for the next steps.
				ImportStatePersist: true,
			},
			{
				Config:             d.config(webConfig("rr", 3) + handConfig),
				ResourceName:       "lvs_real_server.hand1",
				ImportState:        true,
				ImportStateId:      "tcp/10.0.0.20:80/192.168.1.20:80@" + dirID,
				ImportStatePersist: true,
			},
			{
				// ... and taken over by the next apply (managed planned from false to true),
				// with its destinations as they run, the undeclared one included.
				Config: d.config(webConfig("rr", 3) + handConfig),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("lvs_virtual_server.hand", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("lvs_real_server.hand1", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("lvs_virtual_server.hand", tfjsonpath.New("managed"), knownvalue.Bool(true)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_virtual_server.hand", tfjsonpath.New("managed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("lvs_real_server.hand1", tfjsonpath.New("managed"), knownvalue.Bool(true)),
				},
				Check: d.expectRules(foreignService, foreignDest, fmt.Sprintf(service, "rr"), fmt.Sprintf(dest1, 3), dest2,
					"-A -t 10.0.0.20:80 -s rr", "-a -t 10.0.0.20:80 -r 192.168.1.20:80 -g -w 1",
					"-a -t 10.0.0.20:80 -r 192.168.1.21:80 -g -w 1"),
			},
			{
				// DR does not map ports: refused at plan time, at the attribute, knowing the
				// virtual server's forwarding method from the director.
				Config: d.config(webConfig("rr", 3) + `
resource "lvs_real_server" "bad_port" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.12"
  port              = 8080
}
`),
				ExpectError: phrase("port: 8080 differs from the virtual port 80; dr forwarding does not map ports"),
			},
			{
				Config: d.config(webConfig("rr", 3) + `
resource "lvs_real_server" "bad_family" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "2001:db8::12"
}
`),
				ExpectError: regexp.MustCompile(`address: 2001:db8::12 is of another address family`),
			},
			{
				// A service that exists without being ours is refused, not taken over:
				// adopting it is an explicit import.
				Config: d.config(webConfig("rr", 3) + handConfig + `
resource "lvs_virtual_server" "theirs" {
  directors = [lvs_director.d1.id]
  address   = "10.9.9.9"
  port      = 80
  scheduler = "rr"
}
`),
				ExpectError: phrase("Import it first (terraform import)"),
			},
			{
				// A firewall-mark service, with a NAT real server that keeps each packet's port.
				Config: d.config(webConfig("rr", 3) + handConfig + markConfig),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_virtual_server.mark", tfjsonpath.New("id"), knownvalue.StringExact("fwmark/7@"+dirID)),
					statecheck.ExpectKnownValue("lvs_real_server.mark1", tfjsonpath.New("id"), knownvalue.StringExact("fwmark/7/192.168.1.40:0@"+dirID)),
				},
				Check: d.expectRulesContain("-A -f 7 -s sh -p 60", "-a -f 7 -r 192.168.1.40:0 -m -w 1"),
			},
			{ResourceName: "lvs_virtual_server.mark", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_real_server.mark1", ImportState: true, ImportStateVerify: true},
		},
	})
}

// vsModel is a resource value with every attribute null but the identity.
func vsModel() virtualServerResourceModel {
	return virtualServerResourceModel{virtualServerSettings: virtualServerSettings{
		Address: iptypes.NewIPAddressValue("10.0.0.10"), Port: types.Int64Value(80), Protocol: types.StringNull(),
		Fwmark: types.Int64Null(), Family: types.StringNull(), Scheduler: types.StringNull(), SchedulerPort: types.BoolNull(),
		SchedulerFallback: types.BoolNull(), OnePacket: types.BoolNull(), PersistenceTimeout: types.Int64Null(),
		PersistenceGranularity: types.Int64Null(), ForwardingMethod: types.StringNull(), TunnelType: types.StringNull(),
		TunnelPort: types.Int64Null(), DelayLoop: types.Int64Null(), Retry: types.Int64Null(), DelayBeforeRetry: types.Int64Null(),
		ConnectTimeout: types.Int64Null(), VirtualHost: types.StringNull(), Quorum: types.Int64Null(), Hysteresis: types.Int64Null(),
		QuorumUp: types.StringNull(), QuorumDown: types.StringNull(), Alpha: types.BoolNull(), Omega: types.BoolNull(),
		InhibitOnFailure: types.BoolNull(),
	}}
}

func TestVirtualServerIdentityChanges(t *testing.T) {
	state := vsModel()
	plan := vsModel()
	plan.Protocol = types.StringValue("tcp") // the default, written out
	plan.Scheduler = types.StringValue("rr")
	if got := vsIdentityChanges(&state, &plan); len(got) != 0 {
		t.Errorf("writing out the default protocol replaces %v", got)
	}
	plan.Port = types.Int64Value(8080)
	plan.Protocol = types.StringValue("udp")
	if got := vsIdentityChanges(&state, &plan); len(got) != 2 || got[0].String() != "port" || got[1].String() != "protocol" {
		t.Errorf("changes = %v, want port and protocol", got)
	}
	plan = vsModel()
	plan.Address = iptypes.NewIPAddressUnknown()
	if got := vsIdentityChanges(&state, &plan); len(got) != 1 || got[0].String() != "address" {
		t.Errorf("an unknown address: changes = %v", got)
	}
}

func TestVirtualServerWithObserved(t *testing.T) {
	m := vsModel()
	m.ForwardingMethod = types.StringValue("dr")
	m.PersistenceTimeout = types.Int64Value(300)
	m.PersistenceGranularity = types.Int64Value(32) // a single address, as the kernel's default
	// The kernel reads back the defaults spelled out, and no granularity for a single address.
	obs := model.VirtualServer{Address: testVIP, Port: 80, Protocol: "tcp", Scheduler: "wlc", ForwardingMethod: "dr", PersistenceTimeout: 300}
	if got := m.withObserved(&obs); !reflect.DeepEqual(got, m) {
		t.Errorf("the same service read back differs:\n%+v\nwant\n%+v", got, m)
	}
	obs.Scheduler, obs.PersistenceTimeout, obs.OnePacket = "rr", 0, true
	got := m.withObserved(&obs)
	if got.Scheduler.ValueString() != "rr" || !got.PersistenceTimeout.IsNull() || !got.OnePacket.ValueBool() {
		t.Errorf("drift not reported: scheduler %v persistence %v one_packet %v", got.Scheduler, got.PersistenceTimeout, got.OnePacket)
	}
	obs.SorryServer = &model.SorryServer{Address: netip.MustParseAddr("10.0.0.99")}
	if got := m.withObserved(&obs); got.SorryServer == nil || got.SorryServer.Address.ValueString() != "10.0.0.99" || !got.SorryServer.Port.IsNull() {
		t.Errorf("stored sorry server not reported: %+v", got.SorryServer)
	}
}

func TestObserveVirtualServer(t *testing.T) {
	stored := model.VirtualServer{Address: testVIP, Port: 80, Scheduler: "wrr", ForwardingMethod: "dr", DelayLoop: 6}
	objs := []wire.Object{{Key: wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, VirtualServer: &stored}}
	k := kernelDR(1)
	k.Service.Scheduler = "rr"
	got, err := observeVirtualServer(directorObservation("netlink", objs, k), "tcp/10.0.0.10:80")
	if err != nil || got == nil || got.Scheduler != "rr" || got.DelayLoop != 6 || got.RealServers != nil {
		t.Errorf("observed = %+v, %v; want the stored service with the kernel's scheduler", got, err)
	}
	if got, err := observeVirtualServer(directorObservation("keepalived", objs), "tcp/10.0.0.10:80"); err != nil || got != nil {
		t.Errorf("a service missing from the kernel = %+v, %v; want gone", got, err)
	}
	if got, err := observeVirtualServer(directorObservation("netlink", nil, kernelDR(1)), "tcp/10.0.0.10:80"); err != nil || got == nil || got.Scheduler != "wrr" {
		t.Errorf("a hand-built service = %+v, %v; want it read from the kernel", got, err)
	}
}

// waitFor polls cmd on the VM until its output contains want, or fails
// the test after a minute.
func (d *vmDirector) waitFor(cmd, want string) func() {
	return func() {
		deadline := time.Now().Add(time.Minute)
		for {
			out := d.run(cmd)
			if strings.Contains(out, want) {
				return
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("%s: no %q after a minute:\n%s", cmd, want, out)
			}
			time.Sleep(time.Second)
		}
	}
}

// checkedConfig is a keepalived-engine service whose real servers fail
// their TCP health check (nothing listens on them): .30 is removed from
// the table, .31 (inhibit_on_failure) stays at weight 0; .32 has no check.
const checkedConfig = `
resource "lvs_virtual_server" "checked" {
  directors         = [lvs_director.d1.id]
  address           = "10.0.0.30"
  port              = 80
  scheduler         = "wrr"
  forwarding_method = "dr"
  delay_loop        = 1
  connect_timeout   = 1
  retry             = 1
}

resource "lvs_real_server" "down" {
  virtual_server_id = lvs_virtual_server.checked.id
  address           = "192.168.1.30"
  weight            = 4
  tcp_check {}
}

resource "lvs_real_server" "inhibited" {
  virtual_server_id  = lvs_virtual_server.checked.id
  address            = "192.168.1.31"
  weight             = 5
  inhibit_on_failure = true
  tcp_check {}
}

resource "lvs_real_server" "unchecked" {
  virtual_server_id = lvs_virtual_server.checked.id
  address           = "192.168.1.32"
  weight            = 6
}
`

// TestAccVirtualServer_keepalived proves the keepalived engine on a real
// IPVS kernel: keepalived programs the service from the generated
// configuration, and real servers its health checks take down (removed
// from the table, or at weight 0 with inhibit_on_failure) are status:
// the plan stays empty. Import verify and destroy as for netlink.
func TestAccVirtualServer_keepalived(t *testing.T) {
	d := startVMDirector(t, "accka")
	start := time.Now()
	defer func() { t.Logf("terraform steps took %v", time.Since(start).Round(time.Second)) }()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy: func(*terraform.State) error {
			if rules := d.ipvsRules(); len(rules) != 0 {
				return fmt.Errorf("IPVS table after destroy: %q, want empty", rules)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: d.configEngine("keepalived", checkedConfig),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("lvs_real_server.down", tfjsonpath.New("weight"), knownvalue.Int64Exact(4)),
				},
			},
			{
				// Once the checks have failed, the table shows it, and the plan does not.
				PreConfig: func() {
					d.waitFor("ipvsadm-save -n", "-r 192.168.1.31:80 -g -w 0")()
					d.waitFor("ipvsadm-save -n | grep -c 192.168.1.30 || true", "0")()
					t.Logf("table with the checks failed:\n%s", d.run("ipvsadm-save -n"))
				},
				Config:   d.configEngine("keepalived", checkedConfig),
				PlanOnly: true,
			},
			{
				// A weight changed by hand under keepalived is drift, planned back, and
				// repaired by the apply (the agent puts keepalived's weight back), while
				// the servers down by health check stay as keepalived set them.
				PreConfig: d.runStep("ipvsadm -e -t 10.0.0.30:80 -r 192.168.1.32:80 -g -w 9"),
				Config:    d.configEngine("keepalived", checkedConfig),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("lvs_real_server.unchecked", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("lvs_real_server.down", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("lvs_real_server.inhibited", plancheck.ResourceActionNoop),
				}},
				Check: d.expectRules("-A -t 10.0.0.30:80 -s wrr", "-a -t 10.0.0.30:80 -r 192.168.1.31:80 -g -w 0",
					"-a -t 10.0.0.30:80 -r 192.168.1.32:80 -g -w 6"),
			},
			{ResourceName: "lvs_virtual_server.checked", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_real_server.down", ImportState: true, ImportStateVerify: true},
			{ResourceName: "lvs_real_server.inhibited", ImportState: true, ImportStateVerify: true},
		},
	})
}

// hostsFake is an agent on several directors: it records the requests of
// each host, answers observations with what it was told each host runs,
// and fails every call to the hosts in down.
type hostsFake struct {
	mu   sync.Mutex
	reqs map[string][]wire.Request
	obs  map[string]*wire.Observed
	down map[string]bool
}

type hostRunner string

func (h hostRunner) Run(context.Context, transport.Command) (*transport.Result, error) {
	return nil, errors.New("the fake runs no commands")
}
func (h hostRunner) String() string { return string(h) }

func (f *hostsFake) Host(cfg transport.Config) (fleet.Runner, error) {
	return hostRunner(cfg.Host), nil
}

func (f *hostsFake) Call(_ context.Context, r fleet.Runner, req *wire.Request) (*wire.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	host := r.String()
	if f.down[host] {
		return nil, fmt.Errorf("%s: dial tcp: connection refused", host)
	}
	f.reqs[host] = append(f.reqs[host], *req)
	obs := f.obs[host]
	if obs == nil {
		obs = directorObservation("netlink", nil)
	}
	return &wire.Response{Observed: obs}, nil
}

func (f *hostsFake) applies(host string) []wire.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []wire.Request
	for _, r := range f.reqs[host] {
		if r.Verb == wire.VerbApply {
			out = append(out, r)
		}
	}
	return out
}

func newHostsFake() *hostsFake {
	return &hostsFake{reqs: map[string][]wire.Request{}, obs: map[string]*wire.Observed{}, down: map[string]bool{}}
}

// vsState is a virtual server's state on the given directors.
func vsState(t *testing.T, dirs ...string) (virtualServerResourceModel, tfsdk.State) {
	t.Helper()
	ctx := context.Background()
	m := vsModel()
	m.Scheduler = types.StringValue("wrr")
	m.ForwardingMethod = types.StringValue("dr")
	m.Directors, _ = types.SetValueFrom(ctx, types.StringType, dirs)
	m.ID = types.StringValue(cluster.JoinID("tcp/10.0.0.10:80", dirs))
	m.Managed = types.BoolValue(true)
	st := tfsdk.State{Schema: virtualServerResourceSchema()}
	if d := st.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	return m, st
}

func TestVirtualServerReadUnreachableDirectorIsAnError(t *testing.T) {
	f := newHostsFake()
	f.down["dir2"] = true
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{})}}
	_, st := vsState(t, "dir1", "dir2")
	resp := &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	if !resp.Diagnostics.HasError() || !strings.Contains(fmt.Sprint(resp.Diagnostics), "Unable to Read Virtual Server") ||
		!strings.Contains(fmt.Sprint(resp.Diagnostics), "root@dir2:22") {
		t.Errorf("diagnostics = %v, want a read error naming dir2", resp.Diagnostics)
	}
	if resp.State.Raw.IsNull() {
		t.Error("an unreachable director removed the resource from the state")
	}
}

func TestVirtualServerReadDirectorWithoutTheService(t *testing.T) {
	f := newHostsFake()
	vs := model.VirtualServer{Address: testVIP, Port: 80, Scheduler: "wrr", ForwardingMethod: "dr"}
	objs := []wire.Object{{Key: wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, VirtualServer: &vs}}
	f.obs["dir1"] = directorObservation("netlink", objs, kernelDR(1))
	f.obs["dir2"] = directorObservation("netlink", objs) // removed by hand from dir2's kernel
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{})}}
	_, st := vsState(t, "dir1", "dir2")
	resp := &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	var got virtualServerResourceModel
	resp.State.Get(context.Background(), &got)
	dirs, _ := knownStrings(got.Directors)
	if strings.Join(dirs, ",") != "dir1" {
		t.Errorf("directors read = %v, want [dir1]: the plan then puts the service back on dir2", dirs)
	}
	// Stored on every director, in no kernel (removed by hand, or a failed
	// apply): kept in the state on no director, so the plan puts it back
	// and a destroy still removes what the directors store.
	f.obs["dir1"] = directorObservation("netlink", objs)
	r.client.fleet = fleet.New(f, f, fleet.Options{})
	resp = &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	if resp.Diagnostics.HasError() || resp.State.Raw.IsNull() {
		t.Fatalf("a service stored but in no kernel: diags %v, state null %v; want it kept", resp.Diagnostics, resp.State.Raw.IsNull())
	}
	resp.State.Get(context.Background(), &got)
	if dirs, ok := knownStrings(got.Directors); !ok || len(dirs) != 0 {
		t.Errorf("directors read = %v, want none: the plan then puts the service back on both", dirs)
	}
	// Neither stored nor running anywhere: gone, removed from the state.
	f.obs["dir1"], f.obs["dir2"] = directorObservation("netlink", nil), directorObservation("netlink", nil)
	r.client.fleet = fleet.New(f, f, fleet.Options{})
	resp = &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	if resp.Diagnostics.HasError() || !resp.State.Raw.IsNull() {
		t.Errorf("a service gone everywhere: diags %v, state null %v", resp.Diagnostics, resp.State.Raw.IsNull())
	}
}

// A virtual server without real servers on a keepalived director is not
// in keepalived.conf, so not in the kernel, by design: Read keeps it as
// stored (no plan to create it again), and a netlink director's kernel
// has it as an empty service.
func TestVirtualServerReadWithoutRealServers(t *testing.T) {
	f := newHostsFake()
	vs := model.VirtualServer{Address: testVIP, Port: 80, Scheduler: "wrr", ForwardingMethod: "dr"}
	objs := []wire.Object{{Key: wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, VirtualServer: &vs}}
	f.obs["dir1"] = directorObservation("keepalived", objs)
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{})}}
	want, st := vsState(t, "dir1")
	resp := &fwresource.ReadResponse{State: st}
	r.Read(context.Background(), fwresource.ReadRequest{State: st}, resp)
	if resp.Diagnostics.HasError() || resp.State.Raw.IsNull() {
		t.Fatalf("diags %v, state null %v; want the service kept", resp.Diagnostics, resp.State.Raw.IsNull())
	}
	var got virtualServerResourceModel
	resp.State.Get(context.Background(), &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read changed the state of a service keepalived leaves out by design:\n got %+v\nwant %+v", got, want)
	}
}

func TestVirtualServerUpdateMovesBetweenDirectors(t *testing.T) {
	f := newHostsFake()
	rs := model.RealServer{Address: testRIP1}
	f.obs["dir1"] = directorObservation("netlink", storedDR(rs, false), kernelDR(1))
	r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	old, _ := vsState(t, "dir1")
	plan, _ := vsState(t, "dir2", "dir3")
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, &old, &plan, &diags, "Update")
	if diags.HasError() {
		t.Fatal(diags)
	}
	for _, h := range []string{"dir2", "dir3"} {
		a := f.applies(h)
		if len(a) != 1 || len(a[0].Put) != 1 || a[0].Put[0].Key.ID != "tcp/10.0.0.10:80" || len(a[0].Delete) != 0 {
			t.Errorf("%s: applies %+v, want one put of the service", h, a)
		}
	}
	a := f.applies("dir1")
	want := []wire.Key{{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, {Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/192.168.1.10:80"}}
	if len(a) != 1 || len(a[0].Put) != 0 || !reflect.DeepEqual(a[0].Delete, want) {
		t.Errorf("dir1: applies %+v, want the service and its real server deleted", a)
	}
	if plan.ID.ValueString() != "tcp/10.0.0.10:80@dir2,dir3" {
		t.Errorf("id = %s", plan.ID)
	}
}

// TestAccVirtualServer_twoDirectors proves that `directors` changes in
// place on real kernels: a service with a real server on d1 is put on d2
// as well, then taken off d1 (with its real server), each director's
// table checked by ipvsadm. Both VMs accept d1's client key and are in
// one known_hosts list, the provider's defaults.
func TestAccVirtualServer_twoDirectors(t *testing.T) {
	d1 := startVMDirector(t, "acc2a")
	v2 := vm.Start(t, vm.Config{Name: "acc2b"})
	d2 := &vmDirector{t: t, vm: v2}
	var err error
	if d2.host, d2.port, err = net.SplitHostPort(v2.SSHAddr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := v2.Run(ctx, "cat >> /etc/ssh/authorized_keys/root", strings.NewReader(string(ssh.MarshalAuthorizedKey(d1.vm.Signer.PublicKey())))); err != nil {
		t.Fatal(err)
	}
	config := func(dirs string) string {
		return fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %q
  known_hosts_files = [%q, %q]
  connect_timeout   = "20s"
  command_timeout   = "3m"
}

resource "lvs_director" "d1" {
  engine = "netlink"
  ssh {
    host = %q
    port = %s
  }
}

resource "lvs_director" "d2" {
  engine = "netlink"
  ssh {
    host = %q
    port = %s
  }
}

resource "lvs_virtual_server" "web" {
  directors = [%s]
  address   = "10.0.0.10"
  port      = 80
  scheduler = "rr"
}

resource "lvs_real_server" "web1" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = "192.168.1.10"
  weight            = 2
}
`, d1.vm.KeyFile, d1.vm.KnownHosts, v2.KnownHosts, d1.host, d1.port, d2.host, d2.port, dirs)
	}
	service := []string{"-A -t 10.0.0.10:80 -s rr", "-a -t 10.0.0.10:80 -r 192.168.1.10:80 -m -w 2"}
	both := func(on1, on2 bool) resource.TestCheckFunc {
		want := func(on bool) []string {
			if on {
				return service
			}
			return nil
		}
		return resource.ComposeTestCheckFunc(d1.expectRules(want(on1)...), d2.expectRules(want(on2)...))
	}
	const vs, rs = "lvs_virtual_server.web", "lvs_real_server.web1"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d1.factories(),
		CheckDestroy:             both(false, false),
		Steps: []resource.TestStep{
			{Config: config("lvs_director.d1.id"), Check: both(true, false)},
			{
				Config: config("lvs_director.d1.id, lvs_director.d2.id"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(rs, plancheck.ResourceActionUpdate),
				}},
				Check: both(true, true),
			},
			{
				Config: config("lvs_director.d2.id"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(vs, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(rs, plancheck.ResourceActionUpdate),
				}},
				Check: both(false, true),
			},
		},
	})
}

func TestVirtualServerAdoptsOnlyWhatWasImported(t *testing.T) {
	foreign := kernelDR(4)
	foreign.Ours = false
	key := wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}
	for _, tc := range []struct {
		name    string
		old     bool // an update of a state ...
		managed bool // ... that reads managed
		adopt   bool
	}{
		{"create over a foreign service", false, false, false},
		{"update of an imported service", true, false, true},
		{"update of our own service", true, true, false},
	} {
		f := newHostsFake()
		f.obs["dir1"] = directorObservation("netlink", nil, foreign)
		r := &virtualServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
		plan, _ := vsState(t, "dir1")
		var old *virtualServerResourceModel
		if tc.old {
			o, _ := vsState(t, "dir1")
			o.Managed = types.BoolValue(tc.managed)
			old = &o
		}
		var diags diag.Diagnostics
		r.apply(context.Background(), tfsdk.Config{}, old, &plan, &diags, "Apply")
		if diags.HasError() {
			t.Fatal(diags)
		}
		a := f.applies("dir1")
		if len(a) != 1 {
			t.Fatalf("%s: applies %+v", tc.name, a)
		}
		adopted := reflect.DeepEqual(a[0].Adopt, []wire.Key{key})
		if adopted != tc.adopt || (!tc.adopt && len(a[0].Adopt) != 0) {
			t.Errorf("%s: adopt %v, want adoption %v", tc.name, a[0].Adopt, tc.adopt)
		}
		// An adoption keeps the running destination: its real server goes along.
		if tc.adopt && (len(a[0].Put) != 2 || a[0].Put[1].RealServer == nil || a[0].Put[1].RealServer.EffectiveWeight() != 4) {
			t.Errorf("%s: puts %+v, want the service and its running destination", tc.name, a[0].Put)
		}
	}
}
