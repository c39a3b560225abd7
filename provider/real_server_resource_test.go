//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/lvsops/terraform-provider-lvs/internal/cluster"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/netns"
	"github.com/lvsops/terraform-provider-lvs/internal/lab/vm"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
	"github.com/lvsops/terraform-provider-lvs/internal/wire"
)

func TestResourceSchemasAreValid(t *testing.T) {
	ctx := context.Background()
	for _, r := range []fwresource.Resource{NewVirtualServerResource(), NewRealServerResource()} {
		resp := &fwresource.SchemaResponse{}
		r.Schema(ctx, fwresource.SchemaRequest{}, resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		if d := resp.Schema.ValidateImplementation(ctx); d.HasError() {
			t.Errorf("%T: %v", r, d)
		}
	}
}

func TestSplitDirector(t *testing.T) {
	for _, tc := range []struct {
		in, user, host string
		port           int
	}{
		{"10.0.0.2", "", "10.0.0.2", 0},
		{"dir1", "", "dir1", 0},
		{"dir1:2222", "", "dir1", 2222},
		{"root@10.81.0.11:22", "root", "10.81.0.11", 22},
		{"admin@dir1", "admin", "dir1", 0},
		{"2001:db8::2", "", "2001:db8::2", 0},
		{"[2001:db8::2]:22", "", "2001:db8::2", 22},
		{"root@[2001:db8::2]:2200", "root", "2001:db8::2", 2200},
	} {
		user, host, port, err := splitDirector(tc.in)
		if err != nil || user != tc.user || host != tc.host || port != tc.port {
			t.Errorf("splitDirector(%q) = %q %q %d %v, want %q %q %d", tc.in, user, host, port, err, tc.user, tc.host, tc.port)
		}
	}
	for _, in := range []string{"", "@dir1", "root@", "dir1:0", "dir1:x", "dir1:70000", "a b", "root@dir1/x"} {
		if _, _, _, err := splitDirector(in); err == nil {
			t.Errorf("splitDirector(%q) accepted", in)
		}
	}
}

// observation builds an agent observation of a director of the given
// engine storing objs, whose kernel runs the given services.
func directorObservation(engine string, objs []wire.Object, ipvs ...wire.IPVSService) *wire.Observed {
	dir := wire.Object{Key: directorKeyForTest, Director: &model.Director{Engine: engine}}
	return &wire.Observed{Hostname: "dir1", IPVSAvailable: true, Objects: append([]wire.Object{dir}, objs...), IPVS: ipvs}
}

var directorKeyForTest = wire.Key{Kind: wire.KindDirector, ID: "director"}

func rsIntPtr(i int) *int { return &i }

var (
	testVIP  = netip.MustParseAddr("10.0.0.10")
	testRIP1 = netip.MustParseAddr("192.168.1.10")
)

// kernelDR is the kernel's view of tcp/10.0.0.10:80 with one DR
// destination of the given weight (as ipvs.VirtualServerOf reads it).
func kernelDR(weight int, dests ...bool) wire.IPVSService {
	vs := model.VirtualServer{Address: testVIP, Port: 80, Protocol: "tcp", Scheduler: "wrr", ForwardingMethod: "dr"}
	s := wire.IPVSService{Service: vs, Ours: true}
	if len(dests) == 0 || dests[0] {
		s.Service.RealServers = []model.RealServer{{Address: testRIP1, Port: 80, Weight: rsIntPtr(weight)}}
		s.Destinations = []wire.IPVSDestination{{Key: "192.168.1.10:80", Weight: weight, ActiveConns: 3}}
	}
	return s
}

func storedDR(rs model.RealServer, inhibit bool) []wire.Object {
	vs := model.VirtualServer{Address: testVIP, Port: 80, Scheduler: "wrr", ForwardingMethod: "dr", InhibitOnFailure: inhibit}
	return []wire.Object{
		{Key: wire.Key{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, VirtualServer: &vs},
		{Key: wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/192.168.1.10:80"}, RealServer: &rs},
	}
}

func TestObserveRealServer(t *testing.T) {
	id, err := cluster.ParseRealServerID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
	if err != nil {
		t.Fatal(err)
	}
	stored := model.RealServer{Address: testRIP1, Weight: rsIntPtr(3), TCPCheck: &model.TCPCheck{}}
	for _, tc := range []struct {
		name       string
		obs        *wire.Observed
		gone       bool
		wantWeight int
	}{
		{"netlink: kernel weight is reported", directorObservation("netlink", storedDR(stored, false), kernelDR(0)), false, 0},
		{"netlink: destination removed by hand is gone", directorObservation("netlink", storedDR(stored, false), kernelDR(3, false)), true, 0},
		{"netlink: service removed by hand is gone", directorObservation("netlink", storedDR(stored, false)), true, 0},
		{"keepalived: down by health check (absent) is status", directorObservation("keepalived", storedDR(stored, false), kernelDR(3, false)), false, 3},
		{"keepalived: inhibited by health check (weight 0) is status", directorObservation("keepalived", storedDR(stored, true), kernelDR(0)), false, 3},
		{"keepalived: weight 0 without inhibit_on_failure is drift", directorObservation("keepalived", storedDR(stored, false), kernelDR(0)), false, 0},
		{"keepalived: another weight is drift", directorObservation("keepalived", storedDR(stored, true), kernelDR(5)), false, 5},
		{"keepalived: not stored is gone", directorObservation("keepalived", nil), true, 0},
		{"imported: read from the kernel alone", directorObservation("netlink", nil, kernelDR(7)), false, 7},
	} {
		rs, method, err := observeRealServer(tc.obs, id)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.gone && rs != nil:
			t.Errorf("%s: got %+v, want gone", tc.name, rs)
		case !tc.gone && rs == nil:
			t.Errorf("%s: gone, want weight %d", tc.name, tc.wantWeight)
		case !tc.gone && (rs.EffectiveWeight() != tc.wantWeight || method != "dr"):
			t.Errorf("%s: weight %d method %q, want %d dr", tc.name, rs.EffectiveWeight(), method, tc.wantWeight)
		}
	}
	noIPVS := directorObservation("netlink", nil)
	noIPVS.IPVSAvailable = false
	if _, _, err := observeRealServer(noIPVS, id); err == nil || !strings.Contains(err.Error(), "no IPVS") {
		t.Errorf("without IPVS: err = %v", err)
	}
}

func TestRealServerWithObservedKeepsWhatMeansTheSame(t *testing.T) {
	m := realServerResourceModel{realServerModel: realServerModel{
		Address: iptypes.NewIPAddressValue("192.168.1.10"), Port: types.Int64Null(), Weight: types.Int64Null(),
		ForwardingMethod: types.StringNull(), TunnelType: types.StringNull(), TunnelPort: types.Int64Null(),
		UpperThreshold: types.Int64Null(), LowerThreshold: types.Int64Null(), InhibitOnFailure: types.BoolNull(),
		NotifyUp: types.StringNull(), NotifyDown: types.StringNull(),
	}}
	// The kernel spells out the defaults: weight 1, the service's method.
	same := m.withObserved(&model.RealServer{Address: testRIP1, Port: 80, Weight: rsIntPtr(1), ForwardingMethod: "dr"}, "dr")
	if !same.Weight.IsNull() || !same.ForwardingMethod.IsNull() {
		t.Errorf("defaults became values: weight %v method %v", same.Weight, same.ForwardingMethod)
	}
	drift := m.withObserved(&model.RealServer{Address: testRIP1, Weight: rsIntPtr(0), ForwardingMethod: "nat", UpperThreshold: 9}, "dr")
	if drift.Weight.ValueInt64() != 0 || drift.Weight.IsNull() || drift.ForwardingMethod.ValueString() != "nat" || drift.UpperThreshold.ValueInt64() != 9 {
		t.Errorf("drift not reported: weight %v method %v upper %v", drift.Weight, drift.ForwardingMethod, drift.UpperThreshold)
	}
	chk := m.withObserved(&model.RealServer{Address: testRIP1, TCPCheck: &model.TCPCheck{CheckCommon: model.CheckCommon{ConnectTimeout: 3}}}, "dr")
	if chk.TCPCheck == nil || chk.TCPCheck.ConnectTimeout.ValueInt64() != 3 || !chk.TCPCheck.Retry.IsNull() {
		t.Errorf("stored health check not reported: %+v", chk.TCPCheck)
	}
}

func TestHostSide(t *testing.T) {
	m := realServerResourceModel{realServerModel: realServerModel{Address: iptypes.NewIPAddressValue("192.168.1.10")},
		Host: &realServerHostModel{Host: types.StringValue("rs1"), Gateway: iptypes.NewIPAddressNull()}}
	vs := model.VirtualServer{Address: testVIP, Port: 80, ForwardingMethod: "dr"}
	h := m.hostSide(&vs)
	if h.Method != "dr" || len(h.VIPs) != 1 || h.VIPs[0] != testVIP {
		t.Errorf("DR side = %+v, want the VIP on lo", h)
	}
	fw := model.VirtualServer{Fwmark: 7, ForwardingMethod: "tun"}
	h = m.hostSide(&fw)
	if err := h.Validate(nil); err == nil || !strings.Contains(err.Error(), "vips") {
		t.Errorf("a fwmark TUN side without vips: err = %v", err)
	}
	m.Host.VIPs = []iptypes.IPAddress{iptypes.NewIPAddressValue("10.0.0.20")}
	if h = m.hostSide(&fw); h.Method != "tun" || h.VIPs[0].String() != "10.0.0.20" {
		t.Errorf("TUN side = %+v", h)
	}
}

func TestActiveConns(t *testing.T) {
	id, _ := cluster.ParseRealServerID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
	if n := activeConns(directorObservation("netlink", nil, kernelDR(0)), id); n != 3 {
		t.Errorf("active = %d, want 3", n)
	}
	if n := activeConns(directorObservation("netlink", nil), id); n != 0 {
		t.Errorf("active without the service = %d, want 0", n)
	}
}

// rsFakeDirector is an agent on one director for the fleet: it records every
// request and answers with a table where the real server 192.168.1.10:80
// of tcp/10.0.0.10:80 has active connections that fall by one at each
// observation (never, when stuck).
type rsFakeDirector struct {
	mu     sync.Mutex
	reqs   []wire.Request
	active int
	stuck  bool
	objs   []wire.Object
}

func (f *rsFakeDirector) Host(transport.Config) (fleet.Runner, error) { return rsFakeRunner{}, nil }

func (f *rsFakeDirector) Call(_ context.Context, _ fleet.Runner, req *wire.Request) (*wire.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, *req)
	switch req.Verb {
	case wire.VerbObserve:
		if !f.stuck && f.active > 0 {
			f.active--
		}
	case wire.VerbApply:
	default:
		return nil, fmt.Errorf("unexpected verb %s", req.Verb)
	}
	k := kernelDR(1)
	k.Destinations[0].ActiveConns = f.active
	obs := directorObservation("netlink", f.objs, k)
	return &wire.Response{Observed: obs}, nil
}

type rsFakeRunner struct{}

func (rsFakeRunner) Run(context.Context, transport.Command) (*transport.Result, error) {
	return nil, errors.New("the fake director runs no commands")
}
func (rsFakeRunner) String() string { return "fake" }

func rsFakeClient(f *rsFakeDirector) *client {
	return &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}
}

