package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-nettypes/iptypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/lvsops/terraform-provider-lvs/internal/agent/wire"
	"github.com/lvsops/terraform-provider-lvs/internal/fleet"
	"github.com/lvsops/terraform-provider-lvs/internal/model"
	"github.com/lvsops/terraform-provider-lvs/internal/transport"
)

func TestResourceSchemasAreValid(t *testing.T) {
	ctx := context.Background()
	for _, r := range []resource.Resource{NewVirtualServerResource(), NewRealServerResource()} {
		resp := &resource.SchemaResponse{}
		r.Schema(ctx, resource.SchemaRequest{}, resp)
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
	id, err := parseRSID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
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
	id, _ := parseRSID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
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
		rid, _ := parseRSID("tcp/10.0.0.10:80/192.168.1.10:80@dir1")
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