func TestDrainWaitsForActiveConnections(t *testing.T) {
	for _, stuck := range []bool{false, true} {
		f := &rsFakeDirector{active: 3, stuck: stuck}
		r := &realServerResource{client: rsFakeClient(f), drainPoll: time.Millisecond}
		rid, _ := cluster.ParseRealServerID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
		data := realServerResourceModel{DrainTimeout: types.StringValue("50ms"), realServerModel: realServerModel{
			Address: iptypes.NewIPAddressValue("192.168.1.10"), Weight: types.Int64Value(3)}}
		var diags diag.Diagnostics
		r.drain(context.Background(), &data, rid, []transport.Config{{Host: "dir1", User: "root"}}, &diags)
		if diags.HasError() {
			t.Fatal(diags)
		}
		f.mu.Lock()
		reqs := f.reqs
		f.mu.Unlock()
		if len(reqs) < 2 || reqs[0].Verb != wire.VerbApply || len(reqs[0].Put) != 1 || reqs[0].Put[0].RealServer.EffectiveWeight() != 0 {
			t.Fatalf("stuck=%v: requests %+v; want an apply of weight 0 first", stuck, reqs)
		}
		observes := len(reqs) - 1
		switch {
		case !stuck && (observes != 3 || f.active != 0):
			t.Errorf("draining: %d observations, %d active left; want 3 and 0", observes, f.active)
		case stuck && f.active != 3:
			t.Errorf("stuck: active = %d", f.active)
		}
	}
}

func TestRemoveVirtualServerTakesItsRealServers(t *testing.T) {
	rs := model.RealServer{Address: testRIP1}
	f := &rsFakeDirector{objs: storedDR(rs, false)}
	f.objs = append(f.objs, wire.Object{Key: wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:8080/192.168.1.10:8080"}, RealServer: &rs})
	if err := removeVirtualServer(context.Background(), rsFakeClient(f), transport.Config{Host: "dir1"}, "tcp/10.0.0.10:80"); err != nil {
		t.Fatal(err)
	}
	last := f.reqs[len(f.reqs)-1]
	want := []wire.Key{{Kind: wire.KindVirtualServer, ID: "tcp/10.0.0.10:80"}, {Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/192.168.1.10:80"}}
	if last.Verb != wire.VerbApply || !reflect.DeepEqual(last.Delete, want) {
		t.Errorf("apply deletes %v, want %v (and not the other service's real server)", last.Delete, want)
	}
}

// TestAccRealServer_directRouting proves the real-server side end to end:
// a director VM (netlink engine, real IPVS) on the bridge of a namespace
// lab whose rs1 serves HTTP. The real server resource with a host block
// puts the VIP on rs1's lo and sets the ARP sysctls; a client then reaches
// rs1 through the VIP by DR. A VIP removed by hand on rs1 plans
// host_in_sync back to true and the apply restores it; destroy takes the
// VIP and the sysctls away. The directors and the real server are reached
// with different SSH settings (the ssh block overrides the provider's).
func TestAccRealServer_directRouting(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc)")
	}
	bins := accAgentBins(t)
	lab := netns.Start(t, netns.Config{Name: "lvsrsdr", Subnet: netip.MustParsePrefix("10.83.0.0/24"), Hosts: []string{"rs1", "client"}})
	v := vm.Start(t, vm.Config{Name: "accdr", Bridge: lab.Bridge, BridgeAddr: netip.MustParsePrefix("10.83.0.90/24")})
	d := &vmDirector{t: t, vm: v, provider: &lvsProvider{version: "acctest", agentBins: bins}}
	var err error
	if d.host, d.port, err = net.SplitHostPort(v.SSHAddr); err != nil {
		t.Fatal(err)
	}
	const vipAddr = "10.83.0.100"
	// The VIP a VRRP instance would hold on the director.
	d.run("ip addr add " + vipAddr + "/32 dev eth1")

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	exec := func(host string, args ...string) string {
		t.Helper()
		out, err := lab.Exec(ctx, host, args...)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		return string(out)
	}
	web := filepath.Join(lab.Hosts["rs1"].Dir, "www") // the host's /tmp is its own
	if err := os.MkdirAll(web, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("served by rs1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpd, err := lab.Command(ctx, "rs1", "busybox", "httpd", "-f", "-p", "80", "-h", web)
	if err != nil {
		t.Fatal(err)
	}
	var httpdOut strings.Builder
	httpd.Stdout, httpd.Stderr = &httpdOut, &httpdOut
	if err := httpd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = httpd.Process.Kill(); _ = httpd.Wait() })
	rs1Addr := lab.Hosts["rs1"].Addr.String()
	for i := 0; ; i++ {
		out, err := lab.Exec(ctx, "client", "curl", "-sS", "--max-time", "3", "http://"+rs1Addr+"/")
		if err == nil && strings.Contains(string(out), "served by rs1") {
			break
		}
		if i == 10 {
			t.Fatalf("rs1's web server does not answer directly: %s %v\nhttpd: %s", out, err, httpdOut.String())
		}
		time.Sleep(500 * time.Millisecond)
	}

	rs1 := lab.Hosts["rs1"].Addr.String()
	config := fmt.Sprintf(`
provider "lvs" {
  user              = "root"
  private_key_path  = %[1]q
  known_hosts_files = [%[2]q]
  connect_timeout   = "20s"
  command_timeout   = "3m"
}

resource "lvs_director" "d1" {
  engine = "netlink"
  ssh {
    host              = %[3]q
    port              = %[4]s
    private_key_path  = %[5]q
    known_hosts_files = [%[6]q]
  }
}

resource "lvs_virtual_server" "web" {
  directors         = [lvs_director.d1.id]
  address           = %[7]q
  port              = 80
  scheduler         = "rr"
  forwarding_method = "dr"
  ssh {
    private_key_path  = %[5]q
    known_hosts_files = [%[6]q]
  }
}

resource "lvs_real_server" "rs1" {
  virtual_server_id = lvs_virtual_server.web.id
  address           = %[8]q
  ssh {
    private_key_path  = %[5]q
    known_hosts_files = [%[6]q]
  }
  host {
    host = %[8]q
  }
}
`, lab.ClientKeyPath, lab.KnownHostsPath, d.host, d.port, v.KeyFile, v.KnownHosts, vipAddr, rs1)

	const rs = "lvs_real_server.rs1"
	vipOnLo := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out := exec("rs1", "ip", "-o", "addr", "show", "dev", "lo")
			if got := strings.Contains(out, vipAddr+"/32"); got != want {
				return fmt.Errorf("VIP on rs1's lo: %v, want %v:\n%s", got, want, out)
			}
			return nil
		}
	}
	arpIgnore := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := strings.TrimSpace(exec("rs1", "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore")); got != want {
				return fmt.Errorf("rs1 net.ipv4.conf.all.arp_ignore = %s, want %s", got, want)
			}
			return nil
		}
	}
	throughVIP := func(*terraform.State) error {
		var last string
		for range 10 {
			out, err := lab.Exec(ctx, "client", "curl", "-sS", "--max-time", "3", "http://"+vipAddr+"/")
			if err == nil && strings.Contains(string(out), "served by rs1") {
				t.Logf("client -> %s (DR) -> rs1: %s", vipAddr, strings.TrimSpace(string(out)))
				return nil
			}
			last = fmt.Sprintf("%s %v", out, err)
			time.Sleep(time.Second)
		}
		return fmt.Errorf("no answer from rs1 through the VIP: %s\ndirector:\n%s\nrs1:\n%s\n%s", last, d.run("ipvsadm -Ln --stats"),
			exec("rs1", "ip", "addr"), exec("rs1", "sh", "-c", "sysctl -a 2>/dev/null | grep -E 'arp_|rp_filter'"))
	}
	before := strings.TrimSpace(exec("rs1", "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		CheckDestroy:             resource.ComposeTestCheckFunc(vipOnLo(false), arpIgnore(before)),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(rs, tfjsonpath.New("host_in_sync"), knownvalue.Bool(true)),
				},
				Check: resource.ComposeTestCheckFunc(vipOnLo(true), arpIgnore("1"), throughVIP),
			},
			{
				PreConfig: func() { exec("rs1", "ip", "addr", "del", vipAddr+"/32", "dev", "lo") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(rs, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(rs, tfjsonpath.New("host_in_sync"), knownvalue.Bool(true)),
				}},
				Check: resource.ComposeTestCheckFunc(vipOnLo(true), throughVIP),
			},
		},
	})
}

func TestRealServerUpdateFollowsItsVirtualServer(t *testing.T) {
	f := newHostsFake()
	r := &realServerResource{client: &client{defaults: transport.Config{User: "root"}, fleet: fleet.New(f, f, fleet.Options{Window: time.Millisecond})}}
	rs := func(vsID string, host string) realServerResourceModel {
		m := realServerResourceModel{VirtualServerID: types.StringValue(vsID), realServerModel: realServerModel{
			Address: iptypes.NewIPAddressValue("192.168.1.10"), Weight: types.Int64Value(2)}}
		if host != "" {
			m.Host = &realServerHostModel{Host: types.StringValue(host), Gateway: iptypes.NewIPAddressNull()}
		}
		return m
	}
	old := rs("tcp/10.0.0.10:80@dir1,dir2", "rs1")
	plan := rs("tcp/10.0.0.10:80@dir2,dir3", "rs2")
	var diags diag.Diagnostics
	r.apply(context.Background(), tfsdk.Config{}, &old, &plan, &diags, "Update")
	if diags.HasError() {
		t.Fatal(diags)
	}
	key := wire.Key{Kind: wire.KindRealServer, ID: "tcp/10.0.0.10:80/192.168.1.10:80"}
	side := wire.Key{Kind: wire.KindRealServerHost, ID: key.ID}
	for host, want := range map[string]string{"dir1": "delete", "dir2": "put", "dir3": "put", "rs1": "delete side", "rs2": "put side"} {
		a := f.applies(host)
		var got string
		switch {
		case len(a) == 1 && len(a[0].Put) == 1 && a[0].Put[0].Key == key && a[0].Put[0].RealServer.EffectiveWeight() == 2:
			got = "put"
		case len(a) == 1 && len(a[0].Delete) == 1 && a[0].Delete[0] == key:
			got = "delete"
		case len(a) == 1 && len(a[0].Put) == 1 && a[0].Put[0].Key == side && a[0].Put[0].RealServerHost.Method == "nat":
			got = "put side"
		case len(a) == 1 && len(a[0].Delete) == 1 && a[0].Delete[0] == side:
			got = "delete side"
		}
		if got != want {
			t.Errorf("%s: applies %+v, want %s", host, a, want)
		}
	}
	if plan.ID.ValueString() != "tcp/10.0.0.10:80/192.168.1.10:80@dir2,dir3" || !plan.HostInSync.ValueBool() {
		t.Errorf("id %s host_in_sync %v", plan.ID, plan.HostInSync)
	}
}
